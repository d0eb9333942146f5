/**
 * Figure (b): the timeline of a run, drawn like the article's sequence figures: time runs down
 * the page, one lane per host (H1 left, H2 right), each lane a band coloured by the state the
 * host's connection is in (active-close states purple, passive-close orange, as in the article's
 * Figure 2), with the state's name where it begins; packets as arrows from the sender's lane to
 * the receiver's, numbered as the article numbers them, `(1)` where a packet leaves and `(1')`
 * where it arrives, with its flags (and relative seq/ack) along the arrow; a packet the firewall
 * dropped ends in a cross where it died. Each host's commands, Ctrl-C, firewall changes and
 * connection losses are beside its lane. Rows follow the order of events, not a linear scale: a
 * state that lasts 150 µs gets a row like one that lasts a minute; the time column gives every
 * row's time (microseconds, on the controller's axis in the hosts' zone), and each lane's header
 * the clock offset its host times were corrected by.
 *
 * The input comes from the timeline model (shared/src/timeline.ts): its clock-corrected axis, its
 * transitions, packets (matched across hosts and numbered there, so the figure and the app's
 * timeline view give a packet the same number) and markers.
 */
import type { LabEvent } from '../events';
import type { TcpFlag } from '../pcap';
import type { Seen, TcpState } from '../tcp-states';
import { buildTimeline, type TimelineModel, type TimelinePacket, type TimelineTransition } from '../timeline';
import { diagramNode } from '../state-diagram';
import { timeOfDay } from './instant';
import { type FigureTheme, figureTheme, hostColor } from './theme';
import { escapeXml, num, svgDocument, textWidth } from './svg';

export type TimelineMarkKind = 'command' | 'ctrl-c' | 'firewall' | 'connection';

export type TimelineRow =
  | { kind: 'state'; atMs: number; host: string; state: TcpState; seen: Seen; /** Drawn after the receipt that caused it (see CAUSE_WINDOW_US). */ afterReceipt?: boolean }
  | { kind: TimelineMarkKind; atMs: number; host: string; text: string }
  | TimelinePacketRow;

/** One end of a packet (index into `packets`): where it left, arrived, or was dropped. */
export interface TimelinePacketRow {
  kind: 'send' | 'receive' | 'drop';
  atMs: number;
  host: string;
  packet: number;
}

const isPacketRow = (row: TimelineRow): row is TimelinePacketRow => row.kind === 'send' || row.kind === 'receive' || row.kind === 'drop';

export interface TimelinePacketArrow {
  number: number;
  /** `(n)` and `(n')`, as the model numbers them. */
  label: string;
  receiptLabel: string;
  /** The lanes it goes between (the receiver is the other lane when it was never seen arriving). */
  from: string;
  to: string;
  /** Flags in the order people write them: SYN, FIN, RST, PSH, ACK, ... (`FIN,ACK`). */
  flags: string;
  /** Relative seq/ack (from each direction's SYN, as Wireshark shows them) and payload length. */
  detail: string;
  seen: { send: boolean; receive: boolean };
  /** The host whose firewall dropped it; `dropped.onTheWayOut`: at the sender (OUTPUT), before it left. */
  dropped?: { host: string; onTheWayOut: boolean };
}

export interface TimelineClock {
  host: string;
  /** The offset the host's times were corrected by (host minus controller, ms): the SSH estimate refined by the packets. */
  offsetMs: number;
  /** The SSH estimate (the latest), and what the packets changed it by (ms). */
  estimateMs: number;
  packetsMs: number;
  /** Whether the log had an estimate at all (without one the host's times are used as they are). */
  estimated: boolean;
  /** Whether packets seen on both hosts could check the estimate. */
  checkedByPackets: boolean;
}

export interface TimelineInput {
  hosts: string[];
  clocks: TimelineClock[];
  fromMs: number;
  toMs: number;
  utcOffsetMin: number;
  /** Each host's state at `fromMs` (carried into the range), if any. */
  initial: Record<string, TcpState | undefined>;
  /** In the order they are drawn: time order, except a state drawn after the receipt that caused it. */
  rows: TimelineRow[];
  packets: TimelinePacketArrow[];
}

/**
 * An iptables command in a few words, as a student reads it: `DROP OUTPUT dport 7777 [FIN]`
 * (target, chain, ports, TCP flags set); the command as typed is in the window figure.
 */
