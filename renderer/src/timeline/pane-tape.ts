/**
 * One pane's output as the page received it, kept for showing the pane as it was at an instant
 * (past-panes.ts), within a budget: the newest PANE_TAPE_CHARS characters or so.
 *
 * Why a budget: output that is not plain lines (colours, cursor movement, a full-screen program)
 * cannot be passed over on its way (shared/src/terminal-flood.ts), so a coloured flood reaches
 * the page whole, and keeping all of it held 100 MB of page memory per 100 MB of flood, for as
 * long as the page stayed open. A lab's own output (prompts, `ss`, `nc`, `iptables`) is a few
 * megabytes over a whole class, so in practice only a flood is cut, and only its older part.
 *
 * The session log keeps every byte; the tape only limits what the timeline's cursor can replay
 * in the page. Chunks have absolute indices (`first` counts the chunks let go), so a past pane
 * that has written chunk i can carry on from i + 1 as long as that is kept. The tape lets go of
 * whole chunks, and stops where the terminal's escape-sequence parser is back in ground, so a
 * replay that starts at `first` does not start inside a sequence (`ChunkClassifier` follows the
 * parser). By half its target it stops regardless, and the oldest chunk kept loses the part
 * before ground (if ground comes within it: a sequence that does not end keeps it whole).
 */
import { ChunkClassifier } from '../../../shared/src/terminal-flood';
import { upperBound } from './scale';

/** Characters each pane keeps for the cursor: 8 Mi (8 MiB as V8 keeps ASCII). */
export const PANE_TAPE_CHARS = 8 * 1024 * 1024;

export interface PaneChunk {
  /** Controller time (ms) the chunk was logged. */
  t: number;
  session: string;
  data: string;
}

export class PaneTape {
  private chunks: PaneChunk[] = [];
  private times: number[] = [];
  /** Absolute index of chunks[0]: how many chunks were let go. */
  private dropped = 0;
  private keptChars = 0;
  /** Follows the parser through the chunks let go, to stop at a boundary where it is in ground. */
  private readonly classifier = new ChunkClassifier();

  /** `budget`: characters kept; when more arrive, the oldest go down to three quarters of it (whole chunks). */
  constructor(private readonly budget = PANE_TAPE_CHARS) {}

  /** Absolute index of the oldest chunk kept (0 until the budget is first exceeded). */
  get first(): number {
    return this.dropped;
  }

  /** Absolute index after the newest chunk: every chunk ever added. */
  get end(): number {
    return this.dropped + this.chunks.length;
  }

  get chars(): number {
    return this.keptChars;
  }

  /** Time of the oldest chunk kept, or undefined when none is. */
  get firstTime(): number | undefined {
    return this.times[0];
  }

  add(chunk: PaneChunk): void {
    this.chunks.push(chunk);
    this.times.push(chunk.t);
    this.keptChars += chunk.data.length;
    if (this.keptChars > this.budget) this.letGo();
  }

  /** Chunk at absolute index `i` (first <= i < end). */
  chunk(i: number): PaneChunk {
    const chunk = this.chunks[i - this.dropped];
    if (chunk === undefined) throw new RangeError(`pane chunk ${i} is not kept (kept: ${this.first} to ${this.end - 1})`);
    return chunk;
  }

  /**
   * Absolute count of the chunks logged at or before controller time `t`, where that is at least
   * `first`; `first` for an earlier instant (the chunks before it are not kept to tell).
   */
  countAt(t: number): number {
    return this.dropped + upperBound(this.times, t);
  }

  private letGo(): void {
    const target = Math.floor((this.budget * 3) / 4);
    let n = 0;
    let chars = this.keptChars;
    // Oldest first, down to the target at a boundary where the parser is in ground; through a
    // sequence that does not end by half the target, stop anyway. The newest chunk always stays.
    while (n < this.chunks.length - 1) {
      const data = this.chunks[n++]!.data;
      this.classifier.classify(data); // follows exactly the chunks let go
      chars -= data.length;
      if (chars <= target && this.classifier.inGround) break;
      if (chars <= target / 2) break;
    }
    // Stopped inside a sequence (chunk cuts that keep falling inside sequences, as a run of equal
    // reads over lines of equal length does; or a sequence that does not end): the oldest chunk
    // kept then starts where the parser is back in ground, if it gets there within that chunk.
    const oldest = this.chunks[n];
    const inGroundAt = oldest && this.classifier.groundWithin(oldest.data);
    if (oldest && inGroundAt) {
      this.classifier.classify(oldest.data.slice(0, inGroundAt));
      chars -= inGroundAt;
      this.chunks[n] = { ...oldest, data: oldest.data.slice(inGroundAt) };
    }
    this.keptChars = chars;
    this.chunks = this.chunks.slice(n);
    this.times = this.times.slice(n);
    this.dropped += n;
  }
}
