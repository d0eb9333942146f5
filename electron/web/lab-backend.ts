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
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { LabEvent, PaneName } from '../../shared/src/events';
import type { Experiment } from '../../shared/src/experiment-schema';
import type { ApiError, ApiHostLabel, BackendState, ExperimentSummary, HostInfo, HostProblem, LabRequest, ServerMessage, SessionEventMessage, SessionEventsMessage } from '../../shared/src/lab-api';
import { batchEvents, LAB_API_VERSION } from '../../shared/src/lab-api';
import { SessionLog } from '../lab/event-log';
import { describeStep, ExperimentRun } from '../lab/experiment-runner';
import type { ResolvedHosts } from '../lab/hosts-config';
import { HOST_LABELS, LabSession } from '../lab/lab-session';
import { HostConnectError } from '../lab/ssh-host';
import { mkdirSync } from 'node:fs';
import { LOCAL_LAB_PROGRESS, type HostsView } from '../../shared/src/hosts-api';
import type { HostsStore } from '../lab/hosts-store';
import { HostsError } from '../lab/hosts-store';
import { removeKnownHost, trustHostKey } from '../lab/known-hosts';
import { importSshConfig } from '../lab/ssh-config-import';
import { parseExperiment } from '../../shared/src/experiment-file';
import type { CheckReply } from '../../shared/src/run-api';
import { allRequiredPass, checkHost, checkHosts } from '../lab/preflight';
import { RunReports } from './run-reports';
import { SessionOutputRelays } from './pane-output-relay';

/** A request that cannot be carried out, with what the renderer shows. */
export class ApiFailure extends Error {
  constructor(readonly error: ApiError) {
    super(error.message);
  }
}

/** The local virtual lab, where the engine can build it. */
export interface LocalLabControl {
  /** Why it cannot be built here, or undefined. */
  unavailableReason(): string | undefined;
  /** Brings it up if needed, without blocking, each line of progress to `onProgress`; resolves to its hosts file. */
  up(onProgress?: (line: string) => void): Promise<string>;
}

export interface LabBackendOptions {
  /** Undefined until H1 and H2 are set up (the Hosts view); connect says so. */
  hosts: ResolvedHosts | undefined;
  /** Where the Hosts view reads and writes the hosts; without it the view is read-only. */
  hostsStore?: HostsStore;
  localLab?: LocalLabControl;
  /** ~/.ssh/config by default. */
  sshConfigFile?: string;
  experiments: Experiment[];
  /** The experiments among those that come from the user's folder: id -> file. */
  userExperimentFiles?: Record<string, string>;
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
  /** Per session: pane output on its way to the renderers (pane-output-relay.ts). */
  private readonly relays = new Map<string, SessionOutputRelays>();
  private shuttingDown = false;
  private hosts: ResolvedHosts | undefined;
  /** Keys hosts presented that were not in known_hosts, by fingerprint: written there once accepted. */
  private readonly unknownKeys = new Map<string, { file: string; address: string; port: number; keyBlob: Buffer }>();
  /** The last changed-key problem per host, for "Remove the old key". */
  private readonly changedKeys = new Map<string, { file: string; address: string; port: number }>();
  /** The runs started here, for their reports. */
  private readonly reports = new RunReports();

  constructor(private readonly options: LabBackendOptions) {
    super();
    this.hosts = options.hosts;
  }

  private requireHosts(): ResolvedHosts {
    if (!this.hosts) throw new ApiFailure({ message: 'H1 and H2 are not set up yet: open Hosts, fill them in (or use the local virtual lab) and save.' });
    return this.hosts;
  }

  get state(): BackendState {
    return this.stateValue;
  }

  private setState(state: BackendState): void {
    this.stateValue = state;
    this.emit('message', { type: 'state', state });
  }

  hello(): ServerMessage {
    const hosts = this.hosts?.hosts;
    const hostInfo: HostInfo[] = HOST_LABELS.map((label) => ({
      label,
      address: hosts?.[label].address ?? '',
      port: hosts?.[label].port ?? 22,
      user: hosts?.[label].user ?? '',
      experimentAddress: hosts?.[label].experimentAddress ?? '',
    }));
    return {
      type: 'hello',
      version: LAB_API_VERSION,
      hosts: hostInfo,
      experiments: this.options.experiments.map((e) => summarize(e, this.hosts, this.options.userExperimentFiles?.[e.id])),
      state: this.stateValue,
      outDir: this.options.outDir,
    };
  }

