/**
 * Draws the timeline on a 2D canvas. Only what is in view is visited (range queries on the
 * model), and detail follows zoom: bands narrower than a pixel collapse into one pixel column
 * each (the loop then jumps past the rest of that column by binary search), labels appear only
 * where they fit, and packet arrows thin out to one per pixel column when there are more arrows
 * than pixels.
 *
 * `mode: 'all'` draws every band, arrow and marker with no range query and no level of detail:
 * the benchmark's baseline (scripts/bench-timeline-ui.ts).
 */
import { timeOfDay } from '../../../shared/src/figures/instant';
import type { TcpState } from '../../../shared/src/tcp-states';
import { arrowEnds, deathPoint, GUTTER, MARKER_H, ROW_H, type Layout } from './layout';
import type { Band, MarkerKind, PacketArrow, TimelineSource } from './model';
import { endMs, tickDigits, tickStep, ticks, xOf, type TimeView } from './scale';

/** The part of CanvasRenderingContext2D the timeline uses (a browser's context is one). */
export interface Ctx2D {
  fillStyle: unknown;
  strokeStyle: unknown;
  globalAlpha: number;
  lineWidth: number;
  font: string;
  textBaseline: unknown;
  fillRect(x: number, y: number, w: number, h: number): void;
  fillText(text: string, x: number, y: number): void;
  measureText(text: string): { width: number };
  beginPath(): void;
  closePath(): void;
  moveTo(x: number, y: number): void;
  lineTo(x: number, y: number): void;
  rect(x: number, y: number, w: number, h: number): void;
  stroke(): void;
  fill(): void;
  clip(): void;
  save(): void;
  restore(): void;
  setLineDash(segments: number[]): void;
}

export interface Palette {
  bg: string;
  text: string;
  muted: string;
  rule: string;
  laneBg: string;
  cursor: string;
  danger: string;
  packet: string;
  marker: Record<MarkerKind, string>;
  state: (state: TcpState) => { fill: string; text: string };
}

const STATE_LIGHT: Record<string, { fill: string; text: string }> = {
  LISTEN: { fill: '#e2e8f0', text: '#1e293b' },
  SYN_SENT: { fill: '#bae6fd', text: '#0c4a6e' },
  SYN_RECV: { fill: '#bae6fd', text: '#0c4a6e' },
  ESTABLISHED: { fill: '#bbf7d0', text: '#14532d' },
  // The article's Figure 2: active close purple, passive close orange.
  FIN_WAIT1: { fill: '#ddd6fe', text: '#4c1d95' },
  FIN_WAIT2: { fill: '#ddd6fe', text: '#4c1d95' },
  CLOSING: { fill: '#ddd6fe', text: '#4c1d95' },
  TIME_WAIT: { fill: '#c4b5fd', text: '#3b0764' },
  CLOSE_WAIT: { fill: '#fed7aa', text: '#7c2d12' },
  LAST_ACK: { fill: '#fdba74', text: '#7c2d12' },
  CLOSED: { fill: '#94a3b8', text: '#334155' },
};
const STATE_DARK: Record<string, { fill: string; text: string }> = {
  LISTEN: { fill: '#334155', text: '#e2e8f0' },
  SYN_SENT: { fill: '#075985', text: '#e0f2fe' },
  SYN_RECV: { fill: '#075985', text: '#e0f2fe' },
  ESTABLISHED: { fill: '#166534', text: '#dcfce7' },
  FIN_WAIT1: { fill: '#5b21b6', text: '#ede9fe' },
  FIN_WAIT2: { fill: '#5b21b6', text: '#ede9fe' },
  CLOSING: { fill: '#5b21b6', text: '#ede9fe' },
  TIME_WAIT: { fill: '#6d28d9', text: '#ede9fe' },
  CLOSE_WAIT: { fill: '#9a3412', text: '#ffedd5' },
  LAST_ACK: { fill: '#c2410c', text: '#ffedd5' },
  CLOSED: { fill: '#64748b', text: '#e2e8f0' },
};

export function palette(dark: boolean): Palette {
  const states = dark ? STATE_DARK : STATE_LIGHT;
  return {
    bg: dark ? '#0f172a' : '#ffffff',
    text: dark ? '#e2e8f0' : '#1e293b',
    muted: dark ? '#94a3b8' : '#64748b',
    rule: dark ? '#334155' : '#e2e8f0',
    laneBg: dark ? '#111c30' : '#f8fafc',
    cursor: dark ? '#fbbf24' : '#d97706',
    danger: dark ? '#f87171' : '#dc2626',
    packet: dark ? '#cbd5e1' : '#334155',
    marker: { command: dark ? '#7dd3fc' : '#0369a1', 'ctrl-c': dark ? '#fca5a5' : '#b91c1c', firewall: dark ? '#fdba74' : '#c2410c', connection: dark ? '#f87171' : '#dc2626' },
    state: (state) => states[state] ?? { fill: dark ? '#334155' : '#e2e8f0', text: dark ? '#e2e8f0' : '#1e293b' },
  };
}

