/**
 * What the timeline view draws: the shared timeline model (shared/src/timeline.ts, the one the
 * exported figures use) behind the `TimelineSource` interface the canvas reads (draw.ts,
 * layout.ts). Lanes, clock offsets refined by packets, bands, packets matched and numbered, and
 * markers all come from `buildTimeline`; this adapter only turns them into what the canvas draws:
 * milliseconds on the axis, connections placed in a lane's rows, a CLOSED mark where a connection
 * ends, and markers shown as the exported figure shows them (timeline-figure.ts
 * `timelineFromModel`: a step's Ctrl-C at the step's start, a firewall step's command once, TCP
 * Lab's own NFLOG rule and connection progress not shown).
 *
 * Events arrive one by one (live, or a replay in batches); the shared model takes the new ones
 * (TimelineBuilder.append: in time proportional to what they change, equal to a build over all of
 * them) when events that change it came (pane output and socket snapshots do not): in the page
 * when Recording says so (at most once a frame, and no more than a fifth of the wall time while
 * events stream in), elsewhere at the first query after them.
 */
import type { LabEvent } from '../../../shared/src/events';
import type { Seen, TcpState } from '../../../shared/src/tcp-states';
import { IntervalIndex, lowerBound, TimelineBuilder, type TimelineConnection, type TimelineModel as SharedModel, type TimelinePacket } from '../../../shared/src/timeline';
import { firewallSummary } from '../../../shared/src/figures/timeline-figure';

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
  /** Sender and receiver lanes (seen on one side only: the other lane, as the exported figure takes it). */
  from: string;
  to: string | undefined;
  /** The shared model's number, in order of sending, from 1: drawn (n) at the sender, (n') at the receiver. */
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

const ROWS = 3;

interface RowIndex {
  items: Band[];
  starts: Float64Array;
  index: IntervalIndex<number>;
}

/** A connection as placeRows placed it. */
interface Placed {
  /** The model's object it was placed from (a new one means the connection changed). */
  connection: TimelineConnection;
  /** host index * ROWS + row */
  slot: number;
  /** Where its items begin in that slot's list. */
  itemStart: number;
  closed: boolean;
  lastMs: number;
}

/** What one build of the shared model gives the canvas. */
interface Built {
  shared: SharedModel;
  rows: Map<string, RowIndex>;
  packets: PacketArrow[];
  packetFirst: Float64Array;
  /** The longest arrow (first to last time): packets are searched this far before a window. */
  maxFlightMs: number;
  markers: Marker[];
  markerTimes: Float64Array;
  /** Per host: what the packets added to its axis times (µs). */
  corrections: Map<string, number>;
  offsets: Map<string, { offsetMs: number; rttMs: number }>;
}

export class TimelineModel implements TimelineSource {
  readonly rowsPerLane = ROWS;
  /** Events given so far. */
  eventCount = 0;
  /** Changes when a different build is in use; see `axisEpoch` for axis times. */
  private builtVersion = 0;
  /**
   * Changes when the axis time of an event already given may have moved (a host's first clock
   * estimate, a new packet correction): `axisMs` answers for the model as it is now.
   */
  axisEpoch = 0;

  /**
   * Events that change the shared model, not yet given to the builder. Only those: the builder
   * passes every other event by (`changesModel` names the ones it takes), and it keeps what it is
   * given, so pane output given to it stayed in memory as long as the page did.
   */
  private pending: LabEvent[] = [];
  /** The shared model, given the events as they come (TimelineBuilder). */
  private readonly builder = new TimelineBuilder();
  /** placeRows' state: connections in the order placed (start, id), each row's items in that order, row indexes. */
  private readonly placed: Placed[] = [];
  /** By connection id: its place in `placed` (-1 or absent: not placed). */
  private readonly placedAt: number[] = [];
  private readonly slots: Band[][] = [];
  private readonly hostIndex = new Map<string, number>();
  private readonly firstPlaced = new Map<string, number>();
  private rowIndexes = new Map<string, RowIndex>();
  /** Arrows by the model's packet they show (the model keeps a packet's object until its segment changes). */
  private arrowOf = new WeakMap<TimelinePacket, PacketArrow>();
  private arrowLanes = '';
  private arrowsFor: { packets: readonly TimelinePacket[]; arrows: PacketArrow[] } | undefined;
  private readonly hostList: string[] = [];
  private built: Built | undefined;
  /** Events that change the shared model: given so far, and in the last build. */
  private relevant = 0;
  private builtRelevant = -1;
  /** How long the last build took (ms). */
  lastBuildMs = 0;
  /** Per host: its latest clock estimate (ms), as the shared model takes it for the events after it. */
  private readonly clocks = new Map<string, number>();
  private readonly firstClocks = new Map<string, number>();
  private readonly rtts = new Map<string, number>();
  /** A step's Ctrl-C goes at the step's start: by `seq|t` of the key press. */
  private readonly ctrlCAtStep = new Map<string, number>();
  private stepStartMs: number | undefined;
  private minMs = Infinity;
  private maxMs = -Infinity;

