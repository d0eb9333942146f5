/**
 * The pane write queue's fast-forward must leave the terminal exactly as writing everything would:
 * two real (headless) xterm terminals, one fed directly and one through the queue, compared cell
 * by cell with their attributes (the serialize addon), cursor and scroll position included.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PaneWriteQueue, WRITE_PIECE_CHARS } from '../../renderer/src/terminals/write-queue';
import { plainTailCut } from '../../shared/src/terminal-flood';
import { COLS, ROWS, chunked, cutAt, floodLines, newTerminal, writeAll, type Screen } from './support/terminal-compare';

/** Writes `chunks` both ways; resolves with both screens, the order `done` ran in, and what was skipped. */
async function bothWays(chunks: string[]): Promise<{ direct: Screen; queued: Screen; doneOrder: number[]; skipped: number }> {
  const direct = newTerminal();
  const queued = newTerminal();
  const queue = new PaneWriteQueue(queued.term, { inFlightChars: 64, pacedChars: 256, widestCols: COLS, tallestRows: ROWS });
  const doneOrder: number[] = [];
  await Promise.all([
    writeAll(direct.term, chunks),
    new Promise<void>((resolve) => {
      chunks.forEach((chunk, i) =>
        queue.write(chunk, () => {
          doneOrder.push(i);
          if (i === chunks.length - 1) resolve();
        }),
      );
      if (chunks.length === 0) resolve();
    }),
  ]);
  return { direct: direct.screen(), queued: queued.screen(), doneOrder, skipped: queue.skippedChars };
}

describe('PaneWriteQueue fast-forward', () => {
  it('skips most of a flood after coloured, positioned output and ends exactly as writing it all', async () => {
    const before = '\x1b[2J\x1b[H\x1b[1;32mprompt$\x1b[0m seq\r\n\x1b[3;5Hhere\x1b[A\x1b[44m';
    // 33-character pieces put CRLFs across pieces too.
    const result = await bothWays([before, ...chunked(floodLines(2000), 33), '\x1b[0mend$ ']);
    expect(result.queued).toEqual(result.direct);
    expect(result.skipped).toBeGreaterThan(10_000);
    expect(result.doneOrder).toEqual([...result.doneOrder].sort((a, b) => a - b));
    expect(new Set(result.doneOrder).size).toBe(result.doneOrder.length);
  });

  it('skips nothing inside a scroll region, on the alternate screen, or with wraparound off, and still matches', async () => {
    for (const setup of ['\x1b[2;4r', '\x1b[?1049h', '\x1b[?7l', '\x1b[4h']) {
      const result = await bothWays([setup, ...chunked(floodLines(500), 64)]);
      expect(result.queued, JSON.stringify(setup)).toEqual(result.direct);
      expect(result.skipped, JSON.stringify(setup)).toBe(0);
    }
  });

  it('skips again once a scroll region is reset by a full reset or by DECSTBM without margins', async () => {
    for (const reset of ['\x1bc', '\x1b[r']) {
      const result = await bothWays(['\x1b[2;4r', reset, ...chunked(floodLines(500), 64)]);
      expect(result.queued, JSON.stringify(reset)).toEqual(result.direct);
      expect(result.skipped, JSON.stringify(reset)).toBeGreaterThan(0);
    }
  });

  it('does not pass over the end of an escape sequence begun in an earlier write', async () => {
    // The first write fills xterm's share and ends inside "switch to the alternate screen"; the
    // rest, `49h`, waits in the queue looking like plain text, ahead of a flood. Passing it over
    // would leave the terminal on the normal screen.
    const result = await bothWays([`${'x'.repeat(70)}\x1b[?10`, '49h\r\n', ...chunked(floodLines(500), 64)]);
    expect(result.queued).toEqual(result.direct);
    expect(result.direct.rows.length).toBe(ROWS); // the alternate screen: no scrollback
  });

  it('hands a long chunk to xterm in pieces, cut through a surrogate pair or an escape sequence, and still matches', async () => {
    // Each chunk is cut every WRITE_PIECE_CHARS: the emoji's two halves, and "\x1b[31m", straddle a cut.
    const emoji = `${'x'.repeat(WRITE_PIECE_CHARS - 1)}😀é—\r\n`;
    const colour = `${'y'.repeat(WRITE_PIECE_CHARS - 1)}\x1b[31mred\x1b[0m\r\n`;
    expect(emoji.slice(WRITE_PIECE_CHARS - 1, WRITE_PIECE_CHARS + 1)).toBe('😀');
    expect(colour.slice(WRITE_PIECE_CHARS - 1, WRITE_PIECE_CHARS + 4)).toBe('\x1b[31m');
    // One at a time: each wraps over 200 rows, more than the terminals keep.
    for (const [chunk, shows] of [
      [emoji, '😀é—'],
      [colour, 'red'],
    ] as const) {
      const result = await bothWays(['$ ', chunk, 'end$ ']);
      expect(result.queued).toEqual(result.direct);
      expect(result.queued.rows.join('\n')).toContain(shows);
      expect(result.doneOrder).toEqual([0, 1, 2]);
    }
    // What xterm was handed, piece by piece (a real terminal, its write watched).
    const { term } = newTerminal();
    const handed: number[] = [];
    const write = term.write.bind(term);
    term.write = (data: string | Uint8Array, callback?: () => void) => {
      handed.push(data.length);
      write(data, callback);
    };
    await new Promise<void>((resolve) => new PaneWriteQueue(term).write(emoji + colour, resolve));
    expect(handed).toEqual([WRITE_PIECE_CHARS, WRITE_PIECE_CHARS, emoji.length + colour.length - 2 * WRITE_PIECE_CHARS]);
  });

  it('matches writing everything for any mix of output, cut anywhere', async () => {
    const piece = fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 1, max: 400 }).map((n) => floodLines(n)) },
      { weight: 2, arbitrary: fc.constantFrom('\x1b[31m', '\x1b[0m', '\x1b[2;3r', '\x1b[r', '\x1b[?1049h', '\x1b[?1049l', '\x1bc', '\x1b[?7l', '\x1b[?7h', '\x1b[4h', '\x1b[4l', '\x1b[H', '\x1b[5A', '\x1b(0', '\x1b(B', '\x0e', '\x0f', '\x1b[!p') },
      { weight: 2, arbitrary: fc.constantFrom('abc\r', 'x\ny', '\tt\r\n', 'é—\r\n', '\x07', 'partial', '\r\n', '\r', '\n', `${'z'.repeat(COLS)}\r\n`) },
    );
    let skippedRuns = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { minLength: 1, maxLength: 12 }), fc.array(fc.nat(), { maxLength: 40 }), async (pieces, cuts) => {
        const chunks = cutAt(pieces.join(''), cuts);
        const result = await bothWays(chunks);
        expect(result.queued).toEqual(result.direct);
        expect(result.doneOrder).toEqual(chunks.map((_, i) => i));
        skippedRuns += result.skipped > 0 ? 1 : 0;
      }),
      { numRuns: 150 },
    );
    // The property is only worth something if the runs skip: most of them do.
    expect(skippedRuns).toBeGreaterThan(30);
  });
});

