/**
 * Runs an experiment: each step visibly in the hosts' panes (commands typed as a person would),
 * waits for the states it names, then compares what each host passed through with what the
 * experiment promises, and cleans up whatever happens (error, abort, signal).
 *
 * Host changes other than firewall rules (those carry their own ledger comment, see
 * firewall-ledger.ts) live in a per-run directory on the host, `/tmp/tcplab-<session>-<label>`
 * (mode 0700, made over SFTP): the helper programs uploaded for the run, and a `ledger` file
 * with each sysctl's original value, written before the value is changed. After the run, also
 * after an error or an abort, the values are restored and the directory removed. If the
 * controller crashed instead, the next run on that host finds the directory of a session that
 * is no longer alive, restores what its ledger says and removes it.
 */
import { randomInt } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { ClientChannel, SFTPWrapper } from 'ssh2';
import {
  durationMs,
  TUNABLE_SYSCTLS,
  type DelayRule,
  type Experiment,
  type NetcatIntent,
  type ShowWhat,
  type Step,
  type TunableSysctl,
} from '../../shared/src/experiment-schema';
import { isoMicros, type ConnectionResult, type HostResult, type LabEvent, type PaneName } from '../../shared/src/events';
import { NETCAT_PROBE, parseNetcatProbe, type NetcatFlavor } from '../../shared/src/netcat';
import { refusal, requirementsOf } from '../../shared/src/preflight';
import { passesInOrder, type ConnectionHistory } from '../../shared/src/reconcile';
import { shellQuote } from '../../shared/src/safe-values';
import type { TcpState } from '../../shared/src/tcp-states';
import { SessionLog } from './event-log';
import { iptablesCommand, listOwnedRules, ruleArguments, RuleRefused } from './firewall-ledger';
import type { ResolvedHosts } from './hosts-config';
import { addDropLogRule } from './packet-capture';
import { HOST_LABELS, LabSession, liveSessionsOn, sessionMarker, type LabHostLabel } from './lab-session';
import { checkHost } from './preflight';
import type { SshHost } from './ssh-host';
import { RESOURCES_DIR } from './virtual-lab';

export const HELPERS_DIR = join(RESOURCES_DIR, 'helpers');
/** The helper the `delay` step runs (as root) to hold packets back. */
const DELAY_HELPER = 'nfqueue-delay';
/** The helper an `nc` step runs where the host's netcat cannot do what the step asks. */
const NETCAT_HELPER = 'tcp-peer';

export interface RunOptions {
  experiment: Experiment;
  hosts: ResolvedHosts;
  outDir: string;
  /** Overrides the experiment's port. */
  port?: number;
  /** Runs the experiment with client and server exchanged. */
  swapRoles?: boolean;
  acceptedFingerprints?: ReadonlySet<string>;
  onEvent?: (event: LabEvent) => void;
  /** Typing speed for commands, per character (a person-like pace; 0 in tests that hurry). */
  typingDelayMs?: number;
  /**
   * How `nc` steps run: with the host's own netcat where its flavor can do what the step asks
   * ('auto', the default), or always with the bundled tcp-peer helper ('helper').
   */
  netcat?: 'auto' | 'helper';
  /**
   * 'step': before each step its explanation is logged (phase 'ready') and the run waits for
   * proceed(); 'all' (the default) runs the steps one after another.
   */
  pace?: 'all' | 'step';
  /**
   * Capture the port's packets on both hosts (tcpdump through sudo, `<label>.pcap` and
   * `<label>-dropped.pcap` in outDir; the default). false: no capture, no NFLOG rules, no
   * `packet` events (`tcplab run --no-packets`).
   */
  packets?: boolean;
}

export interface RunResult {
  experiment: string;
  passed: boolean;
  out: string;
  hosts: Record<string, HostResult>;
  /** What `show` steps read on each host: sysctl names and counter names to their values. */
  values?: Record<string, Record<string, string>>;
  /** Set when the run stopped before its last step. */
  error?: string;
}

/** The run could not start: connection, host key, authentication or sudo. Nothing was changed. */
export class SetupError extends Error {
  override name = 'SetupError';
}

const KEYS = { 'ctrl-c': '\x03', 'ctrl-d': '\x04', enter: '\r' } as const;

/** What this run changed on one host, beyond firewall rules. */
interface HostWork {
  /** The run's directory on the host, once made. */
  dir?: string;
  /** Original values of the sysctls this run changed, in the order changed. */
  sysctls: Map<TunableSysctl, string>;
  uploaded: Set<string>;
  /** Panes a helper was started in (stopped with Ctrl-C afterwards). */
  helperPanes: Set<PaneName>;
  /** Channels of running delay helpers; ending one stops its helper. */
  delays: ClientChannel[];
}

/** The names of the helper programs that ship in resources/helpers/. */
export function availableHelpers(): string[] {
  if (!existsSync(HELPERS_DIR)) return [];
  return readdirSync(HELPERS_DIR)
    .filter((name) => name.endsWith('.py'))
    .map((name) => name.slice(0, -3))
    .sort();
}

/** The per-run directory of a session on a host (see the file comment). */
export function runDirectory(sessionId: string, label: string): string {
  return `/tmp/tcplab-${sessionId}-${label.toLowerCase()}`;
}

export { classifyNetcat, type NetcatFlavor } from '../../shared/src/netcat';

/** An `nc` step's intent with the host names resolved and defaults applied. */
export interface NetcatCall {
  mode: { listen: number } | { connect: string; port: number };
  endOfInput: 'half-close' | 'nothing';
  peerClose: 'exit' | 'stay';
  verbose: boolean;
  output: 'show' | 'count';
}

/**
 * The command line for a netcat flavor, or undefined when that flavor cannot do what the call
 * asks (then the tcp-peer helper runs instead). What each flavor does, from its documentation
 * (OpenBSD's is also checked on the virtual lab):
 * - OpenBSD: `-l PORT`; `-N` shuts down the sending side at the end of input; listening, it
 *   exits once the peer has closed; connected, it stays until its own input ends.
 * - ncat: `-l PORT`; shuts down the sending side at the end of input unless `--no-shutdown`;
 *   exits when the peer closes, listening or connected.
 * - traditional (Hobbit's 1.10): `-l -p PORT`; nothing at the end of input (`-q` would close
 *   both directions, not half-close); exits when the peer closes.
 * - BusyBox: `-l -p PORT`; no half-close; exits when the peer closes; `-v` not in every build.
 */
