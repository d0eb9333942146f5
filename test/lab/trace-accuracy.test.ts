/**
 * Traced transitions against tcpdump on the same host (issue 4, timeline accuracy): a transition
 * caused by a received segment is stamped after tcpdump saw that segment arrive, and soon after.
 * Both are the host kernel's own clocks: tcpdump's time is the skb's receive timestamp (taken
 * when the veth delivers it, before IP and TCP run), the trace time is the tracepoint firing in
 * the TCP receive path of the same softirq, mapped to wall time by the tracer's clock method
 * (state-tracer.ts). So each gap is the kernel's receive processing: positive, and µs to tens of
 * µs, more when the softirq is deferred to ksoftirqd on a busy machine.
 *
 * Run with each clock method the tracer has: `tai` (what this kernel offers), `mono-sampled`
 * (python3 reads both clocks) and `markers` (the fallback: trace_marker writes alone, early by
 * the write latency; only its distribution is printed and a looser bound held).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findExperiment } from '../../electron/lab/builtin-experiments';
import { ExperimentRun } from '../../electron/lab/experiment-runner';
import type { LabEvent } from '../../shared/src/events';
import { labHosts, skipReason } from './lab-env';

type PacketEvent = Extract<LabEvent, { type: 'packet' }>;
type TraceEvent = Extract<LabEvent, { type: 'trace' }>;

/**
 * Upper bound on receive-to-transition. The gaps measured here were 9-85 µs with `tai` and 4-22 µs
 * with `mono-sampled` (two runs, load 13-15; the marker fallback: 73-90 µs early). 2 ms leaves room for softirq work deferred to
 * ksoftirqd behind other jobs on the 2-core machine, and is still well under the 60-130 µs
 * *early* stamps of the marker mapping turned around, or any whole-second TAI error.
 */
const MAX_GAP_US = 2000;

