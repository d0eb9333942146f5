/**
 * What the timeline view draws, derived from session events as they arrive: one lane per host on
 * the clock-corrected axis, the state bands of each connection, packets matched across the two
 * hosts and numbered like the article's figures, and markers (commands typed by steps, Ctrl-C,
 * firewall changes, connection loss).
 *
 * This is the view's own adapter: shared/src/timeline.ts (the timeline model) had not landed
 * when the view was written. Everything the canvas needs goes through `TimelineSource` below, so
 * switching to the shared model means implementing that interface over it.
 *
 * Axis: controller epoch ms. An event observed on a host (hostTimeUs) is placed at
 * hostTimeUs / 1000 - offset, with the host's latest `clock` offset logged before it
 * (shared/src/events.ts); events without a host time sit at their `t`.
 *
 * Range queries: per lane row, bands are sorted by start with a running maximum of their ends,
 * so the first band that can reach a window is found by binary search; packets and markers are
 * sorted by time. Indexes are rebuilt lazily, only when something changed since the last query.
 */
import type { LabEvent } from '../../../shared/src/events';
import type { Seen, TcpState } from '../../../shared/src/tcp-states';
import { firewallSummary } from '../../../shared/src/figures/timeline-figure';
import { lowerBound } from './scale';

export interface Band {
  host: string;
  /** `local remote` as the host sees the connection. */
  conn: string;
  row: number;
  state: TcpState;
  startMs: number;
  /** Infinity while it is the connection's current state. CLOSED bands end where they start. */
  endMs: number;
  /** The host's own clock at the transition, epoch µs (shown as the transition's time). */
  hostTimeUs: number;
  seen: Seen;
}

export interface PacketArrow {
  id: number;
  /** Sender and receiver lanes (the receiver is inferred from the addresses when only the sender saw it). */
  from: string;
  to: string | undefined;
  /** Per connection, in order of sending, from 1: drawn (n) at the sender, (n') at the receiver. */
  number: number;
  sentMs: number | undefined;
  recvMs: number | undefined;
  /** Where a firewall ate it: at the sender (OUTPUT) or the receiver (INPUT). */
  dropped?: { atMs: number; where: 'sender' | 'receiver' };
  flags: string;
  seq: number;
  ack: number;
  length: number;
  /** The connection as the sender sees it (`local remote`). */
  conn: string;
}

export type MarkerKind = 'command' | 'ctrl-c' | 'firewall' | 'connection';

export interface Marker {
  kind: MarkerKind;
  host: string;
  atMs: number;
  text: string;
}

/** What the canvas reads. */
export interface TimelineSource {
  readonly hosts: readonly string[];
  /** Rows per host lane (connections that overlap in time get separate rows). */
  readonly rowsPerLane: number;
  readonly offsets: ReadonlyMap<string, { offsetMs: number; rttMs: number }>;
  /** The extent of everything placed on the axis; undefined before the first event. */
  extent(): { fromMs: number; toMs: number } | undefined;
  /** Bands of one lane row that overlap [fromMs, toMs], in order of start; `visit` returns false to stop. */
  bands(host: string, row: number, fromMs: number, toMs: number, visit: (band: Band, index: number) => boolean | void): void;
  /** The index of the first band of the row starting at or after `ms` (for skipping ahead). */
  bandIndexAt(host: string, row: number, ms: number): number;
  bandCount(host: string, row: number): number;
  bandAt(host: string, row: number, index: number): Band | undefined;
  /** Packets whose arrow overlaps [fromMs, toMs], sorted by their first time. */
  packets(fromMs: number, toMs: number): { list: readonly PacketArrow[]; from: number; to: number };
  markers(fromMs: number, toMs: number): { list: readonly Marker[]; from: number; to: number };
  readonly packetCount: number;
  /** Changes whenever anything drawn changes. */
  readonly version: number;
}

interface RowIndex {
  items: Band[];
  starts: Float64Array;
  maxEnds: Float64Array;
}

const ROWS = 3;
/** The longest an arrow can be (send to receipt); packets are searched this far outside a window. */
const MAX_FLIGHT_MS = 10_000;

const packetFirstMs = (p: PacketArrow): number => Math.min(p.sentMs ?? Infinity, p.recvMs ?? Infinity, p.dropped?.atMs ?? Infinity);

export class TimelineModel implements TimelineSource {
  hosts: string[] = [];
  readonly rowsPerLane = ROWS;
  readonly offsets = new Map<string, { offsetMs: number; rttMs: number }>();
  version = 0;
  /** Events folded so far. */
  eventCount = 0;

