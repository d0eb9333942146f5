/**
 * Reconciles the two observation sources of one host, the `sock:inet_sock_set_state` tracepoint and
 * `ss` snapshots, into the per-connection state histories a student expects (DESIGN.md, "Observing
 * TCP states"). Facts of Linux this relies on (checked on the lab kernel, see test/fixtures):
 *
 * - The virtual hosts share one kernel, so the tracepoint reports the sockets of both: a host keeps
 *   only transitions whose local address is its own (listeners bound to 0.0.0.0/:: only if its
 *   own snapshots show that listener).
 * - A client's CLOSE -> SYN_SENT fires before the local port is assigned (sport=0).
 * - The tracepoint never shows TIME_WAIT: entering it shows as FIN_WAIT2 -> CLOSE or
 *   CLOSING -> CLOSE (the timewait socket is a separate object, freed 60 s later without an
 *   event). An orphaned FIN_WAIT2 (the application closed first) also shows FIN_WAIT2 -> CLOSE at
 *   once, while ss keeps listing it as FIN-WAIT-2, then TIME-WAIT. So a trace CLOSE that ss
 *   contradicts is dropped and the history goes on from the snapshots.
 * - Without the tracer, polling misses short states; the ones the state machine must have passed
 *   through are filled in as 'inferred'.
 */
import { formatEndpoint } from './observations';
import type { Endpoint, SsSocket, TraceTransition } from './observations';
import { canonicalAddress, isUnspecifiedAddress } from './ss-parser';
import { isTcpState } from './tcp-states';
import type { Seen, TcpState } from './tcp-states';

export type HostTransition = TraceTransition & { hostTimeUs: number };

export interface HostSnapshot {
  /** When ss started: the snapshot shows the sockets as they were after this. */
  hostTimeUs: number;
  /**
   * When ss had finished (absent in older logs: hostTimeUs). A state ss lists was entered before
   * this, maybe after hostTimeUs: under load ss takes tens of milliseconds, and a TIME_WAIT dated
   * at its start landed 20 ms before the FIN that caused it. Polled states are dated here, so a
   * polled state is never drawn before its cause; `t` still decides what a snapshot came after.
   */
  readUs?: number;
  sockets: SsSocket[];
}

export interface ReconcileInput {
  /** This host's addresses (IPv4 or IPv6 text; brackets, zones and ::ffff: forms are tolerated). */
  ownAddresses: string[];
  /** The experiment port: only sockets whose local or remote port is this one count. */
  port: number;
  /** Tracepoint transitions with host time (wall clock, µs), in trace order. */
  transitions: HostTransition[];
  snapshots: HostSnapshot[];
  /** false when the host has no tracefs: snapshots are then the only source. */
  traceAvailable: boolean;
}

export interface ObservedState {
  state: TcpState;
  hostTimeUs: number;
  seen: Seen;
}

export interface ConnectionHistory {
  /** formatEndpoint() of the local end, e.g. `198.18.77.1:43380` or `0.0.0.0:7777`. */
  local: string;
  /** formatEndpoint() of the remote end; listeners have `0.0.0.0:*`, `[::]:*` or `*:*`. */
  remote: string;
  states: ObservedState[];
}

/** True when `expected` occurs in `states` in order (not necessarily adjacent). */
export function passesInOrder(states: readonly TcpState[], expected: readonly TcpState[]): boolean {
  let i = 0;
  for (const s of states) {
    if (i < expected.length && s === expected[i]) i++;
  }
  return i === expected.length;
}

/**
 * Edges of the standard TCP state diagram, as Linux walks them, in the order that breaks ties of
 * equal length (so FIN_WAIT1 -> TIME_WAIT goes through FIN_WAIT2, SYN_SENT -> FIN_WAIT1 through
 * ESTABLISHED). Linux has no direct FIN_WAIT1 -> TIME_WAIT: a FIN+ACK passes FIN_WAIT2. Edges into
 * CLOSED are left out: a disappearance or abort is never inferred.
 */
const DIAGRAM: Readonly<Record<TcpState, readonly TcpState[]>> = {
  CLOSED: ['SYN_SENT', 'LISTEN'],
  LISTEN: ['SYN_RECV'],
  SYN_SENT: ['ESTABLISHED', 'SYN_RECV'],
  SYN_RECV: ['ESTABLISHED', 'FIN_WAIT1'],
  ESTABLISHED: ['FIN_WAIT1', 'CLOSE_WAIT'],
  FIN_WAIT1: ['FIN_WAIT2', 'CLOSING'],
  FIN_WAIT2: ['TIME_WAIT'],
  CLOSING: ['TIME_WAIT'],
  TIME_WAIT: [],
  CLOSE_WAIT: ['LAST_ACK'],
  LAST_ACK: [],
};

/**
 * The states strictly between `from` and `to` on the shortest path of the state diagram
 * (ESTABLISHED -> TIME_WAIT gives FIN_WAIT1, FIN_WAIT2). Empty when adjacent, equal, or unreachable.
 */
