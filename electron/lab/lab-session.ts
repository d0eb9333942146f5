/**
 * A lab session: both hosts connected, clocks estimated, leftovers of crashed sessions removed,
 * four panes open, and each host's sockets observed (tracepoint + ss polling) on one port.
 * The experiment runner drives it; the desktop app will too.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { LabEvent, PaneName } from '../../shared/src/events';
import { isoMicros } from '../../shared/src/events';
import type { SsSocket } from '../../shared/src/observations';
import { formatEndpoint } from '../../shared/src/observations';
import { HostReconciler, mayBeOwnSocket, type ConnectionHistory, type ObservedState } from '../../shared/src/reconcile';
import { SessionLog, nowMs } from './event-log';
import { removeRules } from './firewall-ledger';
import { estimateClockOffset } from './host-clock';
import type { ResolvedHosts } from './hosts-config';
import { PacketCapture, removeStaleCaptures, startPacketCaptures } from './packet-capture';
import { Pane } from './pane';
import { settledStateCount, type SettleProgress } from './settled-states';
import { SocketPoller, type Snapshot } from './socket-poller';
import { SshHost } from './ssh-host';
import { removeStaleTraceInstances, StateTracer, TRACE_INSTANCE_PREFIX, type TracedTransition } from './state-tracer';

export const HOST_LABELS = ['H1', 'H2'] as const;
export type LabHostLabel = (typeof HOST_LABELS)[number];

/** Marks every long-lived process of a session on a host, so others can tell it is alive. */
export function sessionMarker(sessionId: string): string {
  return `tcplab-session=${sessionId}`;
}

export function newSessionId(): string {
  return randomBytes(4).toString('hex');
}

/** Of a run of snapshots listing the same sockets, the first this many stay; then only the latest. */
const SNAPSHOTS_KEPT_PER_RUN = 3;

/** What one host's observers have seen so far. */
export class HostObservations {
  readonly transitions: TracedTransition[] = [];
  readonly snapshots: Snapshot[] = [];
  traceAvailable = false;
  ownAddresses: string[] = [];
  private lastKey = '';
  private sameRun = 0;
  private reconciled: { inputs: readonly unknown[]; histories: readonly ConnectionHistory[] } | undefined;
  private readonly reconciler = new HostReconciler();

  constructor(readonly port: number) {}

  addSnapshot(snapshot: Snapshot): void {
    // For states, only the first snapshot of each unchanged run matters (when a state was first
    // seen) and the latest (still there); the ones between are dropped to bound memory. The
    // second is kept too: reconcile dates a TIME_WAIT by the first snapshot after the trace's
    // CLOSE, which is the run's second when the trace clock runs late by up to a poll interval.
    const key = snapshot.sockets.map(socketKey).sort().join(';');
    if (key !== this.lastKey) this.sameRun = 0;
    if (this.sameRun >= SNAPSHOTS_KEPT_PER_RUN) this.snapshots[this.snapshots.length - 1] = snapshot;
    else this.snapshots.push(snapshot);
    this.sameRun++;
    this.lastKey = key;
  }

  /**
   * The host's connections, reconciled from everything observed so far. The session asks about
   * 30 times a second (each snapshot, trace event and snapshot start, and its 100 ms tick), in
   * bursts at the moments a transition has to reach the screen. Most asks find nothing new, so the
   * last answer is kept until an input changes (transitions are only appended, snapshots appended
   * or the last replaced, the rest replaced whole); and the reconciler works out again only the
   * connections that the new observations touch (HostReconciler), so a long session does not make
   * every poll pay for every connection since the lab was connected.
   */
  histories(): readonly ConnectionHistory[] {
    const inputs = [this.transitions.length, this.snapshots.length, this.snapshots.at(-1), this.traceAvailable, this.ownAddresses] as const;
    if (this.reconciled && inputs.every((input, i) => input === this.reconciled!.inputs[i])) return this.reconciled.histories;
    const histories = this.reconciler.reconcile({
      ownAddresses: this.ownAddresses,
      port: this.port,
      transitions: this.transitions,
      snapshots: this.snapshots,
      traceAvailable: this.traceAvailable,
    });
    this.reconciled = { inputs, histories };
    return histories;
  }

  latestSnapshot(): Snapshot | undefined {
    return this.snapshots[this.snapshots.length - 1];
  }

