/**
 * Draws the timeline on a 2D canvas. Only what is in view is visited (range queries on the
 * model), and detail follows zoom: bands narrower than a pixel collapse into one pixel column
 * each (the loop then jumps past the rest of that column by binary search), labels appear only
 * where they fit, and packet arrows thin out to one per pixel column when there are more arrows
 * than pixels.
 *
 * Drawing is batched (the default mode): a frame gathers rectangles per fill colour, lines per
 * stroke style and labels per font and colour, then fills or strokes each group as one path and
 * sets each style once, instead of a fillStyle change and a fill per band. Label widths are
 * measured once per text (cached), and the gathering buffers are reused from frame to frame.
 * Layers keep their order: band fills, band edges, band labels, arrows, arrow labels, markers.
 *
 * `mode: 'all'` draws every band, arrow and marker with no range query, no level of detail and
 * no batching, one call after another: the benchmark's baseline (scripts/bench-timeline-ui.ts).
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
  /** A browser's context has these; without them (unit tests' contexts) pixel columns are drawn as rectangles. */
  imageSmoothingEnabled?: boolean;
  drawImage?(image: unknown, sx: number, sy: number, sw: number, sh: number, dx: number, dy: number, dw: number, dh: number): void;
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
  const columns = !all && COLUMNS.begin(ctx, cssWidth, l.height);

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
      // The band at `i`, carried over when the level of detail has already fetched it.
      let carried: Band | undefined;
      while (i < count) {
        const band = carried ?? source.bandAt(lane.host, row, i)!;
        carried = undefined;
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
          if (!COLUMNS.add(pal.state(band.state).fill, col, y, 1, h)) FILLS.add(pal.state(band.state).fill, 1, col, y, 1, h);
          stats.bands++;
          const next = source.bandIndexAt(lane.host, row, band.startMs + Math.max(perPx * (col + 1 - x0), perPx * 0.01));
          // The last band that starts in this column may reach beyond it (a 150 µs SYN_SENT
          // followed by a long ESTABLISHED): that one is drawn next, from its start.
          const last = next - 1 > i ? source.bandAt(lane.host, row, next - 1) : undefined;
          if (last && X(Math.min(last.endMs, input.dataEndMs)) >= col + 1) {
            i = next - 1;
            carried = last;
          } else {
            i = Math.max(i + 1, next);
          }
          continue;
        }
        batchBand(ctx, band, y, h, input, X, stats);
        i++;
      }
    }
  }
  if (!all) {
    if (columns) COLUMNS.flush(ctx);
    FILLS.flush(ctx);
    EDGES.flush(ctx);
    LABELS.flush(ctx, stats);
  }

  if (source.packetCount === 0 && l.lanes.length > 1) {
    const first = l.lanes[0]!;
    ctx.font = FONT;
    ctx.fillStyle = pal.muted;
    ctx.fillText('no packets in this session (no capture recorded)', GUTTER + 8, (first.bottom + l.lanes[1]!.top) / 2);
  }
  if (all) drawPackets(ctx, input, stats, true);
  else batchPackets(ctx, input, stats);
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

/** Rectangles of one frame, gathered per fill colour and alpha, then filled as one path each. */
class RectBatch {
  private readonly groups = new Map<string, { fill: string; alpha: number; xywh: number[]; n: number }>();
  private readonly translucent = new Map<string, { fill: string; alpha: number; xywh: number[]; n: number }>();
  private readonly maps = [this.groups, this.translucent];

  add(fill: string, alpha: number, x: number, y: number, w: number, h: number): void {
    const map = alpha === 1 ? this.groups : this.translucent;
    let g = map.get(fill);
    if (!g) map.set(fill, (g = { fill, alpha, xywh: [], n: 0 }));
    const k = g.n * 4;
    g.xywh[k] = x;
    g.xywh[k + 1] = y;
    g.xywh[k + 2] = w;
    g.xywh[k + 3] = h;
    g.n++;
  }

  flush(ctx: Ctx2D): void {
    for (const map of this.maps) {
      for (const g of map.values()) {
        if (g.n === 0) continue;
        ctx.globalAlpha = g.alpha;
        ctx.fillStyle = g.fill;
        ctx.beginPath();
        const a = g.xywh;
        for (let k = 0; k < g.n * 4; k += 4) ctx.rect(a[k]!, a[k + 1]!, a[k + 2]!, a[k + 3]!);
        ctx.fill();
        g.n = 0;
      }
    }
    ctx.globalAlpha = 1;
  }
}