export function impliedStates(from: TcpState, to: TcpState): TcpState[] {
  if (from === to) return [];
  const previous = new Map<TcpState, TcpState>();
  const queue: TcpState[] = [from];
  const seen = new Set<TcpState>([from]);
  while (queue.length > 0) {
    const s = queue.shift() as TcpState;
    for (const next of DIAGRAM[s]) {
      if (seen.has(next)) continue;
      seen.add(next);
      previous.set(next, s);
      if (next === to) {
        const path: TcpState[] = [];
        let at = previous.get(to);
        while (at !== undefined && at !== from) {
          path.unshift(at);
          at = previous.get(at);
        }
        return path;
      }
      queue.push(next);
    }
  }
  return [];
}

/** A trace event as reconciling uses it. (This and the helpers below are shared with the reference build, test/unit/reconcile-reference.ts.) */
export interface Tr {
  t: number;
  from: TcpState;
  to: TcpState;
  local: Endpoint;
  remote: Endpoint;
}

export const CLOSES_INTO_TIMEWAIT: ReadonlySet<TcpState> = new Set<TcpState>(['FIN_WAIT1', 'FIN_WAIT2', 'CLOSING']);
export const TIMEWAIT_SUBSTATES: ReadonlySet<TcpState> = new Set<TcpState>(['FIN_WAIT2', 'TIME_WAIT']);

export function endpointKey(e: Endpoint): string {
  return `${canonicalAddress(e.address)}|${e.port === null ? '*' : e.port}`;
}

export function tupleKey(local: Endpoint, remote: Endpoint): string {
  return `${endpointKey(local)} ${endpointKey(remote)}`;
}

export function isEndpoint(e: unknown): e is Endpoint {
  if (typeof e !== 'object' || e === null) return false;
  const r = e as Record<string, unknown>;
  return typeof r.address === 'string' && (r.port === null || (typeof r.port === 'number' && Number.isFinite(r.port)));
}

/** A listener's (or unconnected socket's) remote end: unspecified address with port 0 -> `*`. */
export function normalizeRemote(e: Endpoint): Endpoint {
  if (e.port === 0 && isUnspecifiedAddress(e.address)) return { address: e.address, port: null };
  return { address: e.address, port: e.port };
}

export function touchesPort(local: Endpoint, remote: Endpoint, port: number): boolean {
  return local.port === port || remote.port === port;
}

/** Builds the histories of one tuple; a new history starts after CLOSED (a new incarnation). */
export class HistoryBuilder {
  readonly histories: ObservedState[][] = [];
  private current: ObservedState[] | null = null;

  last(): TcpState | undefined {
    return this.current?.[this.current.length - 1]?.state;
  }

  isOpen(): boolean {
    return this.current !== null && this.current.length > 0 && this.last() !== 'CLOSED';
  }

  startNew(): void {
    this.current = null;
  }

  /** Drops states from the end of the open history until its last state is `want`. */
  trimOpenTo(want: TcpState): void {
    const current = this.current;
    if (current === null || !this.isOpen()) return;
    while (current.length > 0 && current[current.length - 1]?.state !== want) current.pop();
    if (current.length === 0) {
      this.histories.pop();
      this.current = null;
    }
  }

  push(state: TcpState, hostTimeUs: number, seen: Seen): void {
    if (!this.isOpen()) {
      this.current = [];
      this.histories.push(this.current);
    }
    this.current?.push({ state, hostTimeUs, seen });
  }

  /** A state ss shows: appended when it changed, with the states it implies before it. */
  poll(state: TcpState, hostTimeUs: number): void {
    const last = this.last();
    if (this.isOpen() && last !== undefined) {
      if (last === state) return;
      if (state !== 'CLOSED') {
        for (const s of impliedStates(last, state)) this.push(s, hostTimeUs, 'inferred');
      }
      this.push(state, hostTimeUs, 'poll');
    } else if (state !== 'CLOSED') {
      this.push(state, hostTimeUs, 'poll');
    }
  }

  /** ss no longer lists the tuple: CLOSED, nothing inferred (an RST looks the same). */
  vanish(hostTimeUs: number): void {
    if (this.isOpen()) this.push('CLOSED', hostTimeUs, 'poll');
  }
}

export interface Snap {
  t: number;
  /** When a state this snapshot shows was seen by (HostSnapshot.readUs). */
  seenUs: number;
  byKey: Map<string, SsSocket>;
}

/** What reconciling takes from one snapshot. */
interface ParsedSnapshot {
  snap: Snap;
  /** Ports this snapshot shows a listener on (any port: a listener decides traced 0.0.0.0 sockets). */
  listenPorts: number[];
  /** The port's tuples as ss named their ends, in ss's order (the first row of each). */
  endpoints: Array<[string, Ends]>;
  /** Its sockets in SYN_SENT with a port, by local address and remote end (see attachPorts). */
  synSent: Array<[string, number]>;
}

interface Ends {
  local: Endpoint;
  remote: Endpoint;
}