  /**
   * `manual`: queries use the last build and never rebuild (the page: Recording decides when, see
   * there); otherwise (tests, tools) a query after new events rebuilds first.
   */
  constructor(
    hosts: readonly string[] = ['H1', 'H2'],
    private readonly manual = false,
  ) {
    for (const h of hosts) this.addHost(h);
  }

  /** Whether events that change the model came since the last build. */
  get stale(): boolean {
    return this.builtRelevant !== this.relevant;
  }

  /** Builds the shared model over every event given so far, if events that change it came. */
  refresh(): void {
    if (!this.built || this.stale) this.rebuild();
  }

  get hosts(): readonly string[] {
    return this.hostList;
  }

  private addHost(host: string): void {
    if (!this.hostList.includes(host)) this.hostList.push(host);
  }

  /** Changes whenever anything drawn may have changed (new events given, even before they are built). */
  get version(): number {
    return this.builtVersion * 2 + (this.builtRelevant === this.relevant ? 0 : 1);
  }

  add(event: LabEvent): void {
    this.eventCount++;
    if (changesModel(event)) {
      this.relevant++;
      this.pending.push(event);
    }
    switch (event.type) {
      case 'session-start':
        for (const h of event.hosts) this.addHost(h.label);
        break;
      case 'clock':
        if (!this.firstClocks.has(event.host)) {
          this.firstClocks.set(event.host, event.offsetMs);
          // The first estimate applies to the host's events logged before it, too.
          this.axisEpoch++;
        }
        this.clocks.set(event.host, event.offsetMs);
        this.rtts.set(event.host, event.rttMs);
        break;
      case 'transition':
      case 'packet':
        this.addHost(event.host);
        break;
      case 'step':
        if (event.phase === 'start') this.stepStartMs = event.t;
        break;
      case 'pane-input':
        if (event.by === 'step' && event.data.includes('\x03') && this.stepStartMs !== undefined) this.ctrlCAtStep.set(`${event.seq}|${event.t * 1000}`, this.stepStartMs);
        break;
      default:
        break;
    }
    // The axis reaches the latest event (not pane traffic): a live view grows with the run.
    if (event.type !== 'pane-output') {
      if (event.t < this.minMs) this.minMs = event.t;
      if (event.t > this.maxMs) this.maxMs = event.t;
    }
  }

  /** The clock offset (ms) a host observation logged now is placed with, before the packets refine it. */
  clockMs(host: string): number | undefined {
    return this.clocks.get(host);
  }

  /**
   * The axis time of a host observation, as the shared model places it: host time minus the
   * clock estimate in effect when it was logged (`clockMs` then; the host's first estimate when
   * there was none yet), plus what the packets added to that host. `clockMs` is required, and
   * undefined means "none yet": as a default parameter, an undefined passed for an event logged
   * before any estimate took the latest estimate instead, so the cursor placed such events by
   * whichever estimate was newest when it last worked the axis out (test/unit/snapshot-series.test.ts).
   */
  axisMs(host: string, hostTimeUs: number, clockMs: number | undefined): number {
    const offsetMs = clockMs ?? this.firstClocks.get(host) ?? 0;
    // In the model's own steps (µs, offset, then correction), so the results are equal to the bit.
    return (hostTimeUs - offsetMs * 1000 + (this.built?.corrections.get(host) ?? 0)) / 1000;
  }

  /** The shared model (what the exported figures are drawn from) as last built; over every event given so far unless `manual`. */
  get shared(): SharedModel {
    return this.current().shared;
  }

  private current(): Built {
    if (!this.built || (!this.manual && this.stale)) this.rebuild();
    return this.built!;
  }

