/**
 * bench:timeline — the timeline model at the scale: a synthetic session of 10,000
 * connections (about 119,000 events; BENCH_CONNECTIONS=N for another size). Prints the time to
 * build the model against a baseline measured in the same run (the build as first written,
 * test/unit/timeline-reference.ts, which the unit tests hold the build equal to; the two are
 * interleaved so both see the same load), and the time of range queries (a view's "what is
 * visible in [t0, t1]") against the same question answered by filtering every item (a full
 * scan). Ratios; medians of several rounds. Wall time, and the process's CPU time (on a shared
 * machine the wall time includes waiting for a core).
 */
import { buildTimeline, type TimelineModel, type TimelineView } from '../shared/src/timeline';
import { synthesizeSession } from '../shared/src/timeline-synthetic';
import { buildTimelineReference } from '../test/unit/timeline-reference';

const connections = Number(process.env.BENCH_CONNECTIONS ?? 10_000);
const ROUNDS = Number(process.env.BENCH_RUNS ?? 7);
const QUERIES = 500;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function fullScan(model: TimelineModel, t0: number, t1: number): TimelineView {
  return {
    bands: model.bands.filter((b) => b.startUs <= t1 && b.endUs >= t0),
    transitions: model.transitions.filter((t) => t.atUs >= t0 && t.atUs <= t1),
    packets: model.packets.filter((p) => p.startUs <= t1 && p.endUs >= t0),
    markers: model.markers.filter((m) => m.atUs >= t0 && m.atUs <= t1),
  };
}

const events = synthesizeSession(connections);
console.log(`timeline model: ${connections} connections, ${events.length} events`);

/** Wall and CPU milliseconds of one call. */
function measure<T>(f: () => T): { value: T; wallMs: number; cpuMs: number } {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const value = f();
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { value, wallMs, cpuMs: (used.user + used.system) / 1000 };
}

/**
 * The floor: only allocating what the model holds (as many packets with their ends and labels,
 * transitions, bands, connections with their band lists, of the same shapes), no work at all.
 */
function allocateLikeModel(counts: { packets: number; transitions: number; bands: number; connections: number }): unknown[] {
  const flags = ['ACK'];
  const packets = [];
  for (let k = 0; k < counts.packets; k++) {
    const from = { host: 'H1', atUs: k * 1.5, hostTimeUs: k * 2.5, eventSeq: k };
    const to = { host: 'H2', atUs: k * 1.5, hostTimeUs: k * 2.5, eventSeq: k + 1 };
    packets.push({ number: k + 1, label: `(${k + 1})`, receiptLabel: `(${k + 1}')`, src: 'a', dst: 'b', flags, seq: k, ack: k, length: 0, startUs: k * 1.5, endUs: k * 1.5, from, to });
  }
  const transitions = [];
  for (let k = 0; k < counts.transitions; k++) transitions.push({ connection: k, host: 'H1', state: 'ESTABLISHED', atUs: k * 1.5, hostTimeUs: k * 2.5, seen: 'trace', eventSeq: k, from: 'SYN_SENT' });
  const bands = [];
  for (let k = 0; k < counts.bands; k++) bands.push({ connection: k, host: 'H1', state: 'ESTABLISHED', startUs: k * 1.5, endUs: k * 1.5, hostTimeUs: k * 2.5, open: true });
  const per = Math.max(1, Math.round(counts.bands / Math.max(1, counts.connections)));
  const connections = [];
  for (let k = 0; k < counts.connections; k++) connections.push({ id: k, host: 'H1', local: 'a', remote: 'b', startUs: k * 1.5, endUs: k * 1.5, bands: bands.slice(k * per, k * per + per) });
  return [packets, transitions, bands, connections];
}

const builds = { wall: [] as number[], cpu: [] as number[] };
const floor = { wall: [] as number[], cpu: [] as number[] };
const baseline = { wall: [] as number[], cpu: [] as number[] };
let model: TimelineModel | undefined;
for (let i = 0; i < ROUNDS; i++) {
  const ours = measure(() => buildTimeline(events));
  model = ours.value;
  builds.wall.push(ours.wallMs);
  builds.cpu.push(ours.cpuMs);
  const reference = measure(() => buildTimelineReference(events));
  baseline.wall.push(reference.wallMs);
  baseline.cpu.push(reference.cpuMs);
  const m = model;
  const allocation = measure(() => allocateLikeModel({ packets: m.packets.length, transitions: m.transitions.length, bands: m.bands.length, connections: m.connections.length }));
  floor.wall.push(allocation.wallMs);
  floor.cpu.push(allocation.cpuMs);
}
const m = model!;
console.log(`build: median ${median(builds.wall).toFixed(1)} ms (CPU ${median(builds.cpu).toFixed(1)} ms) over ${ROUNDS} rounds (${m.connections.length} connections, ${m.transitions.length} transitions, ${m.packets.length} packets, ${m.markers.length} markers)`);
console.log(`baseline, the build as first written: median ${median(baseline.wall).toFixed(1)} ms (CPU ${median(baseline.cpu).toFixed(1)} ms)`);
console.log(`ratio baseline / build: ${(median(baseline.wall) / median(builds.wall)).toFixed(1)}x faster (CPU ${(median(baseline.cpu) / median(builds.cpu)).toFixed(1)}x)`);
console.log(`floor, only allocating the model's objects: median ${median(floor.wall).toFixed(1)} ms (CPU ${median(floor.cpu).toFixed(1)} ms); build / floor: ${(median(builds.wall) / median(floor.wall)).toFixed(1)}x`);

// Windows a view would ask for: 20 ms (a zoomed-in view) at evenly spread places on the axis.
const span = m.endUs - m.startUs;
const windows = Array.from({ length: QUERIES }, (_, i) => m.startUs + (i / QUERIES) * span);
const width = 20_000;
let items = 0;
for (const t0 of windows) {
  const a = m.visible(t0, t0 + width);
  const b = fullScan(m, t0, t0 + width);
  const count = (v: TimelineView): number => v.bands.length + v.transitions.length + v.packets.length + v.markers.length;
  if (count(a) !== count(b)) throw new Error(`the index and the full scan disagree at ${t0}`);
  items += count(a);
}
const time = (query: (t0: number) => unknown): number => {
  const started = performance.now();
  for (const t0 of windows) query(t0);
  return (performance.now() - started) / QUERIES;
};
const indexed: number[] = [];
const scanned: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  indexed.push(time((t0) => m.visible(t0, t0 + width)));
  scanned.push(time((t0) => fullScan(m, t0, t0 + width)));
}
const [fast, slow] = [median(indexed), median(scanned)];
console.log(`range query (20 ms window, ${(items / QUERIES).toFixed(1)} items on average): indexed ${(fast * 1000).toFixed(1)} µs, full scan ${(slow * 1000).toFixed(1)} µs`);
console.log(`ratio full scan / indexed: ${(slow / fast).toFixed(1)}x faster`);
