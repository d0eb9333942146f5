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

/*
 * How the build stays fast at 100,000 events: the events are kept in parallel arrays (no wrapper
 * object per event), the packets are matched on indices and integer segment identities (computed
 * once, even when the clock refinement makes the matching run twice), and only the final matching
 * makes packet objects; the sorts are stable sorts of index arrays over numeric keys, skipped when
 * the input is already in order (it mostly is: the log is in time order).
 */

/** Builds the model from a session's events (in log order, as the log holds them). */
export function buildTimeline(events: readonly LabEvent[]): TimelineModel {
  const lanes = new Map<string, TimelineLane>();
  const lane = (host: string): TimelineLane => {
    let l = lanes.get(host);
    if (!l) lanes.set(host, (l = { host, offsetMs: 0, offsets: [], correctionUs: 0 }));
    return l;
  };
  /** Per host: the clock offset in effect (us), and its lane once it has one (lanes are made in order of need). */
  const hosts = new Map<string, { offsetUs: number; lane: TimelineLane | undefined }>();
  const host = (label: string): { offsetUs: number; lane: TimelineLane | undefined } => {
    let h = hosts.get(label);
    if (!h) hosts.set(label, (h = { offsetUs: 0, lane: undefined }));
    return h;
  };
  // The first estimate of each host applies to its events logged before it, too.
  let packetCount = 0;
  let transitionCount = 0;
  for (const e of events) {
    if (e.type === 'packet') packetCount++;
    else if (e.type === 'transition') transitionCount++;
    else if (e.type === 'clock' && !hosts.has(e.host)) hosts.set(e.host, { offsetUs: e.offsetMs * 1000, lane: undefined });
  }

  const packetEvents = new Array<PacketEvent>(packetCount);
  const packetAt = new Float64Array(packetCount);
  const transitionEvents = new Array<TransitionEvent>(transitionCount);
  const transitionAt = new Float64Array(transitionCount);
  /** Per transition, its socket (host, local, remote) as a number, in order of first appearance. */
  const transitionSocket = new Int32Array(transitionCount);
  packetCount = transitionCount = 0;
  const sockets = new Map<string, Map<string, Map<string, number>>>();
  let socketCount = 0;
  const markers: TimelineMarker[] = [];
  let startUs = Infinity;
  let endUs = -Infinity;

  for (const e of events) {
    switch (e.type) {
      case 'session-start':
        for (const h of e.hosts) lane(h.label);
        break;
      case 'clock': {
        const h = host(e.host);
        h.offsetUs = e.offsetMs * 1000;
        const l = (h.lane ??= lane(e.host));
        l.offsets.push({ atUs: e.t * 1000, offsetMs: e.offsetMs, rttMs: e.rttMs });
        l.offsetMs = e.offsetMs;
        break;
      }
      case 'transition': {
        const h = host(e.host);
        const atUs = e.hostTimeUs - h.offsetUs;
        h.lane ??= lane(e.host);
        let byLocal = sockets.get(e.host);
        if (!byLocal) sockets.set(e.host, (byLocal = new Map()));
        let byRemote = byLocal.get(e.local);
        if (!byRemote) byLocal.set(e.local, (byRemote = new Map()));
        let socket = byRemote.get(e.remote);
        if (socket === undefined) byRemote.set(e.remote, (socket = socketCount++));
        transitionEvents[transitionCount] = e;
        transitionAt[transitionCount] = atUs;
        transitionSocket[transitionCount++] = socket;
        if (atUs < startUs) startUs = atUs;
        if (atUs > endUs) endUs = atUs;
        break;
      }
      case 'packet': {
        const h = host(e.host);
        const atUs = e.hostTimeUs - h.offsetUs;
        h.lane ??= lane(e.host);
        packetEvents[packetCount] = e;
        packetAt[packetCount++] = atUs;
        if (atUs < startUs) startUs = atUs;
        if (atUs > endUs) endUs = atUs;
        break;
      }
      default: {
        const marker = markerOf(e);
        if (marker) markers.push(marker);
        break;
      }
    }
  }
  for (const m of markers) {
    if (m.atUs < startUs) startUs = m.atUs;
    if (m.atUs > endUs) endUs = m.atUs;
  }
  if (startUs > endUs) startUs = endUs = 0;

  const segments = new PacketSegments(packetEvents);
  const firstOrder = stableOrder(packetEvents.length, packetAt, segments.logSeq);
  let matching = matchPackets(segments, firstOrder);
  const corrections = packetClockCorrections(packetEvents, packetAt, matching);
  if (corrections.size > 0) {
    for (const [host, us] of corrections) lane(host).correctionUs = us;
    const shift = (host: string): number => corrections.get(host) ?? 0;
    for (let i = 0; i < packetAt.length; i++) packetAt[i]! += shift(packetEvents[i]!.host);
    for (let i = 0; i < transitionAt.length; i++) transitionAt[i]! += shift(transitionEvents[i]!.host);
    for (const list of [packetAt, transitionAt]) {
      for (const us of list) {
        if (us < startUs) startUs = us;
        if (us > endUs) endUs = us;
      }
    }
    // Ties in time and log position keep the order of the first matching, as a stable re-sort would.
    const rank = new Float64Array(firstOrder.length);
    firstOrder.forEach((event, i) => (rank[event] = i));
    matching = matchPackets(segments, stableOrder(packetEvents.length, packetAt, segments.logSeq, rank));
  }
  const packets = packetObjects(packetEvents, packetAt, matching);
  const { connections, transitions, bands } = buildConnections(transitionEvents, transitionAt, transitionSocket, socketCount, endUs);
  markers.sort((a, b) => a.atUs - b.atUs || a.eventSeq - b.eventSeq);

  const bandIndex = new IntervalIndex(bands, (b) => b.startUs, (b) => b.endUs);
  const packetIndex = new IntervalIndex(packets, (p) => p.startUs, (p) => p.endUs);
  const transitionTimes = new Float64Array(transitions.length);
  transitions.forEach((t, i) => (transitionTimes[i] = t.atUs));
  const markerTimes = new Float64Array(markers.length);
  markers.forEach((m, i) => (markerTimes[i] = m.atUs));

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
 * The indices 0..n-1 in the order of (key1, key2, tie), ascending, equal ones in index order: a
 * stable sort by key1 then key2 when tie is omitted. A merge sort on the indices with the
 * comparisons inline (no comparator call per step); returns at once when they already are in
 * that order (a log mostly is).
 */
function stableOrder(n: number, key1: ArrayLike<number>, key2: ArrayLike<number>, tie?: ArrayLike<number>): Int32Array {
  const third = tie ?? new Float64Array(0);
  const hasTie = tie !== undefined;
  /** Whether x goes strictly before y. */
  const before = (x: number, y: number): boolean => {
    const a1 = key1[x]!;
    const b1 = key1[y]!;
    if (a1 !== b1) return a1 < b1;
    const a2 = key2[x]!;
    const b2 = key2[y]!;
    if (a2 !== b2) return a2 < b2;
    return hasTie && third[x]! < third[y]!;
  };
  let order = new Int32Array(n);
  let sorted = true;
  for (let i = 0; i < n; i++) {
    order[i] = i;
    if (sorted && i > 0 && before(i, i - 1)) sorted = false;
  }
  if (sorted) return order;
  // Runs of 16 by insertion sort, then merged pairwise (stable: on a tie the left one first).
  const RUN = 16;
  for (let lo = 0; lo < n; lo += RUN) {
    const hi = Math.min(lo + RUN, n);
    for (let k = lo + 1; k < hi; k++) {
      const x = order[k]!;
      let j = k - 1;
      while (j >= lo && before(x, order[j]!)) {
        order[j + 1] = order[j]!;
        j--;
      }
      order[j + 1] = x;
    }
  }
  let other = new Int32Array(n);
  for (let width = RUN; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let i = lo;
      let j = mid;
      let k = lo;
      if (mid >= hi || !before(order[mid]!, order[mid - 1]!)) {
        // Already in order across the two halves (or nothing to merge).
        other.set(order.subarray(lo, hi), lo);
        continue;
      }
      while (i < mid && j < hi) other[k++] = before(order[j]!, order[i]!) ? order[j++]! : order[i++]!;
      while (i < mid) other[k++] = order[i++]!;
      while (j < hi) other[k++] = order[j++]!;
    }
    [order, other] = [other, order];
  }
  return order;
}

