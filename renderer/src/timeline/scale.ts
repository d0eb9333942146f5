/**
 * The timeline's horizontal scale: a window [startMs, startMs + spanMs] of the corrected time
 * axis (controller epoch milliseconds) mapped onto `width` pixels. Pure and immutable: every
 * zoom and pan returns a new view, so the view can be tested without a canvas.
 */

export interface TimeView {
  /** Axis time at the left edge, epoch ms (fractional: the axis has microseconds). */
  startMs: number;
  /** Axis time across the whole width. */
  spanMs: number;
  /** Drawable width in CSS pixels. */
  width: number;
}

/** The narrowest window: 20 µs across the panel (states that last microseconds get room). */
export const MIN_SPAN_MS = 0.02;
/** The widest: a day. */
export const MAX_SPAN_MS = 86_400_000;

export function xOf(view: TimeView, ms: number): number {
  return ((ms - view.startMs) / view.spanMs) * view.width;
}

export function msAt(view: TimeView, x: number): number {
  return view.startMs + (x / view.width) * view.spanMs;
}

export function endMs(view: TimeView): number {
  return view.startMs + view.spanMs;
}

/** Zooms by `factor` (> 1 zooms in) keeping the time under pixel `anchorX` where it is. */
export function zoom(view: TimeView, factor: number, anchorX: number): TimeView {
  const anchor = msAt(view, anchorX);
  const spanMs = Math.min(MAX_SPAN_MS, Math.max(MIN_SPAN_MS, view.spanMs / factor));
  return { ...view, spanMs, startMs: anchor - (anchorX / view.width) * spanMs };
}

/** Moves the window by `dx` pixels (positive: later times come into view). */
export function pan(view: TimeView, dx: number): TimeView {
  return { ...view, startMs: view.startMs + (dx / view.width) * view.spanMs };
}

/** Keeps some of [dataStart, dataEnd] in view: at most 90% of the window may be empty on either side. */
export function clampToData(view: TimeView, dataStartMs: number, dataEndMs: number): TimeView {
  const margin = view.spanMs * 0.9;
  const startMs = Math.min(Math.max(view.startMs, dataStartMs - margin), dataEndMs - view.spanMs + margin);
  return startMs === view.startMs ? view : { ...view, startMs };
}

/** The whole of [fromMs, toMs] with a small margin on both sides. */
export function fit(fromMs: number, toMs: number, width: number): TimeView {
  const span = Math.max(MIN_SPAN_MS, (toMs - fromMs) * 1.04);
  return { startMs: fromMs - (span - (toMs - fromMs)) / 2, spanMs: span, width };
}

const STEPS_MS = [
  0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500,
  1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 21_600_000, 43_200_000, 86_400_000,
];

/** The tick step (from 1 µs to a day) that puts ticks at least `minPx` apart. */
export function tickStep(view: TimeView, minPx = 90): number {
  const perPx = view.spanMs / view.width;
  return STEPS_MS.find((step) => step / perPx >= minPx) ?? STEPS_MS[STEPS_MS.length - 1]!;
}

/** Tick times within the view, multiples of `step` in the hosts' zone (`utcOffsetMin`). */
export function ticks(view: TimeView, step: number, utcOffsetMin = 0): number[] {
  const zone = utcOffsetMin * 60_000;
  const first = Math.ceil((view.startMs + zone) / step) * step - zone;
  const out: number[] = [];
  for (let t = first; t <= endMs(view) && out.length < 1000; t += step) out.push(t);
  return out;
}

/** Digits of a second that a tick step needs: 0, 3 (ms) or 6 (µs). */
export function tickDigits(step: number): 0 | 3 | 6 {
  return step >= 1000 ? 0 : step >= 1 ? 3 : 6;
}

/** First index in ascending `values` whose value is >= `x` (values.length if none). */
export function lowerBound(values: ArrayLike<number>, x: number, from = 0, to = values.length): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index in ascending `values` whose value is > `x`. */
export function upperBound(values: ArrayLike<number>, x: number, from = 0, to = values.length): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
