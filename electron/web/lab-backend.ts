/**
 * The engine side of LabApi, independent of the transport: it owns the workspace (an idle
 * LabSession on both hosts) and the running experiment (an ExperimentRun, which opens and closes
 * its own LabSession), turns their session logs into `event` messages for every connected
 * renderer, and carries out requests and pane notifications that have already been validated.
 *
 * One thing at a time: idle -> connecting -> connected -> running -> (connected again) ... A run
 * replaces the workspace's session, because both would type into the same hosts and watch the
 * same port; when it ends the workspace reconnects, so the panes carry on below the run's output.
 */
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import type { LabEvent, PaneName } from '../../shared/src/events';
import type { Experiment } from '../../shared/src/experiment-schema';
import type { ApiError, ApiHostLabel, BackendState, ExperimentSummary, HostInfo, HostProblem, LabRequest, ServerMessage, SessionEventMessage } from '../../shared/src/lab-api';
import { LAB_API_VERSION } from '../../shared/src/lab-api';
import { SessionLog } from '../lab/event-log';
import { describeStep, ExperimentRun } from '../lab/experiment-runner';
import type { ResolvedHosts } from '../lab/hosts-config';
import { HOST_LABELS, LabSession } from '../lab/lab-session';
import { HostConnectError } from '../lab/ssh-host';
import { mkdirSync } from 'node:fs';

/** A request that cannot be carried out, with what the renderer shows. */
export class ApiFailure extends Error {
  constructor(readonly error: ApiError) {
    super(error.message);
  }
}

export interface LabBackendOptions {
  hosts: ResolvedHosts;
  experiments: Experiment[];
  /** Each session's log, transcripts and result go in a folder below this one. */
  outDir: string;
  /** The port the idle workspace watches (default: the first experiment's, else 7777). */
  workspacePort?: number;
  /** Per-character typing delay for runs (ExperimentRun's default when absent). */
  typingDelayMs?: number;
}

/** Connection problems that may pass by themselves. */
const RETRYABLE = new Set<string>(['unreachable', 'timeout', 'other']);

/** Reload history is bounded: roughly this many characters of events are kept. */
const HISTORY_BUDGET = 16 * 1024 * 1024;

export class LabBackend extends EventEmitter<{ message: [ServerMessage] }> {
  private stateValue: BackendState = { phase: 'idle' };
  private workspace: LabSession | undefined;
  private run: ExperimentRun | undefined;
  private runFinished: Promise<void> | undefined;
  /** Host keys the user accepted in this process (the first-connection dialog). */
  private readonly accepted = new Set<string>();
  private readonly history: SessionEventMessage[] = [];
  private historySize = 0;
  /** Terminal sizes the renderer asked for, applied to every pane a new session opens. */
  private readonly paneSizes = new Map<string, { cols: number; rows: number }>();
  private consumers = 0;
  private shuttingDown = false;

  constructor(private readonly options: LabBackendOptions) {
    super();
  }

  get state(): BackendState {
    return this.stateValue;
  }

  private setState(state: BackendState): void {
    this.stateValue = state;
    this.emit('message', { type: 'state', state });
  }

  hello(): ServerMessage {
    const { hosts } = this.options.hosts;
    const hostInfo: HostInfo[] = HOST_LABELS.map((label) => ({
      label,
      address: hosts[label].address,
      port: hosts[label].port,
      user: hosts[label].user,
      experimentAddress: hosts[label].experimentAddress,
    }));
    return {
      type: 'hello',
      version: LAB_API_VERSION,
      hosts: hostInfo,
      experiments: this.options.experiments.map((e) => summarize(e, this.options.hosts)),
      state: this.stateValue,
      outDir: this.options.outDir,
    };
  }

  /** The events sent so far (bounded), so a renderer that connects late shows the same screen. */
  replay(): readonly SessionEventMessage[] {
    return this.history;
  }