/** Labels of one frame, gathered per font and colour, then drawn with each style set once. */
class TextBatch {
  private readonly groups = new Map<string, { font: string; color: string; texts: string[]; xy: number[]; n: number }>();

  add(font: string, color: string, text: string, x: number, y: number): void {
    const key = font + color;
    let g = this.groups.get(key);
    if (!g) this.groups.set(key, (g = { font, color, texts: [], xy: [], n: 0 }));
    g.texts[g.n] = text;
    g.xy[g.n * 2] = x;
    g.xy[g.n * 2 + 1] = y;
    g.n++;
  }

  flush(ctx: Ctx2D, stats?: DrawStats): void {
    for (const g of this.groups.values()) {
      if (g.n === 0) continue;
      ctx.font = g.font;
      ctx.fillStyle = g.color;
      for (let i = 0; i < g.n; i++) ctx.fillText(g.texts[i]!, g.xy[i * 2]!, g.xy[i * 2 + 1]!);
      if (stats) stats.labels += g.n;
      g.n = 0;
    }
  }
}

/** Straight segments of one frame, per stroke style, then stroked as one path each. */
class LineBatch {
  private readonly groups = new Map<string, { color: string; width: number; dashed: boolean; xy: number[]; n: number }>();

  add(color: string, width: number, dashed: boolean, x0: number, y0: number, x1: number, y1: number): void {
    const key = `${color}${width}${dashed ? 'd' : ''}`;
    let g = this.groups.get(key);
    if (!g) this.groups.set(key, (g = { color, width, dashed, xy: [], n: 0 }));
    const k = g.n * 4;
    g.xy[k] = x0;
    g.xy[k + 1] = y0;
    g.xy[k + 2] = x1;
    g.xy[k + 3] = y1;
    g.n++;
  }

  flush(ctx: Ctx2D): void {
    for (const g of this.groups.values()) {
      if (g.n === 0) continue;
      ctx.strokeStyle = g.color;
      ctx.lineWidth = g.width;
      if (g.dashed) ctx.setLineDash(DASH);
      ctx.beginPath();
      const a = g.xy;
      for (let k = 0; k < g.n * 4; k += 4) {
        ctx.moveTo(a[k]!, a[k + 1]!);
        ctx.lineTo(a[k + 2]!, a[k + 3]!);
      }
      ctx.stroke();
      if (g.dashed) ctx.setLineDash(NO_DASH);
      g.n = 0;
    }
  }
}

/** Arrowheads of one frame, per colour: one path of triangles each. */
class TriangleBatch {
  private readonly groups = new Map<string, { color: string; xy: number[]; n: number }>();

  add(color: string, x0: number, y0: number, x1: number, y1: number, x2: number, y2: number): void {
    let g = this.groups.get(color);
    if (!g) this.groups.set(color, (g = { color, xy: [], n: 0 }));
    const k = g.n * 6;
    g.xy[k] = x0;
    g.xy[k + 1] = y0;
    g.xy[k + 2] = x1;
    g.xy[k + 3] = y1;
    g.xy[k + 4] = x2;
    g.xy[k + 5] = y2;
    g.n++;
  }

  flush(ctx: Ctx2D): void {
    for (const g of this.groups.values()) {
      if (g.n === 0) continue;
      ctx.fillStyle = g.color;
      ctx.beginPath();
      const a = g.xy;
      for (let k = 0; k < g.n * 6; k += 6) {
        ctx.moveTo(a[k]!, a[k + 1]!);
        ctx.lineTo(a[k + 2]!, a[k + 3]!);
        ctx.lineTo(a[k + 4]!, a[k + 5]!);
        ctx.closePath();
      }
      ctx.fill();
      g.n = 0;
    }
  }
}

/** The parts of OffscreenCanvas used (declared here: the unit tests compile this file without the DOM library). */
interface PixelCanvas {
  getContext(kind: '2d'): PixelContext | null;
}
interface PixelContext {
  createImageData(width: number, height: number): PixelImage;
  putImageData(image: PixelImage, dx: number, dy: number, dirtyX: number, dirtyY: number, dirtyWidth: number, dirtyHeight: number): void;
}
interface PixelImage {
  readonly data: { readonly buffer: ArrayBufferLike };
}
const Offscreen = (globalThis as { OffscreenCanvas?: new (width: number, height: number) => PixelCanvas }).OffscreenCanvas;