export function firewallSummary(command: string): string {
  const words = command.split(/\s+/);
  const after = (flag: string): string | undefined => {
    const i = words.indexOf(flag);
    return i >= 0 ? words[i + 1] : undefined;
  };
  const chain = after('-A') ?? after('-I') ?? after('-D');
  const target = after('-j');
  if (!chain || !target) return command;
  const flagsAt = words.indexOf('--tcp-flags');
  const parts = [target, chain];
  const dport = after('--dport');
  const sport = after('--sport');
  if (dport) parts.push(`dport ${dport}`);
  if (sport) parts.push(`sport ${sport}`);
  if (flagsAt >= 0 && words[flagsAt + 2]) parts.push(`[${words[flagsAt + 2]}]`);
  return parts.join(' ');
}

const FLAG_ORDER: readonly TcpFlag[] = ['SYN', 'FIN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'];

export function flagText(flags: readonly TcpFlag[]): string {
  return [...flags].sort((a, b) => FLAG_ORDER.indexOf(a) - FLAG_ORDER.indexOf(b)).join(',') || 'none';
}

/**
 * How far (µs) before the receipt of the packet that causes it a state may be placed on the axis
 * and still be drawn after that receipt. Transitions are timed by the kernel tracer, packets by
 * tcpdump. Sessions traced with the `tai` or `mono-sampled` trace clock (shared/src/trace-parser.ts,
 * TraceClockMethod; the tracepoint capability says which) are exact: a state is 4-85 µs after
 * its receipt (test/lab/trace-accuracy.test.ts) and this never applies. Sessions traced through
 * plain markers (older recordings, hosts without either) map trace times early by the markers'
 * write latency, 60-130 µs measured (up to ~230 µs in bench:capture), so on one host
 * "ESTABLISHED" can be stamped before the SYN,ACK that caused it. For those the figure draws the
 * state after the receipt (as the article does: "when H1 receives (2'), it enters FIN_WAIT2") and
 * keeps its measured time in the time column. 300 µs covers that latency with room and no more.
 */
export const CAUSE_WINDOW_US = 300;

/** The flags of a received segment that move a connection from `from` into `state`, if one does. */
function causedByReceipt(state: TcpState, from: TcpState | undefined): ((flags: readonly TcpFlag[]) => boolean) | undefined {
  const has = (flags: readonly TcpFlag[], f: TcpFlag): boolean => flags.includes(f);
  const pureAck = (f: readonly TcpFlag[]): boolean => has(f, 'ACK') && !has(f, 'SYN') && !has(f, 'FIN') && !has(f, 'RST');
  switch (state) {
    case 'SYN_RECV':
      return (f) => has(f, 'SYN') && !has(f, 'ACK');
    case 'ESTABLISHED':
      if (from === 'SYN_SENT') return (f) => has(f, 'SYN') && has(f, 'ACK');
      if (from === 'SYN_RECV') return (f) => has(f, 'ACK') && !has(f, 'SYN');
      return (f) => has(f, 'ACK') && !has(f, 'FIN');
    case 'FIN_WAIT2':
      return pureAck;
    case 'CLOSE_WAIT':
    case 'CLOSING':
      return (f) => has(f, 'FIN');
    case 'TIME_WAIT':
      return from === 'CLOSING' ? (f) => has(f, 'ACK') : (f) => has(f, 'FIN');
    case 'CLOSED':
      return from === 'LAST_ACK' ? (f) => has(f, 'ACK') : undefined;
    default:
      return undefined;
  }
}

/** Per direction (`src>dst`), the sequence number seq/ack are counted from: its SYN's, else its first segment's. */
function initialSequenceNumbers(packets: readonly TimelinePacket[]): Map<string, number> {
  const isn = new Map<string, number>();
  const bySend = [...packets].sort((a, b) => a.number - b.number);
  for (const p of bySend) if (p.flags.includes('SYN') && !isn.has(`${p.src}>${p.dst}`)) isn.set(`${p.src}>${p.dst}`, p.seq);
  for (const p of bySend) if (!isn.has(`${p.src}>${p.dst}`)) isn.set(`${p.src}>${p.dst}`, p.seq);
  return isn;
}