  private rebuild(): void {
    const started = performance.now();
    this.builder.append(this.pending);
    this.pending = [];
    const shared = this.builder.model();
    const corrections = new Map<string, number>();
    const offsets = new Map<string, { offsetMs: number; rttMs: number }>();
    for (const lane of shared.lanes) {
      if (lane.correctionUs !== 0) corrections.set(lane.host, lane.correctionUs);
      this.addHost(lane.host);
      if (lane.offsets.length > 0) offsets.set(lane.host, { offsetMs: lane.offsetMs - lane.correctionUs / 1000, rttMs: lane.offsets.at(-1)!.rttMs });
    }
    const previous = this.built?.corrections;
    if (!previous || previous.size !== corrections.size || [...corrections].some(([h, us]) => previous.get(h) !== us)) {
      if (previous || corrections.size > 0) this.axisEpoch++;
    }
    const packets = this.arrows(shared);
    const packetFirst = new Float64Array(packets.length);
    let maxFlightMs = 0;
    shared.packets.forEach((p, i) => {
      packetFirst[i] = p.startUs / 1000;
      maxFlightMs = Math.max(maxFlightMs, (p.endUs - p.startUs) / 1000);
    });
    const markers = this.presentMarkers(shared);
    this.built = {
      shared,
      rows: this.placeRows(shared),
      packets,
      packetFirst,
      maxFlightMs,
      markers,
      markerTimes: Float64Array.from(markers, (m) => m.atMs),
      corrections,
      offsets,
    };
    this.builtRelevant = this.relevant;
    this.builtVersion++;
    this.lastBuildMs = performance.now() - started;
  }

  /**
   * Each connection's bands in one row of its host's lane: the first row free (never used, or
   * its connection over by the time this one starts), else the one idle longest. A CLOSED mark
   * where a connection ends, as the view has always drawn it.
   *
   * Connections are placed in order of start, each row's state depending on the ones before, so
   * a refresh places again only from the first connection (in that order) that is new or was
   * rebuilt by the model (TimelineBuilder makes new objects for what it changed): a replay's new
   * events mostly touch its last connections. The result is the same as placing all of them.
   */
  private placeRows(shared: SharedModel): Map<string, RowIndex> {
    const connections = shared.connections;
    const placed = this.placed;
    const before = (a: TimelineConnection, b: TimelineConnection): boolean => a.startUs < b.startUs || (a.startUs === b.startUs && a.id < b.id);
    let from = placed.length;
    for (let p = 0; p < placed.length; p++) if (placed[p]!.connection.id >= connections.length) from = Math.min(from, p);
    for (const c of connections) {
      const at = this.placedAt[c.id] ?? -1;
      if (at >= 0 && placed[at]!.connection === c) continue;
      if (at >= 0) from = Math.min(from, at);
      // Where it goes now: before the first placed connection that starts after it.
      let lo = 0;
      let hi = placed.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (before(placed[mid]!.connection, c)) lo = mid + 1;
        else hi = mid;
      }
      from = Math.min(from, lo);
    }
    if (from === placed.length && placed.length === connections.length && this.rowIndexes.size > 0) return this.rowIndexes;

    // Undo the placements from `from` on: their items are at the end of their rows.
    const changedSlots = new Set<number>();
    for (let p = from; p < placed.length; p++) {
      const x = placed[p]!;
      const slot = this.slots[x.slot]!;
      if (slot.length > x.itemStart) slot.length = x.itemStart;
      changedSlots.add(x.slot);
      this.placedAt[x.connection.id] = -1;
    }
    placed.length = from;
    for (const [host, p] of this.firstPlaced) if (p >= from) this.firstPlaced.delete(host);
    const rest = connections.filter((c) => (this.placedAt[c.id] ?? -1) < 0).sort((a, b) => a.startUs - b.startUs || a.id - b.id);
    // Each row's holder as it was after the placements kept.
    const holders: Array<{ closed: boolean; lastMs: number } | undefined> = [];
    let unknown = this.slots.length;
    for (let p = from - 1; p >= 0 && unknown > 0; p--) {
      const x = placed[p]!;
      if (holders[x.slot] === undefined) {
        holders[x.slot] = { closed: x.closed, lastMs: x.lastMs };
        unknown--;
      }
    }