  /**
   * The events sent so far (bounded), so a renderer that connects late shows the same screen:
   * packed into `events` messages (a reload is a few messages, not one per event). Sized by
   * their JSON, since pane output can grow several times when escaped.
   */
  replay(): readonly (SessionEventMessage | SessionEventsMessage)[] {
    return batchEvents(this.history, (event) => JSON.stringify(event).length);
  }

  /** The transport reports how many renderers are listening: with none, pane output is released as it comes (the relays). */
  setConsumers(count: number): void {
    this.consumers = count;
    for (const relays of this.relays.values()) relays.setListening(count > 0);
  }

  async handle(request: LabRequest): Promise<Record<string, unknown>> {
    if (this.shuttingDown) throw new ApiFailure({ message: 'TCP Lab is shutting down.' });
    switch (request.method) {
      case 'connect':
        return this.connect(request.acceptFingerprints);
      case 'disconnect':
        await this.disconnect();
        return {};
      case 'run': {
        const experiment = this.options.experiments.find((e) => e.id === request.experiment);
        if (!experiment) throw new ApiFailure({ message: `There is no experiment called "${request.experiment}" in the library.` });
        return this.startRun(experiment, request);
      }
      case 'run-file': {
        const parsed = parseExperiment(request.text, request.name);
        if (!parsed.ok) throw new ApiFailure({ message: `${request.name} is not a valid experiment file; nothing was run.\n${parsed.message}` });
        return this.startRun(parsed.value, request);
      }
      case 'proceed':
        if (!this.run) throw new ApiFailure({ message: 'No experiment is running.' });
        if (!this.run.proceed(request.how)) throw new ApiFailure({ message: 'The run is not waiting for you: its current step is still running.' });
        return {};
      case 'check':
        return this.check();
      case 'abort':
        if (!this.run) throw new ApiFailure({ message: 'No experiment is running.' });
        this.run.abort(request.reason);
        return {};
      case 'hosts-get':
        return this.hostsView();
      case 'hosts-save':
        return this.changeHosts((store) => store.save(request.hosts));
      case 'hosts-use-local-lab':
        return this.changeHosts(async (store) => {
          const lab = this.options.localLab;
          const why = lab ? lab.unavailableReason() : 'this TCP Lab cannot build the virtual lab';
          if (!lab || why) throw new ApiFailure({ message: `The local virtual lab cannot be used here: ${why}.` });
          // Progress as notices: the Hosts view shows the latest line while it waits.
          const progress = (line: string): void => void this.emit('message', { type: 'notice', level: 'info', text: `${LOCAL_LAB_PROGRESS}${line}` });
          progress('bringing it up (network namespaces H1 and H2, each with its sshd)…');
          let labHosts: string;
          try {
            labHosts = await lab.up(progress);
          } catch (error) {
            throw new ApiFailure({ message: `The local virtual lab could not be brought up: ${(error as Error).message}` });
          }
          await store.adopt(labHosts);
        });
      case 'hosts-import-ssh-config':
        return importSshConfig(this.options.sshConfigFile ?? join(homedir(), '.ssh', 'config'));
      case 'hosts-remove-key':
        return this.removeOldKey(request.host);
      case 'report':
        return this.reports.report(request.session);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Hosts

  private localLabState(): HostsView['localLab'] {
    const why = this.options.localLab ? this.options.localLab.unavailableReason() : 'not offered by this TCP Lab';
    return why ? { available: false, reason: why } : { available: true };
  }

  private async hostsView(): Promise<HostsView> {
    const store = this.options.hostsStore;
    if (!store) {
      return {
        file: this.hosts?.file ?? '',
        knownHostsFile: this.hosts?.knownHostsFile ?? '',
        secrets: { kind: 'unavailable', description: 'The hosts are fixed for this TCP Lab (started with --lab local); start `tcplab web --hosts FILE` to edit them here.' },
        problem: 'read-only',
        localLab: this.localLabState(),
      };
    }
    return store.view(this.localLabState());
  }

  /** Saves through the store, then uses the new hosts at the next connect (never under a session). */
  private async changeHosts(change: (store: HostsStore) => Promise<void>): Promise<HostsView> {
    const store = this.options.hostsStore;
    if (!store) throw new ApiFailure({ message: 'The hosts cannot be changed here: this TCP Lab was started with --lab local. Start it with --hosts FILE to edit them.' });
    if (this.stateValue.phase !== 'idle') throw new ApiFailure({ message: 'Disconnect from H1 and H2 before changing the hosts.' });
    try {
      await change(store);
    } catch (error) {
      if (error instanceof ApiFailure) throw error;
      throw new ApiFailure({ message: error instanceof HostsError ? error.message : `Could not save the hosts: ${(error as Error).message}` });
    }
    try {
      this.hosts = await store.resolve();
    } catch {
      // Saved, but not connectable yet (a key file missing...): the view shows why.
      this.hosts = undefined;
    }
    this.emit('message', this.hello());
    return store.view(this.localLabState());
  }

  private async removeOldKey(host: ApiHostLabel): Promise<Record<string, unknown>> {
    const changed = this.changedKeys.get(host);
    if (!changed) throw new ApiFailure({ message: `${host}: there is no changed host key to remove; connect first to see the key it presents.` });
    let result;
    try {
      result = await removeKnownHost(changed.file, changed.address, changed.port);
    } catch (error) {
      throw new ApiFailure({ message: `Could not edit ${changed.file}: ${(error as Error).message}` });
    }
    this.changedKeys.delete(host);
    return { removed: result.removed.length, kept: result.kept.length, backup: result.backup, file: changed.file };
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
    // Acknowledgements for an ended session (a reloaded page replaying history) are moot.
    this.relays.get(sessionId)?.acknowledge(host, pane, seq);
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
    const hosts = this.requireHosts();
    for (const fingerprint of acceptFingerprints) {
      // Accepted in the first-connection dialog: written to known_hosts, so `ssh` trusts it too,
      // and known_hosts stays the one record (removing the key there makes it unknown again).
      const key = this.unknownKeys.get(fingerprint);
      if (!key) {
        this.accepted.add(fingerprint); // not a key this process saw: trusted in memory only
        continue;
      }
      try {
        await trustHostKey(key.file, key.address, key.port, key.keyBlob);
        this.unknownKeys.delete(fingerprint);
      } catch (error) {
        this.accepted.add(fingerprint);
        this.emit('message', { type: 'notice', level: 'error', text: `Could not add the key ${fingerprint} to ${key.file} (${(error as Error).message}); it is trusted until TCP Lab stops.` });
      }
    }
    this.setState({ phase: 'connecting' });
    const dir = join(this.options.outDir, `${stamp()}-workspace`);
    mkdirSync(dir, { recursive: true });
    const session = new LabSession({
      hosts,
      port: this.options.workspacePort ?? this.options.experiments[0]?.port ?? 7777,
      log: new SessionLog(join(dir, 'session.jsonl')),
      // The live Set: a key accepted later counts for the reconnect after a run as well.
      acceptedFingerprints: this.accepted,
      paneAcks: 'by-consumer',
      // A host that drops comes back by itself, panes reopened; the columns and panes show it.
      reconnect: true,
    });
    this.follow(session);
    try {
      await session.open();
    } catch (error) {
      this.rememberKeys(error);
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
    this.endRelays(session);
    this.setState({ phase: 'idle' });
  }

  /**
   * Preflight (tcplab check) from the app: on the workspace's connections when connected, else
   * on connections of its own, which it closes again.
   */
  private async check(): Promise<CheckReply> {
    const session = this.workspace;
    if (this.stateValue.phase === 'running') throw new ApiFailure({ message: 'An experiment is running; it checks the hosts itself as it starts. Check again when it has finished.' });
    const hosts = session
      ? await Promise.all(HOST_LABELS.map((label) => checkHost(session.host(label), session.clockOffsetMs.has(label) ? { clockOffsetMs: session.clockOffsetMs.get(label)! } : {})))
      : await checkHosts(this.requireHosts(), this.accepted);
    return { ok: allRequiredPass(hosts), hosts };
  }

  private async startRun(experiment: Experiment, how: { pace: 'all' | 'step'; swapRoles: boolean }): Promise<Record<string, unknown>> {
    if (this.stateValue.phase !== 'connected') {
      throw new ApiFailure({ message: this.stateValue.phase === 'running' ? 'An experiment is already running: abort it or wait for it to finish.' : 'Connect to H1 and H2 first.' });
    }
    await this.closeWorkspace(`making way for the experiment ${experiment.id}`);
    const outDir = join(this.options.outDir, `${stamp()}-${experiment.id}`);
    let run: ExperimentRun;
    try {
      run = new ExperimentRun({
        experiment,
        hosts: this.requireHosts(),
        outDir,
        acceptedFingerprints: this.accepted,
        pace: how.pace,
        swapRoles: how.swapRoles,
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
    this.reports.started(sessionId, experiment.id, outDir);
    this.runFinished = run.run().then(
      () => undefined,
      (error: unknown) => {
        this.emit('message', { type: 'notice', level: 'error', text: `The run stopped unexpectedly: ${(error as Error).message}` });
      },
    ).finally(() => {
      this.endRelays(run.session);
      this.reports.finished(sessionId);
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

  private rememberKeys(error: unknown): void {
    const errors = error instanceof AggregateError ? (error.errors as unknown[]) : [error];
    for (const e of errors) {
      if (!(e instanceof HostConnectError) || !e.hostKey || !e.fingerprint) continue;
      const { knownHostsFile: file, address, port, keyBlob } = e.hostKey;
      if (e.kind === 'unknown-host-key') this.unknownKeys.set(e.fingerprint, { file, address, port, keyBlob });
      if (e.kind === 'changed-host-key') this.changedKeys.set(e.host, { file, address, port });
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
    this.relaysOf(session).forward(event);
  }

  private relaysOf(session: LabSession): SessionOutputRelays {
    let relays = this.relays.get(session.sessionId);
    if (!relays) {
      const send = (event: LabEvent, passedOver: number): void => {
        const message: SessionEventMessage = { type: 'event', session: session.sessionId, event, ...(passedOver > 0 ? { passedOver } : {}) };
        this.remember(message);
        this.emit('message', message);
      };
      // The session records a pane's pending bytes only after its listeners (this one) return,
      // hence the microtask: a release in the same turn would find nothing to release.
      const release = (host: ApiHostLabel, pane: PaneName, seq: number): void => queueMicrotask(() => session.acknowledgePaneOutput(host, pane, seq));
      relays = new SessionOutputRelays(send, release, this.consumers > 0);
      this.relays.set(session.sessionId, relays);
    }
    return relays;
  }

  /** A session has closed: its relays send what they still hold, and are gone. */
  private endRelays(session: LabSession): void {
    this.relays.get(session.sessionId)?.finish();
    this.relays.delete(session.sessionId);
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
      const key = e.hostKey;
      hosts.push({
        host: e.host,
        kind: e.kind,
        message: e.message,
        ...(e.fingerprint ? { fingerprint: e.fingerprint } : {}),
        ...(key ? { knownHostsFile: key.knownHostsFile } : {}),
        ...(key?.knownFingerprints ? { knownFingerprints: key.knownFingerprints } : {}),
        ...(key?.fix ? { fix: key.fix } : {}),
        ...(e.jumpHost !== undefined ? { jumpHost: e.jumpHost } : {}),
      });
    }
    messages.push(e instanceof Error ? e.message : String(e));
  }
  return { message: messages.join('\n'), ...(hosts.length ? { hosts } : {}) };
}

/** What the renderer shows of an experiment, with placeholders filled as the run will fill them. */
export function summarize(experiment: Experiment, hosts: ResolvedHosts | undefined, userFile?: string): ExperimentSummary {
  const roles = experiment.roles;
  const fill = (text: string): string =>
    text.replace(/\{([A-Za-z0-9.]+)\}/g, (whole, name: string) => {
      if (name === 'port') return String(experiment.port);
      if (name === 'sudo') return '';
      const match = /^(client|server|H1|H2)\.address$/.exec(name);
      if (!match?.[1]) return whole;
      const ref = match[1];
      const label = ref === 'client' || ref === 'server' ? roles[ref] : (ref as 'H1' | 'H2');
      return hosts?.hosts[label].experimentAddress ?? `${label}'s address`;
    });
  const expect: ExperimentSummary['expect'] = {};
  for (const [ref, expectation] of Object.entries(experiment.expect)) {
    const label = ref === 'client' || ref === 'server' ? roles[ref] : ref;
    expect[label] = { passes: expectation.passes ?? [], ...(expectation.endsIn ? { endsIn: expectation.endsIn } : {}), ...(expectation.noConnection ? { noConnection: true } : {}) };
  }
  return {
    source: userFile === undefined ? 'builtin' : 'user',
    ...(userFile === undefined ? {} : { file: userFile }),
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
