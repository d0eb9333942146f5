/**
 * Runs an experiment: each step visibly in the hosts' panes (commands typed as a person would),
 * waits for the states it names, then compares what each host passed through with what the
 * experiment promises, and cleans up whatever happens (error, abort, signal).
 */
import { mkdirSync, openSync, writeSync, closeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { durationMs, type Experiment, type Step } from '../../shared/src/experiment-schema';
import { isoMicros, type HostResult, type LabEvent, type PaneName } from '../../shared/src/events';
import { passesInOrder, type ConnectionHistory } from '../../shared/src/reconcile';
import type { TcpState } from '../../shared/src/tcp-states';
import { SessionLog } from './event-log';
import { iptablesCommand, hasRule, ruleArguments, RuleRefused } from './firewall-ledger';
import type { ResolvedHosts } from './hosts-config';
import { HOST_LABELS, LabSession, type LabHostLabel } from './lab-session';

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
}

export interface RunResult {
  experiment: string;
  passed: boolean;
  out: string;
  hosts: Record<string, HostResult>;
  /** Set when the run stopped before its last step. */
  error?: string;
}

/** The run could not start: connection, host key, authentication or sudo. Nothing was changed. */
export class SetupError extends Error {
  override name = 'SetupError';
}

const KEYS = { 'ctrl-c': '\x03', 'ctrl-d': '\x04', enter: '\r' } as const;

export class ExperimentRun {
  readonly session: LabSession;
  readonly log: SessionLog;
  private aborted: string | undefined;
  private readonly transcripts = new Map<string, number>();
  readonly roles: { client: LabHostLabel; server: LabHostLabel };
  readonly port: number;

  constructor(private readonly options: RunOptions) {
    const { experiment } = options;
    mkdirSync(options.outDir, { recursive: true });
    this.log = new SessionLog(join(options.outDir, 'session.jsonl'));
    if (options.onEvent) this.log.on('event', options.onEvent);
    this.port = options.port ?? experiment.port;
    this.roles = options.swapRoles ? { client: experiment.roles.server, server: experiment.roles.client } : { ...experiment.roles };
    for (const label of HOST_LABELS) {
      for (const pane of ['upper', 'lower'] as const) {
        this.transcripts.set(`${label}/${pane}`, openSync(join(options.outDir, `${label}-${pane}.txt`), 'w'));
      }
    }
    this.session = new LabSession({
      hosts: options.hosts,
      port: this.port,
      log: this.log,
      experiment: experiment.id,
      ...(options.acceptedFingerprints ? { acceptedFingerprints: options.acceptedFingerprints } : {}),
      onPaneOutput: (label, pane, text) => writeSync(this.transcripts.get(`${label}/${pane}`)!, text),
    });
  }

