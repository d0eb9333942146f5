/**
 * Two real (headless) xterm terminals compared cell by cell with their attributes (the serialize
 * addon), cursor and scroll position included: what the fast-forward tests (pane write queue,
 * engine output relay) check against, and the floods and chunkings they feed both.
 */
import { SerializeAddon } from '@xterm/addon-serialize';
import { Terminal } from '@xterm/headless';

export const COLS = 20;
export const ROWS = 5;
export const SCROLLBACK = 30;

export interface Screen {
  serialized: string;
  rows: string[];
  wrapped: boolean[];
  cursor: [number, number];
  baseY: number;
  length: number;
}

export function newTerminal(): { term: Terminal; screen: () => Screen } {
  const term = new Terminal({ cols: COLS, rows: ROWS, scrollback: SCROLLBACK, allowProposedApi: true });
  const serialize = new SerializeAddon();
  term.loadAddon(serialize);
  const screen = (): Screen => {
    const buffer = term.buffer.active;
    const rows: string[] = [];
    const wrapped: boolean[] = [];
    for (let y = 0; y < buffer.length; y++) {
      const line = buffer.getLine(y)!;
      rows.push(line.translateToString(false));
      wrapped.push(line.isWrapped);
    }
    return { serialized: serialize.serialize(), rows, wrapped, cursor: [buffer.cursorX, buffer.cursorY], baseY: buffer.baseY, length: buffer.length };
  };
  return { term, screen };
}

/** `text` cut into pieces at the given (sorted, deduplicated) positions. */
export function cutAt(text: string, positions: number[]): string[] {
  const cuts = [...new Set(positions.map((p) => p % (text.length + 1)))].sort((a, b) => a - b);
  const pieces: string[] = [];
  let from = 0;
  for (const at of cuts) {
    if (at > from) pieces.push(text.slice(from, at));
    from = Math.max(from, at);
  }
  pieces.push(text.slice(from));
  return pieces.filter((p) => p.length > 0);
}

/** Lines of `seq`, with some as wide as the pane and some wider (they wrap). */
export function floodLines(count: number): string {
  let text = '';
  for (let i = 1; i <= count; i++) {
    const line = i % 7 === 0 ? 'w'.repeat(COLS) : i % 11 === 0 ? `${i}`.padEnd(COLS * 2 + 3, '-') : String(i);
    text += `${line}\r\n`;
  }
  return text;
}

export const chunked = (text: string, size: number): string[] => Array.from({ length: Math.ceil(text.length / size) }, (_, i) => text.slice(i * size, (i + 1) * size));


/** Writes `chunks` into `term` and resolves once it has parsed them all. */
export function writeAll(term: Terminal, chunks: readonly string[]): Promise<void> {
  return new Promise((resolve) => {
    if (chunks.length === 0) return resolve();
    chunks.forEach((chunk, i) => term.write(chunk, i === chunks.length - 1 ? resolve : undefined));
  });
}