  /**
   * The time of the latest snapshot that stays in `snapshots`: the last one is replaced by the
   * next if it repeats its run's sockets (addSnapshot), and a polled state dated by it would move.
   */
  stableSnapshotUs(): number {
    const index = this.sameRun < SNAPSHOTS_KEPT_PER_RUN ? this.snapshots.length - 1 : this.snapshots.length - 2;
    const snapshot = this.snapshots[index];
    return snapshot ? snapshot.readUs : -Infinity; // the time its polled states carry
  }
}

function socketKey(s: SsSocket): string {
  return `${formatEndpoint(s.local)}>${formatEndpoint(s.peer)}=${s.ssState}`;
}

export interface LabSessionOptions {
  hosts: ResolvedHosts;
  port: number;
  log: SessionLog;
  experiment?: string;
  acceptedFingerprints?: ReadonlySet<string>;
  /** Pane output goes here too (transcripts); called before the bytes are acknowledged. */
  onPaneOutput?: (host: LabHostLabel, pane: PaneName, text: string) => void;
  pollIntervalMs?: number;
  /** Capture the port's packets on both hosts (packet-capture.ts), saving `<label>.pcap` here. */
  captureDir?: string;
  /**
   * Who acknowledges pane output (Pane.acknowledge). 'on-log' (the default): the session, once
   * the output is logged, as headless runs need. 'by-consumer': whoever displays it, through
   * acknowledgePaneOutput(), so a slow screen pauses the SSH channel (the app: the pane's output
   * relay, electron/web/pane-output-relay.ts, as the page acknowledges or a flood is passed over).
   */
  paneAcks?: 'on-log' | 'by-consumer';
  /**
   * When a host's connection drops, reconnect it (SshHost: capped backoff, never after an
   * authentication or host-key refusal) and reopen its panes and observers: the app's workspace.
   * Headless runs leave it off: a run that lost a host has failed.
   */
  reconnect?: boolean;
}

/** How much of each pane's latest output `paneTail` keeps. */
const PANE_TAIL_CHARS = 8192;

export class LabSession {
  readonly sessionId = newSessionId();
  readonly hosts = new Map<LabHostLabel, SshHost>();
  readonly panes = new Map<string, Pane>();
  readonly observations = new Map<LabHostLabel, HostObservations>();
  readonly clockOffsetMs = new Map<LabHostLabel, number>();
  private readonly pollers: SocketPoller[] = [];
  /** Each host's running poller (a reconnect starts a new one). */
  private readonly currentPoller = new Map<LabHostLabel, SocketPoller>();
  private readonly tracers: StateTracer[] = [];
  private readonly captures = new Map<LabHostLabel, PacketCapture[]>();
  /** The NFLOG group this session's dropped packets are logged to (see packet-capture.ts). */
  readonly nflogGroup = randomInt(1000, 65000);
  private readonly captureStarts = new Map<LabHostLabel, number>();
  private readonly emittedTransitions = new Set<string>();
  /** The last output of each pane (PANE_TAIL_CHARS), for checks such as "has the prompt appeared". */
  readonly paneTail = new Map<string, string>();
  private transitionTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly rulesInPlace = new Map<LabHostLabel, number>();
  /**
   * Set by close() once the observers have stopped and every state they saw is in the log. Until
   * then, closing included, snapshots and trace events go on becoming transitions as usual: the
   * teardown a run's cleanup causes (its Ctrl-C, the firewall rule removed) is observed after
   * close() starts, and a log whose last snapshots have no transitions showed a socket table and
   * a state diagram that disagree at the end of every replay.
   */
  private transitionsFinal = false;
  /** Hosts whose panes and observers were set up once (so a later 'connected' is a reconnect). */
  private readonly prepared = new Set<LabHostLabel>();
  /** With paneAcks 'by-consumer': per pane, [seq of a pane-output event, its bytes], oldest first. */
  private readonly unacknowledged = new Map<string, Array<[seq: number, bytes: number]>>();