export function renderNetcat(flavor: NetcatFlavor, command: string, call: NetcatCall): string[] | undefined {
  const listening = 'listen' in call.mode;
  const target = 'listen' in call.mode ? [String(call.mode.listen)] : [call.mode.connect, String(call.mode.port)];
  const halfClose = call.endOfInput === 'half-close';
  const pipe = call.output === 'count' ? ['|', 'wc', '-c'] : [];
  switch (flavor) {
    case 'openbsd':
      if (call.peerClose !== (listening ? 'exit' : 'stay')) return undefined;
      return [command, ...(call.verbose ? ['-v'] : []), ...(halfClose ? ['-N'] : []), ...(listening ? ['-l'] : []), ...target, ...pipe];
    case 'ncat':
      if (call.peerClose !== 'exit') return undefined;
      return [command, ...(call.verbose ? ['-v'] : []), ...(halfClose ? [] : ['--no-shutdown']), ...(listening ? ['-l'] : []), ...target, ...pipe];
    case 'traditional':
    case 'busybox':
      if (call.peerClose !== 'exit' || halfClose) return undefined;
      return [command, ...(call.verbose && flavor === 'traditional' ? ['-v'] : []), ...(listening ? ['-l', '-p'] : []), ...target, ...pipe];
  }
}

/** The tcp-peer helper's arguments for a call (it can do every one). */
export function netcatHelperArgs(call: NetcatCall): string[] {
  const mode = 'listen' in call.mode ? ['--listen', String(call.mode.listen)] : ['--connect', call.mode.connect, String(call.mode.port)];
  return [...mode, '--on-peer-close', call.peerClose, ...(call.endOfInput === 'half-close' ? ['--half-close'] : []), ...(call.verbose ? ['-v'] : [])];
}

/** /proc/sys/net/ipv4/tcp_fin_timeout for net.ipv4.tcp_fin_timeout (names come from an allowlist). */
export function procSysPath(name: string): string {
  return `/proc/sys/${name.replace(/\./g, '/')}`;
}

/** A root shell command that sets a sysctl through /proc/sys (no dependency on sysctl's PATH). */
function writeSysctlCommand(name: TunableSysctl, value: string): string {
  return `echo ${value} > ${procSysPath(name)}`;
}

/** `sysctl <name> <original value>` lines; anything else (or out of the allowlist) is ignored. */
export function parseLedger(text: string): Array<{ name: TunableSysctl; value: string }> {
  const entries: Array<{ name: TunableSysctl; value: string }> = [];
  for (const line of text.split('\n')) {
    const match = /^sysctl ([a-z0-9_.]+) (\d{1,10})$/.exec(line.trim());
    if (!match?.[1] || !match[2] || !Object.hasOwn(TUNABLE_SYSCTLS, match[1])) continue;
    entries.push({ name: match[1] as TunableSysctl, value: match[2] });
  }
  return entries;
}

/** How long a step that failed waits for its host to report a drop (a host going down: shells first, then the connection). */
const DROP_GRACE_MS = 500;

/** /proc/net/snmp and /proc/net/netstat (header line, value line per group) as nstat names them. */
export function parseNetCounters(text: string): Map<string, string> {
  const counters = new Map<string, string>();
  const lines = text.split('\n');
  for (let i = 0; i + 1 < lines.length; i++) {
    const names = /^(\w+): (.*)$/.exec(lines[i] ?? '');
    const values = /^(\w+): (.*)$/.exec(lines[i + 1] ?? '');
    if (!names?.[1] || !values || values[1] !== names[1] || !/^[-\d\s]+$/.test(values[2] ?? '')) continue;
    const keys = (names[2] ?? '').trim().split(/\s+/);
    const numbers = (values[2] ?? '').trim().split(/\s+/);
    keys.forEach((key, k) => counters.set(`${names[1]}${key}`, numbers[k] ?? ''));
    i++;
  }
  return counters;
}

export class ExperimentRun {
  readonly session: LabSession;
  readonly log: SessionLog;
  private aborted: string | undefined;
  private readonly transcripts = new Map<string, number>();
  readonly roles: { client: LabHostLabel; server: LabHostLabel };
  readonly port: number;
  private readonly work = new Map<LabHostLabel, HostWork>();
  private readonly values: Record<string, Record<string, string>> = {};
  /** Per host, the netcat found there (command and flavor), or null for none usable. */
  private readonly netcats = new Map<LabHostLabel, { command: string; flavor: NetcatFlavor } | null>();
  /** Per host, host time when the first step began: connections seen before are not this run's. */
  private readonly runStartUs = new Map<LabHostLabel, number>();

  constructor(private readonly options: RunOptions) {
    const { experiment } = options;
    mkdirSync(options.outDir, { recursive: true });
    this.log = new SessionLog(join(options.outDir, 'session.jsonl'));
    if (options.onEvent) this.log.on('event', options.onEvent);
    this.port = options.port ?? experiment.port;
    this.roles = options.swapRoles ? { client: experiment.roles.server, server: experiment.roles.client } : { ...experiment.roles };
    this.pace = options.pace ?? 'all';
    for (const label of HOST_LABELS) {
      this.work.set(label, { sysctls: new Map(), uploaded: new Set(), helperPanes: new Set(), delays: [] });
      for (const pane of ['upper', 'lower'] as const) {
        this.transcripts.set(`${label}/${pane}`, openSync(join(options.outDir, `${label}-${pane}.txt`), 'w'));
      }
    }
    this.session = new LabSession({
      hosts: options.hosts,
      port: this.port,
      log: this.log,
      experiment: experiment.id,
      ...(options.packets === false ? {} : { captureDir: options.outDir }),
      ...(options.acceptedFingerprints ? { acceptedFingerprints: options.acceptedFingerprints } : {}),
      onPaneOutput: (label, pane, text) => writeSync(this.transcripts.get(`${label}/${pane}`)!, text),
    });
    // A run's session does not reconnect: a host that drops ends the run (at once, not when a
    // later step happens to touch it), and the step it was on is remembered to say so.
    for (const label of HOST_LABELS) {
      this.session.host(label).on('status', (status) => {
        if (status !== 'disconnected' || this.drops.has(label)) return;
        this.drops.set(label, { step: this.currentStep });
        this.abort(`the SSH connection to ${label} dropped`);
      });
    }
  }

