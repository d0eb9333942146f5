/**
 * The page keeps `ss` snapshots apart from the other events, at a few numbers each
 * (renderer/src/timeline/snapshot-series.ts). The workspace at any instant must still be exactly
 * the fold of every event up to it, snapshots folded in their places: checked here against that
 * plain fold over random sessions (a workspace, a run, the workspace again), snapshots that repeat
 * and change, clock estimates that move the axis, transitions logged late and events placed
 * before their session began. And an hour of an idle lab costs the page little memory.
 */
import fc from 'fast-check';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import type { LabEvent } from '../../shared/src/events';
import type { SsSocket } from '../../shared/src/observations';
import { Recording } from '../../renderer/src/timeline/recording';
import { initialWorkspace, reduce } from '../../renderer/src/state/workspace';

const HOSTS = ['H1', 'H2'] as const;
const T0 = 1_700_000_000_000;

const listener: SsSocket = { state: 'LISTEN', ssState: 'LISTEN', recvQ: 0, sendQ: 1, local: { address: '0.0.0.0', port: 7777 }, peer: { address: '0.0.0.0', port: null } };
function connection(port: number, state: 'ESTABLISHED' | 'TIME_WAIT', timerMs?: number): SsSocket {
  return {
    state,
    ssState: state === 'ESTABLISHED' ? 'ESTAB' : 'TIME-WAIT',
    recvQ: 0,
    sendQ: 0,
    local: { address: '198.18.77.1', port },
    peer: { address: '198.18.77.2', port: 7777 },
    ...(timerMs !== undefined ? { timer: { name: 'timewait', expiresMs: timerMs, retransmits: 0 } } : {}),
  };
}
/** The socket lists a snapshot may carry: most repeat, one has a timer that counts down. */
const SOCKET_LISTS: Array<(i: number) => SsSocket[]> = [() => [], () => [listener], () => [listener, connection(41000, 'ESTABLISHED')], (i) => [connection(41001, 'TIME_WAIT', 60_000 - i)]];

type Step =
  | { kind: 'start'; session: number }
  | { kind: 'end'; session: number }
  | { kind: 'snapshot'; session: number; host: number; list: number; repeat: number; lateMs: number }
  | { kind: 'pad'; session: number; notes: number }
  | { kind: 'transition'; session: number; host: number; lateMs: number }
  | { kind: 'clock'; session: number; host: number; offsetMs: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('start' as const), session: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('end' as const), session: fc.nat(2) }) },
  {
    weight: 12,
    arbitrary: fc.record({
      kind: fc.constant('snapshot' as const),
      session: fc.nat(2),
      host: fc.nat(1),
      list: fc.nat(SOCKET_LISTS.length - 1),
      repeat: fc.integer({ min: 1, max: 30 }),
      // Mostly on time; sometimes read so late that it lies before a session's start that came first.
      lateMs: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 3000 }) }),
    }),
  },
  // Notes: enough of them make the fold keep checkpoints (every 512 entries), which late events must not leave stale.
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('pad' as const), session: fc.nat(2), notes: fc.integer({ min: 1, max: 400 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('transition' as const), session: fc.nat(2), host: fc.nat(1), lateMs: fc.integer({ min: 0, max: 900 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('clock' as const), session: fc.nat(2), host: fc.nat(1), offsetMs: fc.integer({ min: -400, max: 400 }) }) },
);

/** The steps as logged events, 100 ms of controller time apart; host times as the host's clock (offset) read them. */
function logged(steps: Step[]): Array<{ session: string; event: LabEvent }> {
  const out: Array<{ session: string; event: LabEvent }> = [];
  const hostOffsetMs = [120, -80]; // the hosts' clocks against the controller's
  let t = T0;
  let seq = 0;
  const base = { seq: 0, t: 0 };
  for (const step of steps) {
    const session = `s${step.session}`;
    const push = (event: Omit<LabEvent, 'seq' | 't'>, stepMs = 100) => out.push({ session, event: { ...base, ...event, seq: seq++, t: (t += stepMs) } as LabEvent });
    if (step.kind === 'start') push({ type: 'session-start', sessionId: session, tool: 'test', hosts: HOSTS.map((label) => ({ label, address: label, experimentAddress: label, user: 'u' })), port: 7777 } as Omit<LabEvent, 'seq' | 't'>);
    else if (step.kind === 'end') push({ type: 'session-end', reason: 'done' } as Omit<LabEvent, 'seq' | 't'>);
    else if (step.kind === 'clock') push({ type: 'clock', host: HOSTS[step.host]!, offsetMs: hostOffsetMs[step.host]! + step.offsetMs, rttMs: 0.3 } as Omit<LabEvent, 'seq' | 't'>);
    else if (step.kind === 'transition') {
      const hostTimeUs = (t + 100 - step.lateMs + hostOffsetMs[step.host]!) * 1000;
      push({ type: 'transition', host: HOSTS[step.host]!, hostTimeUs, local: '198.18.77.1:41000', remote: '198.18.77.2:7777', state: 'ESTABLISHED', seen: 'traced' } as Omit<LabEvent, 'seq' | 't'>);
    } else if (step.kind === 'pad') {
      // A millisecond apart: a late snapshot can then lie before a start that is already in a checkpoint.
      for (let n = 0; n < step.notes; n++) push({ type: 'note', text: `note ${n}` } as Omit<LabEvent, 'seq' | 't'>, 1);
    } else {
      for (let r = 0; r < step.repeat; r++) {
        const hostTimeUs = (t + 100 - 30 - step.lateMs + hostOffsetMs[step.host]!) * 1000;
        push({ type: 'snapshot', host: HOSTS[step.host]!, hostTimeUs, readUs: hostTimeUs + 300, sockets: SOCKET_LISTS[step.list]!(r * 100) } as Omit<LabEvent, 'seq' | 't'>);
      }
    }
  }
  return out;
}