function parseSnapshot(snapshot: HostSnapshot, port: number): ParsedSnapshot {
  const byKey = new Map<string, SsSocket>();
  const listenPorts: number[] = [];
  const endpoints: ParsedSnapshot['endpoints'] = [];
  const synSent: ParsedSnapshot['synSent'] = [];
  for (const socket of snapshot.sockets) {
    if (!socket || !isEndpoint(socket.local) || !isEndpoint(socket.peer)) continue;
    if (socket.state === 'LISTEN' && socket.local.port !== null) listenPorts.push(socket.local.port);
    if (!touchesPort(socket.local, socket.peer, port)) continue;
    const key = tupleKey(socket.local, socket.peer);
    if (byKey.has(key)) continue;
    byKey.set(key, socket);
    endpoints.push([key, { local: socket.local, remote: socket.peer }]);
    if (socket.state === 'SYN_SENT' && socket.local.port !== null && socket.local.port !== 0) synSent.push([clientKey(socket.local, socket.peer), socket.local.port]);
  }
  const readUs = typeof snapshot.readUs === 'number' && Number.isFinite(snapshot.readUs) && snapshot.readUs >= snapshot.hostTimeUs ? snapshot.readUs : snapshot.hostTimeUs;
  return { snap: { t: snapshot.hostTimeUs, seenUs: readUs, byKey }, listenPorts, endpoints, synSent };
}

/** A client's local address and remote end: what an unassigned port is matched on (attachPorts). */
function clientKey(local: Endpoint, remote: Endpoint): string {
  return `${canonicalAddress(local.address)} ${endpointKey(remote)}`;
}

/**
 * The snapshots in time order, and in which of them each tuple appears: a tuple's history is built
 * from its own appearances, not by walking every snapshot of the session for each tuple (which
 * made reconciling grow with the square of a session's length). Snapshots are added in time order;
 * the last may be replaced (HostObservations keeps the latest of a run of equal ones).
 */
class Snapshots {
  readonly list: Snap[] = [];
  private readonly appearances = new Map<string, number[]>();

  get length(): number {
    return this.list.length;
  }

  push(snap: Snap): void {
    const index = this.list.length;
    this.list.push(snap);
    for (const key of snap.byKey.keys()) {
      const seen = this.appearances.get(key);
      if (seen) seen.push(index);
      else this.appearances.set(key, [index]);
    }
  }

  popLast(): void {
    const snap = this.list.pop();
    if (!snap) return;
    for (const key of snap.byKey.keys()) {
      const seen = this.appearances.get(key)!;
      seen.pop();
      if (seen.length === 0) this.appearances.delete(key);
    }
  }

  /** The index of the first snapshot taken at or after `t` (the length when none is). */
  firstAtOrAfter(t: number): number {
    return lowerBound(this.list.length, (i) => this.list[i]!.t >= t);
  }

  /** The indices of the snapshots listing the tuple, in order. */
  appearancesOf(key: string): readonly number[] {
    return this.appearances.get(key) ?? [];
  }
}

/** The first of 0 .. length-1 for which `isAtOrAfter` holds (it holds for all after it), or `length`. */
function lowerBound(length: number, isAtOrAfter: (index: number) => boolean): number {
  let low = 0;
  let high = length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (isAtOrAfter(middle)) high = middle;
    else low = middle + 1;
  }
  return low;
}

/**
 * Whether a traced socket with this local end may be the host's own: an address of its own, or
 * an unspecified one (a listener; reconcileHost decides those by the listening ports). Others are
 * another host's (the virtual lab's hosts share a kernel, so each tracer sees both).
 */
export function mayBeOwnSocket(local: Endpoint, ownAddresses: readonly string[]): boolean {
  if (isUnspecifiedAddress(local.address)) return true;
  const address = canonicalAddress(local.address);
  return ownAddresses.some((own) => canonicalAddress(own) === address);
}

/** A trace event kept for reconciling: its place in the input breaks ties in time, as a stable sort would. */
interface TraceEvent extends Tr {
  arrival: number;
  /** A client's CLOSE -> SYN_SENT before its port was known (attachPorts gives it one): its local end as traced. */
  unassigned?: Endpoint;
  /** Then also its clientKey, and the port attachPorts gave it last (null: none). */
  client?: string;
  attachedPort?: number | null;
}

/** Trace order: time, then input order. */
function traceOrder(a: TraceEvent, b: TraceEvent): number {
  return a.t - b.t || a.arrival - b.arrival;
}

/** Puts `event` into `list` (kept in trace order) where it belongs: nearly always at the end. */
function insertInOrder(list: TraceEvent[], event: TraceEvent): void {
  let at = list.length;
  while (at > 0 && traceOrder(list[at - 1]!, event) > 0) at--;
  list.splice(at, 0, event);
}

/** Where a tuple's histories go among the others when their first states are at the same time: the order reconcileHost has always given. */
type Rank = readonly [number, number, number];

function compareRanks(a: Rank, b: Rank): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

interface TupleResult {
  rank: Rank;
  histories: ConnectionHistory[];
}

interface Placed {
  history: ConnectionHistory;
  key: string;
  rank: Rank;
  /** Its place among its tuple's histories. */
  nth: number;
}

function comparePlaced(a: Placed, b: Placed): number {
  return (a.history.states[0]?.hostTimeUs ?? 0) - (b.history.states[0]?.hostTimeUs ?? 0) || compareRanks(a.rank, b.rank) || a.nth - b.nth;
}