  /** Hosts whose SSH connection dropped during the run, with the step under way then (undefined: before the steps). */
  private readonly drops = new Map<LabHostLabel, { step: number | undefined }>();
  private currentStep: number | undefined;

  /** Stops the run at the next step boundary (or wait); cleanup then runs as usual. */
  abort(reason: string): void {
    this.aborted ??= reason;
    this.releaseGate?.();
  }

  private pace: 'all' | 'step';
  private releaseGate: (() => void) | undefined;

  /** Whether a step-by-step run is waiting for proceed() before its next step. */
  get waitingForProceed(): boolean {
    return this.releaseGate !== undefined;
  }

  /**
   * Step-by-step runs: runs the step that is waiting; with 'all', that one and every later step
   * without stopping again. False when no step is waiting.
   */
  proceed(how: 'step' | 'all' = 'step'): boolean {
    if (how === 'all') this.pace = 'all';
    if (!this.releaseGate) return false;
    this.releaseGate();
    return true;
  }

  /** In step-by-step mode: shows the step's explanation and waits for proceed() (or an abort). */
  private async gate(index: number, summary: string, explain: string | undefined): Promise<void> {
    if (this.pace !== 'step') return;
    this.log.append({ type: 'step', index, phase: 'ready', summary, ...(explain ? { explain } : {}) });
    await new Promise<void>((resolve) => {
      this.releaseGate = () => {
        this.releaseGate = undefined;
        resolve();
      };
    });
  }

  /**
   * A step's summary or explanation as this run shows it: the port and addresses filled in, and
   * a leading role named by its host ("server upper: nc -l 7777" -> "H2 upper: nc -l 7777").
   */
  fill(text: string): string {
    return text
      .replace(/\{(port|(client|server|H1|H2)\.address)\}/g, (_whole, name: string, ref: string | undefined) =>
        ref === undefined ? String(this.port) : this.options.hosts.hosts[this.resolveHost(ref)].experimentAddress,
      )
      .replace(/^(wait until )?(client|server)\b/, (_m, wait: string | undefined, role: 'client' | 'server') => `${wait ?? ''}${this.roles[role]}`);
  }

  resolveHost(ref: string): LabHostLabel {
    if (ref === 'client' || ref === 'server') return this.roles[ref];
    return ref as LabHostLabel;
  }

  /** Fills {port}, {server.address}, {client.address}, {H1.address}, {H2.address}, {sudo}. */
  substitute(text: string, label: LabHostLabel): string {
    return text.replace(/\{([A-Za-z0-9.]+)\}/g, (whole, name: string) => {
      if (name === 'port') return String(this.port);
      if (name === 'sudo') return this.options.hosts.hosts[label].sudo === 'none' ? '' : 'sudo ';
      const match = /^(client|server|H1|H2)\.address$/.exec(name);
      if (match?.[1]) return this.options.hosts.hosts[this.resolveHost(match[1])].experimentAddress;
      throw new Error(`unknown placeholder ${whole}; known: {port}, {sudo}, {client.address}, {server.address}, {H1.address}, {H2.address}`);
    });
  }

  async run(): Promise<RunResult> {
    const { experiment, outDir } = this.options;
    let error: string | undefined;
    let hosts: Record<string, HostResult> = {};
    try {
      this.checkHelpersExist();
      await this.session.open();
    } catch (setupError) {
      // Nothing ran on the hosts: this is bad input or an unreachable host, not a failed experiment.
      this.log.close();
      for (const fd of this.transcripts.values()) closeSync(fd);
      throw new SetupError((setupError as Error).message, { cause: setupError });
    }
    const refused = await this.preflight().catch((error: unknown) => `preflight failed: ${(error as Error).message}`);
    if (refused !== undefined) {
      await this.session.close('refused to start: a host lacks what the experiment needs');
      this.log.close();
      for (const fd of this.transcripts.values()) closeSync(fd);
      throw new SetupError(refused);
    }
    try {
      await this.waitForPrompts();
      await Promise.all(HOST_LABELS.map((label) => this.recoverLeftovers(label)));
      for (const label of HOST_LABELS) this.runStartUs.set(label, this.session.hostNowUs(label));
      for (const [index, step] of experiment.steps.entries()) {
        if (this.aborted) throw new Error(`aborted: ${this.aborted}`);
        const summary = this.fill(describeStep(step));
        await this.gate(index, summary, step.explain === undefined ? undefined : this.fill(step.explain));
        if (this.aborted) throw new Error(`aborted: ${this.aborted}`);
        this.log.append({ type: 'step', index, phase: 'start', summary, ...(step.explain ? { explain: this.fill(step.explain) } : {}) });
        this.currentStep = index;
        try {
          await this.runStep(index, step);
        } catch (stepError) {
          const detail = await this.whyStepFailed(stepError as Error, index);
          this.log.append({ type: 'step', index, phase: 'failed', summary, detail });
          throw new Error(`step ${index + 1} (${summary}): ${detail}`);
        }
        this.log.append({ type: 'step', index, phase: 'end', summary });
      }
      // One more poll round, so states the tracer cannot show (TIME_WAIT) are confirmed.
      await sleep(700);
      hosts = this.evaluate();
    } catch (runError) {
      error = (runError as Error).message;
      hosts = this.evaluate(error);
    } finally {
      await this.cleanup();
    }
    const passed = error === undefined && Object.values(hosts).every((h) => h.passed);
    this.log.append({ type: 'result', passed, hosts });
    this.log.close();
    for (const fd of this.transcripts.values()) closeSync(fd);
    const values = Object.keys(this.values).length > 0 ? { values: this.values } : {};
    const result: RunResult = { experiment: experiment.id, passed, out: outDir, hosts, ...values, ...(error ? { error } : {}) };
    writeFileSync(join(outDir, 'result.json'), `${JSON.stringify(result, null, 2)}\n`);
    return result;
  }

