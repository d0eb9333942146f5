/**
 * The timeline model (issue 4, section 2): what a timeline view draws, derived from a session's
 * events in one pass, with range queries fast enough for 10,000 connections and 100,000 events.
 * Pure TypeScript; the drawing (UI and SVG) uses only what is exported here.
 *
 * The axis: one shared time axis in epoch microseconds on the controller's clock. An event a host
 * observed carries the host's own clock (`hostTimeUs`); it is placed at `hostTimeUs - offset`,
 * with the host's clock offset (host minus controller, the latest `clock` event of that host
 * before it in the log, else its first). Events of the controller itself (commands, keys,
 * firewall changes, connection changes) are placed at their `t`. Each item keeps its host time
 * too, for labels ("16:31:48.123456 on H1").
 *
 * The SSH estimate of an offset is only good to a fraction of the SSH round trip (a few hundred
 * microseconds), more than a packet takes between two lab hosts. The packets refine it: a
 * segment cannot arrive before it leaves, so the ones seen on both hosts bound the difference
 * between the two clocks (from each direction: one bound). When the SSH estimates break those
 * bounds, the two hosts are moved (half each, so their mean stays the SSH one) to the middle of
 * the interval the packets allow (to the bound, with packets in one direction only): then every
 * packet is sent before it arrives. `lanes[i].offsetMs` is the SSH estimate;
 * `lanes[i].correctionUs` what the packets added; the offset in effect (to show) is
 * `offsetMs - correctionUs / 1000`.
 *
 * What there is:
 * - lanes: one per host (H1, H2, in the session's order), with the clock offset used;
 * - connections: per host, one per socket (local, remote) lifetime, made of bands, one per state
 *   from one `transition` event to the next (a CLOSED ends the connection and has no band; a
 *   band still open at the end of the log has `open: true` and ends at the axis end). `peer` is
 *   the same connection seen from the other host (local and remote swapped), when there is one;
 * - transitions: every `transition` event, with axis and host time, and the state it left;
 * - packets: every segment, matched across hosts (leaving one host, arriving at the other: same
 *   addresses, ports, seq, ack, flags and length; retransmissions pair in order), numbered by the
 *   time they were sent like the article's figures: `(1)` where it leaves, `(1')` where it
 *   arrives. A packet the firewall dropped has `dropped` (where and when it died: the view draws
 *   a cross there); one seen only arriving has no `from`, one seen only leaving no `to`;
 * - markers: commands typed by steps, Ctrl-C, firewall changes, connection changes.
 *
 * `visible(t0, t1)` returns what intersects [t0, t1] (binary search, and an interval index for
 * bands and packets, which have a length), each list in time order.
 */
import type { ConnectionStatus, LabEvent } from './events';
import type { TcpFlag } from './pcap';
import type { Seen, TcpState } from './tcp-states';

/** Epoch microseconds on the controller's clock. */
export type AxisUs = number;

export interface TimelineLane {
  host: string;
  /** The host's clock offset (host minus controller, ms) used for most of its events: the last estimate. */
  offsetMs: number;
  /** Every estimate in the log, in order (the offset in effect changes at each). */
  offsets: Array<{ atUs: AxisUs; offsetMs: number; rttMs: number }>;
  /** Added to this host's axis times by the packet refinement (0 when the SSH estimates fit). */
  correctionUs: number;
}

export interface TimelineBand {
  connection: number;
  host: string;
  state: TcpState;
  startUs: AxisUs;
  endUs: AxisUs;
  /** The host time the state began. */
  hostTimeUs: number;
  /** Still in this state when the log ends (endUs is then the axis end). */
  open: boolean;
}

export interface TimelineConnection {
  id: number;
  host: string;
  local: string;
  remote: string;
  /** The same connection on the other host (local and remote swapped), overlapping in time. */
  peer?: number;
  startUs: AxisUs;
  endUs: AxisUs;
  bands: TimelineBand[];
}

export interface TimelineTransition {
  connection: number;
  host: string;
  /** The state entered. */
  state: TcpState;
  /** The state left (undefined for the connection's first). */
  from?: TcpState;
  atUs: AxisUs;
  hostTimeUs: number;
  seen: Seen;
  /** The event's position in the log. */
  eventSeq: number;
}

