/**
 * Every session event the page received, kept so the timeline's cursor can show the workspace
 * as it was at any instant: the socket tables and the state diagram are the workspace fold
 * (state/workspace.ts) over the events up to that instant, and each pane is its output up to it.
 *
 * Events are folded in order of axis time (a transition's corrected host time, not when its
 * line reached the controller), the order the timeline draws them in, with the clock offsets the
 * drawn model uses (TimelineModel.axisMs: the SSH estimate in effect when the event was logged,
 * plus what the packets added). When those move (a host's first estimate, a new packet
 * correction), the order is worked out again at the next question about an instant. The fold
 * keeps a checkpoint every CHECKPOINT_EVERY events, so moving the cursor folds at most that many.
 * `ss` snapshots (ten a second while connected) are kept apart, at a few numbers each, and the
 * fold takes each host's latest one last (snapshot-series.ts says why that is the same).
 */
import type { LabEvent, PaneName } from '../../../shared/src/events';
import type { SessionEventMessage } from '../../../shared/src/lab-api';
import { promptUtcOffsetMinutes } from '../../../shared/src/figures/instant';
import { FrameBatch } from '../state/frame-batch';
import { initialWorkspace, reduce, type WorkspaceState } from '../state/workspace';
import { TimelineModel } from './model';
import { PaneTape } from './pane-tape';
import { lowerBound, upperBound } from './scale';
import { foldOrder, HostSnapshots, type FoldPlace, type SnapshotEvent } from './snapshot-series';

export const CHECKPOINT_EVERY = 512;
/** How often events the timeline does not draw tell the listeners (see `add`). */
const UNDRAWN_NOTIFY_MS = 250;
/**
 * Events the timeline draws nothing of, only counts: pane output (a flood's), `ss` snapshots and
 * raw trace lines (several a second while connected; the transitions they become are drawn).
 */
const UNDRAWN_EVENTS: ReadonlySet<string> = new Set(['pane-output', 'snapshot', 'trace']);

interface Entry {
  session: string;
  event: LabEvent;
  axisMs: number;
  /** The host's clock estimate when it was logged (events with a host time). */
  clockMs: number | undefined;
  /** Position in arrival order: equal axis times keep it. */
  arrival: number;
}

export class Recording {
  readonly model: TimelineModel;
  /** Every event but `ss` snapshots (in `snapshots`) and with pane output's text left out, in axis order. */
  private readonly entries: Entry[] = [];
  /** Each host's snapshots, kept compactly (snapshot-series.ts says why, and how the fold takes them). */
  private readonly snapshots = new Map<string, HostSnapshots>();
  /** Where each session's start lies in the fold's order (a session logs one; a hand-made log may have more). */
  private readonly starts = new Map<string, FoldPlace[]>();
  /** The last of them in the fold's order (a start's axis time is its controller time: it never moves). */
  private lastStart: FoldPlace | undefined;
  /** By a start's arrival: the snapshots the fold applies just before it (atStart). */
  private readonly snapshotsAtStart = new Map<number, SnapshotEvent[]>();
  /** Events added so far, snapshots included: the next one's arrival. */
  private received = 0;
  private axisTimes: number[] = [];
  /** checkpoints[k]: the fold of entries[0 .. (k+1)*CHECKPOINT_EVERY). */
  private checkpoints: WorkspaceState[] = [];
  /** Each pane's output, within a budget (pane-tape.ts says why); the entries keep pane events without it. */
  private readonly panes = new Map<string, PaneTape>();
  private readonly listeners = new Set<() => void>();
  /**
   * Listeners hear about new events once per animation frame at most (a replay sends 100,000 in
   * a burst), and only once the timeline model includes them: `publish` rebuilds it then, unless
   * that would make rebuilding more than a fifth of the wall time (then it publishes when due).
   */
  private readonly notifier = new FrameBatch(() => this.publish());
  /** Events the listeners were told about (the model includes them). */
  private published = 0;
  private lastBuildEnd = -Infinity;
  private publishTimer: ReturnType<typeof setTimeout> | undefined;
  private undrawnTimer: ReturnType<typeof setTimeout> | undefined;
  /** How many times the model was rebuilt here, and the time that took (ms). */
  readonly rebuilds = { count: 0, ms: 0 };
  /** The latest session seen (a replay has one; a live page sees the workspace's and each run's). */
  lastSession: string | undefined;
  /** The model's axis epoch the axis times were worked out with. */
  private axisEpoch = 0;

  constructor(private readonly labels: readonly string[] = ['H1', 'H2']) {
    this.model = new TimelineModel(labels, true);
  }

  /** Events the timeline shows (the model includes them); the cursor's fold has every event given. */
  get size(): number {
    return this.published;
  }

