/**
 * The experiment file format: a declarative list of steps run in the hosts' panes, and the
 * states each host must reach. Files are YAML (or JSON); `loadExperiment` in experiment-file.ts
 * validates them against this schema and reports every error with its line.
 *
 * Steps name hosts by role (`client`, `server`) or by lab label (`H1`, `H2`), so one
 * experiment can run with the roles swapped. Commands may use the placeholders {port},
 * {server.address}, {client.address}, {H1.address}, {H2.address}.
 *
 * Free-text commands (`run`, `type`) run as the login user. Everything that needs root or
 * changes a host (firewall rules, packet delays, sysctls) is a step of its own that states the
 * intent; the engine renders the command, records the change in its ledger, and undoes it after
 * the run, also after an abort or a crash of the controller.
 */
import { z } from 'zod';
import { TCP_STATES } from './tcp-states';

export const HostRef = z.string().regex(/^(client|server|H1|H2)$/, 'must be client, server, H1 or H2');
export const PaneName = z.enum(['upper', 'lower']);
export const TcpStateName = z.enum(TCP_STATES);

/** `250ms`, `2s`, `1.5s`, `1min`. */
export const Duration = z
  .string()
  .regex(/^\d+(\.\d+)?(ms|s|min)$/, 'must be a duration such as 250ms, 2s or 1min');

export function durationMs(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|min)$/.exec(text);
  if (!m) throw new Error(`not a duration: ${text}`);
  const value = Number(m[1]);
  return m[2] === 'ms' ? value : m[2] === 's' ? value * 1000 : value * 60_000;
}

const TcpFlag = z.enum(['SYN', 'ACK', 'FIN', 'RST', 'PSH', 'URG']);

/** Which packets a rule matches: always a port, so it can never touch the SSH connection. */
const RuleMatch = {
  chain: z.enum(['INPUT', 'OUTPUT']),
  protocol: z.literal('tcp').default('tcp'),
  /** The experiment port, `{port}`, or a number. At least one of dport/sport is required. */
  dport: z.union([z.literal('{port}'), z.number().int().min(1).max(65535)]).optional(),
  sport: z.union([z.literal('{port}'), z.number().int().min(1).max(65535)]).optional(),
  /** Match packets whose flags (among `mask`, default the same as `set`) are exactly `set`. */
  tcpFlags: z
    .object({ set: z.array(TcpFlag).min(1), mask: z.array(TcpFlag).min(1).optional() })
    .strict()
    .optional(),
};

const MATCHES_A_PORT = {
  message: 'a rule must match a port (dport or sport), so it can never cut the SSH connection',
};

/**
 * A firewall rule described by intent, never as free text: the engine renders the iptables
 * command (with its ledger comment) and can prove the rule cannot match its own SSH traffic.
 */
export const FirewallRule = z
  .object({ ...RuleMatch, action: z.enum(['DROP', 'REJECT']) })
  .strict()
  .refine((r) => r.dport !== undefined || r.sport !== undefined, MATCHES_A_PORT);
export type FirewallRule = z.infer<typeof FirewallRule>;

/**
 * Packets matched like a firewall rule are held back for `by` before they go on, as on a slow
 * link. The engine queues them (iptables NFQUEUE, with --queue-bypass so traffic flows if the
 * queue's reader is gone) to a small helper it runs as root for the run.
 */
export const DelayRule = z
  .object({ ...RuleMatch, by: Duration })
  .strict()
  .refine((r) => r.dport !== undefined || r.sport !== undefined, MATCHES_A_PORT)
  // A malformed duration is reported by Duration itself; only a well-formed one is range-checked.
  .refine((r) => !Duration.safeParse(r.by).success || (durationMs(r.by) >= 10 && durationMs(r.by) <= 10_000), {
    message: 'must delay by 10ms to 10s',
    path: ['by'],
  });
export type DelayRule = z.infer<typeof DelayRule>;

/**
 * The kernel settings an experiment may change, with the range it may set. Every one is
 * per network namespace on Linux 5.x and later, so the virtual lab's hosts do not share them.
 */
export const TUNABLE_SYSCTLS = {
  /** How long an orphaned FIN_WAIT2 socket lives (s). */
  'net.ipv4.tcp_fin_timeout': { min: 1, max: 600 },
  /** How many TIME_WAIT sockets the host keeps; 0 makes it forget connections at once. */
  'net.ipv4.tcp_max_tw_buckets': { min: 0, max: 1 << 24 },
  /** How often a SYN-ACK is retransmitted before a half-open connection is dropped. */
  'net.ipv4.tcp_synack_retries': { min: 0, max: 10 },
  /** How often a SYN is retransmitted before connect() gives up. */
  'net.ipv4.tcp_syn_retries': { min: 1, max: 10 },
  /** How often data or a FIN of an orphaned socket is retransmitted (0 means 8). */
  'net.ipv4.tcp_orphan_retries': { min: 0, max: 15 },
  /** How often data is retransmitted before an established connection is given up. */
  'net.ipv4.tcp_retries2': { min: 1, max: 15 },
} as const satisfies Record<string, { min: number; max: number }>;
export type TunableSysctl = keyof typeof TUNABLE_SYSCTLS;
const TUNABLE_NAMES = Object.keys(TUNABLE_SYSCTLS) as [TunableSysctl, ...TunableSysctl[]];