export interface PacketEnd {
  host: string;
  atUs: AxisUs;
  hostTimeUs: number;
  eventSeq: number;
}

export interface TimelinePacket {
  /** 1, 2, ... in order of sending (or of receipt, for a packet seen only arriving). */
  number: number;
  /** `(n)`: where the packet leaves. */
  label: string;
  /** `(n')`: where it arrives. */
  receiptLabel: string;
  /** `address:port` of the sender and the receiver. */
  src: string;
  dst: string;
  flags: TcpFlag[];
  seq: number;
  ack: number;
  length: number;
  /** Where and when it left (tcpdump on the sender; for a packet dropped on the way out, NFLOG). */
  from?: PacketEnd;
  /** Where and when it arrived (tcpdump on the receiver). */
  to?: PacketEnd;
  /** Where the firewall dropped it: the arrow ends there in a cross. */
  dropped?: PacketEnd;
  startUs: AxisUs;
  endUs: AxisUs;
}

export type TimelineMarker =
  | { kind: 'command'; host: string; atUs: AxisUs; eventSeq: number; text: string; pane: string; step?: number }
  | { kind: 'ctrl-c'; host: string; atUs: AxisUs; eventSeq: number; pane: string; by: 'step' | 'user' }
  | { kind: 'firewall'; host: string; atUs: AxisUs; eventSeq: number; action: 'add' | 'remove'; text: string }
  | { kind: 'connection'; host: string; atUs: AxisUs; eventSeq: number; status: ConnectionStatus; text: string };

export interface TimelineView {
  bands: TimelineBand[];
  transitions: TimelineTransition[];
  packets: TimelinePacket[];
  markers: TimelineMarker[];
}

export interface TimelineModel extends TimelineView {
  lanes: TimelineLane[];
  connections: TimelineConnection[];
  /** The axis range: from the first to the last placed event (0, 0 for an empty log). */
  startUs: AxisUs;
  endUs: AxisUs;
  /** Everything that intersects [t0, t1] (inclusive). */
  visible(t0: AxisUs, t1: AxisUs): TimelineView;
}

type PacketEvent = Extract<LabEvent, { type: 'packet' }>;
type TransitionEvent = Extract<LabEvent, { type: 'transition' }>;

