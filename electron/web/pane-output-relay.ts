/**
 * Pane output on its way from the engine to the renderers, one relay per pane: the place where
 * a flood is thinned before it leaves the engine.
 *
 * Without it, every byte a host prints crosses the WebSocket (or IPC) and the page's main thread
 * before the page's own fast-forward can pass it over, and a 100 MB `seq` ran at the speed of the
 * page: 29 s where the engine alone took 4.6 s. Here the relay holds a pane's output while the
 * page still has RELAY_IN_FLIGHT_CHARS of it unacknowledged, and passes over the text before the
 * last scrollback's worth of plain lines, as the page would (shared/src/terminal-flood.ts says
 * why the page's terminal ends up exactly the same). The page learns how many characters were
 * passed over (`passedOver` on the next event it gets), and the session log keeps every byte.
 *
 * Back-pressure. The relay releases output to the engine (Pane.acknowledge: the SSH channel may
 * go on) as it takes it in, while it holds less than RELAY_QUEUE_CHARS; beyond that, only once
 * the page has acknowledged it or it was passed over. A plain flood therefore runs at the
 * engine's speed, up to RELAY_FLOOD_INTAKE_CHARS per tick, and output the relay cannot pass over
 * (colours, a full-screen program) still pauses the channel at the page's pace, with at most
 * RELAY_QUEUE_CHARS held here per pane.
 *
 * The terminal state a cut depends on (alternate screen, wraparound, insert mode, scroll region)
 * is read from a copy: a headless xterm fed every chunk sent to the page that could change it.
 * Plain and other safe chunks cannot, so the copy parses a fraction of a flood.
 */
import xtermHeadless from '@xterm/headless';
import type { Terminal as HeadlessTerminal } from '@xterm/headless';
import type { LabEvent, PaneName } from '../../shared/src/events';
import type { ApiHostLabel } from '../../shared/src/lab-api';
import { PANE_SIZE_LIMITS } from '../../shared/src/lab-api';
import { ChunkClassifier, findFloodCut, FLOOD_KEEP_ROWS, FloodModes, type ChunkKind, type FloodChunk, type FloodCut } from '../../shared/src/terminal-flood';

// @xterm/headless is CommonJS: under Node's ESM loader only its default export is visible.
const { Terminal } = xtermHeadless;

export type PaneOutputEvent = Extract<LabEvent, { type: 'pane-output' }>;

/** Output sent to the page and not yet acknowledged, per pane: a few round trips of a flood. */
export const RELAY_IN_FLIGHT_CHARS = 64 * 1024;
/** Output a relay holds without pausing the SSH channel (see the file's comment). */
export const RELAY_QUEUE_CHARS = 1024 * 1024;
/**
 * While a flood is being passed over, the page gets at most RELAY_FLOOD_CHARS per
 * RELAY_FLOOD_TICK_MS of it: enough to see it run, little enough that parsing and drawing it does
 * not take the CPU from everything else (an echo in another pane: the page and the hosts' shells
 * share it). When the flood stops, the rest goes at the page's pace.
 */
export const RELAY_FLOOD_CHARS = 16 * 1024;
export const RELAY_FLOOD_TICK_MS = 100;
/**
 * While a flood is being passed over, the engine takes in at most this much of it per
 * RELAY_FLOOD_TICK_MS, about 10 MB/s (the SSH channel pauses for the rest of the tick). At full
 * speed a flood took the CPU from everything else on a 2-core machine: an echo in another pane
 * waited 200–350 ms at p95 (bench:ui), 50–106 ms with the cap, and 100 MB take 10 s, not 6.
 */
export const RELAY_FLOOD_INTAKE_CHARS = 1024 * 1024;

export interface RelayLimits {
  inFlightChars: number;
  queueChars: number;
  floodChars: number;
  floodTickMs: number;
  floodIntakeChars: number;
  /** The widest a pane may become: rows are counted at this width. */
  widestCols: number;
  /** Rows the tail after a cut must make (the page's scrollback, its tallest screen, one more). */
  keepRows: number;
}

const DEFAULT_LIMITS: RelayLimits = {
  inFlightChars: RELAY_IN_FLIGHT_CHARS,
  queueChars: RELAY_QUEUE_CHARS,
  floodChars: RELAY_FLOOD_CHARS,
  floodTickMs: RELAY_FLOOD_TICK_MS,
  floodIntakeChars: RELAY_FLOOD_INTAKE_CHARS,
  widestCols: PANE_SIZE_LIMITS.maxCols,
  keepRows: FLOOD_KEEP_ROWS,
};

export interface RelayOutlet {
  /** Sends an event to the renderers; `passedOver`: characters of this pane's output passed over right before it. */
  send(event: LabEvent, passedOver: number): void;
  /** The page is done with this pane's output up to event `seq` (cumulative): LabSession.acknowledgePaneOutput. */
  release(seq: number): void;
}

type Held = { kind: 'output'; event: PaneOutputEvent; passedOver: number } & ChunkKind;
/** An event about the pane (it closed, it reopened) that must not overtake the output before it. */
type HeldEvent = { kind: 'event'; event: LabEvent };
const BARRIER: FloodChunk = { data: '', safe: false, plain: false };

