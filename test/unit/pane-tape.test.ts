/**
 * The page's record of a pane's output for the timeline's cursor (renderer/src/timeline/pane-tape.ts):
 * bounded, whole chunks let go oldest first, never leaving a replay to start inside an escape
 * sequence, with absolute chunk indices; and a replay of what it keeps draws what the terminal
 * drew (two real headless xterms). The Recording keeps pane text nowhere else.
 */
import fc from 'fast-check';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { ChunkClassifier } from '../../shared/src/terminal-flood';
import { PaneTape, PANE_TAPE_CHARS, type PaneChunk } from '../../renderer/src/timeline/pane-tape';
import { Recording } from '../../renderer/src/timeline/recording';
import type { LabEvent } from '../../shared/src/events';
import { newTerminal, ROWS, SCROLLBACK } from './support/terminal-compare';

/** A coloured line as `ls --color` writes it: SGR on, text, SGR off, CRLF (at most 15 columns: one row of 20). */
const colouredLine = (i: number): string => `\x1b[1;3${i % 8}m${String(i).padStart(6, '0')}\x1b[0m file${i % 97}\r\n`;

/** Cuts `text` into chunks of the given sizes (cycled), as SSH channel reads would. */
function cut(text: string, sizes: readonly number[]): string[] {
  const chunks: string[] = [];
  for (let at = 0, k = 0; at < text.length; k++) {
    const size = sizes[k % sizes.length]!;
    chunks.push(text.slice(at, at + size));
    at += size;
  }
  return chunks;
}

function fill(tape: PaneTape, chunks: readonly string[], t0 = 1000): PaneChunk[] {
  return chunks.map((data, i) => {
    const chunk = { t: t0 + i, session: 's', data };
    tape.add(chunk);
    return chunk;
  });
}

const inGroundAfter = (chunks: readonly string[]): boolean => {
  const classifier = new ChunkClassifier();
  for (const c of chunks) classifier.classify(c);
  return classifier.inGround;
};

