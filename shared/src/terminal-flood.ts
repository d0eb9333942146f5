/**
 * Passing over a flood: what the page's write queue (renderer/src/terminals/write-queue.ts) and
 * the engine's output relay (electron/web/pane-output-relay.ts) both need to skip the lines of a
 * flood that a pane's terminal could never show, and leave it exactly as if it had parsed them.
 *
 * A `seq 1 10000000` in a pane is 100 MB of lines, and a terminal parses, wraps and scrolls every
 * one of them, although all but the last scrollback's worth fall off the top before they could
 * be drawn or scrolled back to. When a stream holds more plain lines (printable ASCII and CRLF)
 * than the terminal can keep, the text before those lines can be passed over: the terminal gets
 * a CRLF and the lines it can keep.
 *
 * Why that is exact, and the conditions it needs:
 * - The kept tail starts with CRLF, so it starts at column 0 of the next row, and it makes at
 *   least scrollback + rows + 1 rows (counted at the widest a pane can be, so a resize cannot
 *   make them fewer), so every row the terminal keeps was made by the tail on a row that
 *   scrolling had just created, in either case.
 * - The skipped text must not change state that outlives its rows: no ESC, no C1 controls, no
 *   SO/SI (charset shifts), and it must not continue an escape sequence begun before it (a chunk
 *   can end inside one: `\x1b[?10` then `49h`). `ChunkClassifier` tells which chunks qualify.
 * - The terminal's state at that point must make plain lines behave as counted: the normal
 *   buffer (the alternate one has no scrollback), wraparound on, insert mode off, and no scroll
 *   region (lines scrolled inside a region never reach the scrollback). `FloodModes` answers it.
 * What may differ: a bell in the skipped text does not ring, and a viewport the user scrolled up
 * during the flood may rest at another line.
 */
import { PANE_SIZE_LIMITS } from './lab-api';

/** Lines a pane keeps above its screen (a 100 MB flood keeps only its tail); the page's xterm uses it. */
export const PANE_SCROLLBACK_LINES = 10_000;

/** Rows the tail after a cut must make: every row a pane keeps, and its tallest screen more. */
export const FLOOD_KEEP_ROWS = PANE_SCROLLBACK_LINES + PANE_SIZE_LIMITS.maxRows + 1;

// Control characters are what these look for.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\x1b\x0e\x0f\x80-\x9f]/;
const NOT_PLAIN = /[^\x20-\x7e\r\n]/;

export interface ChunkKind {
  /** Changes no terminal state beyond the rows it writes (see the file's comment). */
  safe: boolean;
  /** Safe, and printable ASCII, CR and LF only: a flood's lines, which a cut may pass over. */
  plain: boolean;
}

/** Where a terminal's escape-sequence parser is, reduced to what decides when a sequence has ended. */
type ParserState = 'ground' | 'escape' | 'escape-intermediate' | 'csi' | 'osc' | 'string';

/**
 * Classifies a stream's chunks, in order, as `safe` and `plain`. It follows the terminal parser
 * (the VT500 state machine xterm implements) through every chunk that is not safe, so a chunk
 * that continues an unfinished sequence is not safe either. Where its reduced machine could be
 * wrong it stays out of ground, which only makes fewer chunks safe.
 */
export class ChunkClassifier {
  private state: ParserState = 'ground';

  /** Whether every chunk classified so far ended its escape sequences: what follows starts in ground. */
  get inGround(): boolean {
    return this.state === 'ground';
  }

  /**
   * Where in `text`, read after everything classified so far, the parser is first back in ground:
   * 0 when it is there already, undefined when not within `text`. Changes nothing.
   */
  groundWithin(text: string): number | undefined {
    let state = this.state;
    for (let i = 0; state !== 'ground'; i++) {
      if (i >= text.length) return undefined;
      state = next(state, text.charCodeAt(i));
      if (state === 'ground') return i + 1;
    }
    return 0;
  }

  classify(text: string): ChunkKind {
    if (this.state === 'ground' && !UNSAFE.test(text)) return { safe: true, plain: !NOT_PLAIN.test(text) };
    for (let i = 0; i < text.length; i++) this.state = next(this.state, text.charCodeAt(i));
    return { safe: false, plain: false };
  }
}

function next(state: ParserState, code: number): ParserState {
  // From anywhere: CAN and SUB abort a sequence, ESC starts one, and the C1 controls act as their
  // 7-bit forms (ST ends a string; CSI, OSC, DCS, SOS, PM, APC begin one).
  if (code === 0x18 || code === 0x1a) return 'ground';
  if (code === 0x1b) return 'escape';
  if (code >= 0x80 && code <= 0x9f) {
    if (code === 0x9b) return 'csi';
    if (code === 0x9d) return 'osc';
    if (code === 0x90 || code === 0x98 || code === 0x9e || code === 0x9f) return 'string';
    return 'ground';
  }
  switch (state) {
    case 'ground':
      return 'ground';
    case 'escape':
      if (code >= 0x20 && code <= 0x2f) return 'escape-intermediate';
      if (code === 0x5b) return 'csi'; // [
      if (code === 0x5d) return 'osc'; // ]
      if (code === 0x50 || code === 0x58 || code === 0x5e || code === 0x5f) return 'string'; // P X ^ _
      return code >= 0x30 && code <= 0x7e ? 'ground' : 'escape';
    case 'escape-intermediate':
      return code >= 0x30 && code <= 0x7e ? 'ground' : 'escape-intermediate';
    case 'csi':
      return code >= 0x40 && code <= 0x7e ? 'ground' : 'csi';
    case 'osc':
      return code === 0x07 ? 'ground' : 'osc'; // xterm ends an OSC with BEL as well as ST
    case 'string':
      return 'string'; // DCS, SOS, PM, APC: only ST (ESC \) ends them
  }
}