/**
 * Settings a `show` step may read (read-only): the tunables and a few that explain them. A
 * setting the host's kernel lacks (tcp_syn_linear_timeouts is Linux 6.7+) is shown as absent.
 */
export const READABLE_SYSCTLS = [
  ...TUNABLE_NAMES,
  'net.ipv4.tcp_syn_linear_timeouts',
  'net.ipv4.tcp_max_syn_backlog',
  'net.ipv4.tcp_tw_reuse',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.tcp_rmem',
  'net.ipv4.tcp_wmem',
] as const;

export const SysctlChange = z
  .object({ name: z.enum(TUNABLE_NAMES), value: z.number().int() })
  .strict()
  .superRefine((change, ctx) => {
    const range = TUNABLE_SYSCTLS[change.name];
    if (change.value < range.min || change.value > range.max) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: `${change.name} must be from ${range.min} to ${range.max} (got ${change.value})` });
    }
  });
export type SysctlChange = z.infer<typeof SysctlChange>;

/** A kernel counter as nstat names it: `TcpOutRsts`, `TcpExtTCPTimeWaitOverflow`. */
export const CounterName = z.string().regex(/^(Ip|IpExt|Tcp|TcpExt|Udp|UdpLite|Icmp)[A-Za-z0-9]{1,60}$/, 'must be a kernel counter as nstat names it, such as TcpOutRsts or TcpExtTCPTimeWaitOverflow');

export const ShowWhat = z.union([
  z.object({ sysctl: z.enum(READABLE_SYSCTLS) }).strict(),
  z.object({ counters: z.array(CounterName).min(1).max(8) }).strict(),
]);
export type ShowWhat = z.infer<typeof ShowWhat>;

/** Helper programs in resources/helpers/ (name without `.py`). */
export const HelperName = z.string().regex(/^[a-z][a-z0-9-]{0,40}$/, 'must be the name of a helper in resources/helpers/, such as leaky-server');

const PLACEHOLDER = /\{([^{}]*)\}/g;
export const KNOWN_PLACEHOLDERS = ['port', 'sudo', 'client.address', 'server.address', 'H1.address', 'H2.address'] as const;

/**
 * One argument of a helper: a number, or text of letters, digits and `-_.:/=,` with placeholders.
 * Shell characters are refused here, not quoted away, so a helper's command line reads plainly.
 */
export const HelperArg = z
  .union([z.number(), z.string().min(1)])
  .transform((value) => String(value))
  .superRefine((value, ctx) => {
    for (const match of value.matchAll(PLACEHOLDER)) {
      if (!(KNOWN_PLACEHOLDERS as readonly string[]).includes(match[1] ?? '')) {
        ctx.addIssue({ code: 'custom', message: `unknown placeholder {${match[1]}}; known: ${KNOWN_PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}` });
        return;
      }
    }
    if (!/^[A-Za-z0-9_.:/=,-]+$/.test(value.replace(PLACEHOLDER, 'x'))) {
      ctx.addIssue({ code: 'custom', message: `"${value}" contains characters a helper argument may not have; use letters, digits and - _ . : / = , only` });
    }
  });

/**
 * A netcat application, by intent. Netcat is four programs (OpenBSD, traditional, ncat,
 * BusyBox) with different options and habits; the engine renders the intent for the flavor it
 * finds on the host, or runs the bundled tcp-peer helper where that flavor cannot do it.
 */
export const NetcatIntent = z
  .object({
    /** Listen on the experiment port: the server. */
    listen: z.literal(true).optional(),
    /** Connect to this host's experiment address, on the experiment port: the client. */
    connect: HostRef.optional(),
    /** At the end of input (Ctrl-D): shut down the sending side (FIN) and keep receiving, or do nothing. */
    endOfInput: z.enum(['half-close', 'nothing']).default('nothing'),
    /**
     * When the peer closes: close too and exit, or stay (until Ctrl-C, or until the input ends
     * too). Default as OpenBSD nc: a listener exits, a client stays.
     */
    peerClose: z.enum(['exit', 'stay']).optional(),
    /** Report the outcome of connecting (succeeded, refused). */
    verbose: z.boolean().default(false),
    /** What is received: shown in the pane, or only counted (`| wc -c`, printed at the end). */
    output: z.enum(['show', 'count']).default('show'),
  })
  .strict()
  .refine((n) => (n.listen === true) !== (n.connect !== undefined), { message: 'give exactly one of listen: true or connect: <host>' });
