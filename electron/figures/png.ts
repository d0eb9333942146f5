/**
 * SVG -> PNG with resvg, at print resolution. Text is set only in the fonts shipped in
 * resources/fonts/ (system fonts are not loaded), so a PNG is the same on every machine.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import { RESOURCES_DIR } from '../lab/virtual-lab';

export const FONTS_DIR = join(RESOURCES_DIR, 'fonts');
const FONT_FILES = readdirSync(FONTS_DIR).filter((f) => f.endsWith('.ttf')).map((f) => join(FONTS_DIR, f));

/** Default scale: 2x (a 600 px wide figure becomes 1200 px, about 200 dpi at 6 inches wide). */
export const DEFAULT_SCALE = 2;

export function svgToPng(svg: string, scale: number = DEFAULT_SCALE): Buffer {
  if (!(scale >= 1 && scale <= 8)) throw new Error(`PNG scale must be from 1 to 8 (got ${scale})`);
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    font: { loadSystemFonts: false, fontFiles: FONT_FILES, defaultFontFamily: 'JetBrains Mono' },
    shapeRendering: 2,
    textRendering: 1,
  });
  return resvg.render().asPng();
}