export class PaneOutputRelay {
  private readonly held: Array<Held | HeldEvent> = [];
  private heldChars = 0;
  private readonly inFlight: Array<{ seq: number; chars: number }> = [];
  private inFlightChars = 0;
  private readonly classifier = new ChunkClassifier();
  private readonly copy: HeadlessTerminal;
  private readonly modes: FloodModes;
  /** Chunks the copy has been given and not yet parsed: until it has, its modes are not yet the page's. */
  private copyBehind = 0;
  /** Plain characters held since the last cut attempt: the next one waits for more. */
  private plainSinceTry = 0;
  /**
   * What the last cut kept: a cut reads that much again, so the next one waits for at least as
   * much new text (a flood is then read about twice here, not once per chunk).
   */
  private lastKeptChars = 0;
  private lastPushedSeq = -1;
  /** Output taken in and not yet released to the engine, oldest first. */
  private readonly unreleased: Array<{ seq: number; chars: number }> = [];
  private releasedSinceTick = 0;
  /** When plain output last came in, and when a cut last passed some over (performance.now()). */
  private lastPlainAt = -Infinity;
  private lastCutAt = -Infinity;
  /** Characters sent since the flood pace's last tick, and that tick's timer. */
  private sentSinceTick = 0;
  private tick: ReturnType<typeof setTimeout> | undefined;
  private releasedSeq = -1;
  /** Whether a renderer is listening; with none, output goes straight through and is released. */
  private listening: boolean;
  private readonly limits: RelayLimits;
  /** Characters passed over, in all. */
  passedOverChars = 0;

  constructor(
    private readonly outlet: RelayOutlet,
    options: { listening: boolean; limits?: RelayLimits },
  ) {
    this.listening = options.listening;
    this.limits = options.limits ?? DEFAULT_LIMITS;
    // Its size does not matter: only modes are read, and a region counts unless it spans the
    // tallest pane (the page may already have another size than this relay has heard of).
    // The parser hooks FloodModes registers are proposed API in @xterm/headless.
    this.copy = new Terminal({ cols: 80, rows: 24, scrollback: 0, allowProposedApi: true });
    this.modes = new FloodModes(this.copy, { resizeEndsRegion: false, fullRegionRows: PANE_SIZE_LIMITS.maxRows });
  }

  /** Output the engine logged for this pane. */
  output(event: PaneOutputEvent): void {
    const kind = this.classifier.classify(event.data);
    this.lastPushedSeq = event.seq;
    this.unreleased.push({ seq: event.seq, chars: event.data.length });
    this.held.push({ kind: 'output', event, passedOver: 0, ...kind });
    this.heldChars += event.data.length;
    if (kind.plain) {
      this.plainSinceTry += event.data.length;
      this.lastPlainAt = performance.now();
    }
    this.pump();
  }

  /** Another event about this pane: sent after the output before it. */
  event(event: LabEvent): void {
    this.held.push({ kind: 'event', event });
    this.pump();
  }

  /** The page has drawn (or queued) this pane's output up to event `seq`. */
  acknowledge(seq: number): void {
    while (this.inFlight.length > 0 && this.inFlight[0]!.seq <= seq) this.inFlightChars -= this.inFlight.shift()!.chars;
    this.releaseUpTo(seq);
    this.pump();
  }

  /** Renderers came or went. With none, what is held goes out now; with some, a fresh window. */
  setListening(listening: boolean): void {
    this.listening = listening;
    this.inFlight.length = 0;
    this.inFlightChars = 0;
    this.pump();
  }

  dispose(): void {
    clearTimeout(this.tick);
    this.copy.dispose();
  }

  /** A flood is being passed over: plain output is still coming in, and cuts are passing it over. */
  private flooding(): boolean {
    const now = performance.now();
    return this.listening && now - this.lastPlainAt < this.limits.floodTickMs && now - this.lastCutAt < 2 * this.limits.floodTickMs;
  }

  private pump(): void {
    this.tryCut();
    while (this.held.length > 0 && (!this.listening || this.inFlightChars < this.limits.inFlightChars)) {
      if (this.flooding()) {
        const allowance = this.limits.floodChars - this.sentSinceTick;
        this.startTick();
        if (allowance <= 0) break;
        this.splitHead(allowance);
      }
      const next = this.held.shift()!;
      if (next.kind === 'event') {
        this.outlet.send(next.event, 0);
        continue;
      }
      const chars = next.event.data.length;
      this.heldChars -= chars;
      if (!next.safe) {
        this.copyBehind++;
        this.copy.write(next.event.data, () => {
          this.copyBehind--;
          if (this.copyBehind === 0) this.pump();
        });
      }
      if (this.listening) {
        this.inFlight.push({ seq: next.event.seq, chars });
        this.inFlightChars += chars;
        this.sentSinceTick += chars;
      }
      this.outlet.send(next.event, next.passedOver);
    }
    // Released as taken in while little is held; otherwise once sent and acknowledged, or passed over.
    if (!this.listening || this.heldChars <= this.limits.queueChars) this.releaseUpTo(this.lastPushedSeq);
  }