  private readonly rows = new Map<string, Band[]>();
  private readonly rowIndex = new Map<string, RowIndex>();
  private indexVersion = -1;
  /** Per connection (host + conn): its row and its current band. */
  private readonly connections = new Map<string, { row: number; current: Band | undefined; closed: boolean; lastMs: number }>();
  /** Per host and row: the connection holding it. */
  private readonly holders = new Map<string, string>();
  private readonly packetList: PacketArrow[] = [];
  private packetFirst = new Float64Array(0);
  private readonly unmatchedOut = new Map<string, PacketArrow[]>();
  private readonly unmatchedIn = new Map<string, PacketArrow[]>();
  private readonly markerList: Marker[] = [];
  private markerTimes = new Float64Array(0);
  private minMs = Infinity;
  private maxMs = -Infinity;
  private nextPacketId = 1;
  /** Address -> host label, from session-start (experiment addresses), to name a receiver nobody captured on. */
  private readonly hostByAddress = new Map<string, string>();
  private stepStartMs: number | undefined;

  constructor(hosts: readonly string[] = ['H1', 'H2']) {
    for (const h of hosts) this.addHost(h);
  }

  private addHost(host: string): void {
    if (!this.hosts.includes(host)) this.hosts.push(host);
  }

  private touch(ms: number): void {
    if (ms < this.minMs) this.minMs = ms;
    if (ms > this.maxMs) this.maxMs = ms;
  }

  /** The corrected axis time of a host observation. */
  axisMs(host: string, hostTimeUs: number): number {
    return hostTimeUs / 1000 - (this.offsets.get(host)?.offsetMs ?? 0);
  }

  add(event: LabEvent): void {
    this.eventCount++;
    switch (event.type) {
      case 'session-start':
        for (const h of event.hosts) {
          this.addHost(h.label);
          this.hostByAddress.set(h.experimentAddress, h.label);
        }
        return this.changed(event.t);
      case 'clock':
        this.offsets.set(event.host, { offsetMs: event.offsetMs, rttMs: event.rttMs });
        return this.changed();
      case 'transition':
        this.addHost(event.host);
        return this.transition(event.host, `${event.local} ${event.remote}`, event.state, this.axisMs(event.host, event.hostTimeUs), event.hostTimeUs, event.seen);
      case 'packet':
        this.addHost(event.host);
        return this.packet(event);
      case 'step':
        if (event.phase === 'start') this.stepStartMs = event.t;
        return;
      case 'command':
        return this.marker({ kind: 'command', host: event.host, atMs: event.t, text: event.text });
      case 'pane-input':
        // Ctrl-C: a step's key press is placed at the step's start (the key is logged once sent,
        // which can be after the state it causes), as the exported timeline figure does.
        if (event.data !== '\x03') return;
        return this.marker({ kind: 'ctrl-c', host: event.host, atMs: event.by === 'step' && this.stepStartMs !== undefined ? this.stepStartMs : event.t, text: 'Ctrl-C' });
      case 'firewall':
        return this.marker({ kind: 'firewall', host: event.host, atMs: event.t, text: `firewall ${event.action === 'add' ? '+' : '−'} ${firewallSummary(event.command)}` });
      case 'connection':
        if (event.status !== 'disconnected' && event.status !== 'failed' && event.status !== 'reconnecting') return;
        return this.marker({ kind: 'connection', host: event.host, atMs: event.t, text: `connection ${event.status}${event.detail ? `: ${event.detail}` : ''}` });
      default:
        // Pane traffic and snapshots are not drawn on the timeline (the cursor shows them).
        if (event.t > this.maxMs && event.type !== 'pane-output') this.touch(event.t);
        return;
    }
  }

  private changed(ms?: number): void {
    if (ms !== undefined) this.touch(ms);
    this.version++;
  }

  private transition(host: string, conn: string, state: TcpState, atMs: number, hostTimeUs: number, seen: Seen): void {
    const key = `${host} ${conn}`;
    let c = this.connections.get(key);
    if (!c || c.closed) {
      // A fresh connection (or the same ports reused after CLOSED): a row of its own if one is free.
      const row = this.pickRow(host, atMs);
      c = { row, current: undefined, closed: false, lastMs: atMs };
      this.connections.set(key, c);
      this.holders.set(`${host}/${row}`, key);
    }
    if (c.current) c.current.endMs = Math.max(c.current.startMs, atMs);
    const band: Band = { host, conn, row: c.row, state, startMs: atMs, endMs: state === 'CLOSED' ? atMs : Infinity, hostTimeUs, seen };
    c.current = state === 'CLOSED' ? undefined : band;
    c.closed = state === 'CLOSED';
    c.lastMs = atMs;
    const rowKey = `${host}/${c.row}`;
    let list = this.rows.get(rowKey);
    if (!list) this.rows.set(rowKey, (list = []));
    list.push(band);
    this.changed(atMs);
  }