/** The part of an xterm Terminal (@xterm/xterm or @xterm/headless) `FloodModes` reads. */
export interface FloodTerminal {
  readonly rows: number;
  readonly modes: { readonly wraparoundMode: boolean; readonly insertMode: boolean };
  readonly buffer: { readonly active: { readonly type: 'normal' | 'alternate' } };
  readonly parser: {
    registerCsiHandler(id: { intermediates?: string; final: string }, callback: (params: (number | number[])[]) => boolean): unknown;
    registerEscHandler(id: { intermediates?: string; final: string }, callback: () => boolean): unknown;
  };
  onResize(listener: () => void): unknown;
}

/**
 * Whether a terminal's state makes plain lines behave as a cut counts them (see the file's
 * comment), read from xterm after it has processed everything before the cut. The scroll region
 * is not in xterm's API, so it is followed here from the DECSTBM sequences xterm parses.
 */
export class FloodModes {
  private scrollRegion = false;

  /**
   * `resizeEndsRegion`: xterm drops the region on every resize. Only a terminal that is the one
   * being shown may rely on that; a copy resized later than the page's may not.
   * `fullRegionRows`: a DECSTBM whose bottom margin is at least this is no region (default: the
   * terminal's rows; a copy that may lag the page's size passes the tallest a pane can be).
   */
  constructor(
    private readonly term: FloodTerminal,
    options: { resizeEndsRegion: boolean; fullRegionRows?: number },
  ) {
    term.parser.registerCsiHandler({ final: 'r' }, (params) => {
      const top = first(params[0]) || 1;
      const bottom = first(params[1]);
      this.scrollRegion = top > 1 || (bottom > 0 && bottom < (options.fullRegionRows ?? term.rows));
      return false; // observed only: xterm still sets the region
    });
    const unset = (): boolean => {
      this.scrollRegion = false;
      return false;
    };
    term.parser.registerEscHandler({ final: 'c' }, unset); // RIS, a full reset
    term.parser.registerCsiHandler({ intermediates: '!', final: 'p' }, unset); // DECSTR, a soft reset
    if (options.resizeEndsRegion) term.onResize(() => unset());
  }

  keepsPlainRows(): boolean {
    return this.term.buffer.active.type === 'normal' && this.term.modes.wraparoundMode && !this.term.modes.insertMode && !this.scrollRegion;
  }
}

function first(param: number | number[] | undefined): number {
  return (Array.isArray(param) ? param[0] : param) ?? 0;
}

/** A queued chunk of a stream, classified by `ChunkClassifier`. */
export interface FloodChunk extends ChunkKind {
  readonly data: string;
}

/** Where a queue of chunks can be cut: passed over up to `offset` of chunk `chunk`; `keptChars` remain of the run cut into. */
export interface FloodCut {
  chunk: number;
  offset: number;
  keptChars: number;
}

/**
 * Where to pass over a queue of chunks waiting for a terminal: inside the latest run of plain
 * chunks, before the first chunk that is not safe, that holds `keepRows` rows after a CRLF
 * (`plainTailCut`). Everything before the cut may be passed over, everything after it is kept,
 * whatever it is. Undefined when no run qualifies.
 */
export function findFloodCut(chunks: readonly FloodChunk[], cols: number, keepRows: number): FloodCut | undefined {
  let end = chunks.findIndex((c) => !c.safe);
  if (end < 0) end = chunks.length;
  while (end > 0) {
    while (end > 0 && !chunks[end - 1]!.plain) end--;
    let start = end;
    let plainChars = 0;
    while (start > 0 && chunks[start - 1]!.plain) plainChars += chunks[--start]!.data.length;
    // A plain row is at least CRLF: fewer characters than that cannot hold keepRows rows.
    if (plainChars >= 2 * keepRows) {
      const cut = plainTailCut(chunks.slice(start, end).map((c) => c.data), cols, keepRows);
      if (cut > 0) {
        let offset = cut;
        let chunk = start;
        while (offset >= chunks[chunk]!.data.length) offset -= chunks[chunk++]!.data.length;
        return { chunk, offset, keptChars: plainChars - cut };
      }
    }
    end = start;
  }
  return undefined;
}

/**
 * Where to cut the text of `chunks` (plain: printable ASCII, CR and LF; read as one string, not
 * joined) so that what follows, starting with a CRLF, still makes at least `keepRows` terminal
 * rows at `cols` columns: the index of that CRLF in the whole text, the latest one that
 * qualifies; -1 when none does, or when a CR or LF stands alone before enough rows were counted
 * (a lone CR rewrites its row, which counting cannot follow). Reads only the tail it keeps.
 */
export function plainTailCut(chunks: readonly string[], cols: number, keepRows: number): number {
  const CR = 13;
  const LF = 10;
  let index = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  let rows = 0;
  let lineChars = 0;
  let afterLf = false;
  let first = true;
  for (let c = chunks.length - 1; c >= 0; c--) {
    const chunk = chunks[c]!;
    for (let i = chunk.length - 1; i >= 0; i--) {
      index--;
      const code = chunk.charCodeAt(i);
      // A CR at the very end is half of a CRLF still to come: it only returns the cursor.
      if (first) {
        first = false;
        if (code === CR) continue;
      }
      if (afterLf) {
        if (code !== CR) return -1; // a lone LF
        afterLf = false;
        rows += Math.max(1, Math.ceil(lineChars / cols));
        if (rows >= keepRows) return index;
        lineChars = 0;
      } else if (code === LF) {
        afterLf = true;
      } else if (code === CR) {
        return -1; // a lone CR
      } else {
        lineChars++;
      }
    }
  }
  return -1;
}