describe('PaneTape', () => {
  it('keeps a 100 MB coloured flood within its budget, the newest output, with absolute indices', () => {
    const tape = new PaneTape();
    const line = colouredLine(3);
    const chunk = line.repeat(Math.floor(65536 / line.length));
    const count = Math.ceil(100e6 / chunk.length);
    let most = 0;
    for (let i = 0; i < count; i++) {
      tape.add({ t: i, session: 's', data: chunk });
      most = Math.max(most, tape.chars);
    }
    expect(most).toBeLessThanOrEqual(PANE_TAPE_CHARS);
    expect(tape.chars).toBeGreaterThanOrEqual(PANE_TAPE_CHARS / 2);
    expect(tape.end).toBe(count);
    expect(tape.first).toBe(count - tape.chars / chunk.length);
    expect(tape.chunk(tape.end - 1).t).toBe(count - 1);
    expect(tape.firstTime).toBe(tape.first);
    expect(() => tape.chunk(tape.first - 1)).toThrow(/not kept/);
    // Instants before what is kept count as its start; later ones absolutely.
    expect(tape.countAt(0)).toBe(tape.first);
    expect(tape.countAt(tape.first)).toBe(tape.first + 1);
    expect(tape.countAt(count + 5)).toBe(count);
  });

  it('lets go only at boundaries where the terminal parser is in ground, chunks cut through sequences anywhere', () => {
    fc.assert(
      // Budgets many chunks long, as in the page (8 Mi characters, chunks of at most 64 KiB): the
      // tape gives up looking for a boundary in ground only half the target below it.
      fc.property(fc.array(fc.integer({ min: 1, max: 90 }), { minLength: 1, maxLength: 12 }), fc.integer({ min: 2000, max: 6000 }), (sizes, budget) => {
        let text = '';
        for (let i = 0; i < 400; i++) text += colouredLine(i) + (i % 7 === 0 ? '\x1b]0;title of the window\x07' : '');
        const chunks = cut(text, sizes);
        const tape = new PaneTape(budget);
        fill(tape, chunks);
        expect(tape.first).toBeGreaterThan(0);
        // What it keeps is the end of the output, and what it let go of ends in ground (a cut
        // inside the oldest chunk kept, where chunk cuts all fell inside sequences: sizes [78, 25]).
        const all = chunks.join('');
        let kept = '';
        for (let i = tape.first; i < tape.end; i++) kept += tape.chunk(i).data;
        expect(all.endsWith(kept)).toBe(true);
        expect(inGroundAfter([all.slice(0, all.length - kept.length)])).toBe(true);
        expect(tape.chars).toBe(kept.length);
        expect(tape.chars).toBeLessThanOrEqual(Math.max(budget, chunks.at(-1)!.length));
      }),
      { numRuns: 300 },
    );
  });

  it('cuts into the oldest chunk it keeps when every chunk cut near its target falls inside a sequence', () => {
    // Reads of 78 and 25 characters over these lines: for dozens of chunks in a row, every cut is
    // inside an escape sequence (fast-check found it; 1 run in ~1,200).
    let text = '';
    for (let i = 0; i < 400; i++) text += colouredLine(i) + (i % 7 === 0 ? '\x1b]0;title of the window\x07' : '');
    const chunks = cut(text, [78, 25]);
    const tape = new PaneTape(2000);
    fill(tape, chunks);
    expect(inGroundAfter(chunks.slice(0, tape.first))).toBe(false);
    expect(tape.chunk(tape.first).data).not.toBe(chunks[tape.first]);
    expect(chunks[tape.first]!.endsWith(tape.chunk(tape.first).data)).toBe(true);
    expect(inGroundAfter([...chunks.slice(0, tape.first), chunks[tape.first]!.slice(0, chunks[tape.first]!.length - tape.chunk(tape.first).data.length)])).toBe(true);
  });

  it('stays bounded through a sequence that never ends (a DCS string with no terminator)', () => {
    const tape = new PaneTape(10_000);
    const chunks = ['\x1bP1;2q', ...Array.from({ length: 200 }, () => '#0;2;0;0;0#0!80~-'.repeat(20))];
    fill(tape, chunks);
    expect(tape.chars).toBeLessThanOrEqual(10_000);
    expect(tape.first).toBeGreaterThan(0);
  });

  it('a replay of what it keeps draws the same rows and attributes as the terminal that took everything', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 120 }), { minLength: 1, maxLength: 8 }), (sizes) => {
        let text = '';
        for (let i = 0; i < 300; i++) text += colouredLine(i);
        const chunks = cut(text, sizes);
        // Enough kept for the small terminal's scrollback and screen (36 rows of about 28 characters).
        const tape = new PaneTape(4000);
        fill(tape, chunks);
        expect(tape.first).toBeGreaterThan(0);
        const all = newTerminal();
        const replay = newTerminal();
        all.term.write(chunks.join(''));
        let kept = '';
        for (let i = tape.first; i < tape.end; i++) kept += tape.chunk(i).data;
        replay.term.write(kept);
        return new Promise<void>((resolve) =>
          all.term.write('', () =>
            replay.term.write('', () => {
              const a = all.screen();
              const b = replay.screen();
              expect(b.length).toBe(SCROLLBACK + ROWS);
              expect(b.rows).toEqual(a.rows);
              expect(b.serialized).toEqual(a.serialized);
              all.term.dispose();
              replay.term.dispose();
              resolve();
            }),
          ),
        );
      }),
      { numRuns: 60 },
    );
  });
});

describe('the Recording keeps pane text only in the tapes', () => {
  it('a coloured flood of six budgets leaves the page holding about one', () => {
    // The heap, measured: V8's own collector, reached without the --expose-gc command-line flag.
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const recording = new Recording();
    const line = colouredLine(5);
    const body = line.repeat(Math.floor(65536 / line.length));
    const count = Math.ceil((6 * PANE_TAPE_CHARS) / body.length);
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < count; i++) {
      // A string of its own per event, as each WebSocket message's JSON.parse makes.
      const data = JSON.parse(JSON.stringify(`${body}${i}`)) as string;
      const event = { seq: i, t: 1000 + i, type: 'pane-output', host: 'H1', pane: 'upper', data } as LabEvent;
      recording.add({ type: 'event', session: 's', event });
    }
    recording.flush();
    gc();
    const grownMiB = (process.memoryUsage().heapUsed - before) / 2 ** 20;
    expect(recording.size).toBe(count);
    const tape = recording.paneTape('H1', 'upper');
    expect(tape.end).toBe(count);
    expect(tape.first).toBeGreaterThan(0);
    // The flood is 48 MiB of one-byte strings; the tape keeps at most 8 MiB of it.
    expect(grownMiB).toBeLessThan(2 * (PANE_TAPE_CHARS / 2 ** 20));
  });
});