describe('plainTailCut', () => {
  it('cuts at the latest CRLF that still leaves enough rows, counting wrapped lines as several', () => {
    const text = 'a\r\nb\r\nc\r\nd';
    expect(plainTailCut([text], 10, 2)).toBe(text.indexOf('\r\nc'));
    expect(plainTailCut([text], 10, 4)).toBe(-1); // only 3 CRLF-led rows after the first line
    expect(plainTailCut([`x\r\n${'y'.repeat(25)}\r\n`], 10, 4)).toBe(1); // 3 rows of y, then the cursor's row
  });

  it('refuses a lone CR or LF among the rows it needs, and ignores a CR still waiting for its LF', () => {
    expect(plainTailCut(['a\r\nb\rc\r\nd'], 10, 3)).toBe(-1);
    expect(plainTailCut(['a\r\nb\nc\r\nd'], 10, 3)).toBe(-1);
    expect(plainTailCut(['a\r\nb\r\nc\r'], 10, 2)).toBe(1);
  });

  it('reads chunks as the one text they make, wherever they are cut', () => {
    /** The same question answered on the joined text, line by line from the end. */
    const reference = (text: string, cols: number, keepRows: number): number => {
      let end = text.endsWith('\r') ? text.length - 1 : text.length;
      let rows = 0;
      for (;;) {
        const crlf = end >= 2 ? text.lastIndexOf('\r\n', end - 2) : -1;
        const line = text.slice(crlf < 0 ? 0 : crlf + 2, end);
        if (line.includes('\r') || line.includes('\n')) return -1;
        rows += Math.max(1, Math.ceil(line.length / cols));
        if (crlf < 0) return -1;
        if (rows >= keepRows) return crlf;
        end = crlf;
      }
    };
    const plainText = fc.array(fc.constantFrom('a', 'b', ' ', '\r\n', '\r\n', '\r\n', '\r', '\n', 'xxxxxxxxxxxx'), { maxLength: 60 }).map((parts) => parts.join(''));
    fc.assert(
      fc.property(plainText, fc.array(fc.nat(), { maxLength: 8 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 15 }), (text, cuts, cols, keepRows) => {
        expect(plainTailCut(cutAt(text, cuts), cols, keepRows)).toBe(reference(text, cols, keepRows));
      }),
      { numRuns: 2000 },
    );
  });
});
