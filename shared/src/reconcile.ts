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

interface Snap {
  t: number;
  /** When a state this snapshot shows was seen by (HostSnapshot.readUs). */
  seenUs: number;
  byKey: Map<string, SsSocket>;
}

/** What reconciling takes from one snapshot for one port; it never changes, so it is kept (below). */
interface ParsedSnapshot {
  port: number;
  snap: Snap;
  /** Ports this snapshot shows a listener on (any port: a listener decides traced 0.0.0.0 sockets). */
  listenPorts: number[];
  /** The port's tuples as ss named their ends, in ss's order. */
  endpoints: Array<[string, { local: Endpoint; remote: Endpoint }]>;
}

/**
 * Each snapshot is parsed once, not at every reconciliation: a session reconciles each host several
 * times a second over all the snapshots it kept, thousands in a long session.
 */
const parsedSnapshots = new WeakMap<HostSnapshot, ParsedSnapshot>();

function parseSnapshot(snapshot: HostSnapshot, port: number): ParsedSnapshot {
  const known = parsedSnapshots.get(snapshot);
  if (known && known.port === port) return known;
  const byKey = new Map<string, SsSocket>();
  const listenPorts: number[] = [];
  const endpoints: ParsedSnapshot['endpoints'] = [];
  for (const socket of snapshot.sockets) {
    if (!socket || !isEndpoint(socket.local) || !isEndpoint(socket.peer)) continue;
    if (socket.state === 'LISTEN' && socket.local.port !== null) listenPorts.push(socket.local.port);
    if (!touchesPort(socket.local, socket.peer, port)) continue;
    const key = tupleKey(socket.local, socket.peer);
    if (!byKey.has(key)) {
      byKey.set(key, socket);
      endpoints.push([key, { local: socket.local, remote: socket.peer }]);
    }
  }
  const readUs = typeof snapshot.readUs === 'number' && Number.isFinite(snapshot.readUs) && snapshot.readUs >= snapshot.hostTimeUs ? snapshot.readUs : snapshot.hostTimeUs;
  const parsed: ParsedSnapshot = { port, snap: { t: snapshot.hostTimeUs, seenUs: readUs, byKey }, listenPorts, endpoints };
  parsedSnapshots.set(snapshot, parsed);
  return parsed;
}

/**
 * The snapshots in time order, and in which of them each tuple appears: a tuple's history is built
 * from its own appearances, not by walking every snapshot of the session for each tuple (which
 * made reconciling grow with the square of a session's length).
 */
class Snapshots {
  private readonly appearances = new Map<string, number[]>();

  constructor(readonly list: readonly Snap[]) {
    list.forEach((snap, index) => {
      for (const key of snap.byKey.keys()) {
        const seen = this.appearances.get(key);
        if (seen) seen.push(index);
        else this.appearances.set(key, [index]);
      }
    });
  }