  /** The transport reports how many renderers are listening: with none, output is acknowledged here. */
  setConsumers(count: number): void {
    this.consumers = count;
    if (count === 0) {
      const session = this.activeSession();
      for (const label of HOST_LABELS) for (const pane of ['upper', 'lower'] as const) session?.acknowledgePaneOutput(label, pane, Number.POSITIVE_INFINITY);
    }
  }

  async handle(request: LabRequest): Promise<Record<string, unknown>> {
    if (this.shuttingDown) throw new ApiFailure({ message: 'TCP Lab is shutting down.' });
    switch (request.method) {
      case 'connect':
        return this.connect(request.acceptFingerprints);
      case 'disconnect':
        await this.disconnect();
        return {};
      case 'run':
        return this.startRun(request.experiment);
      case 'abort':
        if (!this.run) throw new ApiFailure({ message: 'No experiment is running.' });
        this.run.abort(request.reason);
        return {};
    }
  }

  private activeSession(): LabSession | undefined {
    return this.run?.session ?? this.workspace;
  }

  // -------------------------------------------------------------------------------------------
  // Pane notifications

  input(host: ApiHostLabel, pane: PaneName, data: string): void {
    const session = this.activeSession();
    const target = session?.panes.get(`${host}/${pane}`);
    if (!session || !target || target.closed) throw new ApiFailure({ message: `${host}'s ${pane} pane is not open: connect to the hosts first.` });
    target.write(data);
    session.log.append({ type: 'pane-input', host, pane, data, by: 'user' });
  }

  acknowledge(sessionId: string, host: ApiHostLabel, pane: PaneName, seq: number): void {
    const session = this.activeSession();
    // Acknowledgements for an earlier session (a reloaded page replaying history) are moot.
    if (session?.sessionId === sessionId) session.acknowledgePaneOutput(host, pane, seq);
  }

  resize(host: ApiHostLabel, pane: PaneName, cols: number, rows: number): void {
    this.paneSizes.set(`${host}/${pane}`, { cols, rows });
    const session = this.activeSession();
    const target = session?.panes.get(`${host}/${pane}`);
    if (session && target && !target.closed && (target.cols !== cols || target.rows !== rows)) {
      target.resize(cols, rows);
      session.log.append({ type: 'pane-resize', host, pane, cols, rows });
    }
  }

  // -------------------------------------------------------------------------------------------
  // Sessions

  private async connect(acceptFingerprints: readonly string[]): Promise<Record<string, unknown>> {
    if (this.stateValue.phase === 'connected') return { session: this.stateValue.session };
    if (this.stateValue.phase !== 'idle') throw new ApiFailure({ message: `Cannot connect now: ${describePhase(this.stateValue)}.` });
    for (const fingerprint of acceptFingerprints) this.accepted.add(fingerprint);
    this.setState({ phase: 'connecting' });
    const dir = join(this.options.outDir, `${stamp()}-workspace`);
    mkdirSync(dir, { recursive: true });
    const session = new LabSession({
      hosts: this.options.hosts,
      port: this.options.workspacePort ?? this.options.experiments[0]?.port ?? 7777,
      log: new SessionLog(join(dir, 'session.jsonl')),
      // The live Set: a key accepted later counts for the reconnect after a run as well.
      acceptedFingerprints: this.accepted,
      paneAcks: 'by-consumer',
    });
    this.follow(session);
    try {
      await session.open();
    } catch (error) {
      const failure = describeConnectFailure(error);
      // On the record too: the log of a failed connect says why it failed.
      session.log.append({ type: 'note', text: `could not connect: ${failure.message}` });
      session.log.close();
      this.setState({ phase: 'idle' });
      throw new ApiFailure(failure);
    }
    if (this.shuttingDown) {
      await session.close('TCP Lab is shutting down');
      session.log.close();
      throw new ApiFailure({ message: 'TCP Lab is shutting down.' });
    }
    this.workspace = session;
    this.setState({ phase: 'connected', session: session.sessionId });
    return { session: session.sessionId };
  }

  private async disconnect(): Promise<void> {
    if (this.run) {
      this.run.abort('disconnected from the app');
      await this.runFinished;
    }
    await this.closeWorkspace('disconnected from the app');
  }