export type NetcatIntent = z.infer<typeof NetcatIntent>;

const StepCommon = {
  /** Shown to the user before the step runs. */
  explain: z.string().optional(),
};

const InPane = { host: HostRef, pane: PaneName };

export const Step = z.union([
  z.object({ ...StepCommon, ...InPane, run: z.string().min(1) }).strict(),
  z.object({ ...StepCommon, ...InPane, type: z.string().min(1) }).strict(),
  z.object({ ...StepCommon, ...InPane, key: z.enum(['ctrl-c', 'ctrl-d', 'enter']) }).strict(),
  /** Starts netcat (or its stand-in) in a pane; see NetcatIntent. */
  z.object({ ...StepCommon, host: HostRef, pane: PaneName.default('upper'), nc: NetcatIntent }).strict(),
  z.object({ ...StepCommon, host: HostRef, pane: PaneName.default('lower'), firewall: FirewallRule }).strict(),
  z.object({ ...StepCommon, host: HostRef, pane: PaneName.default('lower'), delay: DelayRule }).strict(),
  /** Sets a kernel setting (as root); the engine restores the value it found after the run. */
  z.object({ ...StepCommon, host: HostRef, pane: PaneName.default('lower'), sysctl: SysctlChange }).strict(),
  /** Reads a setting or counters into the pane and the session log; changes nothing. */
  z.object({ ...StepCommon, host: HostRef, pane: PaneName.default('lower'), show: ShowWhat }).strict(),
  /**
   * Runs a helper program from resources/helpers/ in a pane, as the login user: the engine
   * uploads it (SFTP) for the run and removes it afterwards. Ctrl-C in the pane stops it.
   */
  z.object({ ...StepCommon, host: HostRef, pane: PaneName.default('upper'), helper: HelperName, args: z.array(HelperArg).max(16).default([]) }).strict(),
  z
    .object({
      ...StepCommon,
      wait: z
        .object({
          host: HostRef,
          state: TcpStateName,
          /** How many connections of this run must reach the state (default 1). */
          count: z.number().int().min(1).max(1000).default(1),
          timeout: Duration.default('10s'),
        })
        .strict(),
    })
    .strict(),
  z.object({ ...StepCommon, sleep: Duration }).strict(),
  z.object({ ...StepCommon, note: z.string().min(1) }).strict(),
]);
export type Step = z.infer<typeof Step>;

export const HostExpectation = z
  .object({
    /** States some connection on this host passes through, in this order (others may lie between). */
    passes: z.array(TcpStateName).min(1).optional(),
    /** The state that connection is in when the last step has run (before cleanup). */
    endsIn: TcpStateName.optional(),
    /** How many connections of this run must keep the promise (default 1). */
    atLeast: z.number().int().min(1).max(1000).optional(),
    /**
     * The host must have no connection of this run on the port at all: nobody listens there and
     * the kernel answers with RST, or a firewall ate every segment before a socket existed.
     */
    noConnection: z.literal(true).optional(),
  })
  .strict()
  .superRefine((e, ctx) => {
    if (e.noConnection && (e.passes !== undefined || e.endsIn !== undefined || e.atLeast !== undefined)) {
      ctx.addIssue({ code: 'custom', message: 'noConnection: true stands alone: leave out passes, endsIn and atLeast', path: ['noConnection'] });
    }
    if (!e.noConnection && e.passes === undefined) {
      ctx.addIssue({ code: 'custom', message: 'give passes: [STATE, ...] (the states a connection passes through, in order), or noConnection: true', path: ['passes'] });
    }
  });
export type HostExpectation = z.infer<typeof HostExpectation>;

export const Experiment = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'must be lowercase letters, digits and dashes'),
    title: z.string().min(1),
    /** One line, for `tcplab experiments`. */
    summary: z.string().min(1),
    /** For students: what happens and what to watch for. */
    explanation: z.string().min(1),
    roles: z
      .object({ client: z.enum(['H1', 'H2']), server: z.enum(['H1', 'H2']) })
      .strict()
      .refine((r) => r.client !== r.server, { message: 'client and server must be different hosts' })
      .default({ client: 'H1', server: 'H2' }),
    port: z.number().int().min(1).max(65535).default(7777),
    steps: z.array(Step).min(1),
    /** Keyed by role or host label. */
    expect: z.record(HostRef, HostExpectation),
  })
  .strict();
export type Experiment = z.infer<typeof Experiment>;
export type ExperimentInput = z.input<typeof Experiment>;
