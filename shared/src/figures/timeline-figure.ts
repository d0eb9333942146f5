/**
 * Figure (b): the timeline of a run, drawn like the article's sequence figures: time runs down
 * the page, one lane per host (H1 left, H2 right), each lane a band coloured by the state the
 * host's connection is in (active-close states purple, passive-close orange, as in the article's
 * Figure 2), with the state's name where it begins, and each host's commands, Ctrl-C, firewall
 * changes and connection losses beside its lane. Rows follow the order of events, not a linear
 * scale: a state that lasts 150 µs gets a row like one that lasts a minute; the time column gives
 * every row's time (microseconds, on the controller's axis in the hosts' zone).
 *
 * `timelineFromEvents` derives the figure's input from the session log directly; when
 * shared/src/timeline.ts (the app's timeline model) lands, it is the one place to switch over.
 */
import type { LabEvent } from '../events';
import type { Seen, TcpState } from '../tcp-states';
import { diagramNode } from '../state-diagram';
import { timeOfDay } from './instant';
import { type FigureTheme, figureTheme, hostColor } from './theme';
import { escapeXml, num, svgDocument, textWidth } from './svg';

export type TimelineMarkKind = 'command' | 'ctrl-c' | 'firewall' | 'connection';

export type TimelineRow =
  | { kind: 'state'; atMs: number; host: string; state: TcpState; seen: Seen }
  | { kind: TimelineMarkKind; atMs: number; host: string; text: string };

export interface TimelineInput {
  hosts: string[];
  fromMs: number;
  toMs: number;
  utcOffsetMin: number;
  /** Each host's state at `fromMs` (carried into the range), if any. */
  initial: Record<string, TcpState | undefined>;
  /** In order of time, all within the range. */
  rows: TimelineRow[];
}

type Transition = Extract<LabEvent, { type: 'transition' }>;

const isListener = (t: Transition): boolean => t.remote.endsWith(':*');

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

export function timelineFromEvents(events: readonly LabEvent[], range: { hosts: string[]; fromMs: number; toMs: number; utcOffsetMin: number }): TimelineInput {
  const offsets = new Map<string, number>();
  const rows: TimelineRow[] = [];
  const initial: Record<string, TcpState | undefined> = {};
  const transitions: Array<{ atMs: number; event: Transition }> = [];
  const firewallCommands = new Set(events.filter((e) => e.type === 'firewall').map((e) => `${e.host} ${(e as Extract<LabEvent, { type: 'firewall' }>).command}`));
  let stepStartMs: number | undefined;
  for (const event of events) {
    if (event.type === 'step' && event.phase === 'start') stepStartMs = event.t;
    if (event.type === 'clock' && !offsets.has(event.host)) offsets.set(event.host, event.offsetMs);
    if (event.type === 'transition') {
      // Host time -> the controller's axis (events.ts: subtract the host's clock offset).
      transitions.push({ atMs: event.hostTimeUs / 1000 - (offsets.get(event.host) ?? 0), event });
      continue;
    }
    if (event.t < range.fromMs || event.t > range.toMs) continue;
    if (event.type === 'command') {
      // A firewall step logs its command too: one mark, the firewall's, is enough.
      if (firewallCommands.has(`${event.host} ${event.text}`)) continue;
      rows.push({ kind: 'command', atMs: event.t, host: event.host, text: event.text });
    } else if (event.type === 'pane-input' && event.data === '\x03') {
      // Logged once the key is sent, which can be after the state it causes (the clocks agree only
      // to a fraction of a millisecond): a step's key press is placed at the step's start.
      const atMs = event.by === 'step' && stepStartMs !== undefined ? stepStartMs : event.t;
      rows.push({ kind: 'ctrl-c', atMs, host: event.host, text: 'Ctrl-C' });
    } else if (event.type === 'firewall') {
      rows.push({ kind: 'firewall', atMs: event.t, host: event.host, text: `firewall ${event.action === 'add' ? '+' : '−'} ${firewallSummary(event.command)}` });
    } else if (event.type === 'connection' && (event.status === 'disconnected' || event.status === 'failed' || event.status === 'reconnecting')) {
      rows.push({ kind: 'connection', atMs: event.t, host: event.host, text: `connection ${event.status}${event.detail ? `: ${event.detail}` : ''}` });
    }
  }
  transitions.sort((a, b) => a.atMs - b.atMs);
  // Each lane follows one connection, as the state diagram does: the host's latest by the end
  // of the range (an earlier run's TIME_WAIT socket is not this experiment's), and its listener
  // until the connection begins.
  const key = (t: Transition): string => `${t.local} ${t.remote}`;
  const main = new Map<string, { key: string; startMs: number }>();
  for (const { atMs, event } of transitions) {
    if (atMs > range.toMs || isListener(event)) continue;
    if (main.get(event.host)?.key !== key(event)) main.set(event.host, { key: key(event), startMs: atMs });
  }
  for (const { atMs, event } of transitions) {
    const connection = main.get(event.host);
    const shown = connection ? (isListener(event) ? atMs < connection.startMs : key(event) === connection.key) : isListener(event);
    if (!shown) continue;
    if (atMs < range.fromMs) initial[event.host] = event.state;
    else if (atMs <= range.toMs) rows.push({ kind: 'state', atMs, host: event.host, state: event.state, seen: event.seen });
  }
  // Commands are typed, then the state changes: on equal times the mark goes first.
  rows.sort((a, b) => a.atMs - b.atMs || (a.kind === 'state' ? 1 : 0) - (b.kind === 'state' ? 1 : 0));
  return { hosts: range.hosts, fromMs: range.fromMs, toMs: range.toMs, utcOffsetMin: range.utcOffsetMin, initial, rows };
}