function packetDetail(p: TimelinePacket, isn: Map<string, number>): string {
  const parts = [`seq=${(p.seq - (isn.get(`${p.src}>${p.dst}`) ?? p.seq)) >>> 0}`];
  if (p.flags.includes('ACK')) parts.push(`ack=${(p.ack - (isn.get(`${p.dst}>${p.src}`) ?? p.ack)) >>> 0}`);
  if (p.length > 0) parts.push(`len=${p.length}`);
  return parts.join(' ');
}

export interface TimelineRange {
  hosts: string[];
  fromMs: number;
  toMs: number;
  utcOffsetMin: number;
}

/** The figure's input from a session log: builds the timeline model and takes the range from it. */
export function timelineFromEvents(events: readonly LabEvent[], range: TimelineRange): TimelineInput {
  return timelineFromModel(buildTimeline(events), events, range);
}

/** Sort ranks for rows at the same time: typed marks first, then packets leaving, arriving, then states. */
const RANK: Record<TimelineRow['kind'], number> = { command: 0, 'ctrl-c': 0, firewall: 0, connection: 0, send: 1, receive: 2, drop: 2, state: 3 };

export function timelineFromModel(model: TimelineModel, events: readonly LabEvent[], range: TimelineRange): TimelineInput {
  const fromUs = range.fromMs * 1000;
  const toUs = range.toMs * 1000;
  const hosts = range.hosts;
  const matched = new Set(model.packets.flatMap((p) => (p.from && p.to ? [p.from.host, p.to.host] : [])));
  const clocks: TimelineClock[] = hosts.map((host) => {
    const lane = model.lanes.find((l) => l.host === host);
    const estimateMs = lane?.offsetMs ?? 0;
    const packetsMs = lane ? -lane.correctionUs / 1000 : 0;
    return { host, offsetMs: estimateMs + packetsMs, estimateMs, packetsMs, estimated: (lane?.offsets.length ?? 0) > 0, checkedByPackets: matched.has(host) };
  });

  // Each lane follows one connection, as the state diagram does: the host's latest to begin by the
  // end of the range (an earlier run's TIME_WAIT socket is not this experiment's), and its
  // listener until that connection begins.
  const isListener = (id: number): boolean => model.connections[id]!.remote.endsWith(':*');
  const main = new Map<string, { id: number; startUs: number }>();
  for (const c of model.connections) {
    if (c.startUs > toUs || isListener(c.id) || !hosts.includes(c.host)) continue;
    const current = main.get(c.host);
    if (!current || c.startUs >= current.startUs) main.set(c.host, { id: c.id, startUs: c.startUs });
  }
  const shown = (t: TimelineTransition): boolean => {
    const connection = main.get(t.host);
    if (!hosts.includes(t.host)) return false;
    if (!connection) return isListener(t.connection);
    return isListener(t.connection) ? t.atUs < connection.startUs : t.connection === connection.id;
  };

  const initial: Record<string, TcpState | undefined> = {};
  for (const t of model.transitions) if (t.atUs < fromUs && shown(t)) initial[t.host] = t.state;

  type Placed = { row: TimelineRow; keyUs: number; rank: number; order: number };
  const placed: Placed[] = [];
  const place = (row: TimelineRow, atUs: number): void => {
    placed.push({ row, keyUs: atUs, rank: RANK[row.kind], order: placed.length });
  };

  // Packets: those that leave (or, never seen leaving, arrive) within the range, between the lanes.
  const view = model.visible(fromUs, toUs);
  const isn = initialSequenceNumbers(model.packets);
  const packets: TimelinePacketArrow[] = [];
  const receipts: Array<{ host: string; src: string; dst: string; flags: readonly TcpFlag[]; atUs: number; row: TimelineRow }> = [];
  const inRange = [...view.packets].filter((p) => p.startUs >= fromUs).sort((a, b) => a.number - b.number);
  for (const p of inRange) {
    const sender = p.from?.host ?? hosts.find((h) => h !== p.to?.host);
    const receiver = p.to?.host ?? hosts.find((h) => h !== sender);
    if (!sender || !receiver || !hosts.includes(sender) || !hosts.includes(receiver) || sender === receiver) continue;
    const index = packets.length;
    const onTheWayOut = p.dropped !== undefined && p.from !== undefined && p.dropped.eventSeq === p.from.eventSeq;
    packets.push({
      number: p.number,
      label: p.label,
      receiptLabel: p.receiptLabel,
      from: sender,
      to: receiver,
      flags: flagText(p.flags),
      detail: packetDetail(p, isn),
      seen: { send: p.from !== undefined, receive: p.to !== undefined },
      ...(p.dropped ? { dropped: { host: p.dropped.host, onTheWayOut } } : {}),
    });
    if (p.from) place({ kind: 'send', atMs: p.from.atUs / 1000, host: p.from.host, packet: index }, p.from.atUs);
    if (p.dropped && !onTheWayOut) place({ kind: 'drop', atMs: p.dropped.atUs / 1000, host: p.dropped.host, packet: index }, p.dropped.atUs);
    else if (p.to) {
      const row: TimelineRow = { kind: 'receive', atMs: p.to.atUs / 1000, host: p.to.host, packet: index };
      place(row, p.to.atUs);
      receipts.push({ host: p.to.host, src: p.src, dst: p.dst, flags: p.flags, atUs: p.to.atUs, row });
    }
  }

  // States, each drawn after the receipt that caused it when the tracer stamped it just before.
  for (const t of model.transitions) {
    if (t.atUs < fromUs || t.atUs > toUs || !shown(t)) continue;
    const connection = model.connections[t.connection]!;
    const cause = causedByReceipt(t.state, t.from);
    let keyUs = t.atUs;
    let afterReceipt = false;
    if (cause) {
      const candidates = receipts.filter((r) => r.host === t.host && r.src === connection.remote && r.dst === connection.local && cause(r.flags));
      const before = candidates.some((r) => r.atUs <= t.atUs && r.atUs >= t.atUs - CAUSE_WINDOW_US);
      const next = candidates.filter((r) => r.atUs > t.atUs && r.atUs <= t.atUs + CAUSE_WINDOW_US).sort((a, b) => a.atUs - b.atUs)[0];
      if (!before && next) {
        keyUs = next.atUs;
        afterReceipt = true;
      }
    }
    place({ kind: 'state', atMs: t.atUs / 1000, host: t.host, state: t.state, seen: t.seen, ...(afterReceipt ? { afterReceipt } : {}) }, keyUs);
  }

  // Markers. A step's Ctrl-C is logged once the key is sent, which can be after the state it
  // causes (the clocks agree only to a fraction of a millisecond): it is placed at the step's start.
  const stepStarts = events.filter((e) => e.type === 'step' && e.phase === 'start').map((e) => ({ seq: e.seq, t: e.t }));
  const firewallCommands = new Set(view.markers.flatMap((m) => (m.kind === 'firewall' ? [`${m.host} ${m.text}`] : [])));
  for (const m of view.markers) {
    if (!hosts.includes(m.host)) continue;
    const atMs = m.atUs / 1000;
    if (m.kind === 'command') {
      // A firewall step logs its command too: one mark, the firewall's, is enough.
      if (!firewallCommands.has(`${m.host} ${m.text}`)) place({ kind: 'command', atMs, host: m.host, text: m.text }, m.atUs);
    } else if (m.kind === 'ctrl-c') {
      const step = m.by === 'step' ? stepStarts.filter((s) => s.seq < m.eventSeq).at(-1) : undefined;
      const at = step ? step.t * 1000 : m.atUs;
      place({ kind: 'ctrl-c', atMs: at / 1000, host: m.host, text: 'Ctrl-C' }, at);
    } else if (m.kind === 'firewall') {
      const summary = firewallSummary(m.text);
      // TCP Lab's own NFLOG rule (it logs what the DROP after it eats, for the capture) is not the experiment's.
      if (summary.startsWith('NFLOG ')) continue;
      place({ kind: 'firewall', atMs, host: m.host, text: `firewall ${m.action === 'add' ? '+' : '−'} ${summary}` }, m.atUs);
    } else if (m.status === 'disconnected' || m.status === 'failed' || m.status === 'reconnecting') {
      place({ kind: 'connection', atMs, host: m.host, text: `connection ${m.status}${m.text !== m.status ? `: ${m.text}` : ''}` }, m.atUs);
    }
  }

  placed.sort((a, b) => a.keyUs - b.keyUs || a.rank - b.rank || a.order - b.order);
  return { hosts, clocks, fromMs: range.fromMs, toMs: range.toMs, utcOffsetMin: range.utcOffsetMin, initial, rows: placed.map((p) => p.row), packets };
}