/**
 * Reconciles one host's observations as they grow, giving after each call exactly what
 * reconcileHost gives for everything observed so far, but working out again only the tuples the
 * new observations touch. A session asks several times a second for the whole history of a
 * session that only grows (HostObservations: trace events appended, snapshots appended or the last
 * replaced by an equal one); reconciling everything afresh each time made every poll pay for every
 * connection made since the lab was connected. Anything else (an input replaced, a snapshot older
 * than the last, other own addresses, the tracer found missing, the first snapshot or the last
 * usable one gone: they decide which traced 0.0.0.0 sockets count) starts afresh.
 *
 * What a new observation can change, and so what is worked out again:
 * - a snapshot: the tuples it lists (a state polled) and those the one before listed (vanished);
 * - the last snapshot replaced (HostObservations replaces it by an equal one): the tuples the old
 *   and the new one list, and those the one before them lists (what had vanished at the old one);
 * - a trace event: its tuple; and a client's unassigned port, which a later event or snapshot
 *   decides, may move its SYN_SENT from one tuple to another (both);
 * - a new listening port: the traced listeners on it, kept aside until then.
 */
export class HostReconciler {
  private config: { port: number; own: string; traceAvailable: boolean } | undefined;
  private own = new Set<string>();
  /** The inputs taken in so far: the snapshot objects in input order, and the trace events' count. */
  private inputSnapshots: HostSnapshot[] = [];
  /** Per input snapshot: what it gave (undefined: not a snapshot reconciling can use). */
  private parsed: Array<ParsedSnapshot | undefined> = [];
  private transitions: readonly HostTransition[] | undefined;
  private transitionsTaken = 0;

  private snaps = new Snapshots();
  /** The usable snapshots came in time order (else each change starts afresh, sorting them). */
  private inOrder = true;
  private listenPorts = new Map<number, number>();
  /** Each tuple's first row in ss: its ends as ss named them, and where (input snapshot, row). */
  private firstSeen = new Map<string, { ends: Ends; at: readonly [number, number] }>();
  /** SYN_SENT sockets with their port, by clientKey: [snapshot index, port], in order. */
  private synSent = new Map<string, Array<[number, number]>>();

  /** Accepted trace events by tuple, each list in trace order. */
  private byKey = new Map<string, TraceEvent[]>();
  /** The unassigned ones, in trace order (each is in the tuple of its `local`, once attachPorts has given it one). */
  private unassigned: TraceEvent[] = [];
  /** Clients' events out of SYN_SENT with a port, by clientKey, in trace order: what an unassigned port is taken from. */
  private portGivers = new Map<string, TraceEvent[]>();
  /** Traced sockets on an unspecified address whose port no snapshot has shown a listener on yet. */
  private awaitingListener: TraceEvent[] = [];

  private results = new Map<string, TupleResult>();
  private placed: Placed[] = [];

  reconcile(input: ReconcileInput): ConnectionHistory[] {
    const port = input.port;
    const ownAddresses = (Array.isArray(input.ownAddresses) ? input.ownAddresses : []).map((a) => canonicalAddress(String(a)));
    const config = { port, own: ownAddresses.join(' '), traceAvailable: input.traceAvailable === true };
    const snapshots = Array.isArray(input.snapshots) ? input.snapshots : [];
    const transitions = config.traceAvailable && Array.isArray(input.transitions) ? input.transitions : [];
    if (!this.canContinue(config, snapshots, transitions)) this.reset(config, ownAddresses);

    const dirty = new Set<string>();
    const hadSnapshots = this.snaps.length > 0;
    const newListenPort = this.takeSnapshots(snapshots, dirty);
    if (newListenPort === 'restart') return this.restartWith(input);
    // Traced listeners on 0.0.0.0 are all taken while there is no snapshot, and only those on a port a snapshot shows once there is one.
    if (hadSnapshots ? this.snaps.length === 0 : this.snaps.length > 0 && (this.byKey.size > 0 || this.unassigned.length > 0)) return this.restartWith(input);
    if (newListenPort) this.takeListeners(dirty);
    this.takeTransitions(transitions, dirty);
    this.attachPorts(dirty);
    for (const key of dirty) this.rebuild(key);
    this.place(dirty);
    return this.placed.map((p) => p.history);
  }

  private restartWith(input: ReconcileInput): ConnectionHistory[] {
    this.config = undefined;
    return this.reconcile(input);
  }

  private canContinue(config: NonNullable<HostReconciler['config']>, snapshots: readonly HostSnapshot[], transitions: readonly HostTransition[]): boolean {
    const previous = this.config;
    if (!previous || previous.port !== config.port || previous.own !== config.own || previous.traceAvailable !== config.traceAvailable) return false;
    // Trace events only appended, to the same array.
    if (transitions.length < this.transitionsTaken || (this.transitionsTaken > 0 && transitions !== this.transitions)) return false;
    // Snapshots only appended, but for the last, which may be replaced.
    const kept = this.inputSnapshots;
    if (snapshots.length < kept.length) return false;
    for (let i = 0; i < kept.length - 1; i++) if (snapshots[i] !== kept[i]) return false;
    const changed = snapshots.length > kept.length || (kept.length > 0 && snapshots[kept.length - 1] !== kept[kept.length - 1]);
    return this.inOrder || !changed;
  }