/** Builds the model from a session's events (in log order, as the log holds them). */
export function buildTimeline(events: readonly LabEvent[]): TimelineModel {
  const lanes = new Map<string, TimelineLane>();
  const lane = (host: string): TimelineLane => {
    let l = lanes.get(host);
    if (!l) lanes.set(host, (l = { host, offsetMs: 0, offsets: [], correctionUs: 0 }));
    return l;
  };
  // The first estimate of each host applies to its events logged before it, too.
  const firstOffset = new Map<string, number>();
  for (const e of events) if (e.type === 'clock' && !firstOffset.has(e.host)) firstOffset.set(e.host, e.offsetMs);
  const offsetNow = new Map(firstOffset);
  const axis = (host: string, hostTimeUs: number): AxisUs => hostTimeUs - (offsetNow.get(host) ?? 0) * 1000;

  const transitionsByConnection = new Map<string, Array<{ e: TransitionEvent; atUs: AxisUs }>>();
  const packetEvents: Array<{ e: PacketEvent; atUs: AxisUs }> = [];
  const markers: TimelineMarker[] = [];
  let startUs = Infinity;
  let endUs = -Infinity;
  const extend = (us: AxisUs): void => {
    if (us < startUs) startUs = us;
    if (us > endUs) endUs = us;
  };

  for (const e of events) {
    switch (e.type) {
      case 'session-start':
        for (const h of e.hosts) lane(h.label);
        break;
      case 'clock':
        offsetNow.set(e.host, e.offsetMs);
        lane(e.host).offsets.push({ atUs: e.t * 1000, offsetMs: e.offsetMs, rttMs: e.rttMs });
        lane(e.host).offsetMs = e.offsetMs;
        break;
      case 'transition': {
        const atUs = axis(e.host, e.hostTimeUs);
        lane(e.host);
        const key = `${e.host}|${e.local}|${e.remote}`;
        let list = transitionsByConnection.get(key);
        if (!list) transitionsByConnection.set(key, (list = []));
        list.push({ e, atUs });
        extend(atUs);
        break;
      }
      case 'packet': {
        const atUs = axis(e.host, e.hostTimeUs);
        lane(e.host);
        packetEvents.push({ e, atUs });
        extend(atUs);
        break;
      }
      case 'command':
        markers.push({ kind: 'command', host: e.host, atUs: e.t * 1000, eventSeq: e.seq, text: e.text, pane: e.pane, ...(e.step !== undefined ? { step: e.step } : {}) });
        extend(e.t * 1000);
        break;
      case 'pane-input':
        if (e.data.includes('\x03')) {
          markers.push({ kind: 'ctrl-c', host: e.host, atUs: e.t * 1000, eventSeq: e.seq, pane: e.pane, by: e.by });
          extend(e.t * 1000);
        }
        break;
      case 'firewall':
        markers.push({ kind: 'firewall', host: e.host, atUs: e.t * 1000, eventSeq: e.seq, action: e.action, text: e.command });
        extend(e.t * 1000);
        break;
      case 'connection':
        markers.push({ kind: 'connection', host: e.host, atUs: e.t * 1000, eventSeq: e.seq, status: e.status, text: e.detail ?? e.status });
        extend(e.t * 1000);
        break;
      default:
        break;
    }
  }
  if (startUs > endUs) startUs = endUs = 0;

  let packets = matchPackets(packetEvents);
  const corrections = packetClockCorrections(packets);
  if (corrections.size > 0) {
    for (const [host, us] of corrections) lane(host).correctionUs = us;
    const shift = (host: string): number => corrections.get(host) ?? 0;
    for (const x of packetEvents) x.atUs += shift(x.e.host);
    for (const list of transitionsByConnection.values()) for (const x of list) x.atUs += shift(x.e.host);
    for (const x of [...packetEvents, ...[...transitionsByConnection.values()].flat()]) extend(x.atUs);
    packets = matchPackets(packetEvents);
  }
  const { connections, transitions, bands } = buildConnections(transitionsByConnection, endUs);
  markers.sort((a, b) => a.atUs - b.atUs || a.eventSeq - b.eventSeq);

  const bandIndex = new IntervalIndex(bands, (b) => b.startUs, (b) => b.endUs);
  const packetIndex = new IntervalIndex(packets, (p) => p.startUs, (p) => p.endUs);
  const transitionTimes = Float64Array.from(transitions, (t) => t.atUs);
  const markerTimes = Float64Array.from(markers, (m) => m.atUs);

  return {
    lanes: [...lanes.values()],
    connections,
    bands,
    transitions,
    packets,
    markers,
    startUs,
    endUs,
    visible(t0: AxisUs, t1: AxisUs): TimelineView {
      return {
        bands: bandIndex.query(t0, t1),
        transitions: transitions.slice(lowerBound(transitionTimes, t0), upperBound(transitionTimes, t1)),
        packets: packetIndex.query(t0, t1),
        markers: markers.slice(lowerBound(markerTimes, t0), upperBound(markerTimes, t1)),
      };
    },
  };
}

/**
 * Per host, what to add to its axis times so that no packet seen on two hosts arrives before it
 * leaves (see the module comment). Two hosts only; empty when nothing needs to move.
 */
function packetClockCorrections(packets: readonly TimelinePacket[]): Map<string, number> {
  const hosts = [...new Set(packets.flatMap((p) => (p.from && p.to ? [p.from.host, p.to.host] : [])))].sort();
  if (hosts.length !== 2) return new Map();
  const [a, b] = hosts as [string, string];
  // r moves b against a (b += r/2, a -= r/2): a->b transits become delta + r, b->a ones delta - r.
  let minAB = Infinity;
  let minBA = Infinity;
  for (const p of packets) {
    if (!p.from || !p.to) continue;
    const delta = p.to.atUs - p.from.atUs;
    if (p.from.host === a) minAB = Math.min(minAB, delta);
    else minBA = Math.min(minBA, delta);
  }
  const lo = -minAB; // r >= lo
  const hi = minBA; // r <= hi
  let r: number;
  if (lo <= 0 && 0 <= hi) return new Map();
  if (Number.isFinite(lo) && Number.isFinite(hi)) r = lo <= hi ? (lo + hi) / 2 : (lo + hi) / 2;
  else r = Number.isFinite(lo) ? lo : hi;
  return new Map([
    [a, -r / 2],
    [b, r / 2],
  ]);
}