export interface TimelineOptions {
  theme?: FigureTheme;
  title?: string;
  /** Relative seq/ack and length along each arrow (default true); false: flags only, as the article draws them. */
  seqAck?: boolean;
}

const ROW_H = 21;
const HEADER_H = 92;
const TIME_COL = 112;
const NOTE_W = 256;
const LANE_W = 14;
const CENTER_W = 300;
const MARGIN = 14;
const CROSS = 5;

function stateColor(state: TcpState, theme: FigureTheme): { fill: string; stroke: string; text: string } {
  if (state === 'CLOSED') return { fill: 'none', stroke: theme.rule, text: theme.muted };
  const path = diagramNode(state).path;
  if (path === 'active') return { fill: theme.active, stroke: theme.active, text: theme.active };
  if (path === 'passive') return { fill: theme.passive, stroke: theme.passive, text: theme.passive };
  return { fill: theme.muted, stroke: theme.muted, text: theme.text };
}

function ellipsize(text: string, size: number, width: number): string {
  const max = Math.floor(width / (size * 0.6));
  return [...text].length <= max ? text : `${[...text].slice(0, max - 1).join('')}…`;
}

/** `+0.100 ms`, `−0.023 ms` (a real minus sign, as printed). */
function signedMs(ms: number): string {
  const text = Math.abs(ms).toFixed(3);
  return `${ms < 0 && text !== '0.000' ? '−' : '+'}${text} ms`;
}