/**
 * The bands' opaque rectangles (fills, their edges, the level of detail's one-pixel columns),
 * written into a pixel buffer in CSS pixels and drawn as one image. Without a GPU the canvas is
 * rasterised in software after our JavaScript returns (in the frame's commit, on the page's
 * main thread): a trace of the pan showed four path draws taking about five times as long as
 * our whole draw, the band paths (a thousand or more rectangles each, at fractional x, so
 * antialiased) first among them. Writing the pixels ourselves costs their area, a fraction of a
 * millisecond; the image is one blit. Sides are rounded to whole CSS pixels (no antialiased
 * edge, which a band's dark edge line hides anyway); the image is scaled for the device pixel
 * ratio without smoothing.
 */
class ColumnImage {
  private canvas: PixelCanvas | undefined;
  private scratch: PixelContext | undefined;
  private image: PixelImage | undefined;
  // ImageData as 32-bit words: one pixel each, 0xAABBGGRR on the little-endian machines we run on.
  private pixels: Uint32Array<ArrayBufferLike> = new Uint32Array(0);
  private width = 0;
  private height = 0;
  private left = Infinity;
  private right = -Infinity;
  private top = Infinity;
  private bottom = -Infinity;
  private readonly words = new Map<string, number>();
  private lastFill = '';
  private lastWord: number | undefined = undefined;
  private active = false;

  /** Prepares a frame's buffer; false where the context or the page cannot draw images (then rectangles). */
  begin(ctx: Ctx2D, width: number, height: number): boolean {
    this.active = false;
    if (!ctx.drawImage || !Offscreen) return false;
    width = Math.ceil(width);
    height = Math.ceil(height);
    if (!this.canvas || this.width !== width || this.height !== height) {
      this.canvas = new Offscreen(width, height);
      this.scratch = this.canvas.getContext('2d') ?? undefined;
      if (!this.scratch) return false;
      this.image = this.scratch.createImageData(width, height);
      this.pixels = new Uint32Array(this.image.data.buffer);
      this.width = width;
      this.height = height;
    }
    this.active = this.scratch !== undefined;
    return this.active;
  }

  /**
   * An opaque rectangle, its sides rounded to whole pixels (at least one wide); false where there
   * is no buffer this frame or `fill` is not #rrggbb (the caller draws it as a rectangle).
   */
  add(fill: string, x: number, y: number, w: number, h: number): boolean {
    if (!this.active) return false;
    const word = fill === this.lastFill ? this.lastWord : this.word(fill);
    if (word === undefined) return false;
    const left = Math.round(x);
    const x0 = Math.max(0, left);
    const x1 = Math.min(this.width, Math.max(left + 1, Math.round(x + w)));
    const y0 = Math.max(0, Math.round(y));
    const y1 = Math.min(this.height, Math.round(y + h));
    if (x1 <= x0 || y1 <= y0) return true; // outside the canvas: nothing to draw
    const pixels = this.pixels;
    const stride = this.width;
    if (x1 - x0 <= 16) {
      // Most rectangles are a pixel or two wide (the level of detail's columns, band edges): a
      // TypedArray fill call per row cost more than the pixels (a fifth of a pan's time, profiled).
      for (let k = y0 * stride, end = y1 * stride; k < end; k += stride) for (let i = k + x0; i < k + x1; i++) pixels[i] = word;
    } else {
      for (let k = y0 * stride, end = y1 * stride; k < end; k += stride) pixels.fill(word, k + x0, k + x1);
    }
    if (x0 < this.left) this.left = x0;
    if (x1 > this.right) this.right = x1;
    if (y0 < this.top) this.top = y0;
    if (y1 > this.bottom) this.bottom = y1;
    return true;
  }

  /** A line into the buffer (rasterLine); false where the caller must draw a path instead (no buffer this frame, `color` not #rrggbb). */
  line(color: string, width: number, dash: number, x0: number, y0: number, x1: number, y1: number): boolean {
    if (!this.active) return false;
    const word = color === this.lastFill ? this.lastWord : this.word(color);
    if (word === undefined) return false;
    const drawn = rasterLine(this.pixels, this.width, this.height, word, width, dash, x0, y0, x1, y1);
    if (!drawn) return true;
    const [left, right, top, bottom] = drawn;
    if (left < this.left) this.left = left;
    if (right > this.right) this.right = right;
    if (top < this.top) this.top = top;
    if (bottom > this.bottom) this.bottom = bottom;
    return true;
  }