  private reset(config: NonNullable<HostReconciler['config']>, ownAddresses: readonly string[]): void {
    this.config = config;
    this.own = new Set(ownAddresses);
    this.inputSnapshots = [];
    this.parsed = [];
    this.transitions = undefined;
    this.transitionsTaken = 0;
    this.snaps = new Snapshots();
    this.inOrder = true;
    this.listenPorts = new Map();
    this.firstSeen = new Map();
    this.synSent = new Map();
    this.byKey = new Map();
    this.unassigned = [];
    this.portGivers = new Map();
    this.awaitingListener = [];
    this.results = new Map();
    this.placed = [];
  }

  /**
   * Takes in new snapshots (and a replaced last one), in time order. Whether a listening port is
   * new; 'restart' when what was taken in before no longer holds (a snapshot older than the last,
   * a listening port gone).
   */
  private takeSnapshots(snapshots: readonly HostSnapshot[], dirty: Set<string>): boolean | 'restart' {
    const listenBefore = this.listenPorts.size;
    let from = this.inputSnapshots.length;
    const last = from - 1;
    const forgotten: number[] = [];
    if (last >= 0 && snapshots[last] !== this.inputSnapshots[last]) {
      // The last was replaced: take its part out, then the new one in as if appended.
      const old = this.parsed[last];
      if (old) {
        for (const key of old.snap.byKey.keys()) dirty.add(key);
        forgotten.push(...this.forget(old, last));
        this.snaps.popLast();
        // What the one before listed and the old one did not had vanished at it.
        for (const key of this.snaps.list[this.snaps.length - 1]?.byKey.keys() ?? []) dirty.add(key);
      }
      this.inputSnapshots.pop();
      this.parsed.pop();
      from = last;
    }
    const fresh = from === 0;
    const usable: number[] = [];
    for (let index = from; index < snapshots.length; index++) {
      const snapshot = snapshots[index]!;
      this.inputSnapshots.push(snapshot);
      const ok = snapshot && Number.isFinite(snapshot.hostTimeUs) && Array.isArray(snapshot.sockets);
      this.parsed.push(ok ? parseSnapshot(snapshot, this.config!.port) : undefined);
      if (ok) usable.push(index);
    }
    // Time order, input order among equal times (a stable sort); all at once only when starting afresh.
    const ordered = [...usable].sort((a, b) => snapshots[a]!.hostTimeUs - snapshots[b]!.hostTimeUs || a - b);
    if (ordered.some((index, i) => index !== usable[i])) {
      if (!fresh) return 'restart';
      this.inOrder = false;
    }
    for (const index of ordered) {
      const parsed = this.parsed[index]!;
      const previous = this.snaps.list[this.snaps.length - 1];
      if (previous && parsed.snap.t < previous.t) return 'restart';
      const snapIndex = this.snaps.length;
      this.snaps.push(parsed.snap);
      for (const key of parsed.snap.byKey.keys()) dirty.add(key);
      if (previous) for (const key of previous.byKey.keys()) dirty.add(key);
      for (const listenPort of parsed.listenPorts) this.listenPorts.set(listenPort, (this.listenPorts.get(listenPort) ?? 0) + 1);
      parsed.endpoints.forEach(([key, ends], row) => {
        const known = this.firstSeen.get(key);
        if (!known || index < known.at[0]) this.firstSeen.set(key, { ends, at: [index, row] });
      });
      for (const [client, clientPort] of parsed.synSent) {
        const list = this.synSent.get(client);
        if (list) list.push([snapIndex, clientPort]);
        else this.synSent.set(client, [[snapIndex, clientPort]]);
      }
    }
    if (forgotten.some((listenPort) => !this.listenPorts.has(listenPort))) return 'restart';
    return this.listenPorts.size > listenBefore;
  }

  /** Takes a parsed snapshot's part out of what is kept (it was the last); the listening ports no snapshot shows any more. */
  private forget(parsed: ParsedSnapshot, inputIndex: number): number[] {
    const gone: number[] = [];
    for (const listenPort of parsed.listenPorts) {
      const count = (this.listenPorts.get(listenPort) ?? 1) - 1;
      if (count > 0) this.listenPorts.set(listenPort, count);
      else if (this.listenPorts.delete(listenPort)) gone.push(listenPort);
    }
    for (const [key] of parsed.endpoints) {
      if (this.firstSeen.get(key)?.at[0] === inputIndex) this.firstSeen.delete(key);
    }
    const snapIndex = this.snaps.length - 1;
    for (const [client] of parsed.synSent) {
      const list = this.synSent.get(client);
      if (!list) continue; // two of its sockets had the same client key, both taken out
      while (list.length > 0 && list[list.length - 1]![0] === snapIndex) list.pop();
      if (list.length === 0) this.synSent.delete(client);
    }
    return gone;
  }