  /** The first row free (never used, or its connection closed), else the one idle longest. */
  private pickRow(host: string, atMs: number): number {
    let best = 0;
    let bestMs = Infinity;
    for (let row = 0; row < ROWS; row++) {
      const holder = this.holders.get(`${host}/${row}`);
      const c = holder ? this.connections.get(holder) : undefined;
      if (!c || (c.closed && c.lastMs <= atMs)) return row;
      if (c.lastMs < bestMs) {
        best = row;
        bestMs = c.lastMs;
      }
    }
    return best;
  }

  private packet(event: Extract<LabEvent, { type: 'packet' }>): void {
    const atMs = this.axisMs(event.host, event.hostTimeUs);
    const flags = event.flags.join(',');
    const what = `${flags}|${event.tcpSeq}|${event.tcpAck}|${event.length}`;
    // The same segment as its sender and its receiver name it: sender local > sender remote.
    const key = event.direction === 'out' ? `${event.local}>${event.remote}|${what}` : `${event.remote}>${event.local}|${what}`;
    const peerHost = this.hostByAddress.get(hostOf(event.remote));
    if (event.dropped) {
      if (event.direction === 'in') {
        // Eaten by the receiver's INPUT chain: tcpdump saw it arrive first, so it is (or will be) an arrow already.
        const seen = this.unmatchedIn.get(key)?.at(-1) ?? this.lastMatched.get(key);
        if (seen) {
          seen.dropped = { atMs, where: 'receiver' };
          return this.changed(atMs);
        }
      }
      const arrow = this.newPacket(event.direction === 'out' ? event.host : (peerHost ?? '?'), event.direction === 'out' ? peerHost : event.host, event, flags, key);
      arrow.dropped = { atMs, where: event.direction === 'out' ? 'sender' : 'receiver' };
      if (event.direction === 'out') arrow.sentMs = atMs;
      return this.changed(atMs);
    }
    if (event.direction === 'out') {
      const waiting = this.unmatchedIn.get(key);
      const arrow = waiting?.shift() ?? this.queue(this.unmatchedOut, key, this.newPacket(event.host, peerHost, event, flags, key));
      arrow.sentMs = atMs;
      arrow.from = event.host;
      if (waiting) this.lastMatched.set(key, arrow);
    } else {
      const waiting = this.unmatchedOut.get(key);
      const arrow = waiting?.shift() ?? this.queue(this.unmatchedIn, key, this.newPacket(peerHost ?? '?', event.host, event, flags, key));
      arrow.recvMs = atMs;
      arrow.to = event.host;
      if (waiting) this.lastMatched.set(key, arrow);
    }
    this.changed(atMs);
  }

  private readonly lastMatched = new Map<string, PacketArrow>();

  private queue(map: Map<string, PacketArrow[]>, key: string, arrow: PacketArrow): PacketArrow {
    let list = map.get(key);
    if (!list) map.set(key, (list = []));
    list.push(arrow);
    return arrow;
  }

  private newPacket(from: string, to: string | undefined, event: Extract<LabEvent, { type: 'packet' }>, flags: string, key: string): PacketArrow {
    const sender = key.slice(0, key.indexOf('|')).split('>');
    const arrow: PacketArrow = { id: this.nextPacketId++, from, to, number: 0, sentMs: undefined, recvMs: undefined, flags, seq: event.tcpSeq, ack: event.tcpAck, length: event.length, conn: `${sender[0]} ${sender[1]}` };
    this.packetList.push(arrow);
    return arrow;
  }

  private marker(marker: Marker): void {
    this.markerList.push(marker);
    this.changed(marker.atMs);
  }

  // ---------------------------------------------------------------------------------------------
  // Queries

  get packetCount(): number {
    return this.packetList.length;
  }

  extent(): { fromMs: number; toMs: number } | undefined {
    return this.minMs <= this.maxMs ? { fromMs: this.minMs, toMs: this.maxMs } : undefined;
  }

  /** Where open bands end: the latest time anything was placed. */
  get endMs(): number {
    return this.maxMs;
  }