  /** Stops the run at the next step boundary (or wait); cleanup then runs as usual. */
  abort(reason: string): void {
    this.aborted ??= reason;
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
      await this.session.open();
    } catch (setupError) {
      // Nothing ran on the hosts: this is bad input or an unreachable host, not a failed experiment.
      this.log.close();
      for (const fd of this.transcripts.values()) closeSync(fd);
      throw new SetupError((setupError as Error).message, { cause: setupError });
    }
    try {
      await this.waitForPrompts();
      for (const [index, step] of experiment.steps.entries()) {
        if (this.aborted) throw new Error(`aborted: ${this.aborted}`);
        const summary = describeStep(step);
        this.log.append({ type: 'step', index, phase: 'start', summary, ...(step.explain ? { explain: step.explain } : {}) });
        try {
          await this.runStep(index, step);
        } catch (stepError) {
          this.log.append({ type: 'step', index, phase: 'failed', summary, detail: (stepError as Error).message });
          throw new Error(`step ${index + 1} (${summary}): ${(stepError as Error).message}`);
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
    const result: RunResult = { experiment: experiment.id, passed, out: outDir, hosts, ...(error ? { error } : {}) };
    writeFileSync(join(outDir, 'result.json'), `${JSON.stringify(result, null, 2)}\n`);
    return result;
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
    } else if ('firewall' in step) {
      const label = this.resolveHost(step.host);
      const host = this.session.host(label);
      let args: string[];
      try {
        args = ruleArguments(step.firewall, this.port, this.session.sessionId, host.host.port);
      } catch (error) {
        if (error instanceof RuleRefused) throw new Error(`${label}: ${error.message}`);
        throw error;
      }
      const command = iptablesCommand(host, '-A', args);
      // Into the ledger before it exists on the host, so an abort mid-step still removes it.
      this.log.append({ type: 'firewall', host: label, action: 'add', command, rule: step.firewall, owner: this.session.sessionId });
      await this.typeCommand(label, step.pane, command, index);
      await this.until(() => hasRule(host, this.session.sessionId), 8000, `${label}: the firewall rule did not appear (see ${label}'s ${step.pane} pane: was sudo refused?)`);
    } else if ('wait' in step) {
      const label = this.resolveHost(step.wait.host);
      await this.session.waitForState(label, step.wait.state, this.session.hostNowUs(label) - 1000, durationMs(step.wait.timeout));
    } else if ('sleep' in step) {
      await sleep(durationMs(step.sleep));
    } else {
      this.log.append({ type: 'note', text: step.note });
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

  private async typeCommand(label: LabHostLabel, pane: PaneName, command: string, step: number): Promise<void> {
    this.log.append({ type: 'command', host: label, pane, text: command, step });
    await this.typeText(label, pane, `${command}\r`);
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

  /** Compares each host's histories with the experiment's promises. */
  evaluate(runError?: string): Record<string, HostResult> {
    const { experiment } = this.options;
    const expectations = new Map<LabHostLabel, { role?: 'client' | 'server'; passes: TcpState[]; endsIn?: TcpState }>();
    for (const [ref, expectation] of Object.entries(experiment.expect)) {
      const label = this.resolveHost(ref);
      const role = ref === 'client' || ref === 'server' ? ref : (Object.entries(this.roles).find(([, l]) => l === label)?.[0] as 'client' | 'server' | undefined);
      expectations.set(label, { ...(role ? { role } : {}), passes: expectation.passes, ...(expectation.endsIn ? { endsIn: expectation.endsIn } : {}) });
    }
    const results: Record<string, HostResult> = {};
    for (const label of HOST_LABELS) {
      const histories = this.session.observations.get(label)!.histories();
      const expected = expectations.get(label);
      const connections = histories.map((c) => ({
        local: c.local,
        remote: c.remote,
        states: c.states.map((s) => ({ state: s.state, hostTime: isoMicros(s.hostTimeUs), seen: s.seen })),
      }));
      const role = expected?.role ?? (Object.entries(this.roles).find(([, l]) => l === label)?.[0] as 'client' | 'server' | undefined);
      if (!expected) {
        results[label] = { ...(role ? { role } : {}), passed: runError === undefined, ...(runError ? { reason: runError } : {}), connections };
        continue;
      }
      const verdict = judge(histories, expected.passes, expected.endsIn);
      const reason = runError ?? verdict;
      results[label] = {
        ...(role ? { role } : {}),
        expected: { passes: expected.passes, ...(expected.endsIn ? { endsIn: expected.endsIn } : {}) },
        passed: reason === undefined,
        ...(reason ? { reason } : {}),
        connections,
      };
    }
    return results;
  }

  private async cleanup(): Promise<void> {
    // Stop whatever the steps left running in the upper panes (nc, helpers), as a person would.
    for (const label of HOST_LABELS) {
      try {
        this.session.pane(label, 'upper').write('\x03');
      } catch {
        // The pane never opened: nothing to stop.
      }
    }
    await this.session.close(this.aborted ? `aborted: ${this.aborted}` : 'finished');
  }
}

/** undefined when some connection satisfies the promise, else why not, in words. */
export function judge(histories: ConnectionHistory[], passes: TcpState[], endsIn?: TcpState): string | undefined {
  const ok = histories.some((c) => {
    const states = c.states.map((s) => s.state);
    return passesInOrder(states, passes) && (endsIn === undefined || states.at(-1) === endsIn);
  });
  if (ok) return undefined;
  const observed = histories.map((c) => `${c.local} -> ${c.remote}: ${c.states.map((s) => s.state).join(', ')}`);
  return `expected ${passes.join(' -> ')}${endsIn ? ` ending in ${endsIn}` : ''}; observed ${observed.length ? observed.join(' | ') : 'no connection on the port'}`;
}

export function describeStep(step: Step): string {
  if ('run' in step) return `${step.host} ${step.pane}: ${step.run}`;
  if ('type' in step) return `${step.host} ${step.pane}: type ${JSON.stringify(step.type)}`;
  if ('key' in step) return `${step.host} ${step.pane}: ${step.key}`;
  if ('firewall' in step) return `${step.host} firewall: ${step.firewall.chain} ${step.firewall.action}`;
  if ('wait' in step) return `wait until ${step.wait.host} is ${step.wait.state}`;
  if ('sleep' in step) return `wait ${step.sleep}`;
  return `note: ${step.note}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
