/**
 * Runs a callback once for everything that happened since it was last run, at the next
 * animation frame: messages from the engine arrive one task each (100,000 of them when a long
 * run is replayed), and folding them one by one, with a React render each, cost minutes. Hidden
 * tabs get no animation frames, so a timer stands in after `maxDelayMs`.
 */
/** The page's animation frames; absent under Node (unit tests), where the timer alone runs it. */
interface Frames {
  requestAnimationFrame?: (callback: () => void) => number;
  cancelAnimationFrame?: (handle: number) => void;
}
const frames = globalThis as Frames;

export class FrameBatch {
  private pending = false;
  private frame: number | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly run: () => void,
    private readonly maxDelayMs = 100,
  ) {}

  get scheduled(): boolean {
    return this.pending;
  }

  schedule(): void {
    if (this.pending) return;
    this.pending = true;
    const raf = frames.requestAnimationFrame;
    if (raf) this.frame = raf(this.fire);
    this.timer = setTimeout(this.fire, raf ? this.maxDelayMs : 0);
  }

  /** Runs now if something is waiting (and not again at the frame). */
  flush(): void {
    if (this.pending) this.fire();
  }

  private readonly fire = (): void => {
    if (!this.pending) return;
    this.pending = false;
    if (this.frame !== undefined) frames.cancelAnimationFrame?.(this.frame);
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.frame = undefined;
    this.timer = undefined;
    this.run();
  };
}