  /**
   * Checks both hosts (shared/src/preflight.ts) and logs every item; returns why the run must
   * not start when a host fails an item this experiment needs, naming the host and the item.
   */
  private async preflight(): Promise<string | undefined> {
    const checks = await Promise.all(
      HOST_LABELS.map((label) => {
        const clockOffsetMs = this.session.clockOffsetMs.get(label);
        return checkHost(this.session.host(label), clockOffsetMs !== undefined ? { clockOffsetMs } : {});
      }),
    );
    for (const check of checks) {
      const label = check.host as LabHostLabel;
      for (const item of check.items) {
        this.log.append({ type: 'capability', host: label, name: `check:${item.name}`, ok: item.ok, detail: `${item.detail}${item.ok || !item.fix ? '' : ` (fix: ${item.fix})`}` });
      }
    }
    return refusal(checks, requirementsOf(this.options.experiment, this.roles), this.options.experiment.id);
  }

  /** A misspelt helper name fails before any host is touched. */
  private checkHelpersExist(): void {
    const known = availableHelpers();
    for (const [index, step] of this.options.experiment.steps.entries()) {
      const name = 'helper' in step ? step.helper : 'delay' in step ? DELAY_HELPER : 'nc' in step ? NETCAT_HELPER : undefined;
      if (name !== undefined && !known.includes(name)) {
        throw new Error(`step ${index + 1}: there is no helper "${name}" in ${HELPERS_DIR} (known: ${known.join(', ') || 'none'})`);
      }
    }
  }

  private async waitForPrompts(): Promise<void> {
    for (const [key, pane] of this.session.panes) {
      await this.until(
        async () => (this.session.paneTail.get(key) ?? '').includes(`] ${pane.host.label}`),
        10_000,
        `${key}: the shell showed no prompt within 10 s`,
        50,
      );
    }
  }

  private async runStep(index: number, step: Step): Promise<void> {
    if ('run' in step) {
      const label = this.resolveHost(step.host);
      await this.typeCommand(label, step.pane, this.substitute(step.run, label), index);
    } else if ('type' in step) {
      const label = this.resolveHost(step.host);
      await this.typeText(label, step.pane, this.substitute(step.type, label).replace(/\n/g, '\r'));
    } else if ('key' in step) {
      const label = this.resolveHost(step.host);
      this.sendInput(label, step.pane, KEYS[step.key]);
    } else if ('nc' in step) {
      await this.netcatStep(this.resolveHost(step.host), step.pane, index, step.nc);
    } else if ('firewall' in step) {
      const label = this.resolveHost(step.host);
      const args = this.ruleArgs(label, { ...step.firewall });
      // What this rule drops is logged (NFLOG) just before it, so the packet capture shows it.
      if (this.session.capturesDropped(label)) await addDropLogRule(this.session.host(label), label, args, this.session.nflogGroup, this.session.sessionId, this.log);
      await this.addRule(label, step.pane, index, args, step.firewall);
    } else if ('delay' in step) {
      await this.delayStep(this.resolveHost(step.host), step.pane, index, step.delay);
    } else if ('sysctl' in step) {
      await this.sysctlStep(this.resolveHost(step.host), step.pane, index, step.sysctl.name, step.sysctl.value);
    } else if ('show' in step) {
      await this.showStep(this.resolveHost(step.host), step.pane, index, step.show);
    } else if ('helper' in step) {
      const label = this.resolveHost(step.host);
      const path = await this.upload(label, step.helper);
      const args = step.args.map((arg) => shellQuote(this.substitute(arg, label)));
      this.work.get(label)!.helperPanes.add(step.pane);
      await this.typeCommand(label, step.pane, ['python3', path, ...args].join(' '), index);
    } else if ('wait' in step) {
      const label = this.resolveHost(step.wait.host);
      await this.waitForState(label, step.wait.state, step.wait.count, this.session.hostNowUs(label) - 1000, durationMs(step.wait.timeout));
    } else if ('sleep' in step) {
      await this.pause(durationMs(step.sleep));
    } else {
      this.log.append({ type: 'note', text: step.note });
    }
  }

  /** Starts netcat as the step intends: the host's own where its flavor can, else tcp-peer. */
  private async netcatStep(label: LabHostLabel, pane: PaneName, index: number, intent: NetcatIntent): Promise<void> {
    const call: NetcatCall = {
      mode: intent.listen ? { listen: this.port } : { connect: this.options.hosts.hosts[this.resolveHost(intent.connect!)].experimentAddress, port: this.port },
      endOfInput: intent.endOfInput,
      peerClose: intent.peerClose ?? (intent.listen ? 'exit' : 'stay'),
      verbose: intent.verbose,
      output: intent.output,
    };
    const netcat = this.options.netcat === 'helper' ? null : await this.findNetcat(label);
    let words = netcat ? renderNetcat(netcat.flavor, netcat.command, call) : undefined;
    if (!words) {
      const path = await this.upload(label, NETCAT_HELPER);
      words = ['python3', path, ...netcatHelperArgs(call), ...(call.output === 'count' ? ['|', 'wc', '-c'] : [])];
      const why = this.options.netcat === 'helper' ? 'the run asks for the helper' : netcat ? `${netcat.flavor} netcat cannot do what this step asks` : 'no netcat TCP Lab knows is installed';
      this.log.append({ type: 'note', host: label, text: `netcat stand-in: ${why}, so the tcp-peer helper runs instead` });
    }
    this.work.get(label)!.helperPanes.add(pane);
    await this.typeCommand(label, pane, words.join(' '), index);
  }

  /** Which netcat the host has (asked once per run), reported as a capability. */
  private async findNetcat(label: LabHostLabel): Promise<{ command: string; flavor: NetcatFlavor } | null> {
    if (this.netcats.has(label)) return this.netcats.get(label)!;
    const probe = await this.session.host(label).exec(NETCAT_PROBE, { timeoutMs: 10_000 });
    const found = parseNetcatProbe(probe.stdout);
    this.netcats.set(label, found);
    this.log.append({
      type: 'capability',
      host: label,
      name: 'netcat',
      ok: found !== null,
      detail: found ? `${found.command} is ${found.flavor} netcat` : 'no netcat TCP Lab knows (OpenBSD, ncat, traditional, BusyBox); nc steps run the tcp-peer helper (python3)',
    });
    return found;
  }