  private takeTransitions(transitions: readonly HostTransition[], dirty: Set<string>): void {
    const port = this.config!.port;
    for (let arrival = this.transitionsTaken; arrival < transitions.length; arrival++) {
      const raw = transitions[arrival];
      if (!raw || !Number.isFinite(raw.hostTimeUs)) continue;
      if (!isTcpState(String(raw.from)) || !isTcpState(String(raw.to)) || raw.from === raw.to) continue;
      if (!isEndpoint(raw.local) || !isEndpoint(raw.remote)) continue;
      const local: Endpoint = { address: raw.local.address, port: raw.local.port };
      const remote = normalizeRemote(raw.remote);
      if (!touchesPort(local, remote, port)) continue;
      const unassigned = raw.to === 'SYN_SENT' && raw.from === 'CLOSED' && (local.port === 0 || local.port === null);
      const event: TraceEvent = { t: raw.hostTimeUs, from: raw.from, to: raw.to, local, remote, arrival, ...(unassigned ? { unassigned: local } : {}) };
      if (isUnspecifiedAddress(local.address)) {
        if (!this.listening(local)) {
          this.awaitingListener.push(event);
          continue;
        }
      } else if (!this.own.has(canonicalAddress(local.address))) {
        continue;
      }
      this.accept(event, dirty);
    }
    this.transitions = transitions;
    this.transitionsTaken = transitions.length;
  }

  private listening(local: Endpoint): boolean {
    return this.snaps.length === 0 || (local.port !== null && this.listenPorts.has(local.port));
  }

  /** Traced listeners kept aside for want of a listening port: those a snapshot now shows are taken. */
  private takeListeners(dirty: Set<string>): void {
    const still: TraceEvent[] = [];
    for (const event of this.awaitingListener) {
      if (this.listening(event.local)) this.accept(event, dirty);
      else still.push(event);
    }
    this.awaitingListener = still;
  }

  private accept(event: TraceEvent, dirty: Set<string>): void {
    if (event.unassigned) {
      insertInOrder(this.unassigned, event);
      return; // attachPorts puts it into a tuple
    }
    const key = tupleKey(event.local, event.remote);
    this.addToTuple(key, event);
    dirty.add(key);
    if (event.from === 'SYN_SENT' && event.local.port !== null && event.local.port !== 0) {
      const client = clientKey(event.local, event.remote);
      const givers = this.portGivers.get(client);
      if (givers) insertInOrder(givers, event);
      else this.portGivers.set(client, [event]);
    }
  }

  private addToTuple(key: string, event: TraceEvent): void {
    const list = this.byKey.get(key);
    if (list) insertInOrder(list, event);
    else this.byKey.set(key, [event]);
  }

  private removeFromTuple(key: string, event: TraceEvent): void {
    const list = this.byKey.get(key);
    if (!list) return;
    const at = list.indexOf(event);
    if (at !== -1) list.splice(at, 1);
    if (list.length === 0) this.byKey.delete(key);
  }

  /**
   * CLOSE -> SYN_SENT fires before connect() picks the local port (sport=0): each such event, in
   * trace order, takes the port of the next transition out of SYN_SENT with the same local address
   * and remote end that no earlier one took (or, failing that, of the first later snapshot listing
   * such a socket in SYN_SENT). Later observations can change the answer, so it is worked out for
   * all of them each time (they are one per connection, and each lookup is a binary search).
   */
  private attachPorts(dirty: Set<string>): void {
    const taken = new Set<TraceEvent>();
    for (const event of this.unassigned) {
      const client = (event.client ??= clientKey(event.local, event.remote));
      let port: number | null = null;
      const givers = this.portGivers.get(client) ?? [];
      for (let k = lowerBound(givers.length, (i) => traceOrder(givers[i]!, event) > 0); k < givers.length; k++) {
        if (taken.has(givers[k]!)) continue;
        taken.add(givers[k]!);
        port = givers[k]!.local.port;
        break;
      }
      if (port === null) {
        // Only a socket still in SYN_SENT can be this one: an older connection to the same peer
        // (say in TIME_WAIT from an earlier run) must not lend it its port.
        const seen = this.synSent.get(client) ?? [];
        const from = this.snaps.firstAtOrAfter(event.t);
        const first = seen[lowerBound(seen.length, (i) => seen[i]![0] >= from)];
        if (first) port = first[1];
      }
      if (event.attachedPort === port) continue;
      if (event.attachedPort !== undefined) {
        const before = tupleKey(event.local, event.remote);
        this.removeFromTuple(before, event);
        dirty.add(before);
      }
      event.attachedPort = port;
      const traced = event.unassigned!;
      const local: Endpoint = port === null ? traced : { ...traced, port };
      const key = tupleKey(local, event.remote);
      event.local = local;
      this.addToTuple(key, event);
      dirty.add(key);
    }
  }

  /** Works out one tuple's histories again. */
  private rebuild(key: string): void {
    const builder = new HistoryBuilder();
    const events = this.byKey.get(key) ?? [];
    if (events.length === 0) pollRange(builder, this.snaps, key, 0, this.snaps.length);
    else buildFromTrace(builder, events, this.snaps, key);
    const seen = this.firstSeen.get(key);
    const first = events[0];
    const ends = seen?.ends ?? (first ? { local: first.local, remote: first.remote } : undefined);
    const histories = builder.histories.filter((states) => states.length > 0);
    if (!ends || histories.length === 0) {
      this.results.delete(key);
      return;
    }
    // Tuples with trace events come first, in the order of their first event; then those only ss has seen, in the order it first listed them.
    const rank: Rank = first ? [0, first.t, first.arrival] : [1, seen!.at[0], seen!.at[1]];
    const local = formatEndpoint(ends.local);
    const remote = formatEndpoint(ends.remote);
    this.results.set(key, { rank, histories: histories.map((states) => ({ local, remote, states })) });
  }