  /** Brings the model up to date with every event now and tells the listeners (tests; the end of a burst). */
  flush(): void {
    this.notifier.flush();
    if (this.published !== this.received) this.publish(true);
  }

  private publish(force = false): void {
    if (this.model.stale) {
      // Rebuilding takes at most a fifth of the wall time: after a build of D ms, the next waits 4 D.
      // (Rebuilding sooner when the stream seems to pause was tried: messages of a replay arrive
      // with gaps on a busy machine, and it rebuilt in the gaps: 34 s to load 100,000 events, not 12-17 s.)
      const now = performance.now();
      const allowed = this.lastBuildEnd + 4 * this.model.lastBuildMs;
      if (!force && now < allowed) {
        this.publishTimer ??= setTimeout(() => {
          this.publishTimer = undefined;
          this.notifier.schedule();
        }, allowed - now);
        return;
      }
      this.model.refresh();
      this.lastBuildEnd = performance.now();
      this.rebuilds.count++;
      this.rebuilds.ms += this.model.lastBuildMs;
    }
    if (this.published === this.received) return;
    this.published = this.received;
    for (const listener of this.listeners) listener();
  }

  add(message: SessionEventMessage): void {
    const { session, event } = message;
    this.lastSession = session;
    this.model.add(event);
    const clockMs = 'hostTimeUs' in event ? this.model.clockMs(event.host) : undefined;
    const axisMs = 'hostTimeUs' in event ? this.model.axisMs(event.host, event.hostTimeUs, clockMs) : event.t;
    const arrival = this.received++;
    if (event.type === 'snapshot') {
      this.hostSnapshots(event.host).add(session, event, axisMs, clockMs, arrival);
      this.snapshotPlaced({ axisMs, arrival });
    } else this.addEntry(session, event, axisMs, clockMs, arrival);
    if (event.type === 'pane-output') {
      if (this.zone === undefined && /\[\d{2}:\d{2}:\d{2}\] /.test(event.data)) this.zone = promptUtcOffsetMinutes([event]);
      this.paneTape(event.host, event.pane).add({ t: event.t, session, data: event.data });
    }
    if (UNDRAWN_EVENTS.has(event.type)) {
      // Only the event count changes: telling the listeners at once redrew the timeline 60 times
      // a second during a flood, and 10 a second for the snapshots of a connected, idle lab
      // (about half of the idle page's CPU).
      this.undrawnTimer ??= setTimeout(() => {
        this.undrawnTimer = undefined;
        this.notifier.schedule();
      }, UNDRAWN_NOTIFY_MS);
      return;
    }
    this.notifier.schedule();
  }

  /**
   * A snapshot placed before a session's start (late, or the axis moved) changes what that start
   * carried over (HostView.carried): the fold from there on is worked out again. Snapshots nearly
   * always come after every start, and then nothing folded so far changes.
   */
  private snapshotPlaced(place: FoldPlace): void {
    if (!this.lastStart || foldOrder(place, this.lastStart) > 0) return;
    this.forgetFoldFrom(lowerBound(this.axisTimes, place.axisMs));
  }

  /** Drops the checkpoints and snapshots-at-a-start worked out from entry `index` on. */
  private forgetFoldFrom(index: number): void {
    this.checkpoints.length = Math.min(this.checkpoints.length, Math.floor(index / CHECKPOINT_EVERY));
    this.snapshotsAtStart.clear();
  }

  private addEntry(session: string, event: LabEvent, axisMs: number, clockMs: number | undefined, arrival: number): void {
    if (event.type === 'session-start') {
      const start = { axisMs, arrival };
      this.starts.set(session, [...(this.starts.get(session) ?? []), start]);
      if (!this.lastStart || foldOrder(start, this.lastStart) > 0) this.lastStart = start;
      this.snapshotsAtStart.clear();
    }
    // The workspace fold passes pane output by: its text lives only in the pane's tape, which lets go of old output.
    const kept = event.type === 'pane-output' ? { ...event, data: '' } : event;
    const entry: Entry = { session, event: kept, axisMs, clockMs, arrival };
    // Mostly in order already; a transition logged late moves back a few places.
    let at = this.entries.length;
    while (at > 0 && this.axisTimes[at - 1]! > axisMs) at--;
    if (at === this.entries.length) {
      this.entries.push(entry);
      this.axisTimes.push(axisMs);
    } else {
      this.entries.splice(at, 0, entry);
      this.axisTimes.splice(at, 0, axisMs);
      this.forgetFoldFrom(at);
    }
  }

  /** Listeners hear about new events at most once per animation frame. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** How many of the entries (every event but snapshots) lie at or before `ms` on the axis. */
  private countAt(ms: number): number {
    this.placeAgain();
    return upperBound(this.axisTimes, ms);
  }