  /** iptables arguments (after -A) for a rule of this run, or why the rule is refused. */
  private ruleArgs(label: LabHostLabel, rule: Parameters<typeof ruleArguments>[0]): string[] {
    const host = this.session.host(label);
    try {
      return ruleArguments(rule, this.port, this.session.sessionId, host.host.port);
    } catch (error) {
      if (error instanceof RuleRefused) throw new Error(`${label}: ${error.message}`);
      throw error;
    }
  }

  private async ownRuleCount(host: SshHost): Promise<number> {
    return (await listOwnedRules(host)).filter((r) => r.sessionId === this.session.sessionId).length;
  }

  private async addRule(label: LabHostLabel, pane: PaneName, index: number, args: string[], rule?: Parameters<typeof ruleArguments>[0]): Promise<void> {
    const host = this.session.host(label);
    const before = await this.ownRuleCount(host);
    const command = iptablesCommand(host, '-A', args);
    // Into the ledger before it exists on the host, so an abort mid-step still removes it.
    this.log.append({ type: 'firewall', host: label, action: 'add', command, ...(rule ? { rule } : {}), owner: this.session.sessionId });
    await this.typeCommand(label, pane, command, index);
    await this.until(
      async () => (await this.ownRuleCount(host)) > before,
      8000,
      `${label}: the firewall rule did not appear (see ${label}'s ${pane} pane: was sudo refused?)`,
    );
  }

  /**
   * Starts the delay helper as root on its own channel (it stops when the channel ends), then
   * sends the matching packets to its queue with an NFQUEUE rule typed in the pane.
   */
  private async delayStep(label: LabHostLabel, pane: PaneName, index: number, delay: DelayRule): Promise<void> {
    const host = this.session.host(label);
    const path = await this.upload(label, DELAY_HELPER);
    const queue = randomInt(1000, 65000);
    const ms = durationMs(delay.by);
    const command = `python3 ${path} --queue ${queue} --delay-ms ${ms} --tag ${sessionMarker(this.session.sessionId)}`;
    this.log.append({ type: 'note', host: label, text: `starting the delay helper as root: ${command}` });
    const channel = await host.openExec(command, { root: true });
    this.work.get(label)!.delays.push(channel);
    await new Promise<void>((resolve, reject) => {
      let out = '';
      let err = '';
      const timer = setTimeout(() => reject(new Error(`${label}: the delay helper did not start within 10 s${err ? `: ${err.trim()}` : ''}`)), 10_000);
      channel.on('data', (chunk: Buffer) => {
        out += chunk.toString('utf8');
        if (out.includes('ready:')) {
          clearTimeout(timer);
          resolve();
        }
      });
      channel.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
      channel.on('close', () => {
        clearTimeout(timer);
        const why = err.trim() || out.trim() || 'it exited';
        reject(new Error(`${label}: the delay helper stopped before it was ready: ${why}`));
      });
    });
    const { by: _by, ...match } = delay;
    const args = this.ruleArgs(label, { ...match, action: 'DROP' });
    // ruleArguments ends with `-j DROP`; a delay queues the packets instead.
    args.splice(args.length - 1, 1, 'NFQUEUE', '--queue-num', String(queue), '--queue-bypass');
    await this.addRule(label, pane, index, args);
  }

  private async sysctlStep(label: LabHostLabel, pane: PaneName, index: number, name: TunableSysctl, value: number): Promise<void> {
    const host = this.session.host(label);
    const read = async (): Promise<string> => (await host.run(`cat ${procSysPath(name)}`)).trim();
    const original = await read();
    if (!/^\d+$/.test(original)) throw new Error(`${label}: ${name} reads "${original}", not a whole number, so it could not be restored; not changing it`);
    const work = this.work.get(label)!;
    if (!work.sysctls.has(name)) {
      work.sysctls.set(name, original);
      // Written before the change, so a crash of this controller can still be undone.
      await this.writeLedger(label);
      this.log.append({ type: 'note', host: label, text: `${name} is ${original}; it will be restored after the run` });
    }
    const sysctl = await this.sysctlCommand(label);
    const sudo = host.host.sudo === 'none' ? '' : 'sudo ';
    await this.typeCommand(label, pane, `${sudo}${sysctl} -w ${name}=${value}`, index);
    await this.until(async () => (await read()) === String(value), 8000, `${label}: ${name} did not become ${value} (see ${label}'s ${pane} pane: was sudo refused?)`);
  }

  /**
   * How to type `sysctl` in a pane: it lives in /usr/sbin or /sbin, which an unprivileged
   * login's PATH often lacks (and sudo's secure_path may too), so anyone but root gets its path.
   */
  private async sysctlCommand(label: LabHostLabel): Promise<string> {
    const host = this.session.host(label);
    const found = (await host.exec('command -v sysctl || for p in /usr/sbin/sysctl /sbin/sysctl; do [ -x $p ] && echo $p && break; done')).stdout.trim().split('\n')[0] ?? '';
    if (!found.startsWith('/')) throw new Error(`${label} has no sysctl command; install it (Debian, Ubuntu: sudo apt-get install procps)`);
    return host.host.user === 'root' ? 'sysctl' : found;
  }

  private async showStep(label: LabHostLabel, pane: PaneName, index: number, what: ShowWhat): Promise<void> {
    const host = this.session.host(label);
    const shown = (this.values[label] ??= {});
    if ('sysctl' in what) {
      await this.typeCommand(label, pane, `${await this.sysctlCommand(label)} ${what.sysctl}`, index);
      const read = await host.exec(`cat ${procSysPath(what.sysctl)}`);
      const value = read.code === 0 ? read.stdout.trim().replace(/\s+/g, ' ') : 'absent (this kernel has no such setting)';
      shown[what.sysctl] = value;
      this.log.append({ type: 'note', host: label, text: `${what.sysctl} = ${value}` });
      return;
    }
    await this.typeCommand(label, pane, `nstat -asz ${what.counters.join(' ')}`, index);
    const counters = parseNetCounters(await host.run('cat /proc/net/snmp /proc/net/netstat'));
    const text = what.counters.map((name) => {
      const value = counters.get(name) ?? 'unknown';
      shown[name] = value;
      return `${name} = ${value}`;
    });
    this.log.append({ type: 'note', host: label, text: text.join(', ') });
  }