  constructor(readonly options: LabSessionOptions) {
    // The rules this session added and has not removed, per host (whoever added them: the run's
    // steps, the packet captures), for what close() must say when a host cannot be reached.
    options.log.on('event', (event) => {
      if (event.type !== 'firewall' || event.owner !== this.sessionId) return;
      const label = HOST_LABELS.find((l) => l === event.host);
      if (label) this.rulesInPlace.set(label, (this.rulesInPlace.get(label) ?? 0) + (event.action === 'add' ? 1 : -1));
    });
    for (const label of HOST_LABELS) {
      const host = new SshHost(
        options.hosts.hosts[label],
        {
          knownHostsFile: options.hosts.knownHostsFile,
          ...(options.acceptedFingerprints ? { acceptedFingerprints: options.acceptedFingerprints } : {}),
        },
        options.reconnect ? { reconnect: true } : {},
      );
      host.on('status', (status, detail, attempt) => {
        this.log.append({ type: 'connection', host: label, status, ...(detail ? { detail } : {}), ...(attempt ? { attempt } : {}) });
        if (status === 'connected' && this.prepared.has(label) && !this.closed) void this.restoreHost(label);
      });
      this.hosts.set(label, host);
      this.observations.set(label, new HostObservations(options.port));
    }
  }

  get log(): SessionLog {
    return this.options.log;
  }

  host(label: LabHostLabel): SshHost {
    return this.hosts.get(label)!; // constructed for every label
  }

  pane(label: LabHostLabel, name: PaneName): Pane {
    const pane = this.panes.get(`${label}/${name}`);
    if (!pane) throw new Error(`${label} has no ${name} pane open`);
    return pane;
  }

  /** Connects both hosts in parallel and prepares them. Any failure closes everything. */
  async open(): Promise<void> {
    const { hosts, port, experiment } = this.options;
    this.log.append({
      type: 'session-start',
      sessionId: this.sessionId,
      tool: 'tcplab',
      hosts: HOST_LABELS.map((label) => ({ label, address: hosts.hosts[label].address, experimentAddress: hosts.hosts[label].experimentAddress, user: hosts.hosts[label].user })),
      ...(experiment ? { experiment } : {}),
      port,
    });
    const results = await Promise.allSettled(HOST_LABELS.map((label) => this.host(label).connect()));
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
    if (failures.length > 0) {
      this.closeConnections();
      this.closed = true;
      this.log.append({ type: 'session-end', reason: `could not connect: ${failures.map((f) => f.message).join('; ')}` });
      throw failures.length === 1 ? failures[0] : new AggregateError(failures, failures.map((f) => f.message).join('\n'));
    }
    try {
      await Promise.all(HOST_LABELS.map((label) => this.prepareHost(label)));
    } catch (error) {
      await this.close('setup failed');
      throw error;
    }
  }

  private async prepareHost(label: LabHostLabel): Promise<void> {
    const host = this.host(label);
    const observations = this.observations.get(label)!;
    // Root first: a refused sudo is the most common setup problem, and everything below needs it.
    await host.run('true', { root: true });
    // Independent probes run side by side: each exec costs a round trip and a login shell.
    const [clock, addresses] = await Promise.all([
      estimateClockOffset(host),
      host.run('ip -o addr show'),
      this.removeLeftovers(label),
    ]);
    this.clockOffsetMs.set(label, clock.offsetMs);
    this.log.append({ type: 'clock', host: label, offsetMs: clock.offsetMs, rttMs: clock.rttMs });
    observations.ownAddresses = parseIpAddresses(addresses);

    const [traceAvailable] = await Promise.all([this.observe(label), this.openPanes(label), this.startCaptures(label)]);
    observations.traceAvailable = traceAvailable;
    this.prepared.add(label);
    this.transitionTimer ??= setInterval(() => this.emitSettledTransitions(false), 100);
  }

  /**
   * After a reconnect: the host's shells, poller and tracer died with the old connection. New
   * shells (the old ones' commands are gone: the panes say so), and the observers again; the
   * tracer reuses its tracefs instance, which is named after the session.
   */
  private async restoreHost(label: LabHostLabel): Promise<void> {
    try {
      const [traceAvailable] = await Promise.all([this.observe(label), this.openPanes(label), this.startCaptures(label)]);
      this.observations.get(label)!.traceAvailable = traceAvailable;
    } catch (error) {
      if (!this.closed) this.log.append({ type: 'note', host: label, text: `reconnected, but could not reopen the panes and observers: ${(error as Error).message}` });
    }
  }