/** Flag names in the order of their numbers in a segment's identity (others get numbers as they come). */
const FLAG_NAMES: readonly string[] = ['SYN', 'ACK', 'FIN', 'RST', 'PSH', 'URG', 'ECE', 'CWR'];

/**
 * Per packet event, what the matching needs as numbers: which segment it is (sender, receiver,
 * seq, ack, flags in their order, length: the same segment leaving one host and arriving at
 * another has the same), on which host it was seen, its log seq. Identities are found through a
 * hash of the numbers and compared field by field: no string is made per packet.
 */
class PacketSegments {
  readonly segment: Int32Array;
  readonly host: Int32Array;
  readonly hostCount: number;
  readonly logSeq: Float64Array;
  readonly out: Uint8Array;
  readonly dropped: Uint8Array;
  readonly segmentCount: number;

  constructor(readonly events: readonly PacketEvent[]) {
    const n = events.length;
    this.segment = new Int32Array(n);
    this.host = new Int32Array(n);
    this.logSeq = new Float64Array(n);
    this.out = new Uint8Array(n);
    this.dropped = new Uint8Array(n);
    const endpoints = new Map<string, number>();
    const endpoint = (text: string): number => {
      let id = endpoints.get(text);
      if (id === undefined) endpoints.set(text, (id = endpoints.size));
      return id;
    };
    const flagNumbers = new Map<string, number>(FLAG_NAMES.map((name, i) => [name, i + 1]));
    const flagLists = new Map<string, number>();
    /** The flags, in their order, as one number (a long or odd list: a negative number per distinct list). */
    const flagsCode = (flags: readonly string[]): number => {
      if (flags.length <= 8) {
        let code = 0;
        for (const flag of flags) {
          let k = flagNumbers.get(flag);
          if (k === undefined) flagNumbers.set(flag, (k = flagNumbers.size + 1));
          code = k < 64 ? code * 64 + k : -1;
          if (code < 0) break;
        }
        if (code >= 0) return code;
      }
      const text = flags.join(',');
      let id = flagLists.get(text);
      if (id === undefined) flagLists.set(text, (id = flagLists.size));
      return -1 - id;
    };
    // The segments seen so far (their fields), and an open-addressing hash table of them (-1: empty).
    const src = new Int32Array(n);
    const dst = new Int32Array(n);
    const seq = new Float64Array(n);
    const ack = new Float64Array(n);
    const flagCodes = new Float64Array(n);
    const length = new Float64Array(n);
    let count = 0;
    let mask = 15;
    while (mask < 2 * n) mask = mask * 2 + 1;
    const table = new Int32Array(mask + 1).fill(-1);
    const hosts = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const e = events[i]!;
      const out = e.direction === 'out';
      const from = endpoint(out ? e.local : e.remote);
      const to = endpoint(out ? e.remote : e.local);
      const flags = flagsCode(e.flags);
      let hash = Math.imul(from, 0x9e3779b1) ^ Math.imul(to + 1, 0x85ebca6b);
      hash = Math.imul(hash ^ (e.tcpSeq | 0), 0xc2b2ae35) ^ Math.imul(e.tcpAck | 0, 0x27d4eb2f);
      hash = Math.imul(hash ^ (flags | 0) ^ Math.imul(e.length | 0, 0x165667b1), 0x9e3779b1);
      let slot = (hash ^ (hash >>> 15)) & mask;
      let id = table[slot]!;
      while (id >= 0 && !(src[id] === from && dst[id] === to && seq[id] === e.tcpSeq && ack[id] === e.tcpAck && flagCodes[id] === flags && length[id] === e.length)) {
        slot = (slot + 1) & mask;
        id = table[slot]!;
      }
      if (id < 0) {
        id = count++;
        table[slot] = id;
        src[id] = from;
        dst[id] = to;
        seq[id] = e.tcpSeq;
        ack[id] = e.tcpAck;
        flagCodes[id] = flags;
        length[id] = e.length;
      }
      let host = hosts.get(e.host);
      if (host === undefined) hosts.set(e.host, (host = hosts.size));
      this.segment[i] = id;
      this.host[i] = host;
      this.logSeq[i] = e.seq;
      this.out[i] = out ? 1 : 0;
      this.dropped[i] = e.dropped ? 1 : 0;
    }
    this.segmentCount = count;
    this.hostCount = hosts.size;
  }
}

/**
 * The packets as event indices: each packet (in order of creation) has the event that made it
 * (its addresses and numbers come from it), and the events where it left, arrived, was dropped
 * (-1: none).
 */
interface Matching {
  count: number;
  maker: Int32Array;
  from: Int32Array;
  to: Int32Array;
  dropped: Int32Array;
}

/**
 * Pairs sends and receipts (same segment, leaving one host and arriving at another;
 * retransmissions pair in order), taking the events in `order` (by axis time, then log position).
 */