function cross(x: number, y: number, color: string, className = 'drop'): string {
  return `<path class="${className}" d="M${num(x - CROSS)} ${num(y - CROSS)}L${num(x + CROSS)} ${num(y + CROSS)}M${num(x + CROSS)} ${num(y - CROSS)}L${num(x - CROSS)} ${num(y + CROSS)}" stroke="${color}" stroke-width="2.2" stroke-linecap="round"/>`;
}

function arrowHead(x: number, y: number, angle: number, color: string): string {
  const len = 8;
  const half = 3.6;
  const [c, s] = [Math.cos(angle), Math.sin(angle)];
  const bx = x - c * len;
  const by = y - s * len;
  return `<path d="M${num(x)} ${num(y)}L${num(bx - s * half)} ${num(by + c * half)}L${num(bx + s * half)} ${num(by - c * half)}Z" fill="${color}"/>`;
}

export function renderTimelineSvg(input: TimelineInput, options: TimelineOptions = {}): string {
  const theme = options.theme ?? figureTheme();
  const seqAck = options.seqAck ?? true;
  const hosts = input.hosts.slice(0, 2); // drawn as two lanes; a third host would need a wider page
  const laneX = [MARGIN + TIME_COL + NOTE_W, MARGIN + TIME_COL + NOTE_W + LANE_W + CENTER_W];
  const width = laneX[1]! + LANE_W + NOTE_W + MARGIN;
  const rows = input.rows.filter((r) => hosts.includes(r.host));
  const top = HEADER_H;
  const rowY = (i: number): number => top + i * ROW_H + ROW_H / 2;
  const bottom = top + Math.max(rows.length, 1) * ROW_H;
  const hasPackets = rows.some(isPacketRow);
  const reordered = rows.some((r) => r.kind === 'state' && r.afterReceipt);
  const legendLines = 2 + (hasPackets ? 1 : 0) + (reordered ? 1 : 0);
  const height = bottom + 22 + legendLines * 17;
  const laneIndex = (host: string): number => hosts.indexOf(host);
  const center = (h: number): number => laneX[h]! + LANE_W / 2;
  /** The lane's edge facing the other lane. */
  const inner = (h: number): number => (h === 0 ? laneX[0]! + LANE_W : laneX[1]!);
  /** Text beside a lane on its outer side (H1's left, H2's right). */
  const outerText = (h: number): { x: number; anchor: string } => (h === 0 ? { x: laneX[0]! - 8, anchor: 'end' } : { x: laneX[1]! + LANE_W + 8, anchor: 'start' });

  const out: string[] = [];
  out.push(`<rect width="${width}" height="${height}" fill="${theme.page}"/>`);
  const title = options.title ?? `Timeline ${timeOfDay(input.fromMs, input.utcOffsetMin)} – ${timeOfDay(input.toMs, input.utcOffsetMin)}`;
  out.push(`<text x="${MARGIN}" y="22" font-size="14" font-weight="700" fill="${theme.text}">${escapeXml(title)}</text>`);
  out.push(`<text x="${MARGIN}" y="${HEADER_H - 8}" font-size="10" fill="${theme.muted}">time (µs)</text>`);

  // Row guides and times.
  rows.forEach((row, i) => {
    const y = rowY(i);
    out.push(`<line x1="${MARGIN}" y1="${num(y + ROW_H / 2)}" x2="${width - MARGIN}" y2="${num(y + ROW_H / 2)}" stroke="${theme.rule}" stroke-width="0.5" stroke-dasharray="2 3"/>`);
    out.push(`<text x="${MARGIN}" y="${num(y + 4)}" font-size="10.5" fill="${theme.muted}">${timeOfDay(row.atMs, input.utcOffsetMin, 6)}</text>`);
  });

  hosts.forEach((host, h) => {
    const x = laneX[h]!;
    const color = hostColor(theme, h);
    out.push(`<text x="${num(center(h))}" y="46" font-size="14" font-weight="700" fill="${color}" text-anchor="middle">${escapeXml(host)}</text>`);
    const clock = input.clocks.find((c) => c.host === host);
    if (clock) {
      const main = clock.estimated ? `clock offset ${signedMs(clock.offsetMs)}` : 'clock offset unknown (not corrected)';
      const detail = !clock.estimated
        ? ''
        : !clock.checkedByPackets
          ? '(SSH estimate; no packets to check it)'
          : clock.packetsMs === 0
            ? '(SSH estimate; the packets agree)'
            : `(SSH ${signedMs(clock.estimateMs)}, packets ${signedMs(clock.packetsMs)})`;
      out.push(`<text class="clock" x="${num(center(h))}" y="61" font-size="10.5" fill="${theme.text}" text-anchor="middle">${escapeXml(main)}</text>`);
      if (detail) out.push(`<text x="${num(center(h))}" y="74" font-size="9.5" fill="${theme.muted}" text-anchor="middle">${escapeXml(detail)}</text>`);
    }
    out.push(`<line x1="${num(center(h))}" y1="${HEADER_H - 10}" x2="${num(center(h))}" y2="${bottom + 8}" stroke="${color}" stroke-width="1"/>`);
    // State bands: from each state's row to the next state's row of this host.
    const segments: Array<{ state: TcpState; from: number; to: number }> = [];
    let current = input.initial[host];
    let from = top;
    rows.forEach((row, i) => {
      if (row.kind !== 'state' || row.host !== host) return;
      const y = rowY(i);
      if (current) segments.push({ state: current, from, to: y });
      current = row.state;
      from = y;
    });
    if (current) segments.push({ state: current, from, to: bottom });
    for (const seg of segments) {
      const c = stateColor(seg.state, theme);
      if (seg.to > seg.from && seg.state !== 'CLOSED') {
        out.push(`<rect x="${x}" y="${num(seg.from)}" width="${LANE_W}" height="${num(seg.to - seg.from)}" fill="${c.fill}" fill-opacity="0.28" stroke="${c.stroke}" stroke-width="1"/>`);
      }
    }
    const side = outerText(h);
    // State names where each state begins, on the lane's outer side (as the article writes them).
    rows.forEach((row, i) => {
      if (row.kind !== 'state' || row.host !== host) return;
      const y = rowY(i);
      const c = stateColor(row.state, theme);
      const inferred = row.seen !== 'trace' ? ` (${row.seen})` : '';
      out.push(`<circle cx="${num(center(h))}" cy="${num(y)}" r="3.2" fill="${c.stroke}" stroke="${theme.page}" stroke-width="1"/>`);
      out.push(`<text class="state" x="${num(side.x)}" y="${num(y + 4)}" font-size="11.5" font-weight="700" fill="${c.text}" text-anchor="${side.anchor}">${escapeXml(row.state + inferred)}${row.afterReceipt ? '*' : ''}</text>`);
    });
    if (input.initial[host] !== undefined && !rows.some((r) => r.kind === 'state' && r.host === host)) {
      const c = stateColor(input.initial[host]!, theme);
      out.push(`<text class="state" x="${num(side.x)}" y="${top + 14}" font-size="11.5" font-weight="700" fill="${c.text}" text-anchor="${side.anchor}">${escapeXml(input.initial[host]!)}</text>`);
    }
    // Marks and packet numbers beside the lane, on its outer side.
    rows.forEach((row, i) => {
      if (row.kind === 'state' || row.host !== host) return;
      const y = rowY(i);
      if (isPacketRow(row)) {
        const packet = input.packets[row.packet]!;
        const label = row.kind === 'receive' ? packet.receiptLabel : row.kind === 'send' ? packet.label : `${packet.label} dropped`;
        const fill = row.kind === 'drop' || (row.kind === 'send' && packet.dropped?.onTheWayOut) ? theme.danger : theme.text;
        out.push(`<text class="packet-label" x="${num(side.x)}" y="${num(y + 4)}" font-size="11.5" font-weight="700" fill="${fill}" text-anchor="${side.anchor}">${escapeXml(label)}</text>`);
        return;
      }
      const fill = row.kind === 'command' ? theme.text : theme.danger;
      const text = row.kind === 'command' ? `$ ${row.text}` : row.text;
      const shown = ellipsize(text, 10.5, NOTE_W - 10);
      out.push(`<line x1="${num(h === 0 ? x - 5 : x + LANE_W)}" y1="${num(y)}" x2="${num(h === 0 ? x : x + LANE_W + 5)}" y2="${num(y)}" stroke="${fill}" stroke-width="1.5"/>`);
      out.push(`<text x="${num(side.x)}" y="${num(y + 4)}" font-size="10.5" fill="${fill}"${row.kind === 'command' ? '' : ' font-weight="700"'} text-anchor="${side.anchor}">${escapeXml(shown)}</text>`);
    });
  });

  // Packet arrows, from the sender's lane to the receiver's, slanted down to the row of receipt.
  const ends = new Map<number, { send?: number; end?: number }>();
  rows.forEach((row, i) => {
    if (!isPacketRow(row)) return;
    const e = ends.get(row.packet) ?? {};
    if (row.kind === 'send') e.send = rowY(i);
    else e.end = rowY(i);
    ends.set(row.packet, e);
  });
  const arrows: string[] = [];
  for (const [index, { send, end }] of ends) {
    const packet = input.packets[index]!;
    const s = laneIndex(packet.from);
    const r = laneIndex(packet.to);
    if (s < 0 || r < 0) continue;
    const dir = r > s ? 1 : -1;
    const x1 = inner(s) + dir * 2;
    const label = seqAck ? `${packet.flags} ${packet.detail}` : packet.flags;
    if (packet.dropped?.onTheWayOut && send !== undefined) {
      // Died in the sender's firewall: a short arrow ending in a cross beside the sender's lane.
      const x2 = x1 + dir * CENTER_W * 0.09;
      const y2 = send + ROW_H * 0.35;
      arrows.push(`<g class="packet dropped" data-number="${packet.number}">`);
      arrows.push(`<line x1="${num(x1)}" y1="${num(send)}" x2="${num(x2)}" y2="${num(y2)}" stroke="${theme.danger}" stroke-width="1.4"/>`);
      arrows.push(cross(x2, y2, theme.danger));
      const tx = x2 + dir * (CROSS + 6);
      const text = ellipsize(`${label} · dropped by ${packet.dropped.host}`, 10.5, Math.abs(inner(r) - tx) - 4);
      arrows.push(`<text x="${num(tx)}" y="${num(y2 + 4)}" font-size="10.5" fill="${theme.danger}" stroke="${theme.page}" stroke-width="3" stroke-linejoin="round" paint-order="stroke" text-anchor="${dir > 0 ? 'start' : 'end'}">${escapeXml(text)}</text>`);
      arrows.push('</g>');
      continue;
    }
    const x2 = inner(r) - dir * 2;
    const y1 = send ?? (end ?? 0) - ROW_H;
    const y2 = end ?? y1 + ROW_H;
    const color = packet.dropped ? theme.danger : theme.text;
    const dashed = !packet.seen.send || (!packet.seen.receive && !packet.dropped) ? ' stroke-dasharray="5 3"' : '';
    const angle = Math.atan2(y2 - y1, x2 - x1);
    arrows.push(`<g class="packet${packet.dropped ? ' dropped' : ''}" data-number="${packet.number}">`);
    const lineEnd = packet.dropped || end === undefined ? { x: x2, y: y2 } : { x: x2 - Math.cos(angle) * 6, y: y2 - Math.sin(angle) * 6 };
    arrows.push(`<line x1="${num(x1)}" y1="${num(y1)}" x2="${num(lineEnd.x)}" y2="${num(lineEnd.y)}" stroke="${color}" stroke-width="1.4"${dashed}/>`);
    if (packet.dropped) arrows.push(cross(x2, y2, theme.danger));
    else if (end !== undefined) arrows.push(arrowHead(x2, y2, angle, color));
    // The flags along the arrow, just above it, reading left to right.
    const mx = (x1 + x2) / 2;
    const my = (y1 + y2) / 2;
    const reading = dir > 0 ? angle : angle + Math.PI;
    const deg = (reading * 180) / Math.PI;
    const ox = Math.sin(reading) * 4;
    const oy = -Math.cos(reading) * 4;
    const shown = ellipsize(packet.dropped ? `${label} · dropped by ${packet.dropped.host}` : label, 10.5, Math.hypot(x2 - x1, y2 - y1) - 36);
    arrows.push(`<text x="${num(mx + ox)}" y="${num(my + oy)}" font-size="10.5" fill="${color}" stroke="${theme.page}" stroke-width="3" stroke-linejoin="round" paint-order="stroke" text-anchor="middle" transform="rotate(${num(deg)} ${num(mx + ox)} ${num(my + oy)})">${escapeXml(shown)}</text>`);
    arrows.push('</g>');
  }
  // Drawn over the lanes; the texts have a halo of the page's colour where they cross a line.
  if (arrows.length > 0) out.push(`<g class="packets">${arrows.join('\n')}</g>`);

  // Legend.
  let ly = bottom + 28;
  let lx = MARGIN;
  for (const [label, color] of [['connection setup / established', theme.muted], ['active close', theme.active], ['passive close', theme.passive]] as const) {
    out.push(`<rect x="${lx}" y="${ly - 9}" width="12" height="12" fill="${color}" fill-opacity="0.28" stroke="${color}"/>`);
    out.push(`<text x="${lx + 18}" y="${ly + 1}" font-size="10.5" fill="${theme.muted}">${escapeXml(label)}</text>`);
    lx += 18 + textWidth(label, 10.5) + 22;
  }
  out.push(`<text x="${width - MARGIN}" y="${ly + 1}" font-size="10.5" fill="${theme.muted}" text-anchor="end">rows in order of time, not to scale</text>`);
  if (hasPackets) {
    ly += 17;
    out.push(`<line x1="${MARGIN}" y1="${ly - 3}" x2="${MARGIN + 22}" y2="${ly - 3}" stroke="${theme.text}" stroke-width="1.4"/>`);
    out.push(arrowHead(MARGIN + 28, ly - 3, 0, theme.text));
    let text = "packet: (n) where it leaves, (n') where it arrives; seq/ack relative to each side's SYN";
    if (!seqAck) text = "packet: (n) where it leaves, (n') where it arrives";
    out.push(`<text x="${MARGIN + 36}" y="${ly + 1}" font-size="10.5" fill="${theme.muted}">${escapeXml(text)}</text>`);
    const cx = MARGIN + 36 + textWidth(text, 10.5) + 24;
    out.push(cross(cx, ly - 3, theme.danger, 'legend'));
    out.push(`<text x="${num(cx + 12)}" y="${ly + 1}" font-size="10.5" fill="${theme.muted}">dropped by a firewall</text>`);
  }
  ly += 17;
  out.push(`<text x="${MARGIN}" y="${ly + 1}" font-size="10.5" fill="${theme.muted}">${escapeXml('Times on the controller’s clock: each host’s times minus its clock offset (SSH estimate, refined so no packet arrives before it leaves).')}</text>`);
  if (reordered) {
    ly += 17;
    out.push(`<text x="${MARGIN}" y="${ly + 1}" font-size="10.5" fill="${theme.muted}">${escapeXml('* drawn after the packet that caused it; the tracer stamped it up to 1 ms early (its time is as measured).')}</text>`);
  }
  return svgDocument(width, height, out.join('\n'), title);
}