type Added = { session: string; event: LabEvent; clockMs: number | undefined };

/** Every event on the axis as the Recording's model places it now, in the plain fold's order: axis time, then arrival. */
function placed(recording: Recording, events: Added[]) {
  const all = events.map(({ session, event, clockMs }, arrival) => ({ session, event, arrival, axis: 'hostTimeUs' in event ? recording.model.axisMs(event.host, event.hostTimeUs, clockMs) : event.t }));
  return all.sort((a, b) => a.axis - b.axis || a.arrival - b.arrival);
}

/** The plain fold the Recording must equal: every event, snapshots in their places. */
function plainFoldAt(ordered: ReturnType<typeof placed>, ms: number) {
  let state = initialWorkspace();
  for (const p of ordered) {
    if (p.axis > ms) break;
    state = reduce(state, p.session, p.event);
  }
  return state;
}

describe('snapshots at the timeline cursor', () => {
  it('the workspace at any instant equals the plain fold of every event up to it', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 40 }), fc.array(fc.integer({ min: 0, max: 1_000_000 }), { minLength: 1, maxLength: 12 }), fc.array(fc.nat(), { minLength: 1, maxLength: 20 }), fc.array(fc.nat(), { maxLength: 4 }), (steps, spread, picks, whileAdding) => {
        const events = logged(steps);
        const recording = new Recording();
        const added: Added[] = [];
        // The cursor is read while events still arrive (its checkpoints are then made before later ones come).
        const foldNow = new Set(whileAdding.map((k) => k % events.length));
        for (const [index, { session, event }] of events.entries()) {
          const clockMs = 'hostTimeUs' in event ? recording.model.clockMs(event.host) : undefined;
          added.push({ session, event, clockMs });
          recording.add({ type: 'event', session, event });
          if (!foldNow.has(index)) continue;
          const sofar = placed(recording, added);
          const ms = sofar.at(-1)!.axis + 1;
          expect(recording.foldAt(ms), `after event ${index}, at ${ms}`).toEqual(plainFoldAt(sofar, ms));
        }
        recording.flush();
        const ordered = placed(recording, added);
        const first = ordered[0]!.axis - 1000;
        const last = ordered.at(-1)!.axis + 1000;
        // Instants anywhere over the recording, back and forth, and on, just before and just
        // after events' axis times (where ties and late events decide).
        const onEvents = picks.flatMap((k) => {
          const axis = ordered[k % ordered.length]!.axis;
          return [axis, axis - 0.001, axis + 0.001];
        });
        const instants = [...spread.map((x) => first + (x / 1_000_000) * (last - first)), ...onEvents];
        for (const ms of instants) expect(recording.foldAt(ms), `at ${ms}`).toEqual(plainFoldAt(ordered, ms));
      }),
      { numRuns: 300 },
    );
  });

  it('a session that starts at the same axis time as a snapshot of the one before carries only the snapshots that came first', () => {
    // No clock estimate: a snapshot's axis time is its host time, so it can equal the start's t.
    const startOf = (session: string, t: number): LabEvent => ({ type: 'session-start', seq: 0, t, sessionId: session, tool: 'test', hosts: HOSTS.map((label) => ({ label, address: label, experimentAddress: label, user: 'u' })), port: 7777 }) as LabEvent;
    const snapshotAt = (t: number, sockets: SsSocket[]): LabEvent => ({ type: 'snapshot', seq: 0, t, host: 'H1', hostTimeUs: t * 1000, readUs: t * 1000, sockets }) as LabEvent;
    const events: Array<{ session: string; event: LabEvent }> = [
      { session: 's0', event: startOf('s0', T0) },
      { session: 's0', event: snapshotAt(T0 + 100, [listener]) },
      { session: 's0', event: { type: 'session-end', seq: 0, t: T0 + 150, reason: 'finished' } as LabEvent },
      { session: 's1', event: startOf('s1', T0 + 200) },
      // Logged after s1 began, at the same axis time: the plain fold takes s1's start first, and
      // then passes this one by (another session's), so s1 carries the listener.
      { session: 's0', event: snapshotAt(T0 + 200, [listener, connection(41000, 'ESTABLISHED')]) },
    ];
    const recording = new Recording();
    for (const { session, event } of events) recording.add({ type: 'event', session, event });
    recording.flush();
    const ordered = placed(recording, events.map((e) => ({ ...e, clockMs: undefined })));
    const at = recording.foldAt(T0 + 300);
    expect(at).toEqual(plainFoldAt(ordered, T0 + 300));
    expect(at.hosts.H1!.carried).toMatchObject({ sockets: [listener], snapshotT: T0 + 100 });
  });

  it('a snapshot that arrives late, before a session start the cursor has already folded past, still changes what that start carried', () => {
    const startOf = (session: string, t: number): LabEvent => ({ type: 'session-start', seq: 0, t, sessionId: session, tool: 'test', hosts: HOSTS.map((label) => ({ label, address: label, experimentAddress: label, user: 'u' })), port: 7777 }) as LabEvent;
    const snapshotAt = (t: number, hostT: number, sockets: SsSocket[]): LabEvent => ({ type: 'snapshot', seq: 0, t, host: 'H1', hostTimeUs: hostT * 1000, readUs: hostT * 1000, sockets }) as LabEvent;
    const events: Array<{ session: string; event: LabEvent }> = [
      { session: 's0', event: startOf('s0', T0) },
      { session: 's0', event: snapshotAt(T0 + 10, T0 + 10, [listener]) },
      { session: 's0', event: { type: 'session-end', seq: 0, t: T0 + 90, reason: 'finished' } as LabEvent },
      { session: 's1', event: startOf('s1', T0 + 100) },
      // Enough events after the start for a checkpoint (every 512) to hold it.
      ...Array.from({ length: 600 }, (_, n) => ({ session: 's1', event: { type: 'note', seq: 0, t: T0 + 200 + n, text: `note ${n}` } as LabEvent })),
    ];
    const late = { session: 's0', event: snapshotAt(T0 + 900, T0 + 50, [listener, connection(41000, 'ESTABLISHED')]) };
    const recording = new Recording();
    for (const { session, event } of events) recording.add({ type: 'event', session, event });
    const end = T0 + 1000;
    expect(recording.foldAt(end).hosts.H1!.carried?.sockets).toEqual([listener]);
    recording.add({ type: 'event', ...late });
    const all = [...events, late];
    expect(recording.foldAt(end)).toEqual(plainFoldAt(placed(recording, all.map((e) => ({ ...e, clockMs: undefined }))), end));
    expect(recording.foldAt(end).hosts.H1!.carried?.sockets).toHaveLength(2);
  });

  it('keeps a run of equal snapshots as one socket list', () => {
    const events = logged([{ kind: 'start', session: 0 }, { kind: 'snapshot', session: 0, host: 1, list: 1, repeat: 30, lateMs: 0 }, { kind: 'snapshot', session: 0, host: 1, list: 3, repeat: 5, lateMs: 0 }]);
    const recording = new Recording();
    for (const { session, event } of events) recording.add({ type: 'event', session, event });
    recording.flush();
    // 30 listeners in one run; the TIME_WAIT's timer changes every time: 5 runs.
    expect(recording.snapshotCounts()).toEqual({ snapshots: 35, runs: 6 });
    expect(recording.size).toBe(36);
  });

  it('an hour of an idle, connected lab (36,000 snapshots) grows the heap by under 4 MiB', () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const recording = new Recording();
    const start = logged([{ kind: 'start', session: 0 }])[0]!;
    recording.add({ type: 'event', session: start.session, event: start.event });
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 36_000; i++) {
      const host = HOSTS[i % 2]!;
      const t = T0 + 1000 + i * 100;
      const sockets = host === 'H2' ? [listener] : [listener, connection(41000, 'ESTABLISHED')];
      // Each as the page receives it: parsed from its own message, sharing nothing with the last.
      const message = JSON.parse(JSON.stringify({ type: 'event', session: 's0', event: { type: 'snapshot', seq: i + 1, t, host, hostTimeUs: t * 1000, readUs: t * 1000 + 300, sockets } }));
      recording.add(message);
    }
    recording.flush();
    gc();
    const grownMiB = (process.memoryUsage().heapUsed - before) / 2 ** 20;
    expect(recording.size).toBe(36_001);
    expect(recording.snapshotCounts().runs).toBe(2);
    // Measured: 17 MiB when each snapshot was kept as its event; 4 numbers and an arrival now.
    expect(grownMiB).toBeLessThan(4);
    // And the cursor still reads them: H2's listener, timed by the snapshot just before the instant.
    const at = recording.foldAt(T0 + 1000 + 20_000 * 100 + 50);
    expect(at.hosts.H2!.sockets).toEqual([listener]);
    expect(at.hosts.H2!.snapshotT).toBe(T0 + 1000 + 19_999 * 100);
  });
});