function matchPackets(s: PacketSegments, order: Int32Array): Matching {
  const n = order.length;
  const m: Matching = { count: 0, maker: new Int32Array(n), from: new Int32Array(n).fill(-1), to: new Int32Array(n).fill(-1), dropped: new Int32Array(n).fill(-1) };
  const make = (event: number): number => {
    m.maker[m.count] = event;
    return m.count++;
  };
  // Sends waiting for their receipt, per segment, oldest first: a linked list of packets.
  const head = new Int32Array(s.segmentCount).fill(-1);
  const tail = new Int32Array(s.segmentCount).fill(-1);
  const next = new Int32Array(n).fill(-1);
  // Sends first, so that a receipt stamped a little before its send (clock error) still pairs.
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    if (!s.out[i]) continue;
    const p = make(i);
    m.from[p] = i;
    if (s.dropped[i]) {
      m.dropped[p] = i;
      continue;
    }
    const id = s.segment[i]!;
    if (tail[id]! < 0) head[id] = p;
    else next[tail[id]!] = p;
    tail[id] = p;
  }
  // The packet last seen arriving, per segment and receiving host (-1: none yet).
  const lastArrived = new Int32Array(s.segmentCount * s.hostCount).fill(-1);
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    if (s.out[i]) continue;
    const id = s.segment[i]!;
    const host = s.host[i]!;
    const arrivedKey = id * s.hostCount + host;
    if (s.dropped[i]) {
      // Dropped on the way in: tcpdump saw it arrive (the tap is before netfilter), NFLOG saw it die.
      const arrived = lastArrived[arrivedKey]!;
      const p = arrived >= 0 && m.dropped[arrived]! < 0 ? arrived : make(i);
      m.dropped[p] = i;
      continue;
    }
    let p = -1;
    while (head[id]! >= 0) {
      const candidate = head[id]!;
      head[id] = next[candidate]!;
      if (s.host[m.from[candidate]!] !== host) {
        p = candidate;
        break;
      }
    }
    if (p < 0) p = make(i);
    m.to[p] = i;
    lastArrived[arrivedKey] = p;
  }
  return m;
}

/**
 * Per host, what to add to its axis times so that no packet seen on two hosts arrives before it
 * leaves (see the module comment). Two hosts only; empty when nothing needs to move.
 */
function packetClockCorrections(events: readonly PacketEvent[], at: ArrayLike<number>, m: Matching): Map<string, number> {
  const seen = new Set<string>();
  for (let p = 0; p < m.count; p++) {
    if (m.from[p]! < 0 || m.to[p]! < 0) continue;
    seen.add(events[m.from[p]!]!.host);
    seen.add(events[m.to[p]!]!.host);
  }
  const hosts = [...seen].sort();
  if (hosts.length !== 2) return new Map();
  const [a, b] = hosts as [string, string];
  // r moves b against a (b += r/2, a -= r/2): a->b transits become delta + r, b->a ones delta - r.
  let minAB = Infinity;
  let minBA = Infinity;
  for (let p = 0; p < m.count; p++) {
    const from = m.from[p]!;
    const to = m.to[p]!;
    if (from < 0 || to < 0) continue;
    const delta = at[to]! - at[from]!;
    if (events[from]!.host === a) minAB = Math.min(minAB, delta);
    else minBA = Math.min(minBA, delta);
  }
  const lo = -minAB; // r >= lo
  const hi = minBA; // r <= hi
  if (lo <= 0 && 0 <= hi) return new Map();
  // Both bounds: the middle (also when they contradict each other); one: that bound.
  const r = Number.isFinite(lo) && Number.isFinite(hi) ? (lo + hi) / 2 : Number.isFinite(lo) ? lo : hi;
  return new Map([
    [a, -r / 2],
    [b, r / 2],
  ]);
}

/** The matching as TimelinePackets, numbered by the time they were sent, in axis order. */
function packetObjects(events: readonly PacketEvent[], at: ArrayLike<number>, m: Matching): TimelinePacket[] {
  const n = m.count;
  const end = (i: number): PacketEnd => {
    const e = events[i]!;
    return { host: e.host, atUs: at[i]!, hostTimeUs: e.hostTimeUs, eventSeq: e.seq };
  };
  const created: TimelinePacket[] = new Array<TimelinePacket>(n);
  const sentAt = new Float64Array(n);
  const starts = new Float64Array(n);
  for (let p = 0; p < n; p++) {
    const e = events[m.maker[p]!]!;
    const out = e.direction === 'out';
    const from = m.from[p]!;
    const to = m.to[p]!;
    const dropped = m.dropped[p]!;
    let start = Infinity;
    let stop = -Infinity;
    if (from >= 0) start = stop = at[from]!;
    if (to >= 0) {
      if (at[to]! < start) start = at[to]!;
      if (at[to]! > stop) stop = at[to]!;
    }
    if (dropped >= 0) {
      if (at[dropped]! < start) start = at[dropped]!;
      if (at[dropped]! > stop) stop = at[dropped]!;
    }
    const src = out ? e.local : e.remote;
    const dst = out ? e.remote : e.local;
    // Each common shape as one literal: a property added later would cost every packet an extra allocation.
    let packet: TimelinePacket;
    if (from >= 0 && to >= 0 && dropped < 0) {
      packet = { number: 0, label: '', receiptLabel: '', src, dst, flags: e.flags, seq: e.tcpSeq, ack: e.tcpAck, length: e.length, startUs: start, endUs: stop, from: end(from), to: end(to) };
    } else if (from >= 0 && to < 0 && dropped >= 0) {
      packet = { number: 0, label: '', receiptLabel: '', src, dst, flags: e.flags, seq: e.tcpSeq, ack: e.tcpAck, length: e.length, startUs: start, endUs: stop, from: end(from), dropped: end(dropped) };
    } else {
      packet = { number: 0, label: '', receiptLabel: '', src, dst, flags: e.flags, seq: e.tcpSeq, ack: e.tcpAck, length: e.length, startUs: start, endUs: stop };
      if (from >= 0) packet.from = end(from);
      if (to >= 0) packet.to = end(to);
      if (dropped >= 0) packet.dropped = end(dropped);
    }
    created[p] = packet;
    sentAt[p] = from >= 0 ? at[from]! : start;
    starts[p] = start;
  }
  // Numbers by the time of sending (of receipt, for a packet seen only arriving).
  const byNumber = stableOrder(n, sentAt, starts);
  const numbers = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const p = created[byNumber[k]!]!;
    p.number = k + 1;
    p.label = `(${k + 1})`;
    p.receiptLabel = `(${k + 1}')`;
    numbers[byNumber[k]!] = k + 1;
  }
  const byStart = stableOrder(n, starts, numbers);
  return pick(created, byStart);
}

/** items[order[0]], items[order[1]], ... */
function pick<T>(items: readonly T[], order: Int32Array): T[] {
  const out: T[] = [];
  for (let k = 0; k < order.length; k++) out.push(items[order[k]!]!);
  return out;
}

