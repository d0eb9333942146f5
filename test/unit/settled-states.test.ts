import { describe, expect, it } from 'vitest';
import { CLOCK_MARGIN_US, settledStateCount, type SettleProgress } from '../../electron/lab/settled-states';
import type { ConnectionHistory, ObservedState } from '../../shared/src/reconcile';
import type { Seen, TcpState } from '../../shared/src/tcp-states';

const T = 1_800_000_000_000_000; // a host time, µs

function history(local: string, ...states: Array<[TcpState, number, Seen]>): ConnectionHistory {
  return { local, remote: '198.18.78.1:40000', states: states.map(([state, at, seen]) => ({ state, hostTimeUs: T + at, seen })) };
}

/** Nothing delivered yet after T: no snapshot at or after it, none known complete. */
const nothingYet: SettleProgress = {
  settledBeforeUs: T - 500_000,
  polledUpToUs: T - 150_000,
  stableUpToUs: T - 150_000,
  snapshotsCompleteBeforeUs: T - 150_000,
  prepared: true,
  traceAvailable: true,
};

// A server's accepted connection: the tracepoint reports the child socket's LISTEN -> SYN_RECV,
// then SYN_RECV -> ESTABLISHED; a snapshot taken just before could have listed the half-open
// request socket as SYN-RECV (an earlier time for the same state).
const accepted = history('198.18.78.6:7777', ['SYN_RECV', 0, 'trace'], ['ESTABLISHED', 40, 'trace']);

describe('which observed states are final (settled-states.ts)', () => {
  it("a server's first traced state waits while a snapshot taken before it may still arrive", () => {
    expect(settledStateCount(accepted, nothingYet, false)).toBe(0);
    // The poller's next tick is due just after the state, within the clocks' margin: still waits.
    expect(settledStateCount(accepted, { ...nothingYet, snapshotsCompleteBeforeUs: T + CLOCK_MARGIN_US }, false)).toBe(0);
  });

  it('...and is final, with the traced states after it, once no snapshot before it is to come (no ss round trip)', () => {
    expect(settledStateCount(accepted, { ...nothingYet, snapshotsCompleteBeforeUs: T + CLOCK_MARGIN_US + 1 }, false)).toBe(2);
  });

  it('...or once a snapshot taken at or after it is in', () => {
    expect(settledStateCount(accepted, { ...nothingYet, polledUpToUs: T }, false)).toBe(2);
  });

  it('a traced CLOSED from FIN_WAIT2 (a TIME_WAIT to be, or an orphan) waits for a snapshot after it, however quiet the poller', () => {
    const closing = history('198.18.78.2:40000', ['SYN_SENT', -3_000_000, 'trace'], ['ESTABLISHED', -2_999_000, 'trace'], ['FIN_WAIT1', -10_000, 'trace'], ['FIN_WAIT2', -9_000, 'trace'], ['CLOSED', 0, 'trace']);
    const quiet = { ...nothingYet, settledBeforeUs: T - 3_500_000, snapshotsCompleteBeforeUs: T + 150_000 };
    expect(settledStateCount(closing, quiet, false)).toBe(4);
    expect(settledStateCount(closing, { ...quiet, polledUpToUs: T + 1 }, false)).toBe(5);
  });

  it('a first traced CLOSED (tracing began in FIN_WAIT2) is not settled by a quiet poller either', () => {
    const midway = history('198.18.78.2:40000', ['FIN_WAIT2', -200_000, 'poll'], ['CLOSED', 0, 'trace']);
    const quiet = { ...nothingYet, settledBeforeUs: T - 500_000, stableUpToUs: T - 100_000, snapshotsCompleteBeforeUs: T + 150_000 };
    // The polled FIN_WAIT2 before the first traced state waits the margin (a trace event may still replace it).
    expect(settledStateCount(midway, quiet, false)).toBe(0);
    expect(settledStateCount(midway, { ...quiet, settledBeforeUs: T - 100_000 }, false)).toBe(1);
  });

  it("a client's SYN_SENT and LISTEN are final at once; a port not yet known waits", () => {
    expect(settledStateCount(history('198.18.78.2:40000', ['SYN_SENT', 0, 'trace'], ['ESTABLISHED', 500, 'trace']), nothingYet, false)).toBe(2);
    expect(settledStateCount(history('0.0.0.0:7777', ['LISTEN', 0, 'trace']), nothingYet, false)).toBe(1);
    expect(settledStateCount(history('198.18.78.2:0', ['SYN_SENT', 0, 'trace']), { ...nothingYet, snapshotsCompleteBeforeUs: T + 1_000_000 }, false)).toBe(0);
  });

  it('before the host is prepared, only what is final at once', () => {
    expect(settledStateCount(accepted, { ...nothingYet, prepared: false, polledUpToUs: T + 1, snapshotsCompleteBeforeUs: T + 1_000_000 }, false)).toBe(0);
  });

  it('states already reported stay final, so the ones after them are not held back', () => {
    // The first state was reported while the poller was quiet; a request sent since takes that back.
    const reported = (record: ObservedState): boolean => record.state === 'SYN_RECV';
    expect(settledStateCount(accepted, nothingYet, false, reported)).toBe(2);
  });

  it('flush: everything', () => {
    expect(settledStateCount(accepted, { ...nothingYet, prepared: false }, true)).toBe(2);
  });
});