function buildConnections(
  byKey: Map<string, Array<{ e: TransitionEvent; atUs: AxisUs }>>,
  axisEndUs: AxisUs,
): { connections: TimelineConnection[]; transitions: TimelineTransition[]; bands: TimelineBand[] } {
  const connections: TimelineConnection[] = [];
  const transitions: TimelineTransition[] = [];
  for (const list of byKey.values()) {
    // Transitions are logged once settled, not always in time order.
    list.sort((a, b) => a.e.hostTimeUs - b.e.hostTimeUs || a.e.seq - b.e.seq);
    let current: TimelineConnection | undefined;
    let previous: TcpState | undefined;
    for (const { e, atUs } of list) {
      if (!current || previous === 'CLOSED') {
        // A socket pair used again after CLOSED is a new connection.
        current = { id: connections.length, host: e.host, local: e.local, remote: e.remote, startUs: atUs, endUs: atUs, bands: [] };
        connections.push(current);
        previous = undefined;
      }
      const last = current.bands.at(-1);
      if (last) {
        last.endUs = atUs;
        last.open = false;
      }
      const transition: TimelineTransition = { connection: current.id, host: e.host, state: e.state, atUs, hostTimeUs: e.hostTimeUs, seen: e.seen, eventSeq: e.seq };
      if (previous) transition.from = previous;
      transitions.push(transition);
      if (e.state !== 'CLOSED') current.bands.push({ connection: current.id, host: e.host, state: e.state, startUs: atUs, endUs: axisEndUs, hostTimeUs: e.hostTimeUs, open: true });
      current.endUs = atUs;
      previous = e.state;
    }
  }
  for (const c of connections) {
    const last = c.bands.at(-1);
    if (last?.open) c.endUs = last.endUs;
  }
  // Peers: the same socket pair seen from the other side, overlapping in time.
  const byPair = new Map<string, TimelineConnection[]>();
  for (const c of connections) {
    const key = `${c.local}|${c.remote}`;
    let list = byPair.get(key);
    if (!list) byPair.set(key, (list = []));
    list.push(c);
  }
  for (const c of connections) {
    if (c.peer !== undefined) continue;
    const peer = byPair.get(`${c.remote}|${c.local}`)?.find((p) => p.host !== c.host && p.peer === undefined && p.startUs <= c.endUs && c.startUs <= p.endUs);
    if (peer) {
      c.peer = peer.id;
      peer.peer = c.id;
    }
  }
  transitions.sort((a, b) => a.atUs - b.atUs || a.eventSeq - b.eventSeq);
  const bands = connections.flatMap((c) => c.bands).sort((a, b) => a.startUs - b.startUs);
  return { connections, transitions, bands };
}

