/**
 * The experiment file format: a declarative list of steps run in the hosts' panes, and the
 * states each host must reach. Files are YAML (or JSON); `loadExperiment` in experiment-file.ts
 * validates them against this schema and reports every error with its line.
 *
 * Steps name hosts by role (`client`, `server`) or by lab label (`H1`, `H2`), so one
 * experiment can run with the roles swapped. Commands may use the placeholders {port},
 * {server.address}, {client.address}, {H1.address}, {H2.address}.
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

/**
 * A firewall rule described by intent, never as free text: the engine renders the iptables
 * command (with its ledger comment) and can prove the rule cannot match its own SSH traffic.
 */
export const FirewallRule = z
  .object({
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
    action: z.enum(['DROP', 'REJECT']),
  })
  .strict()
  .refine((r) => r.dport !== undefined || r.sport !== undefined, {
    message: 'a rule must match a port (dport or sport), so it can never cut the SSH connection',
  });
export type FirewallRule = z.infer<typeof FirewallRule>;

const StepCommon = {
  /** Shown to the user before the step runs. */
  explain: z.string().optional(),
};

const InPane = { host: HostRef, pane: PaneName };

export const Step = z.union([
  z.object({ ...StepCommon, ...InPane, run: z.string().min(1) }).strict(),
  z.object({ ...StepCommon, ...InPane, type: z.string().min(1) }).strict(),
  z.object({ ...StepCommon, ...InPane, key: z.enum(['ctrl-c', 'ctrl-d', 'enter']) }).strict(),
  z.object({ ...StepCommon, host: HostRef, pane: PaneName.default('lower'), firewall: FirewallRule }).strict(),
  z
    .object({
      ...StepCommon,
      wait: z
        .object({
          host: HostRef,
          state: TcpStateName,
          /** Only connections with this peer role count; default any socket on the port. */
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
    passes: z.array(TcpStateName).min(1),
    /** The state that connection is in when the last step has run (before cleanup). */
    endsIn: TcpStateName.optional(),
  })
  .strict();
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