  /**
   * Makes the first held chunk at most `chars` long, when it is plain (a plain chunk can be cut
   * anywhere): the rest stays held under the same seq. The page acknowledges the first part with
   * that seq, which releases the whole chunk to the engine; `heldChars` still counts the rest.
   */
  private splitHead(chars: number): void {
    const head = this.held[0];
    if (head?.kind !== 'output' || !head.plain || head.event.data.length <= chars) return;
    this.held.splice(0, 1, { ...head, event: { ...head.event, data: head.event.data.slice(0, chars) } }, { ...head, event: { ...head.event, data: head.event.data.slice(chars) }, passedOver: 0 });
  }

  private startTick(): void {
    this.tick ??= setTimeout(() => {
      this.tick = undefined;
      this.sentSinceTick = 0;
      this.releasedSinceTick = 0;
      this.pump();
    }, this.limits.floodTickMs);
  }

  private releaseUpTo(seq: number): void {
    const flooding = this.flooding();
    let upTo = this.releasedSeq;
    while (this.unreleased.length > 0 && this.unreleased[0]!.seq <= seq) {
      if (flooding && this.releasedSinceTick >= this.limits.floodIntakeChars) {
        this.startTick(); // the rest when the tick comes
        break;
      }
      const next = this.unreleased.shift()!;
      this.releasedSinceTick += next.chars;
      upTo = next.seq;
    }
    if (upTo <= this.releasedSeq) return;
    this.releasedSeq = upTo;
    this.outlet.release(upTo);
  }

  /**
   * Passes over the held plain text before the last `keepRows` rows' worth, when the page's
   * terminal is known to be in a state where that is exact: only text before the first held
   * chunk that could change state, and only once the copy has parsed everything sent.
   */
  private tryCut(): void {
    if (!this.listening || this.plainSinceTry < Math.max(2 * this.limits.keepRows, this.lastKeptChars)) return;
    this.plainSinceTry = 0;
    if (this.copyBehind > 0 || !this.modes.keepsPlainRows()) return;
    // A held pane event is a barrier, like a chunk that could change state.
    const chunks = this.held.map((h) => (h.kind === 'event' ? BARRIER : { data: h.event.data, safe: h.safe, plain: h.plain }));
    const cut = findFloodCut(chunks, this.limits.widestCols, this.limits.keepRows);
    if (cut) this.passOver(cut);
  }

  /** Passes over everything held before the cut; the page is told how much with the chunk after it. */
  private passOver({ chunk: k, offset, keptChars }: FloodCut): void {
    const passed = this.held.splice(0, k + 1) as Held[];
    const holder = passed.pop()!;
    const skipped = passed.reduce((sum, h) => sum + h.event.data.length, offset);
    // Chunks passed over whole may carry what an earlier cut passed over before them.
    const carried = passed.reduce((sum, h) => sum + h.passedOver, holder.passedOver);
    this.passedOverChars += skipped;
    this.heldChars -= skipped;
    this.held.unshift({ kind: 'output', event: { ...holder.event, data: holder.event.data.slice(offset) }, passedOver: carried + skipped, safe: true, plain: true });
    this.lastKeptChars = keptChars;
    this.lastCutAt = performance.now();
    const lastPassed = passed.at(-1);
    if (lastPassed) this.releaseUpTo(lastPassed.event.seq);
  }
}

/** The relays of one session's four panes. */
export class SessionOutputRelays {
  private readonly relays = new Map<string, PaneOutputRelay>();
  private listening: boolean;

  constructor(
    private readonly outlet: (event: LabEvent, passedOver: number) => void,
    private readonly release: (host: ApiHostLabel, pane: PaneName, seq: number) => void,
    listening: boolean,
  ) {
    this.listening = listening;
  }

  /** Every event of the session, in log order: pane output and pane events through their pane's relay. */
  forward(event: LabEvent): void {
    if ((event.type === 'pane-output' || event.type === 'pane-open' || event.type === 'pane-close') && (event.host === 'H1' || event.host === 'H2')) {
      const relay = this.relay(event.host, event.pane);
      if (event.type === 'pane-output') relay.output(event);
      else relay.event(event);
      return;
    }
    this.outlet(event, 0);
  }

  acknowledge(host: ApiHostLabel, pane: PaneName, seq: number): void {
    this.relays.get(`${host}/${pane}`)?.acknowledge(seq);
  }

  setListening(listening: boolean): void {
    this.listening = listening;
    for (const relay of this.relays.values()) relay.setListening(listening);
  }

  /** The session has ended: what is held goes out now (no shell is left to pause). */
  finish(): void {
    this.setListening(false);
    for (const relay of this.relays.values()) relay.dispose();
  }

  private relay(host: ApiHostLabel, pane: PaneName): PaneOutputRelay {
    const key = `${host}/${pane}`;
    let relay = this.relays.get(key);
    if (!relay) {
      relay = new PaneOutputRelay({ send: this.outlet, release: (seq) => this.release(host, pane, seq) }, { listening: this.listening });
      this.relays.set(key, relay);
    }
    return relay;
  }
}