  /** The output in order: first state's time, then as reconcileHost has always broken ties. */
  private place(dirty: Set<string>): void {
    if (dirty.size === 0) return;
    const kept = this.placed.filter((p) => !dirty.has(p.key));
    const added: Placed[] = [];
    for (const key of dirty) {
      const result = this.results.get(key);
      if (result) result.histories.forEach((history, nth) => added.push({ history, key, rank: result.rank, nth }));
    }
    if (added.length > kept.length / 8) {
      this.placed = [...kept, ...added].sort(comparePlaced);
      return;
    }
    for (const p of added) kept.splice(lowerBound(kept.length, (i) => comparePlaced(kept[i]!, p) > 0), 0, p);
    this.placed = kept;
  }
}

/** The host's connections from everything observed (a fresh HostReconciler each time). */
export function reconcileHost(input: ReconcileInput): ConnectionHistory[] {
  return new HostReconciler().reconcile(input);
}

/**
 * Polled history of a tuple over snapshots [from, to): each snapshot listing it polls its state,
 * each not listing it vanishes it. Only the tuple's own appearances are visited: of a run of
 * snapshots without it, only the first can change anything (after it the history is closed, and
 * vanishing a closed history does nothing).
 */
function pollRange(builder: HistoryBuilder, snaps: Snapshots, key: string, from: number, to: number): void {
  const list = snaps.list;
  const seen = snaps.appearancesOf(key);
  if (from < to && !list[from]!.byKey.has(key)) builder.vanish(list[from]!.seenUs);
  for (let k = lowerBound(seen.length, (i) => seen[i]! >= from); k < seen.length && seen[k]! < to; k++) {
    const index = seen[k]!;
    const snap = list[index]!;
    const state = snap.byKey.get(key)!.state;
    if (state !== null) builder.poll(state, snap.seenUs);
    const next = index + 1;
    if (next < to && seen[k + 1] !== next) builder.vanish(list[next]!.seenUs);
  }
}

/**
 * After a traced close into TIME_WAIT: the timewait socket's states as ss lists it from snapshot
 * `start` (the first listing it so) until it is gone or `end` (the tuple's next event).
 * (Shared with the reference build, test/unit/reconcile-reference.ts.)
 */
export function followTimewait(builder: HistoryBuilder, snaps: readonly Snap[], key: string, start: number, end: number): void {
  for (let j = start; j < end; j++) {
    const snap = snaps[j];
    if (!snap) continue;
    const socket = snap.byKey.get(key);
    if (socket === undefined) {
      builder.vanish(snap.seenUs);
      break;
    }
    if (socket.state !== null) builder.poll(socket.state, snap.seenUs);
  }
}

function buildFromTrace(builder: HistoryBuilder, events: Tr[], snaps: Snapshots, key: string): void {
  const first = events[0];
  if (!first) return;
  // The tuple existed before its first event: tracing began mid-connection, or (first event
  // LISTEN -> SYN_RECV) a half-open request socket, which the tracepoint does not report, sat in
  // SYN-RECV until the handshake completed. What ss showed before the first event comes first,
  // cut back to the state that event leaves from (a snapshot can look later than it was).
  if (first.from !== 'CLOSED') {
    pollRange(builder, snaps, key, 0, snaps.firstAtOrAfter(first.t));
    builder.trimOpenTo(first.from === 'LISTEN' ? first.to : first.from);
  }
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    if (!e) continue;
    const nextT = events[i + 1]?.t ?? Infinity;
    const fresh = e.from === 'CLOSED' || (e.from === 'LISTEN' && e.to !== 'CLOSED');
    if (fresh && i > 0) builder.startNew();

    if (e.to === 'CLOSED' && CLOSES_INTO_TIMEWAIT.has(e.from)) {
      // Does ss still list the tuple (a timewait socket: FIN-WAIT-2 or TIME-WAIT) after this, before the tuple's next event?
      const end = snaps.firstAtOrAfter(nextT);
      const seen = snaps.appearancesOf(key);
      const from = snaps.firstAtOrAfter(e.t);
      let start = -1;
      for (let k = lowerBound(seen.length, (i) => seen[i]! >= from); k < seen.length && seen[k]! < end; k++) {
        const state = snaps.list[seen[k]!]!.byKey.get(key)!.state;
        if (state !== null && TIMEWAIT_SUBSTATES.has(state)) {
          start = seen[k]!;
          break;
        }
      }
      if (start !== -1) {
        followTimewait(builder, snaps.list, key, start, end);
        continue;
      }
      if (e.from === 'CLOSING') {
        // CLOSING -> CLOSE always means TIME_WAIT on Linux; nothing saw it end.
        if (builder.last() !== 'TIME_WAIT') builder.push('TIME_WAIT', e.t, 'inferred');
        continue;
      }
    }
    if (i === 0 && builder.isOpen() && builder.last() === e.to) continue; // seen by ss already
    builder.push(e.to, e.t, 'trace');
  }
}