  /** Works the axis times and their order out again when the model's clock offsets moved. */
  private placeAgain(): void {
    if (this.axisEpoch === this.model.axisEpoch) return;
    this.axisEpoch = this.model.axisEpoch;
    for (const entry of this.entries) {
      const e = entry.event;
      entry.axisMs = 'hostTimeUs' in e ? this.model.axisMs(e.host, e.hostTimeUs, entry.clockMs) : e.t;
    }
    this.entries.sort(foldOrder);
    this.axisTimes = this.entries.map((entry) => entry.axisMs);
    this.forgetFoldFrom(0);
    for (const series of this.snapshots.values()) series.place((hostTimeUs, clockMs) => this.model.axisMs(series.host, hostTimeUs, clockMs));
  }

  /** The workspace as it was at `ms` on the axis: the fold of every event up to it. */
  foldAt(ms: number): WorkspaceState {
    const count = this.countAt(ms);
    const k = Math.min(this.checkpoints.length, Math.floor(count / CHECKPOINT_EVERY));
    let state = k > 0 ? this.checkpoints[k - 1]! : initialWorkspace(this.labels);
    for (let i = k * CHECKPOINT_EVERY; i < count; i++) {
      const entry = this.entries[i]!;
      // A session's start carries the hosts' last observation over (HostView.carried): the
      // session so far gets its latest snapshots first.
      if (entry.event.type === 'session-start') state = this.atStart(state, entry);
      state = reduce(state, entry.session, entry.event);
      if ((i + 1) % CHECKPOINT_EVERY === 0 && this.checkpoints.length === (i + 1) / CHECKPOINT_EVERY - 1) this.checkpoints.push(state);
    }
    // Then each host's latest snapshot of the session the fold ended in (snapshot-series.ts).
    return this.withLatestSnapshots(state, { axisMs: ms, arrival: Infinity });
  }

  /** `state` (the fold up to `until`, exclusive) with each host's latest snapshot of its session by then. */
  private withLatestSnapshots(state: WorkspaceState, until: FoldPlace): WorkspaceState {
    return this.withSnapshots(state, this.latestSnapshots(state.session, until));
  }

  /** withLatestSnapshots before a session's start, remembered (each fold passes the same starts). */
  private atStart(state: WorkspaceState, start: Entry): WorkspaceState {
    let snapshots = this.snapshotsAtStart.get(start.arrival);
    if (!snapshots) this.snapshotsAtStart.set(start.arrival, (snapshots = this.latestSnapshots(state.session, start)));
    return this.withSnapshots(state, snapshots);
  }

  private latestSnapshots(session: string | undefined, until: FoldPlace): SnapshotEvent[] {
    const began = session === undefined ? undefined : lastStartBefore(this.starts.get(session), until);
    if (session === undefined || !began) return [];
    return [...this.snapshots.values()].flatMap((series) => series.latest(until, session, began) ?? []);
  }

  private withSnapshots(state: WorkspaceState, snapshots: readonly SnapshotEvent[]): WorkspaceState {
    return snapshots.reduce((s, snapshot) => reduce(s, s.session!, snapshot), state);
  }

  private hostSnapshots(host: string): HostSnapshots {
    let series = this.snapshots.get(host);
    if (!series) this.snapshots.set(host, (series = new HostSnapshots(host)));
    return series;
  }

  /** How many snapshots it holds, and in how many runs of equal socket lists (tests). */
  snapshotCounts(): { snapshots: number; runs: number } {
    let snapshots = 0;
    let runs = 0;
    for (const series of this.snapshots.values()) {
      snapshots += series.size;
      runs += series.runCount;
    }
    return { snapshots, runs };
  }

  /** A pane's output as received (the newest part of it, see pane-tape.ts). */
  paneTape(host: string, pane: PaneName): PaneTape {
    const key = `${host}/${pane}`;
    let tape = this.panes.get(key);
    if (!tape) this.panes.set(key, (tape = new PaneTape()));
    return tape;
  }

  /** The hosts' zone (minutes east of UTC) from the first prompt received; undefined before one arrives. */
  utcOffsetMin(): number | undefined {
    return this.zone;
  }

  private zone: number | undefined;
}

/** The session's start the fold up to `until` (exclusive) applied last, in (axis, arrival) order. */
function lastStartBefore(starts: readonly FoldPlace[] | undefined, until: FoldPlace): FoldPlace | undefined {
  let last: FoldPlace | undefined;
  for (const start of starts ?? []) {
    if (foldOrder(start, until) < 0 && (!last || foldOrder(start, last) > 0)) last = start;
  }
  return last;
}