  /** Starts the host's ss poller and state tracer; resolves to whether the tracepoint is available once the first snapshot is in. */
  private async observe(label: LabHostLabel): Promise<boolean> {
    const host = this.host(label);
    const observations = this.observations.get(label)!;
    const poller = new SocketPoller(host, this.options.port, this.sessionId, this.options.pollIntervalMs ?? 200);
    const firstSnapshot = new Promise<void>((resolve) => poller.once('snapshot', () => resolve()));
    poller.on('snapshot', (snapshot) => {
      observations.addSnapshot(snapshot);
      this.log.append({ type: 'snapshot', host: label, hostTimeUs: snapshot.hostTimeUs, readUs: snapshot.readUs, sockets: snapshot.sockets });
      if (!this.transitionsFinal) this.emitSettledTransitions(false, label);
    });
    // A snapshot under way vouches for every earlier one (SocketPoller.snapshotsCompleteBeforeUs).
    poller.on('started', () => {
      if (!this.transitionsFinal) this.emitSettledTransitions(false, label);
    });
    poller.on('error', (error) => this.log.append({ type: 'note', host: label, text: error.message }));
    await poller.start();
    this.pollers.push(poller);
    this.currentPoller.set(label, poller);
    // Another host's setup failed and closed the session while this one was still preparing:
    // close() has already stopped the observers it knew of, so this one stops itself.
    if (this.closed) {
      poller.stop();
      throw new Error(`${label}: the session closed while it was being prepared`);
    }

    const tracer = new StateTracer(host, `${TRACE_INSTANCE_PREFIX}${this.sessionId}-${label.toLowerCase()}`, this.options.port);
    tracer.on('transition', (t) => {
      observations.transitions.push(t);
      this.log.append({ type: 'trace', host: label, hostTimeUs: t.hostTimeUs, local: formatEndpoint(t.local), remote: formatEndpoint(t.remote), from: t.from, to: t.to });
      if (!this.transitionsFinal) this.emitSettledTransitions(false, label);
      // A traced CLOSED waits for a snapshot taken after it, and a first traced state the poller
      // cannot vouch for waits for one too (settled-states.ts): ask for one now rather than at
      // the next tick. Not for another host's socket: the virtual lab's hosts share one kernel,
      // so each tracer sees the other's sockets too, and an unanswered request for them would
      // hold back this host's next first state.
      const own = observations.ownAddresses;
      if (own.length === 0 || mayBeOwnSocket(t.local, own)) this.currentPoller.get(label)?.pollNow();
    });
    const traceAvailable = await tracer.start();
    this.tracers.push(tracer);
    if (this.closed) {
      tracer.stop();
      poller.stop();
      throw new Error(`${label}: the session closed while it was being prepared`);
    }
    this.log.append({
      type: 'capability',
      host: label,
      name: 'tracepoint',
      ok: traceAvailable,
      detail: traceAvailable
        ? `every transition from sock:inet_sock_set_state; ${tracer.clockDetail}`
        : `polling ss only, transitions between polls are inferred: ${tracer.unavailable ?? 'tracing unavailable'}`,
    });
    await firstSnapshot;
    return traceAvailable;
  }

  /** Starts the host's packet captures (again after a reconnect, into new files). */
  private async startCaptures(label: LabHostLabel): Promise<void> {
    const dir = this.options.captureDir;
    if (!dir) return;
    const { sessionId, nflogGroup, log } = this;
    const ownAddresses = (): string[] => this.observations.get(label)!.ownAddresses;
    const part = (this.captureStarts.get(label) ?? 0) + 1;
    this.captureStarts.set(label, part);
    const running = await startPacketCaptures(this.host(label), { label, sessionId, port: this.options.port, nflogGroup, dir, ownAddresses, log, part });
    this.captures.set(label, running);
  }

  /** Whether packets dropped by this session's firewall rules are being captured on the host. */
  capturesDropped(label: LabHostLabel): boolean {
    return (this.captures.get(label) ?? []).some((c) => c.kind === 'dropped');
  }

  private async openPanes(label: LabHostLabel): Promise<void> {
    const host = this.host(label);
    await Promise.all(
      (['upper', 'lower'] as const).map(async (name) => {
        const pane = await Pane.open(host, name);
        this.panes.set(`${label}/${name}`, pane);
        this.unacknowledged.delete(`${label}/${name}`); // a reopened pane starts with nothing pending
        this.log.append({ type: 'pane-open', host: label, pane: name, cols: pane.cols, rows: pane.rows });
        pane.on('data', (text, bytes) => {
          const key = `${label}/${name}`;
          this.paneTail.set(key, text.length >= PANE_TAIL_CHARS ? text.slice(-PANE_TAIL_CHARS) : ((this.paneTail.get(key) ?? '') + text).slice(-PANE_TAIL_CHARS));
          const event = this.log.append({ type: 'pane-output', host: label, pane: name, data: text });
          this.options.onPaneOutput?.(label, name, text);
          if (this.options.paneAcks === 'by-consumer') this.pendingAcks(`${label}/${name}`).push([event.seq, bytes]);
          else pane.acknowledge(bytes);
        });
        pane.on('close', (reason) => this.log.append({ type: 'pane-close', host: label, pane: name, reason }));
      }),
    );
  }