  private async closeWorkspace(reason: string): Promise<void> {
    const session = this.workspace;
    if (!session) return;
    this.workspace = undefined;
    this.setState({ phase: 'closing' });
    await session.close(reason);
    session.log.close();
    this.setState({ phase: 'idle' });
  }

  private async startRun(id: string): Promise<Record<string, unknown>> {
    const experiment = this.options.experiments.find((e) => e.id === id);
    if (!experiment) throw new ApiFailure({ message: `There is no built-in experiment called "${id}".` });
    if (this.stateValue.phase !== 'connected') {
      throw new ApiFailure({ message: this.stateValue.phase === 'running' ? 'An experiment is already running: abort it or wait for it to finish.' : 'Connect to H1 and H2 first.' });
    }
    await this.closeWorkspace(`making way for the experiment ${experiment.id}`);
    const outDir = join(this.options.outDir, `${stamp()}-${experiment.id}`);
    let run: ExperimentRun;
    try {
      run = new ExperimentRun({
        experiment,
        hosts: this.options.hosts,
        outDir,
        acceptedFingerprints: this.accepted,
        onEvent: (event) => this.forward(run.session, event),
        ...(this.options.typingDelayMs !== undefined ? { typingDelayMs: this.options.typingDelayMs } : {}),
      });
    } catch (error) {
      void this.reconnectAfterRun();
      throw new ApiFailure({ message: `Could not prepare the run's folder ${outDir}: ${(error as Error).message}` });
    }
    // ExperimentRun builds its session with the headless default; the app's panes are
    // acknowledged by xterm instead. Set before run() opens the session.
    run.session.options.paneAcks = 'by-consumer';
    this.run = run;
    const sessionId = run.session.sessionId;
    this.setState({ phase: 'running', session: sessionId, experiment: experiment.id, outDir });
    this.runFinished = run.run().then(
      () => undefined,
      (error: unknown) => {
        this.emit('message', { type: 'notice', level: 'error', text: `The run stopped unexpectedly: ${(error as Error).message}` });
      },
    ).finally(() => {
      this.run = undefined;
      this.setState({ phase: 'idle' });
      void this.reconnectAfterRun();
    });
    return { session: sessionId, outDir };
  }

  /**
   * After a run the workspace comes back by itself. Connecting can fail for passing reasons (a
   * slow login shell missing a probe's deadline), so it tries a few times; never after a
   * host-key or login refusal, which only the user can resolve.
   */
  private async reconnectAfterRun(attempts = 3): Promise<void> {
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (this.shuttingDown || this.stateValue.phase !== 'idle') return;
      try {
        await this.connect([]);
        return;
      } catch (error) {
        const message = (error as Error).message;
        const final = attempt === attempts || (error instanceof ApiFailure && error.error.hosts?.some((h) => !RETRYABLE.has(h.kind)));
        if (final) {
          this.emit('message', { type: 'notice', level: 'error', text: `After the run, reconnecting to the hosts failed: ${message}\nUse "Connect to H1 and H2" to try again.` });
          return;
        }
        this.emit('message', { type: 'notice', level: 'info', text: `Reconnecting after the run failed (${message}); trying again.` });
        await new Promise((resolve) => setTimeout(resolve, 2000 * attempt));
      }
    }
  }

  /** Sends a session's events to the renderers as they are logged. */
  private follow(session: LabSession): void {
    session.log.on('event', (event) => this.forward(session, event));
  }

  private forward(session: LabSession, event: LabEvent): void {
    if (event.type === 'pane-open') {
      // A new pane starts at the engine's default size; give it the size its terminal has.
      const size = this.paneSizes.get(`${event.host}/${event.pane}`);
      const pane = session.panes.get(`${event.host}/${event.pane}`);
      if (size && pane && (size.cols !== pane.cols || size.rows !== pane.rows)) {
        queueMicrotask(() => {
          pane.resize(size.cols, size.rows);
          session.log.append({ type: 'pane-resize', host: event.host, pane: event.pane, cols: size.cols, rows: size.rows });
        });
      }
    }
    if (event.type === 'pane-output' && this.consumers === 0) {
      // Nobody is watching: release the bytes as a headless run would. The session records the
      // pending bytes only after its listeners (this one) return, hence the microtask.
      const label = event.host as ApiHostLabel;
      queueMicrotask(() => session.acknowledgePaneOutput(label, event.pane, event.seq));
    }
    const message: SessionEventMessage = { type: 'event', session: session.sessionId, event };
    this.remember(message);
    this.emit('message', message);
  }

  private remember(message: SessionEventMessage): void {
    this.history.push(message);
    this.historySize += approximateSize(message.event);
    while (this.historySize > HISTORY_BUDGET && this.history.length > 1) {
      this.historySize -= approximateSize(this.history.shift()!.event);
    }
  }

  /** Aborts a run (its cleanup runs) and closes the workspace; for Ctrl-C on the server. */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    if (this.run) {
      this.run.abort('TCP Lab is shutting down');
      await this.runFinished;
    }
    await this.closeWorkspace('TCP Lab is shutting down');
  }
}