function buildConnections(
  events: readonly TransitionEvent[],
  at: ArrayLike<number>,
  socketOf: ArrayLike<number>,
  socketCount: number,
  axisEndUs: AxisUs,
): { connections: TimelineConnection[]; transitions: TimelineTransition[]; bands: TimelineBand[] } {
  // The transitions of each socket, in log order, one after the other (socket by socket).
  const n = events.length;
  const first = new Int32Array(socketCount + 1);
  for (let i = 0; i < n; i++) first[socketOf[i]! + 1]!++;
  for (let s = 0; s < socketCount; s++) first[s + 1]! += first[s]!;
  const fill = first.slice(0, socketCount);
  const bySocket = new Int32Array(n);
  for (let i = 0; i < n; i++) bySocket[fill[socketOf[i]!]!++] = i;
  // Transitions are logged once settled, not always in time order: each socket's by host time, then log position.
  const hostTime = (i: number): number => events[i]!.hostTimeUs;
  const logSeq = (i: number): number => events[i]!.seq;
  const before = (a: number, b: number): boolean => (hostTime(a) - hostTime(b) || logSeq(a) - logSeq(b) || a - b) < 0;
  for (let s = 0; s < socketCount; s++) {
    const lo = first[s]!;
    const hi = first[s + 1]!;
    for (let k = lo + 1; k < hi; k++) {
      const x = bySocket[k]!;
      let j = k - 1;
      if (!before(x, bySocket[j]!)) continue;
      // Insertion sort (stable): sockets have a handful of transitions, already almost in order.
      while (j >= lo && before(x, bySocket[j]!)) {
        bySocket[j + 1] = bySocket[j]!;
        j--;
      }
      bySocket[j + 1] = x;
    }
  }

  const connections: TimelineConnection[] = [];
  const transitions: TimelineTransition[] = [];
  /** Every band, connection by connection (each connection's bands are a slice of it). */
  const bands: TimelineBand[] = [];
  for (let s = 0; s < socketCount; s++) {
    const end = first[s + 1]!;
    let k = first[s]!;
    while (k < end) {
      // One connection: from here to a CLOSED (a socket pair used again after CLOSED is a new connection).
      const id = connections.length;
      const opening = events[bySocket[k]!]!;
      const startUs = at[bySocket[k]!]!;
      const firstBand = bands.length;
      let endUs = startUs;
      let previous: TcpState | undefined;
      let last: TimelineBand | undefined;
      while (k < end) {
        const i = bySocket[k++]!;
        const e = events[i]!;
        const atUs = at[i]!;
        if (last) {
          last.endUs = atUs;
          last.open = false;
        }
        transitions.push(
          previous
            ? { connection: id, host: e.host, state: e.state, atUs, hostTimeUs: e.hostTimeUs, seen: e.seen, eventSeq: e.seq, from: previous }
            : { connection: id, host: e.host, state: e.state, atUs, hostTimeUs: e.hostTimeUs, seen: e.seen, eventSeq: e.seq },
        );
        endUs = atUs;
        previous = e.state;
        if (e.state === 'CLOSED') break;
        last = { connection: id, host: e.host, state: e.state, startUs: atUs, endUs: axisEndUs, hostTimeUs: e.hostTimeUs, open: true };
        bands.push(last);
      }
      // Not closed: its last band is open until the axis end, and so is the connection.
      if (previous !== 'CLOSED' && last) endUs = last.endUs;
      connections.push({ id, host: opening.host, local: opening.local, remote: opening.remote, startUs, endUs, bands: bands.slice(firstBand) });
    }
  }
  // Peers: the same socket pair seen from the other side, overlapping in time. Addresses as
  // numbers; the connections of each (local, remote) pair in a linked list, in connection order.
  const endpointIds = new Map<string, number>();
  const endpointId = (text: string): number => {
    let id = endpointIds.get(text);
    if (id === undefined) endpointIds.set(text, (id = endpointIds.size));
    return id;
  };
  const localId = new Float64Array(connections.length);
  const remoteId = new Float64Array(connections.length);
  connections.forEach((c, k) => {
    localId[k] = endpointId(c.local);
    remoteId[k] = endpointId(c.remote);
  });
  const width = endpointIds.size;
  const firstOfPair = new Map<number, number>();
  const nextOfPair = new Int32Array(connections.length).fill(-1);
  for (let k = connections.length - 1; k >= 0; k--) {
    const key = localId[k]! * width + remoteId[k]!;
    const head = firstOfPair.get(key);
    if (head !== undefined) nextOfPair[k] = head;
    firstOfPair.set(key, k);
  }
  for (const c of connections) {
    if (c.peer !== undefined) continue;
    for (let k = firstOfPair.get(remoteId[c.id]! * width + localId[c.id]!) ?? -1; k >= 0; k = nextOfPair[k]!) {
      const p = connections[k]!;
      if (p.host !== c.host && p.peer === undefined && p.startUs <= c.endUs && c.startUs <= p.endUs) {
        c.peer = p.id;
        p.peer = c.id;
        break;
      }
    }
  }
  const transitionAt = new Float64Array(transitions.length);
  const transitionSeq = new Float64Array(transitions.length);
  transitions.forEach((t, k) => {
    transitionAt[k] = t.atUs;
    transitionSeq[k] = t.eventSeq;
  });
  const bandStart = new Float64Array(bands.length);
  bands.forEach((b, k) => (bandStart[k] = b.startUs));
  const transitionOrder = stableOrder(transitions.length, transitionAt, transitionSeq);
  const bandOrder = stableOrder(bands.length, bandStart, new Float64Array(bands.length));
  return {
    connections,
    transitions: pick(transitions, transitionOrder),
    bands: pick(bands, bandOrder),
  };
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
 * intervals are (a band open for the whole session does not make every query scan everything);
 * a subtree whose earliest end is at or after t0 is taken whole, without descending.
 */
export class IntervalIndex<T> {
  private readonly starts: Float64Array;
  private readonly maxEnd: Float64Array;
  /** The earliest end under each node: a subtree whose intervals all intersect is taken whole. */
  private readonly minEnd: Float64Array;
  private readonly size: number;

  constructor(
    private readonly items: readonly T[],
    start: (item: T) => number,
    private readonly end: (item: T) => number,
  ) {
    this.starts = new Float64Array(items.length);
    items.forEach((item, i) => (this.starts[i] = start(item)));
    for (let i = 1; i < this.starts.length; i++) {
      if (this.starts[i]! < this.starts[i - 1]!) throw new Error('IntervalIndex: items must be sorted by start');
    }
    let size = 1;
    while (size < items.length) size *= 2;
    this.size = size;
    this.maxEnd = new Float64Array(2 * size).fill(-Infinity);
    this.minEnd = new Float64Array(2 * size).fill(Infinity);
    items.forEach((item, i) => (this.maxEnd[size + i] = this.minEnd[size + i] = end(item)));
    for (let node = size - 1; node >= 1; node--) {
      this.maxEnd[node] = Math.max(this.maxEnd[2 * node]!, this.maxEnd[2 * node + 1]!);
      this.minEnd[node] = Math.min(this.minEnd[2 * node]!, this.minEnd[2 * node + 1]!);
    }
  }

  query(t0: number, t1: number): T[] {
    const limit = upperBound(this.starts, t1);
    const out: T[] = [];
    if (limit === 0) return out;
    const visit = (node: number, lo: number, hi: number): void => {
      if (lo >= limit || this.maxEnd[node]! < t0) return;
      if (hi <= limit && this.minEnd[node]! >= t0) {
        // Every interval under this node intersects (long ones, such as bands open to the end): all of them, in order.
        for (let i = lo; i < hi; i++) out.push(this.items[i]!);
        return;
      }
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

// ---------------------------------------------------------------------------------------------
// The same model, built as events come (live sessions, replays sent in batches)

interface TrRecord {
  e: TransitionEvent;
  /** Axis time before the packet correction. */
  rawUs: number;
}

interface SocketState {
  host: string;
  /** Its transitions, by host time then log position (as buildConnections orders them). */
  records: TrRecord[];
  /** Its connections as last built, their ids contiguous, and their transitions. */
  connections: TimelineConnection[];
  transitions: TimelineTransition[];
}

interface PkRecord {
  e: PacketEvent;
  rawUs: number;
  segment: number;
}

/** A packet with what orders it: by number (sent, start, then creation), then in the list (start, number). */
interface PkMade {
  packet: TimelinePacket;
  sentAt: number;
  phase: number;
  makerAt: number;
  makerSeq: number;
}

interface SegmentState {
  events: number[];
  made: PkMade[];
  /** Per matched pair direction (`from>to` hosts), the least transit before the correction (µs). */
  minTransit: Map<string, number>;
}

class Fallback extends Error {}

/**
 * `buildTimeline` for a log that grows: `append` takes the events that follow the ones given
 * before (in log order, as a live session or a replay delivers them) and updates the model in
 * time proportional to what they change, not to the whole log, so a page that shows a replay of
 * 100,000 events does not rebuild everything each time a batch arrives. `model()` equals
 * `buildTimeline` over every event given so far (a unit test holds it to that on the recorded
 * sessions, batch sizes varied). What an append cannot do in place it does by building again from
 * the start (`fullBuilds` counts them): a host's first clock estimate after events of that host
 * (it applies to them too), a change of the packets' clock correction (it moves everything), a
 * socket used again after CLOSED while later sockets exist (connection ids would move).
 *
 * The model returned is the builder's own: the next append may change its objects (a band still
 * open gets the new axis end) and replaces its lists.
 */
export class TimelineBuilder {
  private all: LabEvent[] = [];
  /** How many times an append built everything again. */
  fullBuilds = 0;

  private lanes = new Map<string, TimelineLane>();
  /** Per host: the clock offset in effect (µs); whether it has placed events (transitions, packets). */
  private offsets = new Map<string, number>();
  private placed = new Set<string>();
  private corrections = new Map<string, number>();
  private markers: TimelineMarker[] = [];
  private markerMin = Infinity;
  private markerMax = -Infinity;
  /** Per host: the least and greatest axis time before the correction of its transitions and packets. */
  private rawRange = new Map<string, { min: number; max: number }>();

  private socketIds = new Map<string, number>();
  private sockets: SocketState[] = [];
  private connections: TimelineConnection[] = [];
  private transitions: TimelineTransition[] = [];
  private bands: TimelineBand[] = [];
  /** Per connection id: its open last band, while it has one. */
  private open = new Map<number, TimelineBand>();
  /** Peers are paired among connections of one endpoint pair (either direction): the ids of each. */
  private pairGroups = new Map<string, number[]>();

  private pk: PkRecord[] = [];
  private segmentIds = new Map<string, number>();
  private segments: SegmentState[] = [];
  /** The least transit over every segment, per direction (`from>to`). */
  private leastTransit = new Map<string, number>();
  /** Packets in number order, and in list order (start, number). */
  private byNumber: PkMade[] = [];
  private packets: TimelinePacket[] = [];

  private startUs = 0;
  private endUs = 0;
  private cached: TimelineModel | undefined;

  append(events: readonly LabEvent[]): void {
    if (events.length === 0) return;
    const fromScratch = this.all.length === 0;
    for (const e of events) this.all.push(e);
    this.cached = undefined;
    try {
      this.ingest(events, fromScratch);
    } catch (error) {
      if (!(error instanceof Fallback) || fromScratch) throw error;
      this.fullBuilds++;
      const everything = this.all;
      this.reset();
      this.all = everything;
      this.ingest(everything, true);
    }
  }

  /**
   * One connection's transitions, by host time then log position (the order its bands follow),
   * without a pass over every transition (the timeline view places connections as they change).
   */
  transitionsOf(connection: TimelineConnection): TimelineTransition[] {
    const socket = this.sockets[this.socketIds.get(`${connection.host}\n${connection.local}\n${connection.remote}`) ?? -1];
    return socket ? socket.transitions.filter((t) => t.connection === connection.id) : [];
  }

  model(): TimelineModel {
    if (this.cached) return this.cached;
    const { transitions, bands, packets, markers } = this;
    let index: { bands: IntervalIndex<TimelineBand>; packets: IntervalIndex<TimelinePacket>; transitionTimes: Float64Array; markerTimes: Float64Array } | undefined;
    const indexes = () =>
      (index ??= {
        bands: new IntervalIndex(bands, (b) => b.startUs, (b) => b.endUs),
        packets: new IntervalIndex(packets, (p) => p.startUs, (p) => p.endUs),
        transitionTimes: Float64Array.from(transitions, (t) => t.atUs),
        markerTimes: Float64Array.from(markers, (m) => m.atUs),
      });
    this.cached = {
      lanes: [...this.lanes.values()],
      connections: this.connections,
      bands,
      transitions,
      packets,
      markers,
      startUs: this.startUs,
      endUs: this.endUs,
      visible(t0: AxisUs, t1: AxisUs): TimelineView {
        const x = indexes();
        return {
          bands: x.bands.query(t0, t1),
          transitions: transitions.slice(lowerBound(x.transitionTimes, t0), upperBound(x.transitionTimes, t1)),
          packets: x.packets.query(t0, t1),
          markers: markers.slice(lowerBound(x.markerTimes, t0), upperBound(x.markerTimes, t1)),
        };
      },
    };
    return this.cached;
  }

  private reset(): void {
    this.lanes = new Map();
    this.offsets = new Map();
    this.placed = new Set();
    this.corrections = new Map();
    this.markers = [];
    this.markerMin = Infinity;
    this.markerMax = -Infinity;
    this.rawRange = new Map();
    this.socketIds = new Map();
    this.sockets = [];
    this.connections = [];
    this.transitions = [];
    this.bands = [];
    this.open = new Map();
    this.pairGroups = new Map();
    this.pk = [];
    this.segmentIds = new Map();
    this.segments = [];
    this.leastTransit = new Map();
    this.byNumber = [];
    this.packets = [];
    this.startUs = this.endUs = 0;
  }

  private lane(host: string): TimelineLane {
    let l = this.lanes.get(host);
    if (!l) this.lanes.set(host, (l = { host, offsetMs: 0, offsets: [], correctionUs: 0 }));
    return l;
  }

  private touchRaw(host: string, us: number): void {
    const r = this.rawRange.get(host);
    if (!r) this.rawRange.set(host, { min: us, max: us });
    else {
      if (us < r.min) r.min = us;
      if (us > r.max) r.max = us;
    }
  }

  private ingest(events: readonly LabEvent[], fromScratch: boolean): void {
    // A host's first estimate applies to its events logged before it (buildTimeline's first pass).
    for (const e of events) {
      if (e.type !== 'clock' || this.offsets.has(e.host)) continue;
      if (this.placed.has(e.host)) throw new Fallback();
      this.offsets.set(e.host, e.offsetMs * 1000);
    }
    const touchedSockets = new Set<number>();
    const touchedSegments = new Set<number>();
    const newMarkers: TimelineMarker[] = [];
    for (const e of events) {
      switch (e.type) {
        case 'session-start':
          for (const h of e.hosts) this.lane(h.label);
          break;
        case 'clock': {
          this.offsets.set(e.host, e.offsetMs * 1000);
          const l = this.lane(e.host);
          l.offsets.push({ atUs: e.t * 1000, offsetMs: e.offsetMs, rttMs: e.rttMs });
          l.offsetMs = e.offsetMs;
          break;
        }
        case 'transition': {
          const rawUs = e.hostTimeUs - (this.offsets.get(e.host) ?? 0);
          this.lane(e.host);
          this.placed.add(e.host);
          this.touchRaw(e.host, rawUs);
          const key = `${e.host}\n${e.local}\n${e.remote}`;
          let id = this.socketIds.get(key);
          if (id === undefined) {
            this.socketIds.set(key, (id = this.sockets.length));
            this.sockets.push({ host: e.host, records: [], connections: [], transitions: [] });
          }
          const records = this.sockets[id]!.records;
          const record = { e, rawUs };
          // In host time, then log position: mostly at the end already.
          let at = records.length;
          while (at > 0 && (records[at - 1]!.e.hostTimeUs > e.hostTimeUs || (records[at - 1]!.e.hostTimeUs === e.hostTimeUs && records[at - 1]!.e.seq > e.seq))) at--;
          records.splice(at, 0, record);
          touchedSockets.add(id);
          break;
        }
        case 'packet': {
          const rawUs = e.hostTimeUs - (this.offsets.get(e.host) ?? 0);
          this.lane(e.host);
          this.placed.add(e.host);
          this.touchRaw(e.host, rawUs);
          const out = e.direction === 'out';
          const key = `${out ? e.local : e.remote}\n${out ? e.remote : e.local}\n${e.tcpSeq}\n${e.tcpAck}\n${e.flags.join(',')}\n${e.length}`;
          let segment = this.segmentIds.get(key);
          if (segment === undefined) {
            this.segmentIds.set(key, (segment = this.segments.length));
            this.segments.push({ events: [], made: [], minTransit: new Map() });
          }
          this.segments[segment]!.events.push(this.pk.length);
          this.pk.push({ e, rawUs, segment });
          touchedSegments.add(segment);
          break;
        }
        default: {
          const marker = markerOf(e);
          if (marker) newMarkers.push(marker);
          break;
        }
      }
    }

    // Markers: in time, then log position.
    if (newMarkers.length > 0) {
      for (const m of newMarkers) {
        if (m.atUs < this.markerMin) this.markerMin = m.atUs;
        if (m.atUs > this.markerMax) this.markerMax = m.atUs;
      }
      const byTime = (a: TimelineMarker, b: TimelineMarker): number => a.atUs - b.atUs || a.eventSeq - b.eventSeq;
      replaceSorted(this.markers, new Set(), newMarkers.sort(byTime), byTime);
    }

    // Packets: the clock correction first (from the matching on uncorrected times), then the matching used.
    let recount = false;
    for (const s of touchedSegments) {
      const segment = this.segments[s]!;
      // A segment that held a least transit may now hold a greater one: then count them all again.
      for (const [key, delta] of segment.minTransit) if (this.leastTransit.get(key) === delta) recount = true;
      segment.minTransit = this.transits(s);
      if (!recount) for (const [key, delta] of segment.minTransit) if (!(delta >= (this.leastTransit.get(key) ?? Infinity))) this.leastTransit.set(key, delta);
    }
    if (recount) {
      this.leastTransit = new Map();
      for (const segment of this.segments) for (const [key, delta] of segment.minTransit) if (!(delta >= (this.leastTransit.get(key) ?? Infinity))) this.leastTransit.set(key, delta);
    }
    const corrections = this.currentCorrections();
    if (!fromScratch && !sameCorrections(corrections, this.corrections)) throw new Fallback();
    this.corrections = corrections;
    for (const [host, us] of corrections) this.lane(host).correctionUs = us;

    // The axis range.
    let startUs = Math.min(Infinity, this.markerMin);
    let endUs = Math.max(-Infinity, this.markerMax);
    for (const [host, r] of this.rawRange) {
      startUs = Math.min(startUs, r.min);
      endUs = Math.max(endUs, r.max);
      if (corrections.size > 0) {
        const shift = corrections.get(host) ?? 0;
        startUs = Math.min(startUs, r.min + shift);
        endUs = Math.max(endUs, r.max + shift);
      }
    }
    if (startUs > endUs) startUs = endUs = 0;
    this.startUs = startUs;
    this.endUs = endUs;

    this.updatePackets(touchedSegments);
    this.updateConnections(touchedSockets);
  }

  /** Least transits of a segment's pairs, matched on times before the correction. */
  private transits(segment: number): Map<string, number> {
    const m = this.matchSegment(segment, (i) => this.pk[i]!.rawUs);
    const out = new Map<string, number>();
    for (const pair of m) {
      if (pair.from < 0 || pair.to < 0) continue;
      const key = `${this.pk[pair.from]!.e.host}>${this.pk[pair.to]!.e.host}`;
      const delta = this.pk[pair.to]!.rawUs - this.pk[pair.from]!.rawUs;
      const known = out.get(key);
      if (known === undefined || delta < known) out.set(key, delta);
    }
    return out;
  }

  /** packetClockCorrections over every segment's least transits. */
  private currentCorrections(): Map<string, number> {
    const least = this.leastTransit;
    const seen = new Set<string>();
    for (const key of least.keys()) for (const host of key.split('>')) seen.add(host);
    const hosts = [...seen].sort();
    if (hosts.length !== 2) return new Map();
    const [a, b] = hosts as [string, string];
    const minAB = least.get(`${a}>${b}`) ?? Infinity;
    const minBA = least.get(`${b}>${a}`) ?? Infinity;
    const lo = -minAB;
    const hi = minBA;
    if (lo <= 0 && 0 <= hi) return new Map();
    const r = Number.isFinite(lo) && Number.isFinite(hi) ? (lo + hi) / 2 : Number.isFinite(lo) ? lo : hi;
    return new Map([
      [a, -r / 2],
      [b, r / 2],
    ]);
  }

  private axis(host: string, rawUs: number): number {
    return this.corrections.size > 0 ? rawUs + (this.corrections.get(host) ?? 0) : rawUs;
  }

  /**
   * matchPackets for one segment (the matching never pairs events of different segments): its
   * events by (time, log position), sends first, then receipts.
   */
  private matchSegment(segment: number, at: (i: number) => number): Array<{ maker: number; phase: number; from: number; to: number; dropped: number }> {
    const pk = this.pk;
    const order = [...this.segments[segment]!.events].sort((x, y) => at(x) - at(y) || pk[x]!.e.seq - pk[y]!.e.seq || x - y);
    const made: Array<{ maker: number; phase: number; from: number; to: number; dropped: number }> = [];
    const waiting: number[] = [];
    let head = 0;
    for (const i of order) {
      const e = pk[i]!.e;
      if (e.direction !== 'out') continue;
      const p = made.push({ maker: i, phase: 0, from: i, to: -1, dropped: -1 }) - 1;
      if (e.dropped) made[p]!.dropped = i;
      else waiting.push(p);
    }
    const lastArrived = new Map<string, number>();
    for (const i of order) {
      const e = pk[i]!.e;
      if (e.direction === 'out') continue;
      if (e.dropped) {
        const arrived = lastArrived.get(e.host) ?? -1;
        const p = arrived >= 0 && made[arrived]!.dropped < 0 ? arrived : made.push({ maker: i, phase: 1, from: -1, to: -1, dropped: -1 }) - 1;
        made[p]!.dropped = i;
        continue;
      }
      let p = -1;
      while (head < waiting.length) {
        const candidate = waiting[head++]!;
        if (pk[made[candidate]!.from]!.e.host !== e.host) {
          p = candidate;
          break;
        }
      }
      if (p < 0) p = made.push({ maker: i, phase: 1, from: -1, to: -1, dropped: -1 }) - 1;
      made[p]!.to = i;
      lastArrived.set(e.host, p);
    }
    return made;
  }

  private updatePackets(touched: ReadonlySet<number>): void {
    if (touched.size === 0) return;
    const pk = this.pk;
    const at = (i: number): number => this.axis(pk[i]!.e.host, pk[i]!.rawUs);
    const end = (i: number): PacketEnd => {
      const e = pk[i]!.e;
      return { host: e.host, atUs: at(i), hostTimeUs: e.hostTimeUs, eventSeq: e.seq };
    };
    const removed = new Set<PkMade>();
    const added: PkMade[] = [];
    for (const s of touched) {
      const segment = this.segments[s]!;
      for (const old of segment.made) removed.add(old);
      segment.made = this.matchSegment(s, at).map(({ maker, phase, from, to, dropped }) => {
        const e = pk[maker]!.e;
        const out = e.direction === 'out';
        let start = Infinity;
        let stop = -Infinity;
        for (const i of [from, to, dropped]) {
          if (i < 0) continue;
          const t = at(i);
          if (t < start) start = t;
          if (t > stop) stop = t;
        }
        const packet: TimelinePacket = {
          number: 0,
          label: '',
          receiptLabel: '',
          src: out ? e.local : e.remote,
          dst: out ? e.remote : e.local,
          flags: e.flags,
          seq: e.tcpSeq,
          ack: e.tcpAck,
          length: e.length,
          startUs: start,
          endUs: stop,
        };
        if (from >= 0) packet.from = end(from);
        if (to >= 0) packet.to = end(to);
        if (dropped >= 0) packet.dropped = end(dropped);
        const item: PkMade = { packet, sentAt: from >= 0 ? at(from) : start, phase, makerAt: at(maker), makerSeq: e.seq };
        added.push(item);
        return item;
      });
    }
    const numberOrder = (a: PkMade, b: PkMade): number =>
      a.sentAt - b.sentAt || a.packet.startUs - b.packet.startUs || a.phase - b.phase || a.makerAt - b.makerAt || a.makerSeq - b.makerSeq;
    // Numbers from the first place that changed on (a packet sent earlier moves the later ones up).
    const from = replaceSorted(this.byNumber, removed, added.sort(numberOrder), numberOrder);
    for (let k = from; k < this.byNumber.length; k++) {
      const p = this.byNumber[k]!.packet;
      if (p.number === k + 1) continue;
      p.number = k + 1;
      p.label = `(${k + 1})`;
      p.receiptLabel = `(${k + 1}')`;
    }
    const listOrder = (a: TimelinePacket, b: TimelinePacket): number => a.startUs - b.startUs || a.number - b.number;
    const removedPackets = new Set([...removed].map((m) => m.packet));
    // Packets kept move in the list only by their numbers, which keep their order: a merge is enough.
    replaceSorted(this.packets, removedPackets, added.map((m) => m.packet).sort(listOrder), listOrder, (p) => p.startUs);
  }

  private updateConnections(touched: ReadonlySet<number>): void {
    const endUs = this.endUs;
    const removedTransitions = new Set<TimelineTransition>();
    const removedBands = new Set<TimelineBand>();
    const addedTransitions: TimelineTransition[] = [];
    const addedBands: TimelineBand[] = [];
    const touchedGroups = new Set<string>();
    const lastSocket = this.sockets.length - 1;
    // Sockets in id order: connection ids follow them.
    for (const s of [...touched].sort((a, b) => a - b)) {
      const socket = this.sockets[s]!;
      const old = socket.connections;
      const firstId = old.length > 0 ? old[0]!.id : this.connections.length;
      const built = this.buildSocket(socket, firstId, endUs);
      if (old.length > 0 && built.connections.length !== old.length) {
        // Ids of later sockets' connections would move: only the last socket may grow in place.
        if (s !== lastSocket && this.sockets.slice(s + 1).some((x) => x.connections.length > 0)) throw new Fallback();
      }
      if (old.length === 0 && firstId !== this.connections.length) throw new Fallback();
      for (const c of old) {
        this.open.delete(c.id);
        for (const b of c.bands) removedBands.add(b);
      }
      for (const t of socket.transitions) removedTransitions.add(t);
      this.connections.splice(firstId, old.length, ...built.connections);
      socket.connections = built.connections;
      socket.transitions = built.transitions;
      for (const c of built.connections) {
        const last = c.bands[c.bands.length - 1];
        if (last?.open) this.open.set(c.id, last);
        const group = c.local < c.remote ? `${c.local}\n${c.remote}` : `${c.remote}\n${c.local}`;
        let ids = this.pairGroups.get(group);
        if (!ids) this.pairGroups.set(group, (ids = []));
        if (!ids.includes(c.id)) ids.push(c.id);
        touchedGroups.add(group);
      }
      addedTransitions.push(...built.transitions);
      addedBands.push(...built.bands);
    }
    // Open bands (and their connections) end at the axis end, which may have moved.
    for (const [id, band] of this.open) {
      band.endUs = endUs;
      this.connections[id]!.endUs = endUs;
    }
    if (touched.size > 0) {
      const transitionOrder = (a: TimelineTransition, b: TimelineTransition): number => a.atUs - b.atUs || a.eventSeq - b.eventSeq || a.connection - b.connection;
      replaceSorted(this.transitions, removedTransitions, addedTransitions.sort(transitionOrder), transitionOrder);
      // Bands as buildConnections makes them: by start, then connection by connection, in order.
      const bandOrder = (a: TimelineBand, b: TimelineBand): number => {
        if (a.startUs !== b.startUs) return a.startUs - b.startUs;
        if (a.connection !== b.connection) return a.connection - b.connection;
        const bands = this.connections[a.connection]!.bands;
        return bands.indexOf(a) - bands.indexOf(b);
      };
      replaceSorted(this.bands, removedBands, addedBands.sort(bandOrder), bandOrder);
    }
    for (const group of touchedGroups) this.pairPeers(this.pairGroups.get(group)!);
  }

  /** buildConnections for one socket: its connections from `firstId` on, their transitions and bands. */
  private buildSocket(socket: SocketState, firstId: number, axisEndUs: number): { connections: TimelineConnection[]; transitions: TimelineTransition[]; bands: TimelineBand[] } {
    const connections: TimelineConnection[] = [];
    const transitions: TimelineTransition[] = [];
    const bands: TimelineBand[] = [];
    const records = socket.records;
    let k = 0;
    while (k < records.length) {
      const id = firstId + connections.length;
      const opening = records[k]!.e;
      const startUs = this.axis(opening.host, records[k]!.rawUs);
      const firstBand = bands.length;
      let endUs = startUs;
      let previous: TcpState | undefined;
      let last: TimelineBand | undefined;
      while (k < records.length) {
        const { e, rawUs } = records[k++]!;
        const atUs = this.axis(e.host, rawUs);
        if (last) {
          last.endUs = atUs;
          last.open = false;
        }
        transitions.push(
          previous
            ? { connection: id, host: e.host, state: e.state, atUs, hostTimeUs: e.hostTimeUs, seen: e.seen, eventSeq: e.seq, from: previous }
            : { connection: id, host: e.host, state: e.state, atUs, hostTimeUs: e.hostTimeUs, seen: e.seen, eventSeq: e.seq },
        );
        endUs = atUs;
        previous = e.state;
        if (e.state === 'CLOSED') break;
        last = { connection: id, host: e.host, state: e.state, startUs: atUs, endUs: axisEndUs, hostTimeUs: e.hostTimeUs, open: true };
        bands.push(last);
      }
      if (previous !== 'CLOSED' && last) endUs = last.endUs;
      connections.push({ id, host: opening.host, local: opening.local, remote: opening.remote, startUs, endUs, bands: bands.slice(firstBand) });
    }
    return { connections, transitions, bands };
  }

  /** buildConnections' peers, for the connections of one endpoint pair (the pairing never crosses pairs). */
  private pairPeers(ids: number[]): void {
    ids.sort((a, b) => a - b);
    const group = ids.map((id) => this.connections[id]!);
    for (const c of group) delete c.peer;
    for (const c of group) {
      if (c.peer !== undefined) continue;
      for (const p of group) {
        if (p.local !== c.remote || p.remote !== c.local) continue;
        if (p.host !== c.host && p.peer === undefined && p.startUs <= c.endUs && c.startUs <= p.endUs) {
          c.peer = p.id;
          p.peer = c.id;
          break;
        }
      }
    }
  }
}

function sameCorrections(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): boolean {
  return a.size === b.size && [...a].every(([host, us]) => b.get(host) === us);
}

/**
 * `list` (sorted by `order`) without `removed` and with `added` (sorted) merged in, in place:
 * only the part from the first place either touches is rewritten (appends touch the end, mostly).
 * Returns where that part starts.
 */
function replaceSorted<T>(list: T[], removed: ReadonlySet<T>, added: readonly T[], order: (x: T, y: T) => number, primary?: (x: T) => number): number {
  let start = list.length;
  // `primary`: the list's first sort key, for lists whose later keys move (packets' numbers).
  const before = primary ? (x: T, y: T): boolean => primary(x) < primary(y) : (x: T, y: T): boolean => order(x, y) < 0;
  const firstAt = (x: T): number => {
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(list[mid]!, x)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  if (added.length > 0) start = Math.min(start, firstAt(added[0]!));
  let least: T | undefined;
  for (const x of removed) if (least === undefined || before(x, least)) least = x;
  if (least !== undefined) start = Math.min(start, firstAt(least));
  if (start === list.length && added.length === 0) return start;
  const tail = list.splice(start);
  const kept = removed.size > 0 ? tail.filter((x) => !removed.has(x)) : tail;
  for (const x of mergeSorted(kept, added, order)) list.push(x);
  return start;
}

/** Two lists sorted by `order` as one (on a tie, `a`'s first). */
function mergeSorted<T>(a: readonly T[], b: readonly T[], order: (x: T, y: T) => number): T[] {
  if (b.length === 0) return a as T[];
  if (a.length === 0) return b as T[];
  if (order(a[a.length - 1]!, b[0]!) <= 0) return [...a, ...b];
  const out = new Array<T>(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = order(b[j]!, a[i]!) < 0 ? b[j++]! : a[i++]!;
  while (i < a.length) out[k++] = a[i++]!;
  while (j < b.length) out[k++] = b[j++]!;
  return out;
}

/** The timeline marker an event makes (a step's command, a Ctrl-C, a firewall change, a connection change), if any. */
function markerOf(e: LabEvent): TimelineMarker | undefined {
  switch (e.type) {
    case 'command': {
      const marker: TimelineMarker = { kind: 'command', host: e.host, atUs: e.t * 1000, eventSeq: e.seq, text: e.text, pane: e.pane };
      if (e.step !== undefined) marker.step = e.step;
      return marker;
    }
    case 'pane-input':
      return e.data.includes('\x03') ? { kind: 'ctrl-c', host: e.host, atUs: e.t * 1000, eventSeq: e.seq, pane: e.pane, by: e.by } : undefined;
    case 'firewall':
      return { kind: 'firewall', host: e.host, atUs: e.t * 1000, eventSeq: e.seq, action: e.action, text: e.command };
    case 'connection':
      return { kind: 'connection', host: e.host, atUs: e.t * 1000, eventSeq: e.seq, status: e.status, text: e.detail ?? e.status };
    default:
      return undefined;
  }
}