  private pendingAcks(key: string): Array<[number, number]> {
    let pending = this.unacknowledged.get(key);
    if (!pending) this.unacknowledged.set(key, (pending = []));
    return pending;
  }

  /** With paneAcks 'by-consumer': the consumer has displayed this pane's output up to event `seq`. */
  acknowledgePaneOutput(label: LabHostLabel, name: PaneName, seq: number): void {
    const key = `${label}/${name}`;
    const pending = this.unacknowledged.get(key);
    const pane = this.panes.get(key);
    if (!pending || !pane) return;
    let bytes = 0;
    while (pending.length > 0 && pending[0]![0] <= seq) bytes += pending.shift()![1];
    if (bytes > 0) pane.acknowledge(bytes);
  }

  /** Rules and trace instances of sessions whose processes are gone from the host. */
  private async removeLeftovers(label: LabHostLabel): Promise<void> {
    const host = this.host(label);
    const live = await liveSessionsOn(host);
    live.add(this.sessionId);
    const removedRules = await removeRules(host, (sessionId) => !live.has(sessionId));
    for (const command of removedRules) {
      this.log.append({ type: 'firewall', host: label, action: 'remove', command, owner: 'a session that ended without cleaning up' });
    }
    const liveInstances = [...live].flatMap((id) => HOST_LABELS.map((l) => `${TRACE_INSTANCE_PREFIX}${id}-${l.toLowerCase()}`));
    const removedInstances = await removeStaleTraceInstances(host, liveInstances);
    const killedCaptures = await removeStaleCaptures(host, live);
    if (removedRules.length + removedInstances.length + killedCaptures.length > 0) {
      this.log.append({
        type: 'note',
        host: label,
        text: `cleaned up after an earlier session that did not end cleanly: removed ${counted([
          [removedRules.length, 'firewall rule'],
          [removedInstances.length, 'state tracer'],
          [killedCaptures.length, 'packet capture'],
        ])}`,
      });
    }
  }

  /** Host wall-clock now, in epoch microseconds, from our clock and the estimated offset. */
  hostNowUs(label: LabHostLabel): number {
    return (nowMs() + (this.clockOffsetMs.get(label) ?? 0)) * 1000;
  }

  /**
   * Logs each host's newly final states (settled-states.ts says which) as `transition` events.
   * Called on every trace event and snapshot (and a 100 ms tick); `flush` when nothing more will
   * arrive.
   */
  emitSettledTransitions(flush: boolean, only?: LabHostLabel): void {
    for (const label of only ? [only] : HOST_LABELS) {
      const observations = this.observations.get(label)!;
      const progress: SettleProgress = {
        settledBeforeUs: this.hostNowUs(label) - 500_000,
        polledUpToUs: observations.latestSnapshot()?.hostTimeUs ?? -Infinity,
        stableUpToUs: observations.stableSnapshotUs(),
        snapshotsCompleteBeforeUs: this.currentPoller.get(label)?.snapshotsCompleteBeforeUs() ?? -Infinity,
        prepared: this.prepared.has(label),
        traceAvailable: observations.traceAvailable,
      };
      for (const connection of observations.histories()) {
        // Records are known by their state and time, not their place, so a prefix that arrives
        // late (an earlier snapshot) never makes a state appear twice.
        const keyOf = (record: ObservedState): string => `${label}|${connection.local}|${connection.remote}|${record.state}|${record.hostTimeUs}`;
        const settled = settledStateCount(connection, progress, flush, (record) => this.emittedTransitions.has(keyOf(record)));
        for (const record of connection.states.slice(0, settled)) {
          const key = keyOf(record);
          if (this.emittedTransitions.has(key)) continue;
          this.emittedTransitions.add(key);
          this.log.append({ type: 'transition', host: label, hostTimeUs: record.hostTimeUs, local: connection.local, remote: connection.remote, state: record.state, seen: record.seen });
        }
      }
    }
  }

