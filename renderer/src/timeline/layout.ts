/**
 * Where things go on the timeline canvas (pure: tested without a canvas), and hit-testing: what
 * lies under the pointer.
 */
import type { Band, Marker, PacketArrow, TimelineSource } from './model';
import { msAt, xOf, type TimeView } from './scale';

export const GUTTER = 92;
export const AXIS_H = 20;
export const MARKER_H = 16;
export const ROW_H = 17;
export const GAP_H = 46;

export interface LaneLayout {
  host: string;
  /** Marker strip: above the rows for the first lane, below for the others (outside the packet gap). */
  markerY: number;
  rowsY: number;
  rowsH: number;
  /** Top and bottom of the lane. */
  top: number;
  bottom: number;
}

export interface Layout {
  lanes: LaneLayout[];
  height: number;
}

export function layout(hosts: readonly string[], rowsPerLane: number): Layout {
  const lanes: LaneLayout[] = [];
  let y = AXIS_H;
  hosts.forEach((host, i) => {
    const rowsH = rowsPerLane * ROW_H;
    if (i === 0) {
      lanes.push({ host, markerY: y, rowsY: y + MARKER_H, rowsH, top: y, bottom: y + MARKER_H + rowsH });
    } else {
      y += GAP_H;
      lanes.push({ host, markerY: y + rowsH, rowsY: y, rowsH, top: y, bottom: y + rowsH + MARKER_H });
    }
    y = lanes[lanes.length - 1]!.bottom;
  });
  return { lanes, height: y + 6 };
}

export function laneOf(l: Layout, host: string): LaneLayout | undefined {
  return l.lanes.find((lane) => lane.host === host);
}

/** The packet arrow's ends: from the sender lane's edge facing the receiver to the receiver's. */
export function arrowEnds(l: Layout, view: TimeView, p: PacketArrow): { x0: number; y0: number; x1: number; y1: number } | undefined {
  const from = laneOf(l, p.from);
  const to = p.to !== undefined ? laneOf(l, p.to) : undefined;
  const other = to ?? l.lanes.find((lane) => lane !== from);
  if (!from || !other) return undefined;
  const down = from.top < other.top;
  const y0 = down ? from.rowsY + from.rowsH : from.rowsY;
  const y1 = down ? other.rowsY : other.rowsY + other.rowsH;
  const sent = p.sentMs ?? p.recvMs ?? p.dropped?.atMs;
  const received = p.recvMs ?? p.sentMs ?? p.dropped?.atMs;
  if (sent === undefined || received === undefined) return undefined;
  return { x0: xOf(view, sent), y0, x1: xOf(view, received), y1 };
}

/** Where a dropped packet's arrow ends (its cross): a third of the way when the sender's firewall ate it. */
export function deathPoint(ends: { x0: number; y0: number; x1: number; y1: number }, where: 'sender' | 'receiver'): { x: number; y: number } {
  const f = where === 'sender' ? 0.35 : 1;
  return { x: ends.x0 + (ends.x1 - ends.x0) * f, y: ends.y0 + (ends.y1 - ends.y0) * f };
}

export type Hit =
  | { kind: 'band'; band: Band }
  | { kind: 'packet'; packet: PacketArrow }
  | { kind: 'marker'; marker: Marker }
  | undefined;

/** What lies under (x, y) in canvas pixels (x from the plot's left edge). */
export function hitTest(source: TimelineSource, l: Layout, view: TimeView, x: number, y: number): Hit {
  const ms = msAt(view, x);
  const perPx = view.spanMs / view.width;
  for (const lane of l.lanes) {
    if (y >= lane.markerY && y < lane.markerY + MARKER_H) {
      const { list, from, to } = source.markers(ms - 5 * perPx, ms + 5 * perPx);
      let best: Marker | undefined;
      for (let i = from; i < to; i++) {
        const m = list[i]!;
        if (m.host === lane.host && (!best || Math.abs(m.atMs - ms) < Math.abs(best.atMs - ms))) best = m;
      }
      if (best) return { kind: 'marker', marker: best };
    }
    if (y >= lane.rowsY && y < lane.rowsY + lane.rowsH) {
      const row = Math.floor((y - lane.rowsY) / ROW_H);
      let found: Band | undefined;
      // A CLOSED mark (zero length) is hit within 3 px.
      source.bands(lane.host, row, ms - 3 * perPx, ms + 3 * perPx, (band) => {
        if ((band.startMs <= ms && ms <= band.endMs) || Math.abs(band.startMs - ms) <= 3 * perPx) found = band;
      });
      if (found) return { kind: 'band', band: found };
    }
  }
  const { list, from, to } = source.packets(ms - 6 * perPx, ms + 6 * perPx);
  let best: { p: PacketArrow; d: number } | undefined;
  for (let i = from; i < to; i++) {
    const p = list[i]!;
    const ends = arrowEnds(l, view, p);
    if (!ends) continue;
    const tip = p.dropped ? deathPoint(ends, p.dropped.where) : { x: ends.x1, y: ends.y1 };
    const d = distanceToSegment(x, y, ends.x0, ends.y0, tip.x, tip.y);
    if (d <= 5 && (!best || d < best.d)) best = { p, d };
  }
  return best ? { kind: 'packet', packet: best.p } : undefined;
}

export function distanceToSegment(px: number, py: number, x0: number, y0: number, x1: number, y1: number): number {
  const dx = x1 - x0;
  const dy = y1 - y0;
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((px - x0) * dx + (py - y0) * dy) / len2));
  return Math.hypot(px - (x0 + t * dx), py - (y0 + t * dy));
}