  /** The pixel word of a #rrggbb colour (undefined for any other form); the last one is kept at hand. */
  private word(fill: string): number | undefined {
    let word = this.words.get(fill);
    if (word === undefined) {
      if (!/^#[0-9a-f]{6}$/i.test(fill)) return undefined;
      const rgb = parseInt(fill.slice(1), 16);
      word = (0xff000000 | ((rgb & 0xff) << 16) | (rgb & 0xff00) | (rgb >> 16)) >>> 0;
      this.words.set(fill, word);
    }
    this.lastFill = fill;
    this.lastWord = word;
    return word;
  }

  /** Draws the columns gathered (within the context's clip) and clears the buffer for the next frame. */
  flush(ctx: Ctx2D): void {
    this.active = false;
    if (this.right <= this.left || this.bottom <= this.top) return;
    const { left, top } = this;
    const w = this.right - left;
    const h = this.bottom - top;
    this.scratch!.putImageData(this.image!, 0, 0, left, top, w, h);
    const smoothing = ctx.imageSmoothingEnabled;
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage!(this.canvas!, left, top, w, h, left, top, w, h);
    ctx.imageSmoothingEnabled = smoothing;
    for (let row = top; row < this.bottom; row++) this.pixels.fill(0, row * this.width + left, row * this.width + this.right);
    this.left = this.top = Infinity;
    this.right = this.bottom = -Infinity;
  }
}

/**
 * Draws a straight line `width` pixels wide into `pixels` (`stride` wide, `rows` high; 32-bit
 * words, colour `word`), antialiased as coverage in the alpha byte, butt ends, dashed `dash` on and
 * `dash` off from (x0, y0) when `dash` > 0. Coverages add up (to opaque at most) where lines share
 * a pixel, as a single path of all the lines covers it: arrows a pixel column apart fill the gap
 * as they did as a path. Steep lines: each pixel row gets the line's horizontal cross-section at
 * the row's centre; flat ones: each column its vertical one. Returns the pixels' bounds
 * [left, right, top, bottom) touched, undefined if none.
 */
export function rasterLine(pixels: Uint32Array<ArrayBufferLike>, stride: number, rows: number, word: number, width: number, dash: number, x0: number, y0: number, x1: number, y1: number): [number, number, number, number] | undefined {
  const dx = x1 - x0;
  const dy = y1 - y0;
  const length = Math.hypot(dx, dy);
  if (length === 0) return undefined;
  const steep = Math.abs(dy) >= Math.abs(dx);
  // The major axis (rows when steep, else columns) is walked a pixel at a time; `step` is the
  // distance between neighbours along the minor one in the buffer.
  const a0 = steep ? y0 : x0;
  const da = steep ? dy : dx;
  const b0 = steep ? x0 : y0;
  const slope = (steep ? dx : dy) / da;
  const majorSize = steep ? rows : stride;
  const minorSize = steep ? stride : rows;
  const majorStep = steep ? stride : 1;
  const minorStep = steep ? 1 : stride;
  const half = (width * length) / Math.abs(da) / 2;
  const perMajor = length / Math.abs(da);
  const lo = Math.min(a0, a0 + da);
  const hi = Math.max(a0, a0 + da);
  const m0 = Math.max(0, Math.floor(lo));
  const m1 = Math.min(majorSize, Math.ceil(hi));
  const rgb = word & 0xffffff;
  let minMinor = Infinity;
  let maxMinor = -Infinity;
  // Full rows (columns) after one whose line has moved less than a 256th of a pixel across (one
  // alpha level) get that one's coverages: an arrow between the lanes is all but vertical.
  const sameFor = Math.floor(1 / 256 / Math.abs(slope));
  const lastFull = Math.min(m1, Math.floor(hi));
  for (let m = m0; m < m1; m++) {
    const full = m >= lo && m + 1 <= hi;
    const centre = full ? m + 0.5 : m + 0.5 < lo ? lo : m + 0.5 > hi ? hi : m + 0.5;
    if (dash > 0 && (Math.abs(centre - a0) * perMajor) % (2 * dash) >= dash) continue;
    const along = full ? 1 : (m + 1 < hi ? m + 1 : hi) - (m > lo ? m : lo);
    if (along <= 0) continue;
    const b = b0 + (centre - a0) * slope;
    const bLo = b - half;
    const bHi = b + half;
    const n0 = bLo > 0 ? Math.floor(bLo) : 0;
    const n1 = Math.min(minorSize, Math.ceil(bHi));
    if (n1 <= n0) continue;
    const repeat = full && dash === 0 && n1 - n0 <= COVERAGE.length ? Math.min(lastFull, m + 1 + sameFor) : m + 1;
    for (let n = n0, k = m * majorStep + n0 * minorStep; n < n1; n++, k += minorStep) {
      const coverage = Math.round(((n + 1 < bHi ? n + 1 : bHi) - (n > bLo ? n : bLo)) * along * 255);
      COVERAGE[n - n0] = coverage;
      const alpha = (pixels[k]! >>> 24) + coverage;
      pixels[k] = (((alpha < 255 ? alpha : 255) << 24) | rgb) >>> 0;
    }
    for (m++; m < repeat; m++) {
      for (let j = 0, k = m * majorStep + n0 * minorStep; j < n1 - n0; j++, k += minorStep) {
        const alpha = (pixels[k]! >>> 24) + COVERAGE[j]!;
        pixels[k] = (((alpha < 255 ? alpha : 255) << 24) | rgb) >>> 0;
      }
    }
    m--;
    if (n0 < minMinor) minMinor = n0;
    if (n1 > maxMinor) maxMinor = n1;
  }
  if (maxMinor <= minMinor) return undefined;
  return steep ? [minMinor, maxMinor, m0, m1] : [m0, m1, minMinor, maxMinor];
}
const COVERAGE = new Int32Array(16);

const DASH = [3, 3];
const NO_DASH: number[] = [];
// One set per page: drawTimeline runs to completion, and every flush empties what it drew.
const FILLS = new RectBatch();
const COLUMNS = new ColumnImage();
const EDGES = new RectBatch();
const LABELS = new TextBatch();
const ARROWS = new LineBatch();
// Dense arrows (more than one per pixel column), as pixels: as paths, the software raster of a
// thousand antialiased lines at commit cost more than the rest of the frame's drawing (traced).
const ARROW_PIXELS = new ColumnImage();
const HEADS = new TriangleBatch();
const ARROW_LABELS = new TextBatch();

/** Text widths per font, measured once (labels repeat: state names, packet numbers). */
const widths = new Map<string, Map<string, number>>();
const MAX_WIDTHS_KEPT = 20_000;

export function textWidth(ctx: Ctx2D, font: string, text: string): number {
  let perFont = widths.get(font);
  if (!perFont) widths.set(font, (perFont = new Map()));
  let w = perFont.get(text);
  if (w === undefined) {
    if (perFont.size >= MAX_WIDTHS_KEPT) perFont.clear();
    if (ctx.font !== font) ctx.font = font;
    w = ctx.measureText(text).width;
    perFont.set(text, w);
  }
  return w;
}

/** `(n)` and `(n′)` for packet numbers, made once per number. */
const numberLabels: string[] = [];
const primeLabels: string[] = [];
const numberLabel = (n: number): string => (numberLabels[n] ??= `(${n})`);
const primeLabel = (n: number): string => (primeLabels[n] ??= `(${n}′)`);

/** drawBand's batched twin: the same shapes and labels, gathered for this frame's flush. */
function batchBand(ctx: Ctx2D, band: Band, y: number, h: number, input: DrawInput, X: (ms: number) => number, stats: DrawStats): void {
  const pal = input.palette;
  const colors = pal.state(band.state);
  const x0 = X(band.startMs);
  const x1 = X(Math.min(band.endMs, input.dataEndMs));
  stats.bands++;
  if (band.state === 'CLOSED') {
    if (!COLUMNS.add(colors.fill, Math.round(x0) - 1, y, 2, h)) FILLS.add(colors.fill, 1, Math.round(x0) - 1, y, 2, h);
    if (x0 > GUTTER - 40 && textWidth(ctx, FONT_BOLD, 'CLOSED') <= 60) LABELS.add(FONT_BOLD, pal.muted, 'CLOSED', x0 + 3, y + h / 2);
    return;
  }
  if (band.seen === 'inferred' || !COLUMNS.add(colors.fill, x0, y, Math.max(1, x1 - x0), h)) FILLS.add(colors.fill, band.seen === 'inferred' ? 0.55 : 1, x0, y, Math.max(1, x1 - x0), h);
  if (!COLUMNS.add(colors.text, Math.round(x0), y, 1, h)) EDGES.add(colors.text, 1, Math.round(x0), y, 1, h);
  const visibleX0 = Math.max(x0, GUTTER + 2);
  const room = x1 - visibleX0 - 6;
  // Labels only where a name can fit (30 px); the host time too where there is plenty of room.
  if (room <= 30) return;
  let text: string = band.state;
  if (room > 200) text = `${band.state}  ${timeOfDay(band.hostTimeUs / 1000, input.utcOffsetMin, 6)}`;
  if (textWidth(ctx, FONT_BOLD, text) > room) return;
  LABELS.add(FONT_BOLD, colors.text, text, visibleX0 + 4, y + h / 2);
}

/** drawPackets' batched twin (level of detail as there): lines, heads and crosses per style. */
function batchPackets(ctx: Ctx2D, input: DrawInput, stats: DrawStats): void {
  const { source, view, layout: l, palette: pal } = input;
  const { list, from, to } = source.packets(view.startMs, endMs(view));
  const dense = to - from > view.width;
  const pixels = dense && ARROW_PIXELS.begin(ctx, GUTTER + view.width, l.height);
  let lastCol = -Infinity;
  let lastLabelX = -Infinity;
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
    if (Math.max(x0, x1) < GUTTER - 20) continue;
    const y0 = ends.y0;
    const y1 = ends.y1;
    const color = p.dropped ? pal.danger : pal.packet;
    let tx = x1;
    let ty = y1;
    if (p.dropped) ({ x: tx, y: ty } = deathPoint({ x0, y0, x1, y1 }, p.dropped.where));
    const dashed = !p.dropped && (p.sentMs === undefined || p.recvMs === undefined);
    stats.packets++;
    if (dense) {
      if (!pixels || !ARROW_PIXELS.line(color, 1.2, dashed ? DASH[0]! : 0, x0, y0, tx, ty)) ARROWS.add(color, 1.2, dashed, x0, y0, tx, ty);
      continue;
    }
    ARROWS.add(color, 1.2, dashed, x0, y0, tx, ty);
    if (p.dropped) {
      ARROWS.add(color, 2, false, tx - 4, ty - 4, tx + 4, ty + 4);
      ARROWS.add(color, 2, false, tx + 4, ty - 4, tx - 4, ty + 4);
    } else {
      const angle = Math.atan2(y1 - y0, x1 - x0);
      HEADS.add(color, x1, y1, x1 - 6 * Math.cos(angle - 0.4), y1 - 6 * Math.sin(angle - 0.4), x1 - 6 * Math.cos(angle + 0.4), y1 - 6 * Math.sin(angle + 0.4));
    }
    if (x0 - lastLabelX > 26) {
      const down = y1 > y0;
      ARROW_LABELS.add(MONO, color, numberLabel(p.number), x0 + 3, y0 + (down ? 7 : -7));
      if (!p.dropped && p.recvMs !== undefined && p.sentMs !== undefined) ARROW_LABELS.add(MONO, color, primeLabel(p.number), x1 + 3, y1 + (down ? -7 : 7));
      lastLabelX = x0;
      stats.labels++;
    }
  }
  if (pixels) ARROW_PIXELS.flush(ctx);
  ARROWS.flush(ctx);
  HEADS.flush(ctx);
  ARROW_LABELS.flush(ctx);
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
    const font = m.kind === 'command' ? MONO : FONT_BOLD;
    ctx.font = font;
    const text = `${MARKER_GLYPH[m.kind]} ${m.text}`;
    const short = text.length > 48 ? `${text.slice(0, 47)}…` : text;
    ctx.fillText(short, x + 4, lane.markerY + MARKER_H / 2);
    lastLabelEnd.set(m.host, x + 10 + (all ? ctx.measureText(short).width : textWidth(ctx, font, short)));
    stats.labels++;
  }
  ctx.font = FONT;
}