  /** Resolves when `label` reaches `state` (or is in it); rejects after timeoutMs. */
  waitForState(label: LabHostLabel, state: string, sinceHostUs: number, timeoutMs: number): Promise<void> {
    const observations = this.observations.get(label)!;
    const reached = (): boolean =>
      observations.histories().some((c) => c.states.at(-1)?.state === state || c.states.some((r) => r.state === state && r.hostTimeUs >= sinceHostUs));
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const check = (): void => {
        if (this.closed) return reject(new Error('the session was closed'));
        if (reached()) return resolve();
        if (Date.now() - started > timeoutMs) {
          const now = observations.histories().map((c) => `${c.local} -> ${c.remote}: ${c.states.at(-1)?.state ?? '?'}`);
          return reject(new Error(`${label} did not reach ${state} within ${timeoutMs / 1000} s (now: ${now.join('; ') || 'no socket on the port'})`));
        }
        setTimeout(check, 50);
      };
      check();
    });
  }

  /** Removes this session's firewall rules everywhere; returns what it ran. */
  async removeOwnRules(): Promise<Array<{ host: LabHostLabel; command: string }>> {
    const done: Array<{ host: LabHostLabel; command: string }> = [];
    // Host by host: one that cannot be reached (or fails midway) leaves the other's rules to be removed.
    for (const label of HOST_LABELS) {
      const host = this.host(label);
      try {
        if (host.status !== 'connected') throw new Error('not connected');
        for (const command of await removeRules(host, (id) => id === this.sessionId)) {
          done.push({ host: label, command });
          this.log.append({ type: 'firewall', host: label, action: 'remove', command, owner: this.sessionId });
        }
      } catch (error) {
        if ((this.rulesInPlace.get(label) ?? 0) <= 0) continue;
        // Where the run's log shows it; the next connection's removeLeftovers removes them.
        const reason = (error as Error).message;
        this.log.append({ type: 'note', host: label, text: `could not remove the firewall rules this run added here, tagged tcplab:${this.sessionId} (${reason}); the next run or Connect to ${label} removes them` });
      }
    }
    return done;
  }

  async close(reason: string): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.removeOwnRules();
    } catch (error) {
      this.log.append({ type: 'note', text: `could not remove every firewall rule: ${(error as Error).message}` });
    }
    // tcpdump flushes its files when stopped; wait for the last bytes before the connection goes.
    await Promise.all([...this.captures.values()].flat().map((capture) => capture.stop()));
    this.captures.clear();
    for (const tracer of this.tracers) tracer.stop();
    for (const poller of this.pollers) poller.stop();
    for (const pane of this.panes.values()) pane.close();
    // Give the tracers a moment to remove their instances before the connection goes.
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Only now is nothing left to revise a state: flushing earlier (as before) emitted what was
    // unsettled then and dropped every state observed after it.
    if (this.transitionTimer) clearInterval(this.transitionTimer);
    this.emitSettledTransitions(true);
    this.transitionsFinal = true;
    this.closeConnections();
    this.log.append({ type: 'session-end', reason });
  }

  private closeConnections(): void {
    for (const host of this.hosts.values()) host.close();
  }
}

/** "1 firewall rule and 2 trace instances": the counts that are not zero, in words. */
function counted(items: Array<[count: number, what: string]>): string {
  const words = items.filter(([count]) => count > 0).map(([count, what]) => `${count} ${what}${count === 1 ? '' : 's'}`);
  return words.length > 1 ? `${words.slice(0, -1).join(', ')} and ${words.at(-1)}` : (words[0] ?? '');
}

/** `ip -o addr show` -> the host's addresses without prefix length. */
export function parseIpAddresses(output: string): string[] {
  const addresses: string[] = [];
  for (const line of output.split('\n')) {
    const match = /\binet6?\s+([0-9a-fA-F.:]+)\//.exec(line);
    if (match?.[1]) addresses.push(match[1]);
  }
  return addresses;
}

/** Session ids whose marked processes run on the host (see sessionMarker). */
export async function liveSessionsOn(host: SshHost): Promise<Set<string>> {
  const listing = await host.run('ps -eo args');
  return new Set([...listing.matchAll(/tcplab-session=([0-9a-f]+)/g)].map((m) => m[1]!));
}

export function describeTransition(event: Extract<LabEvent, { type: 'transition' }>): string {
  const time = isoMicros(event.hostTimeUs).slice(11, 26);
  return `${event.host}  ${time}  ${event.local} -> ${event.remote}  ${event.state}  (${event.seen})`;
}