export interface DrawInput {
  source: TimelineSource;
  layout: Layout;
  /** The plot's view (its width excludes the gutter). */
  view: TimeView;
  /** Where open bands end (the latest time in the data, or now while live). */
  dataEndMs: number;
  cursorMs: number | undefined;
  utcOffsetMin: number;
  palette: Palette;
  mode?: 'lod' | 'all';
}

export interface DrawStats {
  bands: number;
  packets: number;
  markers: number;
  labels: number;
}

const FONT = '10.5px Inter Variable, ui-sans-serif, sans-serif';
const FONT_BOLD = '600 10.5px Inter Variable, ui-sans-serif, sans-serif';
const MONO = '10px "JetBrains Mono", ui-monospace, monospace';

const MARKER_GLYPH: Record<MarkerKind, string> = { command: '›', 'ctrl-c': '^C', firewall: '⛨', connection: '⚡' };

/** Draws everything; `ctx` is already scaled for the device pixel ratio. Returns what it drew. */
export function drawTimeline(ctx: Ctx2D, input: DrawInput, cssWidth: number): DrawStats {
  const { source, layout: l, view, palette: pal } = input;
  const all = input.mode === 'all';
  const stats: DrawStats = { bands: 0, packets: 0, markers: 0, labels: 0 };
  const fromMs = view.startMs;
  const toMs = endMs(view);
  const perPx = view.spanMs / view.width;
  const X = (ms: number): number => GUTTER + xOf(view, ms);

  ctx.fillStyle = pal.bg;
  ctx.fillRect(0, 0, cssWidth, l.height);
  ctx.textBaseline = 'middle';

  // Axis: ticks in the hosts' zone, as the prompts show time.
  const step = tickStep(view);
  const digits = tickDigits(step);
  ctx.font = MONO;
  ctx.strokeStyle = pal.rule;
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (const t of ticks(view, step, input.utcOffsetMin)) {
    const x = Math.round(X(t)) + 0.5;
    ctx.moveTo(x, 14);
    ctx.lineTo(x, l.height);
  }
  ctx.stroke();
  ctx.fillStyle = pal.muted;
  for (const t of ticks(view, step, input.utcOffsetMin)) ctx.fillText(timeOfDay(t, input.utcOffsetMin, digits), X(t) + 3, 8);

  ctx.save();
  ctx.beginPath();
  ctx.rect(GUTTER, 0, cssWidth - GUTTER, l.height);
  ctx.clip();

  for (const lane of l.lanes) {
    ctx.fillStyle = pal.laneBg;
    ctx.globalAlpha = 0.6;
    ctx.fillRect(GUTTER, lane.rowsY, cssWidth - GUTTER, lane.rowsH);
    ctx.globalAlpha = 1;
    for (let row = 0; row < source.rowsPerLane; row++) {
      const y = lane.rowsY + row * ROW_H + 1;
      const h = ROW_H - 2;
      if (all) {
        for (let i = 0; i < source.bandCount(lane.host, row); i++) drawBand(ctx, source.bandAt(lane.host, row, i)!, y, h, input, X, stats, true);
        continue;
      }
      let i = -1;
      source.bands(lane.host, row, fromMs, toMs, (_band, index) => {
        i = index;
        return false;
      });
      if (i < 0) continue;
      const count = source.bandCount(lane.host, row);
      while (i < count) {
        const band = source.bandAt(lane.host, row, i)!;
        if (band.startMs > toMs) break;
        const end = Math.min(band.endMs, input.dataEndMs);
        if (end < fromMs && band.endMs !== band.startMs) {
          i++;
          continue;
        }
        const x0 = X(band.startMs);
        if (X(end) - x0 < 1) {
          // Level of detail: one pixel column for all the bands that start in it.
          const col = Math.floor(x0);
          ctx.fillStyle = pal.state(band.state).fill;
          ctx.fillRect(col, y, 1, h);
          stats.bands++;
          const next = source.bandIndexAt(lane.host, row, band.startMs + Math.max(perPx * (col + 1 - x0), perPx * 0.01));
          // The last band that starts in this column may reach beyond it (a 150 µs SYN_SENT
          // followed by a long ESTABLISHED): that one is drawn next, from its start.
          const last = next - 1 > i ? source.bandAt(lane.host, row, next - 1) : undefined;
          i = last && X(Math.min(last.endMs, input.dataEndMs)) >= col + 1 ? next - 1 : Math.max(i + 1, next);
          continue;
        }
        drawBand(ctx, band, y, h, input, X, stats, false);
        i++;
      }
    }
  }

  if (source.packetCount === 0 && l.lanes.length > 1) {
    const first = l.lanes[0]!;
    ctx.font = FONT;
    ctx.fillStyle = pal.muted;
    ctx.fillText('no packets in this session (no capture recorded)', GUTTER + 8, (first.bottom + l.lanes[1]!.top) / 2);
  }
  drawPackets(ctx, input, stats, all);
  drawMarkers(ctx, input, stats, all);
  ctx.restore();

  // Gutter: host names and their clock offsets.
  ctx.fillStyle = pal.bg;
  ctx.fillRect(0, 0, GUTTER, l.height);
  for (const lane of l.lanes) {
    const mid = lane.rowsY + lane.rowsH / 2;
    ctx.fillStyle = pal.text;
    ctx.font = '700 14px Inter Variable, ui-sans-serif, sans-serif';
    ctx.fillText(lane.host, 8, mid - 7);
    ctx.font = MONO;
    ctx.fillStyle = pal.muted;
    const offset = source.offsets.get(lane.host);
    ctx.fillText(offset ? `${offset.offsetMs >= 0 ? '+' : '−'}${Math.abs(offset.offsetMs).toFixed(3)} ms` : 'offset ?', 8, mid + 8);
  }

  if (input.cursorMs !== undefined) {
    const x = Math.round(X(input.cursorMs)) + 0.5;
    if (x >= GUTTER && x <= cssWidth) {
      ctx.strokeStyle = pal.cursor;
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.moveTo(x, 12);
      ctx.lineTo(x, l.height);
      ctx.stroke();
      const label = timeOfDay(input.cursorMs, input.utcOffsetMin, 6);
      ctx.font = MONO;
      const w = ctx.measureText(label).width + 8;
      const lx = Math.min(Math.max(GUTTER, x - w / 2), cssWidth - w);
      ctx.fillStyle = pal.cursor;
      ctx.fillRect(lx, 0, w, 15);
      ctx.fillStyle = '#ffffff';
      ctx.fillText(label, lx + 4, 8);
    }
  }
  return stats;
}