  private ensureIndex(): void {
    if (this.indexVersion === this.version) return;
    this.indexVersion = this.version;
    for (const [key, list] of this.rows) {
      sortIfNeeded(list, (b) => b.startMs);
      const starts = new Float64Array(list.length);
      const maxEnds = new Float64Array(list.length);
      let max = -Infinity;
      for (let i = 0; i < list.length; i++) {
        const b = list[i]!;
        starts[i] = b.startMs;
        max = Math.max(max, b.endMs);
        maxEnds[i] = max;
      }
      this.rowIndex.set(key, { items: list, starts, maxEnds });
    }
    sortIfNeeded(this.packetList, packetFirstMs);
    this.packetFirst = Float64Array.from(this.packetList, packetFirstMs);
    // Numbers: per connection (both directions), in order of sending, as the article numbers messages.
    const counters = new Map<string, number>();
    for (const p of this.packetList) {
      const [a, b] = p.conn.split(' ');
      const pair = a! < b! ? `${a} ${b}` : `${b} ${a}`;
      const n = (counters.get(pair) ?? 0) + 1;
      counters.set(pair, n);
      p.number = n;
    }
    sortIfNeeded(this.markerList, (m) => m.atMs);
    this.markerTimes = Float64Array.from(this.markerList, (m) => m.atMs);
  }

  private row(host: string, row: number): RowIndex | undefined {
    this.ensureIndex();
    return this.rowIndex.get(`${host}/${row}`);
  }

  bands(host: string, row: number, fromMs: number, toMs: number, visit: (band: Band, index: number) => boolean | void): void {
    const index = this.row(host, row);
    if (!index) return;
    // The running maximum of ends is ascending: the first band that can reach fromMs.
    for (let i = lowerBound(index.maxEnds, fromMs); i < index.items.length; i++) {
      const band = index.items[i]!;
      if (band.startMs > toMs) break;
      if (band.endMs < fromMs) continue;
      if (visit(band, i) === false) break;
    }
  }

  bandIndexAt(host: string, row: number, ms: number): number {
    const index = this.row(host, row);
    return index ? lowerBound(index.starts, ms) : 0;
  }

  bandCount(host: string, row: number): number {
    return this.row(host, row)?.items.length ?? 0;
  }

  bandAt(host: string, row: number, index: number): Band | undefined {
    return this.row(host, row)?.items[index];
  }

  packets(fromMs: number, toMs: number): { list: readonly PacketArrow[]; from: number; to: number } {
    this.ensureIndex();
    return { list: this.packetList, from: lowerBound(this.packetFirst, fromMs - MAX_FLIGHT_MS), to: lowerBound(this.packetFirst, toMs + 1e-9) };
  }

  markers(fromMs: number, toMs: number): { list: readonly Marker[]; from: number; to: number } {
    this.ensureIndex();
    return { list: this.markerList, from: lowerBound(this.markerTimes, fromMs), to: lowerBound(this.markerTimes, toMs + 1e-9) };
  }

  /** Every transition in order of axis time (for tests and the accessible summary). */
  allBands(): Band[] {
    this.ensureIndex();
    return [...this.rowIndex.values()].flatMap((r) => r.items).sort((a, b) => a.startMs - b.startMs);
  }

  /** The first `n` transitions in order of axis time (merging the rows' sorted lists). */
  firstBands(n: number): Band[] {
    this.ensureIndex();
    const rows = [...this.rowIndex.values()];
    const at = rows.map(() => 0);
    const out: Band[] = [];
    while (out.length < n) {
      let best = -1;
      for (let r = 0; r < rows.length; r++) {
        const b = rows[r]!.items[at[r]!];
        if (b && (best < 0 || b.startMs < rows[best]!.items[at[best]!]!.startMs)) best = r;
      }
      if (best < 0) break;
      out.push(rows[best]!.items[at[best]!++]!);
    }
    return out;
  }

  allPackets(): readonly PacketArrow[] {
    this.ensureIndex();
    return this.packetList;
  }

  allMarkers(): readonly Marker[] {
    this.ensureIndex();
    return this.markerList;
  }
}

/** Sorts in place, stably, only when out of order (events mostly arrive in time order). */
function sortIfNeeded<T>(list: T[], key: (item: T) => number): void {
  for (let i = 1; i < list.length; i++) {
    if (key(list[i - 1]!) > key(list[i]!)) {
      list.sort((a, b) => key(a) - key(b));
      return;
    }
  }
}

/** `198.18.77.2:7777` -> `198.18.77.2`; `[fe80::1]:22` -> `fe80::1`. */
function hostOf(endpoint: string): string {
  const colon = endpoint.lastIndexOf(':');
  const address = colon < 0 ? endpoint : endpoint.slice(0, colon);
  return address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
}
