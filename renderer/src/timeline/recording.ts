/**
 * Every session event the page received, kept so the timeline's cursor can show the workspace
 * as it was at any instant: the socket tables and the state diagram are the workspace fold
 * (state/workspace.ts) over the events up to that instant, and each pane is its output up to it.
 *
 * Events are folded in order of axis time (a transition's corrected host time, not when its
 * line reached the controller), the order the timeline draws them in. The fold keeps a
 * checkpoint every CHECKPOINT_EVERY events, so moving the cursor folds at most that many.
 */
import type { LabEvent, PaneName } from '../../../shared/src/events';
import type { SessionEventMessage } from '../../../shared/src/lab-api';
import { promptUtcOffsetMinutes } from '../../../shared/src/figures/instant';
import { FrameBatch } from '../state/frame-batch';
import { initialWorkspace, reduce, type WorkspaceState } from '../state/workspace';
import { TimelineModel } from './model';
import { upperBound } from './scale';

export const CHECKPOINT_EVERY = 512;

interface Entry {
  session: string;
  event: LabEvent;
  axisMs: number;
}

export interface PaneChunk {
  t: number;
  session: string;
  data: string;
}

export class Recording {
  readonly model: TimelineModel;
  private readonly entries: Entry[] = [];
  private axisTimes: number[] = [];
  /** checkpoints[k]: the fold of entries[0 .. (k+1)*CHECKPOINT_EVERY). */
  private checkpoints: WorkspaceState[] = [];
  private readonly panes = new Map<string, { chunks: PaneChunk[]; times: number[] }>();
  private readonly listeners = new Set<() => void>();
  /** Listeners hear about new events once per animation frame (a replay sends 100,000 in a burst). */
  private readonly notifier = new FrameBatch(() => {
    for (const listener of this.listeners) listener();
  });
  /** The latest session seen (a replay has one; a live page sees the workspace's and each run's). */
  lastSession: string | undefined;

  constructor(private readonly labels: readonly string[] = ['H1', 'H2']) {
    this.model = new TimelineModel(labels);
  }

  get size(): number {
    return this.entries.length;
  }

  add(message: SessionEventMessage): void {
    const { session, event } = message;
    this.lastSession = session;
    this.model.add(event);
    const axisMs = 'hostTimeUs' in event ? this.model.axisMs(event.host, event.hostTimeUs) : event.t;
    // Mostly in order already; a transition logged late moves back a few places.
    let at = this.entries.length;
    while (at > 0 && this.axisTimes[at - 1]! > axisMs) at--;
    if (at === this.entries.length) {
      this.entries.push({ session, event, axisMs });
      this.axisTimes.push(axisMs);
    } else {
      this.entries.splice(at, 0, { session, event, axisMs });
      this.axisTimes.splice(at, 0, axisMs);
      this.checkpoints.length = Math.min(this.checkpoints.length, Math.floor(at / CHECKPOINT_EVERY));
    }
    if (event.type === 'pane-output') {
      if (this.zone === undefined && /\[\d{2}:\d{2}:\d{2}\] /.test(event.data)) this.zone = promptUtcOffsetMinutes([event]);
      const key = `${event.host}/${event.pane}`;
      let pane = this.panes.get(key);
      if (!pane) this.panes.set(key, (pane = { chunks: [], times: [] }));
      pane.chunks.push({ t: event.t, session, data: event.data });
      pane.times.push(event.t);
    }
    this.notifier.schedule();
  }

  /** Listeners hear about new events at most once per animation frame. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** How many events lie at or before `ms` on the axis. */
  countAt(ms: number): number {
    return upperBound(this.axisTimes, ms);
  }

  /** The workspace as it was at `ms` on the axis: the fold of every event up to it. */
  foldAt(ms: number): WorkspaceState {
    const count = this.countAt(ms);
    const k = Math.min(this.checkpoints.length, Math.floor(count / CHECKPOINT_EVERY));
    let state = k > 0 ? this.checkpoints[k - 1]! : initialWorkspace(this.labels);
    for (let i = k * CHECKPOINT_EVERY; i < count; i++) {
      const entry = this.entries[i]!;
      state = reduce(state, entry.session, entry.event);
      if ((i + 1) % CHECKPOINT_EVERY === 0 && this.checkpoints.length === (i + 1) / CHECKPOINT_EVERY - 1) this.checkpoints.push(state);
    }
    return state;
  }

  /** The output a pane had received by controller time `t`: chunks [0, n). */
  paneChunks(host: string, pane: PaneName): readonly PaneChunk[] {
    return this.panes.get(`${host}/${pane}`)?.chunks ?? [];
  }

  paneChunkCountAt(host: string, pane: PaneName, t: number): number {
    const p = this.panes.get(`${host}/${pane}`);
    return p ? upperBound(p.times, t) : 0;
  }

  /** The hosts' zone (minutes east of UTC) from the first prompt received; undefined before one arrives. */
  utcOffsetMin(): number | undefined {
    return this.zone;
  }

  private zone: number | undefined;
}