function drawBand(ctx: Ctx2D, band: Band, y: number, h: number, input: DrawInput, X: (ms: number) => number, stats: DrawStats, all: boolean): void {
  const pal = input.palette;
  const colors = pal.state(band.state);
  const x0 = X(band.startMs);
  const x1 = X(Math.min(band.endMs, input.dataEndMs));
  stats.bands++;
  if (band.state === 'CLOSED') {
    // The connection's end: a mark, not a band.
    ctx.fillStyle = colors.fill;
    ctx.fillRect(Math.round(x0) - 1, y, 2, h);
    if (all || x0 > GUTTER - 40) label(ctx, 'CLOSED', x0 + 3, y + h / 2, 60, pal.muted, stats);
    return;
  }
  ctx.fillStyle = colors.fill;
  if (band.seen === 'inferred') ctx.globalAlpha = 0.55;
  ctx.fillRect(x0, y, Math.max(1, x1 - x0), h);
  ctx.globalAlpha = 1;
  // The transition: a darker edge where the band begins.
  ctx.fillStyle = colors.text;
  ctx.fillRect(Math.round(x0), y, 1, h);
  const visibleX0 = Math.max(x0, GUTTER + 2);
  const room = x1 - visibleX0 - 6;
  if (room > 30 || all) {
    const hostTime = timeOfDay(band.hostTimeUs / 1000, input.utcOffsetMin, 6);
    const text = room > 200 || all ? `${band.state}  ${hostTime}` : band.state;
    ctx.font = FONT_BOLD;
    label(ctx, text, visibleX0 + 4, y + h / 2, room, colors.text, stats);
  }
}

function label(ctx: Ctx2D, text: string, x: number, y: number, room: number, color: string, stats: DrawStats): void {
  if (ctx.measureText(text).width > room) return;
  ctx.fillStyle = color;
  ctx.fillText(text, x, y);
  stats.labels++;
}

