/**
 * The timeline's dense arrows drawn as pixels (renderer/src/timeline/draw.ts rasterLine): the
 * coverage a 1.2-pixel line leaves in each pixel, side-by-side lines filling the gap as one path
 * would, dashes, flat lines, and lines reaching outside the buffer.
 */
import { describe, expect, it } from 'vitest';
import { rasterLine } from '../../renderer/src/timeline/draw';

const W = 40;
const H = 30;
const INK = 0x00554433; // rgb in the low bytes, as the buffer's words hold it
const buffer = (): Uint32Array => new Uint32Array(W * H);
const alpha = (pixels: Uint32Array, x: number, y: number): number => pixels[y * W + x]! >>> 24;
/** Coverage as a fraction, to the byte's precision (0.3 may come out of the arithmetic as 0.2999…). */
const cover = (a: number): number => Math.round((a / 255) * 100) / 100;
const column = (pixels: Uint32Array, x: number, from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => alpha(pixels, x, from + i));

describe('rasterLine', () => {
  it('a vertical line 1.2 px wide at x 10.3 covers 0.3 of column 9 and 0.9 of column 10, rows y0 to y1 only', () => {
    const pixels = buffer();
    expect(rasterLine(pixels, W, H, INK, 1.2, 0, 10.3, 5, 10.3, 20)).toEqual([9, 11, 5, 20]);
    expect(column(pixels, 9, 5, 20).map(cover)).toEqual(Array(15).fill(0.3));
    expect(column(pixels, 10, 5, 20).map(cover)).toEqual(Array(15).fill(0.9));
    expect(alpha(pixels, 10, 4)).toBe(0);
    expect(alpha(pixels, 10, 20)).toBe(0);
    expect(alpha(pixels, 11, 10)).toBe(0);
    expect(pixels[10 * W + 10]! & 0xffffff).toBe(INK);
  });

  it('lines a pixel apart add up to opaque between them (one path of all of them covers it), never beyond', () => {
    const pixels = buffer();
    for (const x of [10.3, 11.5, 12.7]) rasterLine(pixels, W, H, INK, 1.2, 0, x, 0, x, 10);
    // Column 11: 0.1 of the first line, 1.0 of the second, 0.1 of the third; column 10: 0.9 + 0.1.
    expect(alpha(pixels, 10, 3)).toBe(255);
    expect(alpha(pixels, 11, 3)).toBe(255);
    expect(alpha(pixels, 12, 3)).toBe(255);
  });

  it('a steep line drifting across: each row has the coverage where the line crosses that row, to within one alpha level', () => {
    for (const drift of [0.002, 0.5, 7]) {
      const pixels = buffer();
      rasterLine(pixels, W, H, INK, 1.2, 0, 10.3, 0, 10.3 + drift, 28);
      for (const y of [0, 13, 27]) {
        const x = 10.3 + (drift * (y + 0.5)) / 28;
        const half = (1.2 * Math.hypot(drift, 28)) / 28 / 2;
        for (let px = 8; px < 20; px++) {
          const exact = Math.max(0, Math.min(px + 1, x + half) - Math.max(px, x - half)) * 255;
          expect(Math.abs(alpha(pixels, px, y) - exact), `drift ${drift}, row ${y}, column ${px}`).toBeLessThanOrEqual(1.5);
        }
      }
    }
  });

  it('partial end rows get the part of the row the line spans (a dropped arrow ends mid-row)', () => {
    const pixels = buffer();
    rasterLine(pixels, W, H, INK, 1, 0, 5.5, 2, 5.5, 6.25);
    expect(column(pixels, 5, 1, 8).map(cover)).toEqual([0, 1, 1, 1, 1, 0.25, 0]);
  });

  it('dashed: 3 px on, 3 px off along the line from its start, in either direction', () => {
    const down = buffer();
    rasterLine(down, W, H, INK, 1, 3, 5.5, 0, 5.5, 12);
    expect(column(down, 5, 0, 12).map((a) => (a > 0 ? 1 : 0))).toEqual([1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0]);
    const up = buffer();
    rasterLine(up, W, H, INK, 1, 3, 5.5, 12, 5.5, 0);
    expect(column(up, 5, 0, 12).map((a) => (a > 0 ? 1 : 0))).toEqual([0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1]);
  });

  it('a flat line is walked by columns, its vertical cross-section in each', () => {
    const pixels = buffer();
    expect(rasterLine(pixels, W, H, INK, 1.2, 0, 2, 7.5, 30, 7.5)).toEqual([2, 30, 6, 9]);
    expect(alpha(pixels, 15, 7)).toBe(255);
    expect(cover(alpha(pixels, 15, 6))).toBe(0.1);
    expect(cover(alpha(pixels, 15, 8))).toBe(0.1);
  });

  it('a diagonal keeps its weight: the cross-section of a 45° line is wider than the line', () => {
    const pixels = buffer();
    rasterLine(pixels, W, H, INK, 1.2, 0, 0, 0, 20, 20);
    const row = Array.from({ length: W }, (_, x) => alpha(pixels, x, 10)).reduce((a, b) => a + b, 0) / 255;
    expect(row).toBeCloseTo(1.2 * Math.SQRT2, 1);
  });

  it('draws only inside the buffer, and nothing for a line wholly outside it or of no length', () => {
    const pixels = buffer();
    expect(rasterLine(pixels, W, H, INK, 1.2, 0, -5.5, -10, -5.5, 50)).toBeUndefined();
    expect(rasterLine(pixels, W, H, INK, 1.2, 0, 8, 8, 8, 8)).toBeUndefined();
    expect(pixels.every((p) => p === 0)).toBe(true);
    expect(rasterLine(pixels, W, H, INK, 1.2, 0, 39.5, -10, 39.5, 50)).toEqual([38, 40, 0, 30]);
  });
});
