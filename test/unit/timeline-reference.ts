/**
 * The timeline model's build as first written (commit bc02219): straightforward, one object per
 * step, string keys, comparator sorts. The optimized build in shared/src/timeline.ts must give
 * exactly what this gives (test/unit/timeline.test.ts compares them on random logs), and
 * `npm run bench:timeline` times both in the same run.
 */
import type { LabEvent } from '../../shared/src/events';
import type { AxisUs, PacketEnd, TimelineBand, TimelineConnection, TimelineLane, TimelineMarker, TimelineModel, TimelinePacket, TimelineTransition } from '../../shared/src/timeline';
import type { TcpState } from '../../shared/src/tcp-states';

/** The model without its query method. */
export type TimelineData = Omit<TimelineModel, 'visible'>;

type PacketEvent = Extract<LabEvent, { type: 'packet' }>;
type TransitionEvent = Extract<LabEvent, { type: 'transition' }>;

/** Builds the model from a session's events (in log order, as the log holds them). */
export function buildTimelineReference(events: readonly LabEvent[]): TimelineData {
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

  return { lanes: [...lanes.values()], connections, bands, transitions, packets, markers, startUs, endUs };
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
