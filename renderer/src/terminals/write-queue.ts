/**
 * Everything a pane shows goes through one queue, in order: host output (acknowledged to the
 * engine once xterm has taken it) and the app's own notes. xterm's write buffer gets at most
 * IN_FLIGHT_CHARS at a time; the rest waits here, where a flood can be fast-forwarded.
 *
 * Fast-forward. A `seq 1 10000000` in a pane is 100 MB of lines, and xterm parses, wraps and
 * scrolls every one of them, although all but the last scrollback's worth fall off the top
 * before they could ever be drawn or scrolled back to. When the queue holds more plain lines
 * (printable ASCII and CRLF, nothing else) than the terminal can keep, the text before those
 * lines is passed over: xterm gets a CRLF and the lines it can keep. The terminal ends up exactly
 * as if it had parsed everything (same rows, same wrapping, same cursor; test/unit/
 * pane-write-queue.test.ts compares both ways on @xterm/headless), and nothing is lost: the session
 * log holds every byte, and the skipped text is acknowledged like the rest.
 *
 * Why that is exact, and the conditions it needs:
 * - The kept tail starts with CRLF, so it starts at column 0 of the next row, and it makes at
 *   least scrollback + rows + 1 rows (counted at the widest a pane can be, so a resize cannot
 *   make them fewer), so every row the terminal keeps was made by the tail on a row that
 *   scrolling had just created, in either case.
 * - The skipped text must not change state that outlives its rows: no ESC, no C1 controls, no
 *   SO/SI (charset shifts). Neither may anything xterm has yet to process before it.
 * - The terminal's state at that point must make plain lines behave as counted: the normal
 *   buffer (the alternate one has no scrollback), wraparound on, insert mode off, and no scroll
 *   region (lines scrolled inside a region never reach the scrollback). The region is not in
 *   xterm's API, so it is followed here from the DECSTBM sequences xterm parses.
 * What may differ: a bell in the skipped text does not ring, and a viewport the user scrolled
 * up during the flood may rest at another line.
 */
import { PANE_SIZE_LIMITS } from '../../../shared/src/lab-api';

/** The part of xterm's Terminal this needs; @xterm/xterm and @xterm/headless both provide it. */
export interface QueueTerminal {
  readonly cols: number;
  readonly rows: number;
  readonly options: { readonly scrollback?: number };
  readonly modes: { readonly wraparoundMode: boolean; readonly insertMode: boolean };
  readonly buffer: { readonly active: { readonly type: 'normal' | 'alternate' } };
  readonly parser: {
    registerCsiHandler(id: { intermediates?: string; final: string }, callback: (params: (number | number[])[]) => boolean): unknown;
    registerEscHandler(id: { intermediates?: string; final: string }, callback: () => boolean): unknown;
  };
  onResize(listener: () => void): unknown;
  write(data: string, callback?: () => void): void;
}

/** Characters handed to xterm and not yet processed: enough to keep it busy between callbacks. */
export const IN_FLIGHT_CHARS = 128 * 1024;
/**
 * While plain lines pile up (a flood fast-forward can pass over), xterm gets at most this many
 * characters per PACE_MS. Otherwise it would parse the flood as fast as it arrives, taking the
 * page's main thread from everything else (the WebSocket's messages too, so the flood would
 * arrive more slowly and never pile up to be passed over).
 */
export const PACED_CHARS = 32 * 1024;
export const PACE_MS = 16;

export interface QueueLimits {
  inFlightChars: number;
  pacedChars: number;
  /** The widest and tallest the terminal may become (rows are counted at the widest). */
  widestCols: number;
  tallestRows: number;
}

interface QueuedWrite {
  data: string;
  /** Called, in order, once xterm has processed the write (or it was passed over). */
  done: Array<() => void>;
  /** Changes no terminal state beyond the rows it writes (no ESC, C1, SO, SI). */
  safe: boolean;
  /** Printable ASCII, CR and LF only. */
  plain: boolean;
}

// Control characters are what these look for.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\x1b\x0e\x0f\x80-\x9f]/;
const NOT_PLAIN = /[^\x20-\x7e\r\n]/;

export class PaneWriteQueue {
  private readonly queue: QueuedWrite[] = [];
  private inFlightChars = 0;
  /** Writes handed to xterm, not yet processed, that may change state (see the file's comment). */
  private inFlightUnsafe = 0;
  private scrollRegion = false;
  /** Plain characters queued since the last fast-forward attempt: the next one waits for more. */
  private plainSinceTry = 0;
  /** Characters in the queue (not yet handed to xterm), and of them the plain ones. */
  private queuedChars = 0;
  private plainQueued = 0;
  /** Characters handed to xterm since the pace's last tick. */
  private handedSinceTick = 0;
  private tick: ReturnType<typeof setTimeout> | undefined;
  /** Host output passed over by fast-forward, in characters. */
  skippedChars = 0;

  constructor(
    private readonly term: QueueTerminal,
    private readonly limits: QueueLimits = {
      inFlightChars: IN_FLIGHT_CHARS,
      pacedChars: PACED_CHARS,
      widestCols: PANE_SIZE_LIMITS.maxCols,
      tallestRows: PANE_SIZE_LIMITS.maxRows,
    },
  ) {
    term.parser.registerCsiHandler({ final: 'r' }, (params) => {
      const top = first(params[0]) || 1;
      const bottom = first(params[1]) || term.rows;
      this.scrollRegion = top > 1 || bottom < term.rows;
      return false; // observed only: xterm still sets the region
    });
    const unset = (): boolean => {
      this.scrollRegion = false;
      return false;
    };
    term.parser.registerEscHandler({ final: 'c' }, unset); // RIS, a full reset
    term.parser.registerCsiHandler({ intermediates: '!', final: 'p' }, unset); // DECSTR, a soft reset
    term.onResize(() => unset()); // xterm resets the region on every resize
  }