    for (const c of rest) {
      // The transitions of the connection, in the order the model made its bands (host time, then log position).
      const transitions = this.builder.transitionsOf(c);
      let h = this.hostIndex.get(c.host);
      if (h === undefined) this.hostIndex.set(c.host, (h = this.hostIndex.size));
      if (!this.firstPlaced.has(c.host)) this.firstPlaced.set(c.host, placed.length);
      const startMs = c.startUs / 1000;
      let row = -1;
      let idlest = 0;
      let idlestMs = Infinity;
      for (let r = 0; r < ROWS && row < 0; r++) {
        const holder = holders[h * ROWS + r];
        if (!holder || (holder.closed && holder.lastMs <= startMs)) row = r;
        else if (holder.lastMs < idlestMs) {
          idlest = r;
          idlestMs = holder.lastMs;
        }
      }
      if (row < 0) row = idlest;
      const slot = h * ROWS + row;
      const conn = `${c.local} ${c.remote}`;
      const list = (this.slots[slot] ??= []);
      const itemStart = list.length;
      let k = 0;
      let lastMs = startMs;
      let closed = false;
      for (const t of transitions) {
        const atMs = t.atUs / 1000;
        lastMs = atMs;
        if (t.state === 'CLOSED') {
          closed = true;
          list.push({ host: c.host, conn, row, state: 'CLOSED', startMs: atMs, endMs: atMs, hostTimeUs: t.hostTimeUs, seen: t.seen });
          continue;
        }
        const band = c.bands[k++];
        if (!band) continue;
        list.push({ host: c.host, conn, row, state: band.state, startMs: band.startUs / 1000, endMs: band.open ? Infinity : band.endUs / 1000, hostTimeUs: band.hostTimeUs, seen: t.seen });
      }
      holders[slot] = { closed, lastMs };
      this.placedAt[c.id] = placed.length;
      placed.push({ connection: c, slot, itemStart, closed, lastMs });
      changedSlots.add(slot);
    }