function approximateSize(event: LabEvent): number {
  return event.type === 'pane-output' ? event.data.length + 100 : event.type === 'snapshot' ? 200 * (event.sockets.length + 1) : 300;
}

function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-').slice(0, 23);
}

function describePhase(state: BackendState): string {
  switch (state.phase) {
    case 'idle':
      return 'not connected';
    case 'connecting':
      return 'still connecting';
    case 'connected':
      return 'already connected';
    case 'running':
      return `the experiment ${state.experiment} is running`;
    case 'closing':
      return 'still disconnecting';
  }
}

/** LabSession.open rejects with one HostConnectError, an AggregateError of them, or another Error. */
export function describeConnectFailure(error: unknown): ApiError {
  const errors = error instanceof AggregateError ? (error.errors as unknown[]) : [error];
  const hosts: HostProblem[] = [];
  const messages: string[] = [];
  for (const e of errors) {
    if (e instanceof HostConnectError) {
      hosts.push({ host: e.host, kind: e.kind, message: e.message, ...(e.fingerprint ? { fingerprint: e.fingerprint } : {}) });
    }
    messages.push(e instanceof Error ? e.message : String(e));
  }
  return { message: messages.join('\n'), ...(hosts.length ? { hosts } : {}) };
}

/** What the renderer shows of an experiment, with placeholders filled as the run will fill them. */
export function summarize(experiment: Experiment, hosts: ResolvedHosts): ExperimentSummary {
  const roles = experiment.roles;
  const fill = (text: string): string =>
    text.replace(/\{([A-Za-z0-9.]+)\}/g, (whole, name: string) => {
      if (name === 'port') return String(experiment.port);
      if (name === 'sudo') return '';
      const match = /^(client|server|H1|H2)\.address$/.exec(name);
      if (!match?.[1]) return whole;
      const ref = match[1];
      const label = ref === 'client' || ref === 'server' ? roles[ref] : (ref as 'H1' | 'H2');
      return hosts.hosts[label].experimentAddress;
    });
  const expect: ExperimentSummary['expect'] = {};
  for (const [ref, expectation] of Object.entries(experiment.expect)) {
    const label = ref === 'client' || ref === 'server' ? roles[ref] : ref;
    expect[label] = { passes: expectation.passes, ...(expectation.endsIn ? { endsIn: expectation.endsIn } : {}) };
  }
  return {
    id: experiment.id,
    title: experiment.title,
    summary: experiment.summary,
    explanation: fill(experiment.explanation),
    port: experiment.port,
    roles: { client: roles.client, server: roles.server },
    steps: experiment.steps.map((step) => ({
      summary: fill(describeStep(step)).replace(/^(wait until )?(client|server)\b/, (_m, wait: string | undefined, role: 'client' | 'server') => `${wait ?? ''}${roles[role]}`),
      ...(step.explain ? { explain: fill(step.explain) } : {}),
    })),
    expect,
  };
}
