/**
 * bench:reconcile — what it costs the engine to reconcile a host's observations as a session grows.
 * The session reconciles each host several times a second (each snapshot and trace event, and
 * its tick) over everything observed since it opened, so a lab left connected through a class
 * pays for every connection made so far at every poll. A recorded run (test/fixtures/sessions/
 * normal-teardown: one connection, both hosts, the tracer and `ss`) is repeated to make sessions of
 * BENCH_SIZES connections (default 100, 400, 1600), kept as HostObservations keeps them, and
 * two calls are timed against a baseline measured in the same run, the build as first written
 * (test/unit/reconcile-reference.ts, which the unit tests hold both equal to), interleaved so all
 * see the same load: reconciling everything afresh (reconcileHost, a session's first call), and
 * what a session does at each poll: its HostReconciler, kept up to date, takes one more snapshot.
 * Medians of BENCH_RUNS rounds (default 5), per call, on H1's observations.
 */
import { readFileSync } from 'node:fs';
import { HostObservations } from '../electron/lab/lab-session';
import type { LabEvent } from '../shared/src/events';
import type { Endpoint } from '../shared/src/observations';
import { HostReconciler, reconcileHost, type ReconcileInput } from '../shared/src/reconcile';
import { parseSsEndpoint } from '../shared/src/ss-parser';
import { reconcileHostReference } from '../test/unit/reconcile-reference';

const SIZES = (process.env.BENCH_SIZES ?? '100,400,1600').split(',').map(Number);
const ROUNDS = Number(process.env.BENCH_RUNS ?? 5);
const FIXTURE = new URL('../test/fixtures/sessions/normal-teardown/session.jsonl', import.meta.url);

const events = readFileSync(FIXTURE, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as LabEvent);
const start = events.find((e) => e.type === 'session-start');
if (start?.type !== 'session-start' || start.port === undefined) throw new Error('the fixture has no session-start with a port');
const port = start.port;
const h1 = start.hosts.find((h) => h.label === 'H1')!;
const observed = events.filter((e) => (e.type === 'trace' || e.type === 'snapshot') && e.host === 'H1');
const times = observed.map((e) => ('hostTimeUs' in e ? e.hostTimeUs : 0));
/** Each copy starts a second after the one before ended: the connections follow each other, as in a class. */
const spanUs = Math.max(...times) - Math.min(...times) + 1_000_000;

/** The k-th copy's endpoint: the same, but for the client's port (the experiment port stays). */
function shifted(endpoint: Endpoint, k: number): Endpoint {
  if (endpoint.port === null || endpoint.port === 0 || endpoint.port === port) return endpoint;
  return { address: endpoint.address, port: 1024 + ((endpoint.port - 1024 + k) % 60_000) };
}

function parseEndpoint(text: string): Endpoint {
  const endpoint = parseSsEndpoint(text);
  if (!endpoint) throw new Error(`not an endpoint: ${text}`);
  return endpoint;
}

/** A session of `copies` connections, as H1's HostObservations would hold it at its end. */
function session(copies: number): ReconcileInput {
  const kept = new HostObservations(port);
  kept.traceAvailable = true;
  kept.ownAddresses = [h1.experimentAddress ?? h1.address];
  for (let k = 0; k < copies; k++) {
    const shiftUs = k * spanUs;
    for (const e of observed) {
      if (e.type === 'trace') {
        const hostTimeUs = e.hostTimeUs + shiftUs;
        kept.transitions.push({ hostTimeUs, traceTimeUs: hostTimeUs, family: 'inet', from: e.from, to: e.to, local: shifted(parseEndpoint(e.local), k), remote: shifted(parseEndpoint(e.remote), k) });
      } else if (e.type === 'snapshot') {
        kept.addSnapshot({ hostTimeUs: e.hostTimeUs + shiftUs, readUs: (e.readUs ?? e.hostTimeUs) + shiftUs, sockets: e.sockets.map((s) => ({ ...s, local: shifted(s.local, k), peer: shifted(s.peer, k) })) });
      }
    }
  }
  return { ownAddresses: kept.ownAddresses, port, transitions: kept.transitions, snapshots: kept.snapshots, traceAvailable: true };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Milliseconds of one call on everything. */
function timed(reconcile: (input: ReconcileInput) => unknown, input: ReconcileInput): number {
  const started = performance.now();
  reconcile(input);
  return performance.now() - started;
}

/** Milliseconds of a session's kept reconciler taking the last snapshot, having had all before it. */
function timedNextPoll(input: ReconcileInput): number {
  const reconciler = new HostReconciler();
  const snapshots = input.snapshots.slice(0, -1);
  reconciler.reconcile({ ...input, snapshots });
  snapshots.push(input.snapshots.at(-1)!);
  const started = performance.now();
  reconciler.reconcile({ ...input, snapshots });
  return performance.now() - started;
}

console.log(`bench:reconcile ${new Date().toISOString().slice(0, 10)}: H1's observations of test/fixtures/sessions/normal-teardown repeated; per call, median of ${ROUNDS}`);
// Compiled and warmed up before anything is timed: the first size would otherwise pay for it.
const warmUp = session(20);
for (let i = 0; i < 20; i++) {
  timed(reconcileHostReference, warmUp);
  timed(reconcileHost, warmUp);
  timedNextPoll(warmUp);
}
for (const size of SIZES) {
  const input = session(size);
  const reference: number[] = [];
  const afresh: number[] = [];
  const nextPoll: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    reference.push(timed(reconcileHostReference, input));
    afresh.push(timed(reconcileHost, input));
    nextPoll.push(timedNextPoll(input));
  }
  const [r, a, n] = [median(reference), median(afresh), median(nextPoll)];
  console.log(
    `${String(size).padStart(5)} connections (${input.transitions.length} trace events, ${input.snapshots.length} snapshots kept): ` +
      `as first written ${r.toFixed(1)} ms; now afresh ${a.toFixed(1)} ms (ratio ${(r / a).toFixed(1)}), ` +
      `at a poll ${n < 1 ? n.toFixed(3) : n.toFixed(1)} ms (ratio ${(r / n).toFixed(0)})`,
  );
}