    // Rows in the order a placement of everything makes them: hosts by their first connection, rows in order.
    const out = new Map<string, RowIndex>();
    const hosts = [...this.firstPlaced].sort((a, b) => a[1] - b[1]).map(([host]) => host);
    for (const host of hosts) {
      const h = this.hostIndex.get(host)!;
      for (let r = 0; r < ROWS; r++) {
        const slot = h * ROWS + r;
        const key = `${host}/${r}`;
        const previous = this.rowIndexes.get(key);
        if (previous && !changedSlots.has(slot)) {
          out.set(key, previous);
          continue;
        }
        const list = this.slots[slot];
        if (!list || list.length === 0) continue;
        let sorted = true;
        for (let i = 1; i < list.length && sorted; i++) sorted = list[i - 1]!.startMs <= list[i]!.startMs;
        const items = sorted ? list.slice() : list.slice().sort((a, b) => a.startMs - b.startMs);
        const positions = new Array<number>(items.length);
        for (let i = 0; i < items.length; i++) positions[i] = i;
        out.set(key, {
          items,
          starts: Float64Array.from(items, (b) => b.startMs),
          index: new IntervalIndex(positions, (i) => items[i]!.startMs, (i) => items[i]!.endMs),
        });
      }
    }
    this.rowIndexes = out;
    return out;
  }

  private arrows(shared: SharedModel): PacketArrow[] {
    const lanes = this.hostList;
    // An arrow seen on one side only is drawn to the other lane: new lanes can change that.
    if (this.arrowLanes !== lanes.join('\n')) {
      this.arrowLanes = lanes.join('\n');
      this.arrowOf = new WeakMap();
      this.arrowsFor = undefined;
    }
    const previous = this.arrowsFor;
    const arrows = shared.packets.map((p, i) => {
      // Mostly the same packet at the same place as in the last build (the model's list grows at the end).
      const known = previous?.packets[i] === p ? previous.arrows[i] : this.arrowOf.get(p);
      if (known) {
        // Its place in the list and its number move as packets sent before it come.
        known.id = i + 1;
        known.number = p.number;
        return known;
      }
      const from = p.from?.host ?? (p.dropped && p.dropped.host !== p.to?.host ? p.dropped.host : undefined) ?? lanes.find((h) => h !== p.to?.host) ?? '?';
      // Seen leaving only: it was headed for the other lane, as the exported figure draws it.
      const to = p.to?.host ?? (p.dropped && p.dropped.host !== from ? p.dropped.host : lanes.find((h) => h !== from));
      const arrow: PacketArrow = {
        id: i + 1,
        from,
        to,
        number: p.number,
        sentMs: p.from ? p.from.atUs / 1000 : undefined,
        recvMs: p.to ? p.to.atUs / 1000 : undefined,
        flags: p.flags.join(','),
        seq: p.seq,
        ack: p.ack,
        length: p.length,
        conn: `${p.src} ${p.dst}`,
      };
      if (p.dropped) arrow.dropped = { atMs: p.dropped.atUs / 1000, where: p.dropped.host === from ? 'sender' : 'receiver' };
      this.arrowOf.set(p, arrow);
      return arrow;
    });
    // A copy: the model changes its list in place.
    this.arrowsFor = { packets: shared.packets.slice(), arrows };
    return arrows;
  }

  private presentMarkers(shared: SharedModel): Marker[] {
    const out: Marker[] = [];
    const firewallCommands = new Set(shared.markers.flatMap((m) => (m.kind === 'firewall' ? [`${m.host} ${m.text}`] : [])));
    for (const m of shared.markers) {
      const atMs = m.atUs / 1000;
      if (m.kind === 'command') {
        // A firewall step logs its command too: one mark, the firewall's, is enough.
        if (!firewallCommands.has(`${m.host} ${m.text}`)) out.push({ kind: 'command', host: m.host, atMs, text: m.text });
      } else if (m.kind === 'ctrl-c') {
        // Logged once the key is sent, which can be after the state it causes: at the step's start.
        const stepMs = m.by === 'step' ? this.ctrlCAtStep.get(`${m.eventSeq}|${m.atUs}`) : undefined;
        out.push({ kind: 'ctrl-c', host: m.host, atMs: stepMs ?? atMs, text: 'Ctrl-C' });
      } else if (m.kind === 'firewall') {
        const summary = firewallSummary(m.text);
        // TCP Lab's own NFLOG rule (it logs what the DROP after it eats, for the capture) is not the experiment's.
        if (!summary.startsWith('NFLOG ')) out.push({ kind: 'firewall', host: m.host, atMs, text: `firewall ${m.action === 'add' ? '+' : '−'} ${summary}` });
      } else if (m.status === 'disconnected' || m.status === 'failed' || m.status === 'reconnecting') {
        out.push({ kind: 'connection', host: m.host, atMs, text: `connection ${m.status}${m.text !== m.status ? `: ${m.text}` : ''}` });
      }
    }
    // Stable: a step's Ctrl-C moved back to its step keeps its place among marks at the same instant.
    return out.map((m, i) => ({ m, i })).sort((a, b) => a.m.atMs - b.m.atMs || a.i - b.i).map(({ m }) => m);
  }

  // ---------------------------------------------------------------------------------------------
  // Queries

  /**
   * Each host's clock offset in effect, as the model places its events with it: the latest SSH
   * estimate minus what the packets added (the figure's lane headers show the same).
   */
  get offsets(): ReadonlyMap<string, { offsetMs: number; rttMs: number }> {
    return this.current().offsets;
  }

  get packetCount(): number {
    return this.current().packets.length;
  }

  extent(): { fromMs: number; toMs: number } | undefined {
    const shared = this.current().shared;
    const placed = shared.startUs !== 0 || shared.endUs !== 0;
    const fromMs = Math.min(this.minMs, placed ? shared.startUs / 1000 : Infinity);
    const toMs = Math.max(this.maxMs, placed ? shared.endUs / 1000 : -Infinity);
    return fromMs <= toMs ? { fromMs, toMs } : undefined;
  }

  /** Where open bands end: the latest time anything was placed. */
  get endMs(): number {
    return this.extent()?.toMs ?? -Infinity;
  }

  private row(host: string, row: number): RowIndex | undefined {
    return this.current().rows.get(`${host}/${row}`);
  }

  bands(host: string, row: number, fromMs: number, toMs: number, visit: (band: Band, index: number) => boolean | void): void {
    const index = this.row(host, row);
    if (!index) return;
    for (const i of index.index.query(fromMs, toMs)) {
      if (visit(index.items[i]!, i) === false) break;
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
    const b = this.current();
    return { list: b.packets, from: lowerBound(b.packetFirst, fromMs - b.maxFlightMs), to: lowerBound(b.packetFirst, toMs + 1e-9) };
  }

  markers(fromMs: number, toMs: number): { list: readonly Marker[]; from: number; to: number } {
    const b = this.current();
    return { list: b.markers, from: lowerBound(b.markerTimes, fromMs), to: lowerBound(b.markerTimes, toMs + 1e-9) };
  }

  /** Every band (CLOSED marks included) in order of axis time (for tests and the accessible summary). */
  allBands(): Band[] {
    return [...this.current().rows.values()].flatMap((r) => r.items).sort((a, b) => a.startMs - b.startMs);
  }

  /** The first `n` bands in order of axis time (merging the rows' sorted lists). */
  firstBands(n: number): Band[] {
    const rows = [...this.current().rows.values()];
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
    return this.current().packets;
  }

  allMarkers(): readonly Marker[] {
    return this.current().markers;
  }
}

/** Whether the shared model (or what is drawn from it) depends on this event; pane output and snapshots do not. */
function changesModel(event: LabEvent): boolean {
  switch (event.type) {
    case 'session-start':
    case 'clock':
    case 'transition':
    case 'packet':
    case 'command':
    case 'firewall':
    case 'connection':
      return true;
    case 'pane-input':
      return event.data.includes('\x03');
    default:
      return false;
  }
}