export interface TimelineOptions {
  theme?: FigureTheme;
  title?: string;
}

const ROW_H = 21;
const HEADER_H = 64;
const FOOTER_H = 44;
const TIME_COL = 128;
const NOTE_W = 250;
const LANE_W = 14;
const CENTER_W = 200;
const MARGIN = 14;

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

export function renderTimelineSvg(input: TimelineInput, options: TimelineOptions = {}): string {
  const theme = options.theme ?? figureTheme();
  const hosts = input.hosts.slice(0, 2); // drawn as two lanes; a third host would need a wider page
  const laneX = [MARGIN + TIME_COL + NOTE_W, MARGIN + TIME_COL + NOTE_W + LANE_W + CENTER_W];
  const width = laneX[1]! + LANE_W + NOTE_W + MARGIN;
  const rows = input.rows.filter((r) => hosts.includes(r.host));
  const top = HEADER_H;
  const rowY = (i: number): number => top + i * ROW_H + ROW_H / 2;
  const bottom = top + Math.max(rows.length, 1) * ROW_H;
  const height = bottom + FOOTER_H;
  const out: string[] = [];
  out.push(`<rect width="${width}" height="${height}" fill="${theme.page}"/>`);
  const title = options.title ?? `Timeline ${timeOfDay(input.fromMs, input.utcOffsetMin)} – ${timeOfDay(input.toMs, input.utcOffsetMin)}`;
  out.push(`<text x="${MARGIN}" y="22" font-size="14" font-weight="700" fill="${theme.text}">${escapeXml(title)}</text>`);
  out.push(`<text x="${MARGIN}" y="${HEADER_H - 10}" font-size="10" fill="${theme.muted}">time (µs)</text>`);

  // Row guides and times.
  rows.forEach((row, i) => {
    const y = rowY(i);
    out.push(`<line x1="${MARGIN}" y1="${num(y + ROW_H / 2)}" x2="${width - MARGIN}" y2="${num(y + ROW_H / 2)}" stroke="${theme.rule}" stroke-width="0.5" stroke-dasharray="2 3"/>`);
    out.push(`<text x="${MARGIN}" y="${num(y + 4)}" font-size="10.5" fill="${theme.muted}">${timeOfDay(row.atMs, input.utcOffsetMin, 6)}</text>`);
  });

  hosts.forEach((host, h) => {
    const x = laneX[h]!;
    const color = hostColor(theme, h);
    out.push(`<text x="${num(x + LANE_W / 2)}" y="${HEADER_H - 26}" font-size="14" font-weight="700" fill="${color}" text-anchor="middle">${escapeXml(host)}</text>`);
    out.push(`<line x1="${num(x + LANE_W / 2)}" y1="${HEADER_H - 18}" x2="${num(x + LANE_W / 2)}" y2="${bottom + 8}" stroke="${color}" stroke-width="1"/>`);
    // State bands: from each state's row to the next state's row of this host.
    const segments: Array<{ state: TcpState; from: number; to: number; label: boolean; seen?: Seen }> = [];
    let current = input.initial[host];
    let from = top;
    let labelled = false;
    rows.forEach((row, i) => {
      if (row.kind !== 'state' || row.host !== host) return;
      const y = rowY(i);
      if (current) segments.push({ state: current, from, to: y, label: labelled });
      current = row.state;
      from = y;
      labelled = true;
      segments.push({ state: row.state, from: y, to: y, label: false, seen: row.seen });
    });
    if (current) segments.push({ state: current, from, to: bottom, label: labelled });
    for (const seg of segments) {
      const c = stateColor(seg.state, theme);
      if (seg.to > seg.from && seg.state !== 'CLOSED') {
        out.push(`<rect x="${x}" y="${num(seg.from)}" width="${LANE_W}" height="${num(seg.to - seg.from)}" fill="${c.fill}" fill-opacity="0.28" stroke="${c.stroke}" stroke-width="1"/>`);
      }
    }
    // State names where each state begins, on the lane's inner side.
    rows.forEach((row, i) => {
      if (row.kind !== 'state' || row.host !== host) return;
      const y = rowY(i);
      const c = stateColor(row.state, theme);
      const inferred = row.seen !== 'trace' ? ` (${row.seen})` : '';
      const tx = h === 0 ? x + LANE_W + 8 : x - 8;
      out.push(`<circle cx="${num(x + LANE_W / 2)}" cy="${num(y)}" r="3.2" fill="${c.stroke}" stroke="${theme.page}" stroke-width="1"/>`);
      out.push(`<text x="${num(tx)}" y="${num(y + 4)}" font-size="11.5" font-weight="700" fill="${c.text}" text-anchor="${h === 0 ? 'start' : 'end'}">${escapeXml(row.state + inferred)}</text>`);
    });
    if (input.initial[host] !== undefined && !rows.some((r) => r.kind === 'state' && r.host === host)) {
      const c = stateColor(input.initial[host]!, theme);
      out.push(`<text x="${num(h === 0 ? x + LANE_W + 8 : x - 8)}" y="${top + 14}" font-size="11.5" font-weight="700" fill="${c.text}" text-anchor="${h === 0 ? 'start' : 'end'}">${escapeXml(input.initial[host]!)}</text>`);
    }
    // Marks beside the lane: H1's on its left, H2's on its right.
    rows.forEach((row, i) => {
      if (row.kind === 'state' || row.host !== host) return;
      const y = rowY(i);
      const fill = row.kind === 'command' ? theme.text : theme.danger;
      const text = row.kind === 'command' ? `$ ${row.text}` : row.text;
      const shown = ellipsize(text, 11, NOTE_W - 14);
      const tx = h === 0 ? x - 8 : x + LANE_W + 8;
      out.push(`<line x1="${num(h === 0 ? x - 5 : x + LANE_W)}" y1="${num(y)}" x2="${num(h === 0 ? x : x + LANE_W + 5)}" y2="${num(y)}" stroke="${fill}" stroke-width="1.5"/>`);
      out.push(`<text x="${num(tx)}" y="${num(y + 4)}" font-size="11" fill="${fill}"${row.kind === 'command' ? '' : ' font-weight="700"'} text-anchor="${h === 0 ? 'end' : 'start'}">${escapeXml(shown)}</text>`);
    });
  });

  // Legend.
  const ly = bottom + 28;
  let lx = MARGIN;
  for (const [label, color] of [['connection setup / established', theme.muted], ['active close', theme.active], ['passive close', theme.passive]] as const) {
    out.push(`<rect x="${lx}" y="${ly - 9}" width="12" height="12" fill="${color}" fill-opacity="0.28" stroke="${color}"/>`);
    out.push(`<text x="${lx + 18}" y="${ly + 1}" font-size="10.5" fill="${theme.muted}">${escapeXml(label)}</text>`);
    lx += 18 + textWidth(label, 10.5) + 22;
  }
  out.push(`<text x="${width - MARGIN}" y="${ly + 1}" font-size="10.5" fill="${theme.muted}" text-anchor="end">rows in order of time, not to scale</text>`);
  return svgDocument(width, height, out.join('\n'), title);
}
