/**
 * The session log: events appended in order to a JSON-lines file as they happen. Each append is
 * a synchronous write to the file descriptor, so a crash loses nothing already appended (the
 * kernel holds it even if this process dies); listeners get each event after it is written.
 */
import { EventEmitter } from 'node:events';
import { closeSync, openSync, writeSync } from 'node:fs';
import type { LabEvent, NewLabEvent } from '../../shared/src/events';

/**
 * The controller's time axis: the wall clock (epoch ms, fractional), interpolated between its
 * milliseconds by the monotonic clock and never going backwards.
 *
 * Why the wall clock: every host time (tcpdump, the tracer, ss polls, the clock probe) is that
 * host's wall clock, and hosts keep their wall clocks to UTC as the controller does; offsets
 * measured wall to wall (host-clock.ts, against this function) stay valid over a session, and
 * the controller's own markers (commands typed, firewall changes, steps) land on the same axis.
 * `performance.timeOrigin + performance.now()` alone is not the wall clock: timeOrigin is taken
 * at process start with its own error, and a stepped wall clock is never followed, so it was
 * 0.4-0.9 ms off Date.now in sessions here, which misplaced host events against the markers.
 * Date.now alone has whole milliseconds only. So: the monotonic clock (steady, sub-µs) plus a
 * correction measured at Date.now's millisecond edges, re-measured every few seconds and at once
 * when the two disagree by more than 2 ms (a step). The guard keeps `t` ordered in the log
 * across a backward correction or step (equal times until the wall clock catches up).
 */
export function nowMs(): number {
  const mono = performance.timeOrigin + performance.now();
  if (mono - calibratedAt > RECALIBRATE_MS || Math.abs(Date.now() - (mono + correctionMs)) > 2) calibrate();
  const t = performance.timeOrigin + performance.now() + correctionMs;
  lastMs = Math.max(lastMs, t);
  return lastMs;
}

const RECALIBRATE_MS = 5000;
let correctionMs = 0;
let calibratedAt = -Infinity;
let lastMs = -Infinity;

/**
 * wall - monotonic at a Date.now tick: the tick lies between the monotonic reads just before the
 * last Date.now that had not changed and just after the first that had; of three ticks, the one
 * bracketed most tightly (a preemption widens a bracket) gives the correction, to a few µs.
 * Spins at most about 3 ms.
 */
function calibrate(): void {
  let best: { width: number; correction: number } | undefined;
  for (let edge = 0; edge < 3; edge++) {
    const start = Date.now();
    let before = performance.now();
    let wall = start;
    const limit = before + 5; // a clock that does not tick (frozen in a test) ends the spin
    while (wall === start && before < limit) {
      const p = performance.now();
      wall = Date.now();
      if (wall === start) before = p;
    }
    const after = performance.now();
    if (wall === start) break;
    const width = after - before;
    const correction = wall - (performance.timeOrigin + (before + after) / 2);
    if (!best || width < best.width) best = { width, correction };
  }
  if (best) correctionMs = best.correction;
  calibratedAt = performance.timeOrigin + performance.now();
}

export class SessionLog extends EventEmitter<{ event: [LabEvent] }> {
  private fd: number | undefined;
  private seq = 0;
  /**
   * The events appended, for a log with no file (previews and tests). A log with a file keeps none
   * here: the file is the record, and nothing in the app reads them back from memory. Keeping them
   * held a whole flood (100 MB of `seq` output) for the session's life, until pane output was left
   * out; and then still every `ss` snapshot, 10 a second while the lab is connected, for as long as
   * the workspace stays open (about 40 MiB of the server's memory an hour, idle).
   */
  readonly events: LabEvent[] = [];

  /** With no path, the log lives in memory only (for previews and tests). */
  constructor(readonly path?: string) {
    super();
    if (path !== undefined) this.fd = openSync(path, 'a');
  }

  append(event: NewLabEvent): LabEvent {
    const full = { seq: this.seq++, t: nowMs(), ...event } as LabEvent;
    if (this.fd !== undefined) writeSync(this.fd, `${JSON.stringify(full)}\n`);
    if (this.path === undefined) this.events.push(full);
    this.emit('event', full);
    return full;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
