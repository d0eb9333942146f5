/**
 * Writes resources/fonts/*.ttf, the fonts every figure is drawn with, from the WOFF files of the
 * pinned @fontsource/jetbrains-mono package (OFL-1.1; its license is copied next to them).
 * WOFF 1.0 is the TrueType file with each table zlib-compressed, so unpacking it is lossless:
 * resvg (which reads only TTF/OTF) then renders exactly the glyphs the app shows.
 *
 *   npx tsx scripts/fonts-from-fontsource.ts
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';

/** WOFF 1.0 -> sfnt (TrueType/OpenType), per https://www.w3.org/TR/WOFF/. */
export function woffToSfnt(woff: Buffer): Buffer {
  if (woff.toString('latin1', 0, 4) !== 'wOFF') throw new Error('not a WOFF 1.0 file');
  const flavor = woff.readUInt32BE(4);
  const numTables = woff.readUInt16BE(12);
  const tables: Array<{ tag: string; checksum: number; data: Buffer }> = [];
  for (let i = 0; i < numTables; i++) {
    const at = 44 + i * 20;
    const tag = woff.toString('latin1', at, at + 4);
    const offset = woff.readUInt32BE(at + 4);
    const compLength = woff.readUInt32BE(at + 8);
    const origLength = woff.readUInt32BE(at + 12);
    const checksum = woff.readUInt32BE(at + 16);
    const raw = woff.subarray(offset, offset + compLength);
    const data = compLength < origLength ? inflateSync(raw) : Buffer.from(raw);
    if (data.length !== origLength) throw new Error(`table ${tag}: ${data.length} bytes, expected ${origLength}`);
    tables.push({ tag, checksum, data });
  }
  tables.sort((a, b) => (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0));
  const entrySelector = Math.floor(Math.log2(numTables));
  const searchRange = 2 ** entrySelector * 16;
  const header = Buffer.alloc(12 + numTables * 16);
  header.writeUInt32BE(flavor, 0);
  header.writeUInt16BE(numTables, 4);
  header.writeUInt16BE(searchRange, 6);
  header.writeUInt16BE(entrySelector, 8);
  header.writeUInt16BE(numTables * 16 - searchRange, 10);
  const parts: Buffer[] = [header];
  let offset = header.length;
  tables.forEach((table, i) => {
    const at = 12 + i * 16;
    header.write(table.tag, at, 'latin1');
    header.writeUInt32BE(table.checksum, at + 4);
    header.writeUInt32BE(offset, at + 8);
    header.writeUInt32BE(table.data.length, at + 12);
    const padded = Buffer.alloc((table.data.length + 3) & ~3);
    table.data.copy(padded);
    parts.push(padded);
    offset += padded.length;
  });
  return Buffer.concat(parts);
}

const root = join(import.meta.dirname, '..');
const source = join(root, 'node_modules/@fontsource/jetbrains-mono');
const out = join(root, 'resources/fonts');
mkdirSync(out, { recursive: true });
// Only the latin subset (ASCII, Latin-1, general punctuation): fontdb treats the latin-ext files,
// which share the family name, as the same face and picks the wrong one for bold.
for (const [subset, weight, name] of [
  ['latin', 400, 'JetBrainsMono-Regular-latin'],
  ['latin', 700, 'JetBrainsMono-Bold-latin'],
] as const) {
  const ttf = woffToSfnt(readFileSync(join(source, `files/jetbrains-mono-${subset}-${weight}-normal.woff`)));
  writeFileSync(join(out, `${name}.ttf`), ttf);
  console.log(`${name}.ttf: ${ttf.length} bytes`);
}
copyFileSync(join(source, 'LICENSE'), join(out, 'OFL.txt'));
