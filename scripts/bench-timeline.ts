/**
 * bench:timeline — the timeline model at the scale: a synthetic session of 10,000
 * connections (about 119,000 events; BENCH_CONNECTIONS=N for another size). Prints the time to
 * build the model, and the time of range queries (a view's "what is visible in [t0, t1]") against
 * a baseline measured in the same run: the same question answered by filtering every item (a
 * full scan), as a ratio. Median of several rounds.
 */
import { buildTimeline, type TimelineModel, type TimelineView } from '../shared/src/timeline';
import { synthesizeSession } from '../shared/src/timeline-synthetic';

const connections = Number(process.env.BENCH_CONNECTIONS ?? 10_000);
const ROUNDS = 5;
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

const builds: number[] = [];
let model: TimelineModel | undefined;
for (let i = 0; i < ROUNDS; i++) {
  const started = performance.now();
  model = buildTimeline(events);
  builds.push(performance.now() - started);
}
const m = model!;
console.log(`build: median ${median(builds).toFixed(1)} ms over ${ROUNDS} rounds (${m.connections.length} connections, ${m.transitions.length} transitions, ${m.packets.length} packets, ${m.markers.length} markers)`);

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
