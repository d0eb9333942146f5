/**
 * Everything a pane shows goes through one queue, in order: host output (acknowledged to the
 * engine once xterm has taken it) and the app's own notes. xterm's write buffer gets at most
 * IN_FLIGHT_CHARS at a time; the rest waits here, where a flood can be fast-forwarded: when the
 * queue holds more plain lines than the terminal can keep, the text before those lines is passed
 * over (shared/src/terminal-flood.ts says why that leaves the terminal exactly as parsing it all
 * would; test/unit/pane-write-queue.test.ts compares both ways on @xterm/headless). Nothing is
 * lost: the session log holds every byte, and the skipped text is acknowledged like the rest.
 *
 * The engine passes over most of a flood before it leaves (electron/web/pane-output-relay.ts);
 * this queue handles what still arrives faster than xterm parses it.
 */
import { PANE_SIZE_LIMITS } from '../../../shared/src/lab-api';
import { ChunkClassifier, findFloodCut, FloodModes, type ChunkKind, type FloodCut, type FloodTerminal } from '../../../shared/src/terminal-flood';

/** The part of xterm's Terminal this needs; @xterm/xterm and @xterm/headless both provide it. */
export interface QueueTerminal extends FloodTerminal {
  readonly cols: number;
  readonly options: { readonly scrollback?: number };
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
/**
 * The most handed to xterm in one write call. xterm parses its writes in a loop that yields the
 * page's main thread (for 0 ms) once 12 ms have gone, but only between writes: a flood's 64 KiB
 * chunk, parsed while the pane's scrollback still fills (a new line allocated for each), held it
 * 100-240 ms at once (the page's CPU profile, bench:ui's flood), and a keystroke's echo in
 * another pane waited for it. A 4 KiB piece takes 2-13 ms (@xterm/headless, warm and cold).
 * xterm's parser takes sequences and characters split across writes.
 */
export const WRITE_PIECE_CHARS = 4096;

export interface QueueLimits {
  inFlightChars: number;
  pacedChars: number;
  /** The widest and tallest the terminal may become (rows are counted at the widest). */
  widestCols: number;
  tallestRows: number;
}

interface QueuedWrite extends ChunkKind {
  data: string;
  /** Called, in order, once xterm has processed the write (or it was passed over). */
  done: Array<() => void>;
}

export class PaneWriteQueue {
  private readonly queue: QueuedWrite[] = [];
  private inFlightChars = 0;
  /** Writes handed to xterm, not yet processed, that may change state (see the file's comment). */
  private inFlightUnsafe = 0;
  private readonly classifier = new ChunkClassifier();
  private readonly modes: FloodModes;
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
    this.modes = new FloodModes(term, { resizeEndsRegion: true });
  }

  write(data: string, done?: () => void): void {
    const kind = this.classifier.classify(data);
    if (kind.plain) {
      this.plainSinceTry += data.length;
      this.plainQueued += data.length;
    }
    this.queuedChars += data.length;
    this.queue.push({ data, done: done ? [done] : [], ...kind });
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
      const whenParsed = (): void => {
        this.inFlightChars -= next.data.length;
        if (!next.safe) this.inFlightUnsafe--;
        for (const done of next.done) done();
        this.pump();
      };
      const lastPieceAt = Math.max(0, Math.ceil(next.data.length / WRITE_PIECE_CHARS) - 1) * WRITE_PIECE_CHARS;
      for (let at = 0; at < lastPieceAt; at += WRITE_PIECE_CHARS) this.term.write(next.data.slice(at, at + WRITE_PIECE_CHARS));
      this.term.write(next.data.slice(lastPieceAt), whenParsed);
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
    if (this.inFlightUnsafe > 0 || !this.modes.keepsPlainRows()) return;
    const cut = findFloodCut(this.queue, this.limits.widestCols, keepRows);
    if (cut) this.passOver(cut);
  }

  /** Folds everything queued before the cut into one write, passing it over. */
  private passOver({ chunk: k, offset }: FloodCut): void {
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
  }
}