async function runLog(): Promise<LabEvent[]> {
  const outDir = mkdtempSync(join(tmpdir(), 'tcplab-trace-accuracy-'));
  const result = await new ExperimentRun({ experiment: findExperiment('normal-teardown'), hosts: await labHosts(), outDir, typingDelayMs: 0 }).run();
  if (!result.passed) console.error(JSON.stringify(result, null, 2));
  expect(result.passed).toBe(true);
  return readFileSync(join(outDir, 'session.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as LabEvent);
}

const has = (p: PacketEvent, flag: string): boolean => (p.flags as string[]).includes(flag);

/**
 * The received segment that caused a transition, on the same host and connection: the SYN,ACK
 * for SYN_SENT -> ESTABLISHED, the first FIN for ESTABLISHED -> CLOSE_WAIT and FIN_WAIT2 ->
 * TIME_WAIT, the first ACK of our FIN for FIN_WAIT1 -> FIN_WAIT2 and LAST_ACK -> CLOSED, the first
 * ACK of our SYN,ACK for SYN_RECV -> ESTABLISHED. Undefined for transitions not caused by one.
 */
function causeOf(t: TraceEvent, packets: PacketEvent[]): PacketEvent | undefined {
  const mine = packets.filter((p) => p.host === t.host && p.local === t.local && p.remote === t.remote);
  const incoming = mine.filter((p) => p.direction === 'in' && !p.dropped);
  const acks = (sent: PacketEvent | undefined): PacketEvent | undefined =>
    sent && incoming.find((p) => has(p, 'ACK') && !has(p, 'SYN') && p.tcpAck === ((sent.tcpSeq + sent.length + 1) >>> 0));
  const key = `${t.from}>${t.to}`;
  switch (key) {
    case 'SYN_SENT>ESTABLISHED':
      return incoming.find((p) => has(p, 'SYN') && has(p, 'ACK'));
    case 'ESTABLISHED>CLOSE_WAIT':
    case 'FIN_WAIT2>TIME_WAIT':
      // Not FIN_WAIT2 -> CLOSE: the tracepoint fires it when the closed (orphaned) socket becomes
      // a timewait socket still in FIN_WAIT2, before the peer's FIN (measured 0.17-0.34 s before).
      return incoming.find((p) => has(p, 'FIN'));
    case 'FIN_WAIT1>FIN_WAIT2':
    case 'LAST_ACK>CLOSED':
      return acks(mine.find((p) => p.direction === 'out' && has(p, 'FIN')));
    case 'SYN_RECV>ESTABLISHED':
      return acks(mine.find((p) => p.direction === 'out' && has(p, 'SYN') && has(p, 'ACK')));
    default:
      return undefined;
  }
}

interface Gap {
  host: string;
  transition: string;
  gapUs: number;
}

function gaps(log: LabEvent[]): Gap[] {
  const packets = log.filter((e): e is PacketEvent => e.type === 'packet');
  const result: Gap[] = [];
  for (const t of log.filter((e): e is TraceEvent => e.type === 'trace')) {
    const cause = causeOf(t, packets);
    if (cause) result.push({ host: t.host, transition: `${t.from}->${t.to}`, gapUs: t.hostTimeUs - cause.hostTimeUs });
  }
  return result;
}

function summary(label: string, all: Gap[]): string {
  const sorted = all.map((g) => g.gapUs).sort((a, b) => a - b);
  const q = (f: number): number => sorted[Math.min(sorted.length - 1, Math.floor(f * sorted.length))] ?? NaN;
  return `${label}: ${all.length} transitions, gap after the causing packet (µs) min ${sorted[0]} median ${q(0.5)} max ${sorted.at(-1)}; ${all.map((g) => `${g.host} ${g.transition} ${g.gapUs}`).join(', ')}`;
}

/** Both hosts traced with the method, every receipt-caused transition of the teardown seen. */
function expectCovered(log: LabEvent[], method: string, all: Gap[]): void {
  for (const host of ['H1', 'H2']) {
    const capability = log.find((e) => e.type === 'capability' && e.host === host && e.name === 'tracepoint');
    expect(capability, `${host} tracepoint capability`).toMatchObject({ ok: true });
    expect((capability as { detail: string }).detail).toContain(`trace clock ${method === 'tai' ? 'tai' : 'mono'}`);
  }
  const kinds = new Set(all.map((g) => `${g.host} ${g.transition}`));
  // H1 is the client, H2 closes first (normal-teardown).
  for (const k of ['H1 SYN_SENT->ESTABLISHED', 'H2 FIN_WAIT1->FIN_WAIT2', 'H1 ESTABLISHED->CLOSE_WAIT', 'H1 LAST_ACK->CLOSED']) expect(kinds, k).toContain(k);
}

/** Every receipt-caused transition of the run, traced with `method`, lies within [minUs, maxUs] after its packet. */
function expectGapsWithin(log: LabEvent[], method: string, minUs: number, maxUs: number): void {
  const all = gaps(log);
  console.log(summary(method, all));
  expectCovered(log, method, all);
  for (const g of all) {
    expect(g.gapUs, `${g.host} ${g.transition}`).toBeGreaterThanOrEqual(minUs);
    expect(g.gapUs, `${g.host} ${g.transition}`).toBeLessThanOrEqual(maxUs);
  }
}

describe.skipIf(skipReason)('traced transitions against tcpdump on the same host', () => {
  afterEach(() => {
    delete process.env.TCPLAB_TRACE_CLOCK;
  });

  it('tai trace clock (this kernel offers it): every transition after its causing packet, within 2 ms', async () => {
    const log = await runLog();
    expectGapsWithin(log, 'tai', 0, MAX_GAP_US);
  });

  it('mono trace clock with python3 sampling both clocks: the same bound', async () => {
    process.env.TCPLAB_TRACE_CLOCK = 'mono-sampled';
    const log = await runLog();
    // The sampled pair is within 1 µs, and both times are truncated to whole µs.
    expectGapsWithin(log, 'mono-sampled', -2, MAX_GAP_US);
  });

  it('the marker fallback: within a millisecond either side (early by the marker write latency)', async () => {
    process.env.TCPLAB_TRACE_CLOCK = 'markers';
    const log = await runLog();
    const all = gaps(log);
    console.log(summary('markers', all));
    expectCovered(log, 'markers', all);
    for (const g of all) expect(Math.abs(g.gapUs), `${g.host} ${g.transition}`).toBeLessThanOrEqual(1000);
  });
});
