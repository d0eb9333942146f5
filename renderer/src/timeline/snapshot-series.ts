/**
 * One host's `ss` snapshots, kept for the timeline's cursor at a few numbers each.
 *
 * A connected lab takes ten snapshots a second (two hosts, every 200 ms), for as long as the page
 * stays open, and nearly all of them repeat the one before (a listener, an idle connection). Kept
 * as events they cost about 500 bytes each on the page, 17 MiB an hour of an idle lab; here a
 * snapshot costs its four times (40 bytes with its arrival), and a run of snapshots listing the
 * same sockets shares one socket list.
 *
 * The fold at an instant (Recording.foldAt) needs only each host's latest snapshot there: a
 * snapshot sets the host's sockets and their times (and ends what the host view carried over from
 * the session before) and nothing else, and no other event reads or changes those but a session's
 * start, which carries them over and empties them. So the fold takes every other event in order,
 * the latest snapshot of the session so far just before each session's start, and at the end the
 * latest snapshot of the session it ended in that came after that session began; which is what
 * folding every snapshot in its place would have left (test/unit/snapshot-series.test.ts).
 */
import type { LabEvent } from '../../../shared/src/events';
import type { SsSocket } from '../../../shared/src/observations';
import { upperBound } from './scale';

export type SnapshotEvent = Extract<LabEvent, { type: 'snapshot' }>;

/** Snapshots in a row, of one session, listing the same sockets (timers included). */
interface Run {
  session: string;
  sockets: SsSocket[];
  /** The index of its first snapshot. */
  first: number;
}

/** An event's place in the fold's order: its axis time, then its arrival. */
export interface FoldPlace {
  axisMs: number;
  arrival: number;
}

/** The fold's order, as a sort comparator: by axis time, equal times by arrival. */
export function foldOrder(a: FoldPlace, b: FoldPlace): number {
  return a.axisMs - b.axisMs || a.arrival - b.arrival;
}

export class HostSnapshots {
  private readonly runs: Run[] = [];
  private lastKey = '';
  // One entry per snapshot, in arrival order.
  private readonly t: number[] = [];
  private readonly hostTimeUs: number[] = [];
  /** The host's clock estimate when it was logged (NaN: none yet), to place it again. */
  private readonly clockMs: number[] = [];
  private readonly axisMs: number[] = [];
  private readonly arrival: number[] = [];
  /** Whether axis times never decrease in arrival order (so a search can bisect); nearly always. */
  private ascending = true;

  constructor(readonly host: string) {}

  get size(): number {
    return this.t.length;
  }

  /** How many runs of equal socket lists it holds (each keeps one list). */
  get runCount(): number {
    return this.runs.length;
  }

  add(session: string, event: SnapshotEvent, axisMs: number, clockMs: number | undefined, arrival: number): void {
    const key = JSON.stringify(event.sockets);
    const last = this.runs.at(-1);
    if (!last || last.session !== session || key !== this.lastKey) {
      this.runs.push({ session, sockets: event.sockets, first: this.t.length });
      this.lastKey = key;
    }
    if (axisMs < (this.axisMs.at(-1) ?? -Infinity)) this.ascending = false;
    this.t.push(event.t);
    this.hostTimeUs.push(event.hostTimeUs);
    this.clockMs.push(clockMs ?? Number.NaN);
    this.axisMs.push(axisMs);
    this.arrival.push(arrival);
  }

  /** Works every axis time out again (the clock offsets moved). */
  place(axisMs: (hostTimeUs: number, clockMs: number | undefined) => number): void {
    this.ascending = true;
    for (let i = 0; i < this.t.length; i++) {
      const clock = this.clockMs[i]!;
      this.axisMs[i] = axisMs(this.hostTimeUs[i]!, Number.isNaN(clock) ? undefined : clock);
      if (i > 0 && this.axisMs[i]! < this.axisMs[i - 1]!) this.ascending = false;
    }
  }

  /**
   * The snapshot the fold up to `until` (exclusive, in the fold's order: axis time, then arrival)
   * leaves for a workspace in `session` that began at `began`: the last of that session's
   * snapshots before `until` and after its start. Undefined if there is none.
   */
  latest(until: FoldPlace, session: string, began: FoldPlace): SnapshotEvent | undefined {
    const place = (i: number): FoldPlace => ({ axisMs: this.axisMs[i]!, arrival: this.arrival[i]! });
    const after = (i: number): boolean => foldOrder(place(i), began) > 0;
    let found = -1;
    if (this.ascending) {
      // The last before `until` (arrivals grow with the index, so equal axis times are in arrival
      // order); if another session's, the last of this session's runs before it.
      let i = upperBound(this.axisMs, until.axisMs) - 1;
      while (i >= 0 && foldOrder(place(i), until) >= 0) i--;
      for (let r = this.runOf(i); r >= 0; r--) {
        if (this.runs[r]!.session === session) {
          found = i;
          break;
        }
        // Runs before the session began hold none of its snapshots that count: stop there.
        if (this.axisMs[this.runs[r]!.first]! < began.axisMs) break;
        i = this.runs[r]!.first - 1;
      }
      // The session's earlier snapshots come before this one, so none is after its start either.
      if (found >= 0 && !after(found)) found = -1;
    } else {
      // Every snapshot, compared in place (no objects made: this scan can run over an hour's).
      const { axisMs, arrival } = this;
      const before = (i: number, axis: number, arrived: number): boolean => axisMs[i]! < axis || (axisMs[i] === axis && arrival[i]! < arrived);
      for (let i = 0; i < this.t.length; i++) {
        // Arrivals are whole numbers: before (start's arrival + 1) is at or before the start.
        if (!before(i, until.axisMs, until.arrival) || before(i, began.axisMs, began.arrival + 1) || this.runs[this.runOf(i)]!.session !== session) continue;
        if (found < 0 || !before(i, axisMs[found]!, arrival[found]!)) found = i;
      }
    }
    if (found < 0) return undefined;
    // As it was logged, but for the fields the fold does not read (its sequence number, when ss's output was read).
    return { type: 'snapshot', seq: -1, t: this.t[found]!, host: this.host, hostTimeUs: this.hostTimeUs[found]!, sockets: this.runs[this.runOf(found)]!.sockets };
  }

  /** The run holding snapshot `i` (-1 for none). */
  private runOf(i: number): number {
    if (i < 0) return -1;
    let lo = 0;
    let hi = this.runs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.runs[mid]!.first <= i) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}