function drawPackets(ctx: Ctx2D, input: DrawInput, stats: DrawStats, all: boolean): void {
  const { source, view, layout: l, palette: pal } = input;
  const { list, from, to } = all ? { list: source.packets(-Infinity, Infinity).list, from: 0, to: source.packets(-Infinity, Infinity).list.length } : source.packets(view.startMs, endMs(view));
  const dense = !all && to - from > view.width;
  let lastCol = -Infinity;
  let lastLabelX = -Infinity;
  ctx.lineWidth = 1.2;
  for (let i = from; i < to; i++) {
    const p = list[i]!;
    const ends = arrowEnds(l, view, p);
    if (!ends) continue;
    if (dense) {
      const col = Math.floor(ends.x0);
      if (col === lastCol) continue;
      lastCol = col;
    }
    const x0 = GUTTER + ends.x0;
    const x1 = GUTTER + ends.x1;
    if (!all && Math.max(x0, x1) < GUTTER - 20) continue;
    drawArrow(ctx, p, x0, ends.y0, x1, ends.y1, pal, dense);
    stats.packets++;
    if (!dense && (all || x0 - lastLabelX > 26)) {
      ctx.font = MONO;
      ctx.fillStyle = p.dropped ? pal.danger : pal.packet;
      const down = ends.y1 > ends.y0;
      ctx.fillText(`(${p.number})`, x0 + 3, ends.y0 + (down ? 7 : -7));
      if (!p.dropped && p.recvMs !== undefined && p.sentMs !== undefined) ctx.fillText(`(${p.number}′)`, x1 + 3, ends.y1 + (down ? -7 : 7));
      lastLabelX = x0;
      stats.labels++;
    }
  }
}

function drawArrow(ctx: Ctx2D, p: PacketArrow, x0: number, y0: number, x1: number, y1: number, pal: Palette, dense: boolean): void {
  const color = p.dropped ? pal.danger : pal.packet;
  ctx.strokeStyle = color;
  if (p.sentMs === undefined || p.recvMs === undefined) {
    if (!p.dropped) ctx.setLineDash([3, 3]); // seen on one side only
  }
  let tx = x1;
  let ty = y1;
  if (p.dropped) ({ x: tx, y: ty } = deathPoint({ x0, y0, x1, y1 }, p.dropped.where));
  ctx.beginPath();
  ctx.moveTo(x0, y0);
  ctx.lineTo(tx, ty);
  ctx.stroke();
  ctx.setLineDash([]);
  if (dense) return;
  if (p.dropped) {
    // Where it died: a cross.
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(tx - 4, ty - 4);
    ctx.lineTo(tx + 4, ty + 4);
    ctx.moveTo(tx + 4, ty - 4);
    ctx.lineTo(tx - 4, ty + 4);
    ctx.stroke();
    ctx.lineWidth = 1.2;
    return;
  }
  const angle = Math.atan2(y1 - y0, x1 - x0);
  ctx.fillStyle = color;
  ctx.beginPath();
  ctx.moveTo(x1, y1);
  ctx.lineTo(x1 - 6 * Math.cos(angle - 0.4), y1 - 6 * Math.sin(angle - 0.4));
  ctx.lineTo(x1 - 6 * Math.cos(angle + 0.4), y1 - 6 * Math.sin(angle + 0.4));
  ctx.closePath();
  ctx.fill();
}

function drawMarkers(ctx: Ctx2D, input: DrawInput, stats: DrawStats, all: boolean): void {
  const { source, view, layout: l, palette: pal } = input;
  const { list, from, to } = all ? { list: source.markers(-Infinity, Infinity).list, from: 0, to: source.markers(-Infinity, Infinity).list.length } : source.markers(view.startMs, endMs(view));
  const lastX = new Map<string, number>();
  const lastLabelEnd = new Map<string, number>();
  for (let i = from; i < to; i++) {
    const m = list[i]!;
    const lane = l.lanes.find((ln) => ln.host === m.host);
    if (!lane) continue;
    const x = GUTTER + xOf(view, m.atMs);
    if (!all && Math.floor(x) === lastX.get(m.host)) continue;
    lastX.set(m.host, Math.floor(x));
    const color = pal.marker[m.kind];
    ctx.fillStyle = color;
    ctx.fillRect(Math.round(x), lane.markerY + 2, 1.5, MARKER_H - 4);
    // A faint line through the lane, so the marker lines up with the states it caused.
    ctx.globalAlpha = 0.35;
    ctx.fillRect(Math.round(x), lane.rowsY, 1, lane.rowsH);
    ctx.globalAlpha = 1;
    stats.markers++;
    if (!all && x < (lastLabelEnd.get(m.host) ?? -Infinity)) continue;
    ctx.font = m.kind === 'command' ? MONO : FONT_BOLD;
    const text = `${MARKER_GLYPH[m.kind]} ${m.text}`;
    const short = text.length > 48 ? `${text.slice(0, 47)}…` : text;
    ctx.fillText(short, x + 4, lane.markerY + MARKER_H / 2);
    lastLabelEnd.set(m.host, x + 10 + ctx.measureText(short).width);
    stats.labels++;
  }
  ctx.font = FONT;
}