  /** Makes the run's directory on the host (once) and writes its ledger. */
  private async runDir(label: LabHostLabel): Promise<string> {
    const work = this.work.get(label)!;
    if (work.dir) return work.dir;
    const dir = runDirectory(this.session.sessionId, label);
    await this.withSftp(label, async (sftp) => {
      // mkdir fails if the path exists: never write into a directory someone else made.
      await new Promise<void>((resolve, reject) =>
        sftp.mkdir(dir, { mode: 0o700 }, (error) => (error ? reject(new Error(`${label}: cannot create ${dir}: ${error.message}`)) : resolve())),
      );
    });
    work.dir = dir;
    this.log.append({ type: 'note', host: label, text: `this run's files on ${label} are in ${dir}; it is removed afterwards` });
    await this.writeLedger(label);
    return dir;
  }

  private async writeLedger(label: LabHostLabel): Promise<void> {
    const dir = await this.runDir(label);
    const lines = [...this.work.get(label)!.sysctls].map(([name, value]) => `sysctl ${name} ${value}\n`);
    await this.writeFile(label, `${dir}/ledger`, `# TCP Lab: what session ${this.session.sessionId} changed on this host, to undo\n${lines.join('')}`);
  }

  private async writeFile(label: LabHostLabel, path: string, content: string | Buffer): Promise<void> {
    await this.withSftp(label, (sftp) =>
      new Promise<void>((resolve, reject) =>
        sftp.writeFile(path, content, { mode: 0o600 }, (error) => (error ? reject(new Error(`${label}: cannot write ${path}: ${error.message}`)) : resolve())),
      ),
    );
  }

  private async withSftp<T>(label: LabHostLabel, use: (sftp: SFTPWrapper) => Promise<T>): Promise<T> {
    const sftp = await this.session.host(label).sftp();
    try {
      return await use(sftp);
    } finally {
      sftp.end();
    }
  }

  /** Uploads a helper (once per run); returns its path on the host. */
  private async upload(label: LabHostLabel, name: string): Promise<string> {
    const work = this.work.get(label)!;
    const dir = await this.runDir(label);
    const path = `${dir}/${name}.py`;
    if (work.uploaded.has(name)) return path;
    if ((await this.session.host(label).exec('command -v python3')).code !== 0) {
      throw new Error(`${label} has no python3, which the helper ${name} needs; install it (Debian, Ubuntu: sudo apt-get install python3-minimal)`);
    }
    await this.writeFile(label, path, readFileSync(join(HELPERS_DIR, `${name}.py`)));
    work.uploaded.add(name);
    this.log.append({ type: 'note', host: label, text: `uploaded the helper ${name} to ${path}` });
    return path;
  }

  /**
   * Run directories of sessions that are no longer alive (the controller crashed): restore the
   * sysctls their ledger lists, then remove them. Only directories the login user owns count.
   */
  private async recoverLeftovers(label: LabHostLabel): Promise<void> {
    const host = this.session.host(label);
    const suffix = label.toLowerCase();
    const listing = await host.run(`find /tmp -maxdepth 1 -type d -name 'tcplab-*-${suffix}' -user "$(id -un)" 2>/dev/null; true`);
    const dirs = listing
      .split('\n')
      .map((line) => new RegExp(`^/tmp/tcplab-([0-9a-f]{1,32})-${suffix}$`).exec(line.trim()))
      .filter((m): m is RegExpExecArray => m !== null);
    if (dirs.length === 0) return;
    const live = await liveSessionsOn(host);
    live.add(this.session.sessionId);
    for (const [dir, sessionId] of dirs) {
      if (!sessionId || live.has(sessionId)) continue;
      const ledger = await host.exec(`cat ${dir}/ledger`);
      const restored: string[] = [];
      for (const { name, value } of parseLedger(ledger.code === 0 ? ledger.stdout : '')) {
        await host.run(writeSysctlCommand(name, value), { root: true });
        restored.push(`${name}=${value}`);
      }
      await host.run(`rm -rf -- ${dir}`);
      this.log.append({
        type: 'note',
        host: label,
        text: `cleaned up after session ${sessionId}, which did not end cleanly: ${restored.length ? `restored ${restored.join(', ')}, ` : ''}removed ${dir}`,
      });
    }
  }

  private sendInput(label: LabHostLabel, pane: PaneName, data: string): void {
    this.session.pane(label, pane).write(data);
    this.log.append({ type: 'pane-input', host: label, pane, data, by: 'step' });
  }

  private async typeText(label: LabHostLabel, pane: PaneName, text: string): Promise<void> {
    const delay = this.options.typingDelayMs ?? 15;
    if (delay === 0) return this.sendInput(label, pane, text);
    for (const char of text) {
      this.sendInput(label, pane, char);
      await sleep(delay);
    }
  }

  /**
   * Types a command and presses Enter. The lower pane holds short commands (ss, iptables,
   * sysctl), so there the step also waits for the prompt to return: the command's output then
   * shows the state before the next step changes it, as in the article's figures. The upper pane
   * runs applications that keep running (nc, helpers): no wait there.
   */
  private async typeCommand(label: LabHostLabel, pane: PaneName, command: string, step: number): Promise<void> {
    this.log.append({ type: 'command', host: label, pane, text: command, step });
    const finished = pane === 'lower' ? this.promptReturns(label, pane, 10_000) : undefined;
    await this.typeText(label, pane, `${command}\r`);
    if (finished && !(await finished)) {
      this.log.append({ type: 'note', host: label, text: `\`${command}\` was still running in the ${pane} pane after 10 s; going on` });
    }
  }

