/**
 * HostObservations keeps its last reconciliation until an input changes (lab-session.ts): fed a
 * real capture one observation at a time, what it answers is always what reconciling everything
 * afresh gives, and the same answer is reused only while nothing new came in.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HostObservations } from '../../electron/lab/lab-session';
import type { Snapshot } from '../../electron/lab/socket-poller';
import { reconcileHost, type HostTransition } from '../../shared/src/reconcile';
import { parseSs } from '../../shared/src/ss-parser';
import { parseTrace, TraceClock } from '../../shared/src/trace-parser';

const FIXTURES = new URL('../fixtures/', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, FIXTURES), 'utf8');
const PORT = 7799;
const H1 = '198.18.99.1';

/** `@ <epoch s.ns>` followed by ss -tanoH output, repeated (see test/fixtures/README.md). */
function pollLog(text: string): Snapshot[] {
  return text
    .split(/^@ /m)
    .slice(1)
    .map((block) => {
      const [stamp = '', ...rows] = block.split('\n');
      const [seconds = '0', fraction = ''] = stamp.split('.');
      const hostTimeUs = Number(seconds) * 1_000_000 + Number(fraction.slice(0, 6).padEnd(6, '0'));
      return { hostTimeUs, readUs: hostTimeUs, sockets: parseSs(rows.join('\n')) };
    });
}

describe('HostObservations.histories', () => {
  it('answers as a fresh reconciliation would after every observation, reusing it only while nothing changed', () => {
    const { transitions, markers } = parseTrace(read('trace/normal-close.txt'));
    const clock = new TraceClock(markers);
    const traced: HostTransition[] = transitions.map((t) => ({ ...t, hostTimeUs: clock.toWallUs(t.traceTimeUs) ?? Number.NaN }));
    const snapshots = pollLog(read('ss/polls/normal-close.h1.log'));
    // Both sources, in the order their times say (as they arrive, give or take transit).
    const arrivals = [...traced.map((t) => ({ at: t.hostTimeUs, t })), ...snapshots.map((s) => ({ at: s.hostTimeUs, s }))].sort((a, b) => a.at - b.at);
    expect(traced.length).toBeGreaterThan(5);
    expect(snapshots.length).toBeGreaterThan(5);

    const observations = new HostObservations(PORT);
    observations.ownAddresses = [H1];
    observations.traceAvailable = true;
    let previous = observations.histories();
    let changedAnswers = 0;
    for (const arrival of arrivals) {
      if ('t' in arrival) observations.transitions.push(arrival.t);
      else observations.addSnapshot(arrival.s);
      const answer = observations.histories();
      const fresh = reconcileHost({ ownAddresses: [H1], port: PORT, transitions: observations.transitions, snapshots: observations.snapshots, traceAvailable: true });
      expect(answer).toEqual(fresh);
      // Something was added: never the answer from before it.
      expect(answer).not.toBe(previous);
      // Nothing since: the same answer, not reconciled again.
      expect(observations.histories()).toBe(answer);
      if (JSON.stringify(answer) !== JSON.stringify(previous)) changedAnswers++;
      previous = answer;
    }
    // The capture's connection, SYN_SENT to TIME_WAIT, was seen growing.
    expect(changedAnswers).toBeGreaterThan(3);
    expect(previous.at(-1)?.states.map((s) => s.state)).toEqual(['SYN_SENT', 'ESTABLISHED', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT']);

    // The whole of an input replaced (the host's addresses, the tracer's availability): answered afresh.
    observations.ownAddresses = ['198.18.99.2'];
    const forH2 = observations.histories();
    expect(forH2).not.toBe(previous);
    expect(forH2).toEqual(reconcileHost({ ownAddresses: ['198.18.99.2'], port: PORT, transitions: observations.transitions, snapshots: observations.snapshots, traceAvailable: true }));
    observations.traceAvailable = false;
    expect(observations.histories()).not.toBe(forH2);
  });
});