function matchPackets(events: Array<{ e: PacketEvent; atUs: AxisUs }>): TimelinePacket[] {
  events.sort((a, b) => a.atUs - b.atUs || a.e.seq - b.e.seq);
  const packets: TimelinePacket[] = [];
  // Sends waiting for their receipt, per segment identity, oldest first (retransmissions pair in order).
  const waiting = new Map<string, { list: TimelinePacket[]; next: number }>();
  const lastArrived = new Map<string, TimelinePacket>();
  const end = (x: { e: PacketEvent; atUs: AxisUs }): PacketEnd => ({ host: x.e.host, atUs: x.atUs, hostTimeUs: x.e.hostTimeUs, eventSeq: x.e.seq });
  const identity = (src: string, dst: string, e: PacketEvent): string => `${src}>${dst}|${e.tcpSeq}|${e.tcpAck}|${e.flags.join(',')}|${e.length}`;
  const make = (src: string, dst: string, e: PacketEvent, atUs: AxisUs): TimelinePacket => {
    const p: TimelinePacket = { number: 0, label: '', receiptLabel: '', src, dst, flags: e.flags, seq: e.tcpSeq, ack: e.tcpAck, length: e.length, startUs: atUs, endUs: atUs };
    packets.push(p);
    return p;
  };
  // Sends first, so that a receipt stamped a little before its send (clock error) still pairs.
  for (const x of events) {
    const { e } = x;
    if (e.direction !== 'out') continue;
    const p = make(e.local, e.remote, e, x.atUs);
    p.from = end(x);
    if (e.dropped) {
      p.dropped = end(x);
      continue;
    }
    const key = identity(e.local, e.remote, e);
    let queue = waiting.get(key);
    if (!queue) waiting.set(key, (queue = { list: [], next: 0 }));
    queue.list.push(p);
  }
  for (const x of events) {
    const { e } = x;
    if (e.direction !== 'in') continue;
    const key = identity(e.remote, e.local, e);
    if (e.dropped) {
      // Dropped on the way in: tcpdump saw it arrive (the tap is before netfilter), NFLOG saw it die.
      const arrived = lastArrived.get(`${e.host}|${key}`);
      const p = arrived && !arrived.dropped ? arrived : make(e.remote, e.local, e, x.atUs);
      p.dropped = end(x);
      continue;
    }
    const queue = waiting.get(key);
    let p: TimelinePacket | undefined;
    while (queue && queue.next < queue.list.length) {
      const candidate = queue.list[queue.next++]!;
      if (candidate.from?.host !== e.host) {
        p = candidate;
        break;
      }
    }
    p ??= make(e.remote, e.local, e, x.atUs);
    p.to = end(x);
    lastArrived.set(`${e.host}|${key}`, p);
  }
  for (const p of packets) {
    let start = Infinity;
    let stop = -Infinity;
    for (const e of [p.from, p.to, p.dropped]) {
      if (!e) continue;
      if (e.atUs < start) start = e.atUs;
      if (e.atUs > stop) stop = e.atUs;
    }
    p.startUs = start;
    p.endUs = stop;
  }
  packets.sort((a, b) => (a.from?.atUs ?? a.startUs) - (b.from?.atUs ?? b.startUs) || a.startUs - b.startUs);
  packets.forEach((p, i) => {
    p.number = i + 1;
    p.label = `(${i + 1})`;
    p.receiptLabel = `(${i + 1}')`;
  });
  return packets.sort((a, b) => a.startUs - b.startUs || a.number - b.number);
}

/** First index whose value is >= x (values sorted ascending). */
export function lowerBound(values: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose value is > x (values sorted ascending). */
export function upperBound(values: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Intervals sorted by start with a max-end segment tree over them: the intervals that intersect
 * [t0, t1] are among those starting at or before t1 (a binary search), and subtrees whose
 * latest end is before t0 are skipped, so a query costs O(log n + k log n), however long some
 * intervals are (a band open for the whole session does not make every query scan everything).
 */
export class IntervalIndex<T> {
  private readonly starts: Float64Array;
  private readonly maxEnd: Float64Array;
  private readonly size: number;

  constructor(
    private readonly items: readonly T[],
    start: (item: T) => number,
    private readonly end: (item: T) => number,
  ) {
    this.starts = Float64Array.from(items, start);
    for (let i = 1; i < this.starts.length; i++) {
      if (this.starts[i]! < this.starts[i - 1]!) throw new Error('IntervalIndex: items must be sorted by start');
    }
    let size = 1;
    while (size < items.length) size *= 2;
    this.size = size;
    this.maxEnd = new Float64Array(2 * size).fill(-Infinity);
    items.forEach((item, i) => (this.maxEnd[size + i] = end(item)));
    for (let node = size - 1; node >= 1; node--) this.maxEnd[node] = Math.max(this.maxEnd[2 * node]!, this.maxEnd[2 * node + 1]!);
  }

  query(t0: number, t1: number): T[] {
    const limit = upperBound(this.starts, t1);
    const out: T[] = [];
    if (limit === 0) return out;
    const visit = (node: number, lo: number, hi: number): void => {
      if (lo >= limit || this.maxEnd[node]! < t0) return;
      if (node >= this.size) {
        out.push(this.items[lo]!);
        return;
      }
      const mid = (lo + hi) >>> 1;
      visit(2 * node, lo, mid);
      visit(2 * node + 1, mid, hi);
    };
    visit(1, 0, this.size);
    return out;
  }
}