  /** Resolves true when the pane next shows its prompt, false after timeoutMs. */
  private promptReturns(label: LabHostLabel, name: PaneName, timeoutMs: number): Promise<boolean> {
    const pane = this.session.pane(label, name);
    const prompt = new RegExp(`\\[\\d\\d:\\d\\d:\\d\\d\\] ${pane.host.label}[#$] `);
    return new Promise((resolve) => {
      let seen = '';
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        pane.off('data', onData);
        pane.off('close', onClose);
        resolve(ok);
      };
      const onData = (text: string): void => {
        seen = (seen + text).slice(-4096);
        if (prompt.test(seen)) done(true);
      };
      const onClose = (): void => done(false);
      const timer = setTimeout(() => done(false), timeoutMs);
      pane.on('data', onData);
      pane.on('close', onClose);
    });
  }

  private async until(check: () => Promise<boolean>, timeoutMs: number, message: string, everyMs = 200): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.aborted) throw new Error(`aborted: ${this.aborted}`);
      if (await check()) return;
      await sleep(everyMs);
    }
    throw new Error(message);
  }

  /** A sleep step that an abort cuts short. */
  private async pause(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (this.aborted) throw new Error(`aborted: ${this.aborted}`);
      await sleep(Math.min(100, deadline - Date.now()));
    }
  }

  /** The histories of connections this run made (not sockets left on the port from before). */
  runHistories(label: LabHostLabel): ConnectionHistory[] {
    return this.historiesByRun(label).ours;
  }

  /** Each connection on the port, as this run's (first seen once its first step began) or earlier. */
  private historiesByRun(label: LabHostLabel): { ours: ConnectionHistory[]; earlier: ConnectionHistory[] } {
    const histories = this.session.observations.get(label)!.histories();
    const start = this.runStartUs.get(label);
    if (start === undefined) return { ours: [...histories], earlier: [] };
    const isOurs = (c: ConnectionHistory): boolean => (c.states[0]?.hostTimeUs ?? 0) >= start;
    return { ours: histories.filter(isOurs), earlier: histories.filter((c) => !isOurs(c)) };
  }

  /**
   * Resolves when `count` connections of this run have reached `state` since `sinceHostUs` (or
   * are in it now). A CLOSED only counts once a later ss poll has had the chance to contradict
   * it: the tracer reports a socket entering TIME_WAIT, or an orphaned FIN_WAIT2, as closed.
   */
  private async waitForState(label: LabHostLabel, state: TcpState, count: number, sinceHostUs: number, timeoutMs: number): Promise<void> {
    const observations = this.session.observations.get(label)!;
    const reached = (): number => {
      const polledUs = observations.latestSnapshot()?.hostTimeUs ?? 0;
      // A listening socket is not a connection: its closing must not satisfy `wait ... CLOSED`.
      const candidates = this.runHistories(label).filter((c) => state === 'LISTEN' || !c.remote.endsWith(':*'));
      return candidates.filter((c) =>
        c.states.some(
          (record, i) =>
            record.state === state && (record.hostTimeUs >= sinceHostUs || i === c.states.length - 1) && (state !== 'CLOSED' || polledUs > record.hostTimeUs),
        ),
      ).length;
    };
    try {
      await this.until(async () => reached() >= count, timeoutMs, '', 50);
    } catch (error) {
      if ((error as Error).message !== '') throw error;
      const now = this.runHistories(label).map((c) => `${c.local} -> ${c.remote}: ${c.states.at(-1)?.state ?? '?'}`);
      const what = count === 1 ? state : `${count} connections in ${state} (${reached()} so far)`;
      throw new Error(`${label} did not reach ${what} within ${timeoutMs / 1000} s (now: ${now.join('; ') || 'no connection of this run on the port'})`);
    }
  }

  /** Compares each host's histories with the experiment's promises. */
  evaluate(runError?: string): Record<string, HostResult> {
    const { experiment } = this.options;
    const expectations = new Map<LabHostLabel, { role?: 'client' | 'server'; passes: TcpState[]; endsIn?: TcpState; atLeast?: number; noConnection?: boolean }>();
    for (const [ref, expectation] of Object.entries(experiment.expect)) {
      const label = this.resolveHost(ref);
      const role = ref === 'client' || ref === 'server' ? ref : (Object.entries(this.roles).find(([, l]) => l === label)?.[0] as 'client' | 'server' | undefined);
      expectations.set(label, {
        ...(role ? { role } : {}),
        passes: expectation.passes ?? [],
        ...(expectation.endsIn ? { endsIn: expectation.endsIn } : {}),
        ...(expectation.atLeast ? { atLeast: expectation.atLeast } : {}),
        ...(expectation.noConnection ? { noConnection: true } : {}),
      });
    }
    const results: Record<string, HostResult> = {};
    for (const label of HOST_LABELS) {
      const { ours, earlier } = this.historiesByRun(label);
      const expected = expectations.get(label);
      const connections = ours.map(connectionResult);
      const shown = { connections, ...(earlier.length > 0 ? { earlier: earlier.map(connectionResult) } : {}) };
      const role = expected?.role ?? (Object.entries(this.roles).find(([, l]) => l === label)?.[0] as 'client' | 'server' | undefined);
      if (!expected) {
        results[label] = { ...(role ? { role } : {}), passed: runError === undefined, ...(runError ? { reason: runError } : {}), ...shown };
        continue;
      }
      const verdict = expected.noConnection ? judgeNoConnection(label, ours, this.port) : judge(ours, expected.passes, expected.endsIn, expected.atLeast);
      const reason = runError ?? verdict;
      results[label] = {
        ...(role ? { role } : {}),
        expected: { passes: expected.passes, ...(expected.endsIn ? { endsIn: expected.endsIn } : {}), ...(expected.noConnection ? { noConnection: true } : {}) },
        passed: reason === undefined,
        ...(reason ? { reason } : {}),
        ...shown,
      };
    }
    return results;
  }

  /**
   * A step's error in a lab assistant's words: when a host's SSH connection dropped, that is why,
   * whatever the plumbing said ("the command channel closed"). ssh2 reports a reset or closed TCP
   * connection before it closes the channels, but a host shutting down closes its shells first and
   * the connection a moment later (DROP_GRACE_MS): a failure with no drop yet waits that long.
   */
  private async whyStepFailed(error: Error, index: number): Promise<string> {
    for (let waited = 0; this.drops.size === 0 && waited < DROP_GRACE_MS; waited += 20) await sleep(20);
    if (this.drops.size === 0) return error.message;
    const dropped = (when: (step: number | undefined) => boolean): string[] => [...this.drops].flatMap(([label, drop]) => (when(drop.step) ? [label] : []));
    const during = dropped((step) => step === index);
    const before = dropped((step) => step !== index);
    const connections = (labels: string[]): string => `the SSH connection${labels.length > 1 ? 's' : ''} to ${labels.join(' and ')}`;
    const why = [...(during.length ? [`${connections(during)} dropped during this step`] : []), ...(before.length ? [`${connections(before)} had dropped before it`] : [])];
    // The abort that the drop itself caused says nothing more.
    const plumbing = error.message.startsWith('aborted: ') ? '' : ` (${error.message})`;
    return `${why.join('; ')}, so the run stopped${plumbing}`;
  }

  private async cleanup(): Promise<void> {
    // Stop whatever the steps left running in the panes (nc, helpers), as a person would.
    for (const label of HOST_LABELS) {
      for (const pane of new Set<PaneName>(['upper', ...this.work.get(label)!.helperPanes])) {
        try {
          this.session.pane(label, pane).write('\x03');
        } catch {
          // The pane never opened: nothing to stop.
        }
      }
    }
    for (const label of HOST_LABELS) {
      try {
        await this.undoHostChanges(label);
      } catch (error) {
        this.log.append({ type: 'note', host: label, text: `could not undo every change: ${(error as Error).message}; the next run on ${label} retries from its ledger` });
      }
    }
    await this.session.close(this.aborted ? `aborted: ${this.aborted}` : 'finished');
  }

  /** Stops delay helpers, restores sysctls (last changed first), removes the run's directory. */
  private async undoHostChanges(label: LabHostLabel): Promise<void> {
    const work = this.work.get(label)!;
    for (const channel of work.delays.splice(0)) channel.end();
    if (!work.dir) return;
    const host = this.session.host(label);
    if (host.status !== 'connected') throw new Error(`${label} is not connected`);
    for (const [name, value] of [...work.sysctls].reverse()) {
      await host.run(writeSysctlCommand(name, value), { root: true });
      this.log.append({ type: 'note', host: label, text: `restored ${name} to ${value}` });
    }
    work.sysctls.clear();
    await host.run(`rm -rf -- ${work.dir}`);
    this.log.append({ type: 'note', host: label, text: `removed ${work.dir}` });
    work.dir = undefined;
  }
}