  write(data: string, done?: () => void): void {
    const plain = !NOT_PLAIN.test(data);
    if (plain) {
      this.plainSinceTry += data.length;
      this.plainQueued += data.length;
    }
    this.queuedChars += data.length;
    this.queue.push({ data, done: done ? [done] : [], safe: !UNSAFE.test(data), plain });
    this.pump();
  }

  /** Characters written here that xterm has not processed yet (queued or in its own buffer). */
  get backlogChars(): number {
    return this.queuedChars + this.inFlightChars;
  }

  private pump(): void {
    while (this.queue.length > 0 && this.inFlightChars < this.limits.inFlightChars) {
      this.fastForward();
      this.tick ??= setTimeout(() => {
        this.tick = undefined;
        this.handedSinceTick = 0;
        this.pump();
      }, PACE_MS);
      // Paced only while there is a flood to pass over: other output goes as fast as xterm takes it.
      if (this.handedSinceTick >= this.limits.pacedChars && this.plainQueued >= 2 * this.keepRows()) return;
      const next = this.queue.shift()!;
      this.queuedChars -= next.data.length;
      if (next.plain) this.plainQueued -= next.data.length;
      this.handedSinceTick += next.data.length;
      this.inFlightChars += next.data.length;
      if (!next.safe) this.inFlightUnsafe++;
      this.term.write(next.data, () => {
        this.inFlightChars -= next.data.length;
        if (!next.safe) this.inFlightUnsafe--;
        for (const done of next.done) done();
        this.pump();
      });
    }
  }

  /** Rows the tail after a cut must make: every row the terminal keeps, and a screen more. */
  private keepRows(): number {
    return (this.term.options.scrollback ?? 1000) + this.limits.tallestRows + 1;
  }

  private fastForward(): void {
    const keepRows = this.keepRows();
    // A plain row is at least CRLF: fewer characters than that cannot hold keepRows rows.
    if (this.plainSinceTry < 2 * keepRows) return;
    this.plainSinceTry = 0;
    if (this.inFlightUnsafe > 0 || !this.stateKeepsPlainRows()) return;
    // Only writes before the first unsafe one may be skipped; the latest run of plain writes
    // among them is where the cut can go (writes after the cut are kept, whatever they are).
    let end = this.queue.findIndex((w) => !w.safe);
    if (end < 0) end = this.queue.length;
    while (end > 0) {
      while (end > 0 && !this.queue[end - 1]!.plain) end--;
      let start = end;
      let plainChars = 0;
      while (start > 0 && this.queue[start - 1]!.plain) plainChars += this.queue[--start]!.data.length;
      if (plainChars >= 2 * keepRows && this.cutRun(start, end, keepRows)) return;
      end = start;
    }
  }

  /** Cuts inside the plain writes [start, end), folding everything before the cut into one write. */
  private cutRun(start: number, end: number, keepRows: number): boolean {
    const run = this.queue.slice(start, end).map((w) => w.data).join('');
    const cut = plainTailCut(run, this.limits.widestCols, keepRows);
    if (cut <= 0) return false;
    let offset = cut;
    let k = start;
    while (offset >= this.queue[k]!.data.length) offset -= this.queue[k++]!.data.length;
    const folded = this.queue.splice(0, k + 1);
    const holder = folded.pop()!;
    const skipped = folded.reduce((sum, w) => sum + w.data.length, offset);
    this.skippedChars += skipped;
    this.queuedChars -= skipped;
    this.plainQueued -= folded.reduce((sum, w) => sum + (w.plain ? w.data.length : 0), offset);
    // The writes passed over whole are done once what xterm already has is: an empty write keeps
    // that order, and acknowledges them now rather than after the paced tail.
    const passedOver = folded.flatMap((w) => w.done);
    if (passedOver.length > 0) this.term.write('', () => passedOver.forEach((done) => done()));
    this.queue.unshift({ data: holder.data.slice(offset), done: holder.done, safe: true, plain: true });
    return true;
  }

  private stateKeepsPlainRows(): boolean {
    return this.term.buffer.active.type === 'normal' && this.term.modes.wraparoundMode && !this.term.modes.insertMode && !this.scrollRegion;
  }
}

function first(param: number | number[] | undefined): number {
  return (Array.isArray(param) ? param[0] : param) ?? 0;
}

/**
 * Where to cut `text` (plain: printable ASCII, CR and LF) so that what follows, starting with a
 * CRLF, still makes at least `keepRows` terminal rows at `cols` columns: the index of that CRLF,
 * the latest one that qualifies; -1 when none does, or when a CR or LF stands alone before
 * enough rows were counted (a lone CR rewrites its row, which counting cannot follow).
 */
export function plainTailCut(text: string, cols: number, keepRows: number): number {
  // A CR at the very end is half of a CRLF still to come: it only returns the cursor.
  let end = text.endsWith('\r') ? text.length - 1 : text.length;
  let rows = 0;
  for (;;) {
    const crlf = end >= 2 ? text.lastIndexOf('\r\n', end - 2) : -1;
    const lineStart = crlf < 0 ? 0 : crlf + 2;
    const line = text.slice(lineStart, end);
    if (line.includes('\r') || line.includes('\n')) return -1;
    rows += Math.max(1, Math.ceil(line.length / cols));
    if (crlf < 0) return -1;
    if (rows >= keepRows) return crlf;
    end = crlf;
  }
}
