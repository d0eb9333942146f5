/**
 * Which of a connection's reconciled states are final: nothing that can still arrive (a snapshot
 * in transit, a trace event delayed) could revise them. LabSession logs a state as a `transition`
 * the moment it is final, so the live views show the kernel's state at once and the session log
 * never has to take a state back.
 *
 * What can still be revised, and what settles it:
 * - A traced state after the history's first traced one, other than CLOSED: nothing; at once.
 *   Likewise a traced CLOSED from a state that cannot enter TIME_WAIT (LAST_ACK, an RST), and a
 *   history's traced SYN_SENT or LISTEN (entered from CLOSED only, with no snapshot before).
 * - A history's first traced state (a server's SYN_RECV and ESTABLISHED): a snapshot taken before
 *   it but not yet arrived may have seen the state earlier (a half-open SYN-RECV, tracing begun
 *   mid-connection). Snapshots arrive in order, so it is final once one taken at or after the
 *   state's time is in, or once the poller says no snapshot taken before that time is still to
 *   come (SocketPoller.snapshotsCompleteBeforeUs: no request of ours unanswered, and its next
 *   tick after the state; or a snapshot begun after the state under way, known from its first
 *   line, before its `ss` has run). The second is the usual case and costs no `ss` round trip:
 *   on a busy 2-core machine that round trip was 50-100 ms, the largest part of the server's
 *   kernel -> screen time for ESTABLISHED (bench:ui).
 * - A traced CLOSED from FIN_WAIT1, FIN_WAIT2 or CLOSING: the tracepoint reports entering
 *   TIME_WAIT as FIN_WAIT2/CLOSING -> CLOSE (the kernel frees the full socket and carries on with
 *   a separate timewait socket, which fires no event), and an orphaned FIN_WAIT2 the same way;
 *   only ss tells them apart (see shared/src/reconcile.ts). So it waits for a snapshot taken
 *   after it, likewise an inferred TIME_WAIT (CLOSING -> CLOSE) that such a snapshot would
 *   replace by the polled one.
 * - A polled or inferred state after a traced one in its history (the timewait socket's
 *   FIN_WAIT2 / TIME_WAIT): the full socket is gone, no trace event can come before it; once its
 *   snapshot is in and stays (HostObservations.stableSnapshotUs), it is final. Without the
 *   tracer, snapshots are the only source: the same. (When snapshots look earlier than the trace
 *   event they follow by more than a poll interval, as when the trace clock's offset is off under
 *   load, the reconciled TIME_WAIT is dated by the latest snapshot of an unchanged run, which
 *   moves with every poll: it is never stable and waits, as everything did before.)
 * - A client's SYN_SENT before its port is known (sport=0): the margin (`settledBeforeUs`).
 * - A polled state before the history's first traced one: a trace event delayed in transit may
 *   still replace it; it waits one poll and the margin.
 *
 * The tracer asks the poller for a snapshot at once on each event (SocketPoller.pollNow), so the
 * waits above are one `ss` round trip, not a poll interval. Each host's times are its own clock's
 * (trace times mapped through the marker offset, snapshots stamped by bash): an error of a few
 * milliseconds there is covered by the snapshot being asked for only after the event reached us,
 * and by `CLOCK_MARGIN_US` where nothing is asked for.
 */
import type { ConnectionHistory, ObservedState } from '../../shared/src/reconcile';

/** States whose traced CLOSE may be the kernel handing over to a timewait socket (as in shared/src/reconcile.ts). */
const CLOSES_INTO_TIMEWAIT: ReadonlySet<string> = new Set(['FIN_WAIT1', 'FIN_WAIT2', 'CLOSING']);

/**
 * How far a traced time (the kernel's clock, mapped to the host's wall clock) and a snapshot's
 * (bash's $EPOCHREALTIME on the same host) may disagree: the marker fallback maps up to ~0.2 ms
 * early (state-tracer.ts); tai and sampled mono, microseconds.
 */
export const CLOCK_MARGIN_US = 5_000;

/** What the host's observers have delivered so far, on the host's clock (µs). */
export interface SettleProgress {
  /** Everything before this is final whatever it is (now minus the 500 ms margin). */
  settledBeforeUs: number;
  /** The latest snapshot's time (when ss began). */
  polledUpToUs: number;
  /** The latest snapshot that stays in the observations (its readUs). */
  stableUpToUs: number;
  /** Every snapshot taken before this time has arrived (SocketPoller.snapshotsCompleteBeforeUs). */
  snapshotsCompleteBeforeUs: number;
  /** The host's observers were set up: whether it has the tracer is known. */
  prepared: boolean;
  traceAvailable: boolean;
}

/**
 * How many of the history's states, from the first, are final (each waits for every earlier one).
 * `reported`: states already logged stay final (what settled them may not hold now, e.g. a request
 * for a snapshot sent since). With `flush`, all of them: the session is over and nothing more
 * will arrive.
 */
export function settledStateCount(connection: ConnectionHistory, progress: SettleProgress, flush: boolean, reported: (record: ObservedState) => boolean = () => false): number {
  if (flush) return connection.states.length;
  const firstTraced = connection.states.findIndex((record) => record.seen === 'trace');
  // A client's CLOSE -> SYN_SENT comes before connect() picks the port (sport=0): until a later
  // event or snapshot names it, the record is not the connection's yet.
  const portUnknown = connection.local.endsWith(':0');
  for (const [index, record] of connection.states.entries()) {
    if (record.hostTimeUs <= progress.settledBeforeUs || reported(record)) continue;
    if (portUnknown || !isFinal(connection, index, firstTraced, progress)) return index;
  }
  return connection.states.length;
}

function isFinal(connection: ConnectionHistory, index: number, firstTraced: number, progress: SettleProgress): boolean {
  const record = connection.states[index]!;
  const traced = record.seen === 'trace';
  const afterTraced = firstTraced !== -1 && index > firstTraced;
  const previous = connection.states[index - 1]?.state ?? 'CLOSED';
  const finalAtOnce =
    traced &&
    (afterTraced
      ? record.state !== 'CLOSED' || !CLOSES_INTO_TIMEWAIT.has(previous)
      : // Only CLOSED leads to these, and reconcile puts no snapshot before a history that starts from CLOSED.
        index === 0 && (record.state === 'SYN_SENT' || record.state === 'LISTEN'));
  if (finalAtOnce) return true;
  // Until the host is prepared, whether it has the tracer is not known yet.
  if (!progress.prepared) return false;
  if (!traced) return record.hostTimeUs <= progress.stableUpToUs && (afterTraced || !progress.traceAvailable);
  if (record.hostTimeUs <= progress.polledUpToUs) return true;
  // The first traced state needs no snapshot after it, only none before it still to come; a
  // traced CLOSED (it may be a TIME_WAIT) needs what a snapshot after it lists.
  const firstTracedNotClosed = index === firstTraced && record.state !== 'CLOSED';
  return firstTracedNotClosed && record.hostTimeUs + CLOCK_MARGIN_US < progress.snapshotsCompleteBeforeUs;
}