/** A connection's history as a result carries it: host times in ISO-8601. */
function connectionResult(c: ConnectionHistory): ConnectionResult {
  return { local: c.local, remote: c.remote, states: c.states.map((s) => ({ state: s.state, hostTime: isoMicros(s.hostTimeUs), seen: s.seen })) };
}

/** For a `noConnection` promise: why it was broken (each connection seen, with its states), or undefined. */
export function judgeNoConnection(label: string, histories: ConnectionHistory[], port: number): string | undefined {
  if (histories.length === 0) return undefined;
  const seen = histories.map((c) => `${c.local} -> ${c.remote} (${c.states.map((s) => s.state).join(', ')})`);
  return `expected no connection on ${label}'s port ${port}, but saw ${histories.length}: ${seen.join('; ')}`;
}

/**
 * undefined when at least `atLeast` connections (default 1) keep the promise, else why not, in
 * words.
 */
export function judge(histories: ConnectionHistory[], passes: TcpState[], endsIn?: TcpState, atLeast = 1): string | undefined {
  const keeping = histories.filter((c) => {
    const states = c.states.map((s) => s.state);
    return passesInOrder(states, passes) && (endsIn === undefined || states.at(-1) === endsIn);
  });
  if (keeping.length >= atLeast) return undefined;
  const observed = histories.map((c) => `${c.local} -> ${c.remote}: ${c.states.map((s) => s.state).join(', ')}`);
  const promise = `${passes.join(' -> ')}${endsIn ? ` ending in ${endsIn}` : ''}`;
  const expected = atLeast === 1 ? `expected ${promise}` : `expected ${atLeast} connections to pass ${promise}, ${keeping.length} did`;
  return `${expected}; observed ${observed.length ? observed.join(' | ') : 'no connection on the port'}`;
}

export function describeStep(step: Step): string {
  if ('run' in step) return `${step.host} ${step.pane}: ${step.run}`;
  if ('type' in step) return `${step.host} ${step.pane}: type ${JSON.stringify(step.type)}`;
  if ('key' in step) return `${step.host} ${step.pane}: ${step.key}`;
  if ('nc' in step) return `${step.host} ${step.pane}: ${describeNetcat(step.nc)}`;
  if ('firewall' in step) return `${step.host} firewall: ${step.firewall.chain} ${step.firewall.action}`;
  if ('delay' in step) return `${step.host} firewall: ${step.delay.chain} delay ${step.delay.by}`;
  if ('sysctl' in step) return `${step.host} ${step.pane}: set ${step.sysctl.name} to ${step.sysctl.value} (restored afterwards)`;
  if ('show' in step) return `${step.host} ${step.pane}: show ${'sysctl' in step.show ? step.show.sysctl : step.show.counters.join(' ')}`;
  if ('helper' in step) return `${step.host} ${step.pane}: helper ${[step.helper, ...step.args].join(' ')}`;
  if ('wait' in step) return `wait until ${step.wait.host} ${step.wait.count > 1 ? `has ${step.wait.count} connections in` : 'is'} ${step.wait.state}`;
  if ('sleep' in step) return `wait ${step.sleep}`;
  return `note: ${step.note}`;
}

/**
 * An `nc` step in the article's spelling (OpenBSD netcat) with placeholders, whatever the host's
 * flavor turns it into: `nc -l {port}`, `nc -N {server.address} {port} | wc -c`.
 */
function describeNetcat(intent: NetcatIntent): string {
  const words = ['nc', ...(intent.verbose ? ['-v'] : []), ...(intent.endOfInput === 'half-close' ? ['-N'] : [])];
  words.push(...(intent.listen ? ['-l', '{port}'] : [`{${intent.connect}.address}`, '{port}']));
  if (intent.output === 'count') words.push('|', 'wc', '-c');
  const usual = intent.listen ? 'exit' : 'stay';
  if (intent.peerClose && intent.peerClose !== usual) words.push(intent.peerClose === 'exit' ? '(exits when the peer closes)' : '(stays when the peer closes)');
  return words.join(' ');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