  get length(): number {
    return this.list.length;
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

export function reconcileHost(input: ReconcileInput): ConnectionHistory[] {
  const port = input.port;
  const own = new Set((Array.isArray(input.ownAddresses) ? input.ownAddresses : []).map((a) => canonicalAddress(String(a))));

  // Snapshots, in time order, keyed by tuple; only sockets of the experiment port.
  const listenPorts = new Set<number>();
  const list: Snap[] = [];
  const ssEndpoints = new Map<string, { local: Endpoint; remote: Endpoint }>();
  for (const snapshot of Array.isArray(input.snapshots) ? input.snapshots : []) {
    if (!snapshot || !Number.isFinite(snapshot.hostTimeUs) || !Array.isArray(snapshot.sockets)) continue;
    const parsed = parseSnapshot(snapshot, port);
    for (const listenPort of parsed.listenPorts) listenPorts.add(listenPort);
    for (const [key, ends] of parsed.endpoints) if (!ssEndpoints.has(key)) ssEndpoints.set(key, ends);
    list.push(parsed.snap);
  }
  list.sort((a, b) => a.t - b.t);
  const snaps = new Snapshots(list);

  // Transitions of this host and port, in time order (stable: ties keep trace order).
  const trs: Tr[] = [];
  if (input.traceAvailable && Array.isArray(input.transitions)) {
    for (const raw of input.transitions) {
      if (!raw || !Number.isFinite(raw.hostTimeUs)) continue;
      if (!isTcpState(String(raw.from)) || !isTcpState(String(raw.to)) || raw.from === raw.to) continue;
      if (!isEndpoint(raw.local) || !isEndpoint(raw.remote)) continue;
      const local: Endpoint = { address: raw.local.address, port: raw.local.port };
      const remote = normalizeRemote(raw.remote);
      if (!touchesPort(local, remote, port)) continue;
      if (isUnspecifiedAddress(local.address)) {
        const listening = snaps.length === 0 || (local.port !== null && listenPorts.has(local.port));
        if (!listening) continue;
      } else if (!own.has(canonicalAddress(local.address))) {
        continue;
      }
      trs.push({ t: raw.hostTimeUs, from: raw.from, to: raw.to, local, remote });
    }
  }
  trs.sort((a, b) => a.t - b.t);
  attachUnassignedPorts(trs, snaps);

  // Group by tuple, in order of first appearance.
  const traceByKey = new Map<string, Tr[]>();
  const traceEndpoints = new Map<string, { local: Endpoint; remote: Endpoint }>();
  for (const tr of trs) {
    const key = tupleKey(tr.local, tr.remote);
    let list = traceByKey.get(key);
    if (!list) {
      list = [];
      traceByKey.set(key, list);
      traceEndpoints.set(key, { local: tr.local, remote: tr.remote });
    }
    list.push(tr);
  }
  const keys = new Set<string>([...traceByKey.keys(), ...ssEndpoints.keys()]);

  const out: ConnectionHistory[] = [];
  for (const key of keys) {
    const builder = new HistoryBuilder();
    const events = traceByKey.get(key) ?? [];
    if (events.length === 0) {
      pollRange(builder, snaps, key, 0, snaps.length);
    } else {
      buildFromTrace(builder, events, snaps, key);
    }
    const ends = ssEndpoints.get(key) ?? traceEndpoints.get(key);
    if (!ends) continue;
    const local = formatEndpoint(ends.local);
    const remote = formatEndpoint(ends.remote);
    for (const states of builder.histories) {
      if (states.length > 0) out.push({ local, remote, states });
    }
  }
  return out
    .map((h, i) => ({ h, i }))
    .sort((a, b) => (a.h.states[0]?.hostTimeUs ?? 0) - (b.h.states[0]?.hostTimeUs ?? 0) || a.i - b.i)
    .map(({ h }) => h);
}

/**
 * CLOSE -> SYN_SENT fires before connect() picks the local port (sport=0): take the port of the next
 * transition out of SYN_SENT with the same local address and remote end (or, failing that, of the
 * first later snapshot listing such a socket).
 */
function attachUnassignedPorts(trs: Tr[], snaps: Snapshots): void {
  const claimed = new Set<number>();
  for (let i = 0; i < trs.length; i++) {
    const e = trs[i];
    if (!e || e.to !== 'SYN_SENT' || e.from !== 'CLOSED' || (e.local.port !== 0 && e.local.port !== null)) continue;
    const localAddr = canonicalAddress(e.local.address);
    const remoteKey = endpointKey(e.remote);
    let port: number | null = null;
    for (let j = i + 1; j < trs.length; j++) {
      const c = trs[j];
      if (!c || claimed.has(j) || c.from !== 'SYN_SENT') continue;
      if (c.local.port === 0 || c.local.port === null) continue;
      if (canonicalAddress(c.local.address) !== localAddr || endpointKey(c.remote) !== remoteKey) continue;
      claimed.add(j);
      port = c.local.port;
      break;
    }
    if (port === null) {
      for (let j = snaps.firstAtOrAfter(e.t); j < snaps.length; j++) {
        const snap = snaps.list[j]!;
        for (const s of snap.byKey.values()) {
          if (s.local.port === null || s.local.port === 0) continue;
          // Only a socket still in SYN_SENT can be this one: an older connection to the same
          // peer (say in TIME_WAIT from an earlier run) must not lend it its port.
          if (s.state !== 'SYN_SENT') continue;
          if (canonicalAddress(s.local.address) === localAddr && endpointKey(s.peer) === remoteKey) {
            port = s.local.port;
            break;
          }
        }
        if (port !== null) break;
      }
    }
    if (port !== null) e.local = { ...e.local, port };
  }
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
        for (let j = start; j < end; j++) {
          const snap = snaps.list[j];
          if (!snap) continue;
          const socket = snap.byKey.get(key);
          if (socket === undefined) {
            builder.vanish(snap.seenUs);
            break;
          }
          if (socket.state !== null) builder.poll(socket.state, snap.seenUs);
        }
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
