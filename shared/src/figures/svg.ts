/**
 * Small helpers shared by the figure renderers (pure: strings in, strings out). Every figure is a
 * standalone SVG drawn in one font, JetBrains Mono (resources/fonts/, from @fontsource), so the
 * PNG made from it by resvg is the same on every machine, and text widths are known exactly:
 * each glyph advances 0.6 em.
 */

export const FONT_FAMILY = "'JetBrains Mono', 'DejaVu Sans Mono', monospace";
/** Advance of one glyph of JetBrains Mono, in em. */
export const CHAR_WIDTH_EM = 0.6;

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&apos;'));
}

/** Width of `text` set in the figure font at `size` px (monospace: characters times advance). */
export function textWidth(text: string, size: number): number {
  return [...text].length * CHAR_WIDTH_EM * size;
}

/** A number for an SVG attribute: at most two decimals, no trailing zeros. */
export function num(value: number): string {
  return String(Math.round(value * 100) / 100);
}

export function svgDocument(width: number, height: number, body: string, title: string): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${num(width)}" height="${num(height)}" viewBox="0 0 ${num(width)} ${num(height)}" font-family="${escapeXml(FONT_FAMILY)}">`,
    `<title>${escapeXml(title)}</title>`,
    body,
    '</svg>',
    '',
  ].join('\n');
}