/**
 * True when `later` comes after `earlier` on a connection's way through the state diagram (CLOSED,
 * the end, after every other state). A snapshot whose state comes before the reported one is stale:
 * the trace clock and bash's clock can disagree by a few milliseconds, so ss may have run just
 * before a transition dated just before it.
 */
export function comesAfter(earlier: TcpState, later: TcpState): boolean {
  if (earlier === later) return false;
  if (later === 'CLOSED') return earlier !== 'CLOSED';
  const seen = new Set<TcpState>([earlier]);
  const queue: TcpState[] = [earlier];
  while (queue.length > 0) {
    const s = queue.shift() as TcpState;
    for (const next of DIAGRAM[s]) {
      if (next === later) return true;
      if (!seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return false;
}

/** A `transition` event as the live views keep it. */
export interface ReportedState {
  local: string;
  remote: string;
  state: TcpState;
  hostTimeUs: number;
}

/** A connection as the screen shows it at one instant (currentConnections). */
export interface CurrentConnection {
  /** formatEndpoint() of each end, as transitions name them. */
  local: string;
  remote: string;
  /**
   * Its states so far, oldest first: the reported ones in the order reported, then, when the
   * latest snapshot is newer and shows a state they do not have yet, that state (`provisional`).
   * The last one is the connection's state now; CLOSED when it is gone.
   */
  states: TcpState[];
  /** The last state comes from the latest snapshot, ahead of the transitions reported so far. */
  provisional: boolean;
  /**
   * ss's row for it in the latest snapshot, when that row is the current word on it (its queues
   * and timer are then the connection's); absent when a newer transition overrides it.
   */
  socket?: SsSocket;
  /** ss listed a state with no TCP meaning (SsSocket.state null): the row shows ss's word. */
  unknownState?: string;
  /** When it last changed, in report order (provisional changes after every report): the latest connection has the largest. */
  order: number;
}

/**
 * What a host's socket table and its mark on the state diagram show, from one source: the latest
 * `ss` snapshot and the engine's reported transitions, the newer of the two winning per connection.
 * The engine reports a state once nothing can revise it (a trace event waits for a snapshot taken
 * after it, a polled state for its snapshot to stay), so the raw snapshot is often ahead of the
 * transitions, and a traced state is reported before any snapshot lists it: taken separately, the
 * table (snapshots) and the diagram (transitions) disagreed for a poll or more at every change,
 * and for good at the end of a log whose last states were never reported.
 *
 * A snapshot is newer than a connection's last report when ss started at or after the report's
 * time and does not show an earlier state (comesAfter); a connection it no longer lists is CLOSED.
 */
export function currentConnections(snapshot: { hostTimeUs: number; sockets: readonly SsSocket[] } | undefined, reported: readonly ReportedState[]): CurrentConnection[] {
  const byKey = new Map<string, CurrentConnection>();
  const lastUs = new Map<string, number>();
  reported.forEach((r, index) => {
    const key = `${r.local} ${r.remote}`;
    let c = byKey.get(key);
    if (!c) byKey.set(key, (c = { local: r.local, remote: r.remote, states: [], provisional: false, order: index }));
    c.states.push(r.state);
    c.order = index;
    lastUs.set(key, r.hostTimeUs);
  });
  if (!snapshot) return [...byKey.values()];

  const newer = (key: string): boolean => snapshot.hostTimeUs >= (lastUs.get(key) ?? -Infinity);
  let provisionalOrder = reported.length;
  const rows: CurrentConnection[] = [];
  const listed = new Set<string>();
  for (const socket of snapshot.sockets) {
    const local = formatEndpoint(socket.local);
    const remote = formatEndpoint(socket.peer);
    const key = `${local} ${remote}`;
    if (listed.has(key)) continue; // ss lists a tuple once; a repeat would say nothing new
    listed.add(key);
    const c = byKey.get(key);
    byKey.delete(key);
    if (socket.state === null) {
      rows.push({ local, remote, states: c?.states ?? [], provisional: false, socket, unknownState: socket.ssState, order: c?.order ?? provisionalOrder++ });
    } else if (!c) {
      rows.push({ local, remote, states: [socket.state], provisional: true, socket, order: provisionalOrder++ });
    } else {
      const last = c.states[c.states.length - 1] as TcpState;
      if (last === socket.state) rows.push({ ...c, socket });
      else if (newer(key) && !comesAfter(socket.state, last)) rows.push({ ...c, states: [...c.states, socket.state], provisional: true, socket, order: provisionalOrder++ });
      else rows.push(c);
    }
  }
  // Reported connections ss does not list: gone when the snapshot is newer, else not polled yet.
  for (const [key, c] of byKey) {
    const last = c.states[c.states.length - 1] as TcpState;
    if (last !== 'CLOSED' && newer(key)) rows.push({ ...c, states: [...c.states, 'CLOSED'], provisional: true, order: provisionalOrder++ });
    else rows.push(c);
  }
  return rows;
}
