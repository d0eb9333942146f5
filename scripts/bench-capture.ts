/**
 * npm run bench:capture — how many of the kernel's TCP state transitions does TCP Lab capture,
 * against what a person watching `ss` once a second (watch ss) captures in the same runs?
 *
 * Runs normal-teardown RUNS times on the virtual lab. Ground truth comes from a tracefs instance
 * of its own on this machine (the virtual hosts share its kernel), independent of the engine's
 * SSH pipeline. A transition to CLOSE out of FIN_WAIT2 or CLOSING is counted as entering
 * TIME_WAIT, which is what a student expects to see (the tracepoint never shows TIME_WAIT).
 * (Its tracefs instance is not named tcplab-*: the engine removes those of dead sessions.)
 * The baseline polls `ss` in each host's namespace once a second during the same runs.
 *
 * Needs Linux and root, like the virtual lab.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findExperiment } from '../electron/lab/builtin-experiments';
import { ExperimentRun } from '../electron/lab/experiment-runner';
import { readHostsFile } from '../electron/lab/hosts-config';
import { tracerScript } from '../electron/lab/state-tracer';
import { labHostsFile, labUnavailableReason, runLabScript } from '../electron/lab/virtual-lab';
import { formatEndpoint } from '../shared/src/observations';
import { parseSs } from '../shared/src/ss-parser';
import { parseTraceLine, TraceClock } from '../shared/src/trace-parser';
import type { TcpState } from '../shared/src/tcp-states';
import { acquireLabLock, releaseLabLock } from '../test/lab/lab-lock';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const PORT = 7777;
const ADDRESS_OF: Record<string, 'H1' | 'H2'> = { '198.18.77.1': 'H1', '198.18.77.2': 'H2' };

/** host|local>remote|state, plus when (host wall clock, µs). */
type Observation = Map<string, number>;

function key(host: string, local: string, remote: string, state: TcpState): string {
  return `${host}|${local}>${remote}|${state}`;
}

function startTruthTracer(): { stop: () => Promise<Observation> } {
  const script = `mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing\n${tracerScript('bench-truth', PORT)}`;
  const child = spawn('unshare', ['-m', 'bash', '-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const clock = new TraceClock();
  const lines: string[] = [];
  let buffer = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    lines.push(...parts);
  });
  return {
    stop: async () => {
      child.stdin.end();
      await new Promise((r) => child.once('exit', r));
      const truth: Observation = new Map();
      const parsed = lines.map(parseTraceLine);
      for (const p of parsed) if (p?.kind === 'clock') clock.add(p);
      const pendingSynSent = new Map<string, number>();
      for (const p of parsed) {
        if (p?.kind !== 'transition') continue;
        const host = ADDRESS_OF[p.local.address];
        if (!host) continue; // listeners (0.0.0.0) are not part of the comparison
        const local = formatEndpoint(p.local);
        const remote = formatEndpoint(p.remote);
        const wall = clock.toWallUs(p.traceTimeUs) ?? 0;
        if (p.local.port === 0) {
          pendingSynSent.set(`${p.local.address}>${remote}`, wall); // the client's port comes later
          continue;
        }
        const synSentAt = pendingSynSent.get(`${p.local.address}>${remote}`);
        if (synSentAt !== undefined && p.from === 'SYN_SENT') {
          truth.set(key(host, local, remote, 'SYN_SENT'), synSentAt);
          pendingSynSent.delete(`${p.local.address}>${remote}`);
        }
        const state: TcpState = p.to === 'CLOSED' && (p.from === 'FIN_WAIT2' || p.from === 'CLOSING') ? 'TIME_WAIT' : p.to;
        if (!truth.has(key(host, local, remote, state))) truth.set(key(host, local, remote, state), wall);
      }
      return truth;
    },
  };
}

function startWatchSs(): { stop: () => Observation } {
  const seen: Observation = new Map();
  const children: ChildProcess[] = (['H1', 'H2'] as const).map((host) => {
    const child = spawn('ip', ['netns', 'exec', `tcplab-${host.toLowerCase()}`, 'bash', '-c', `while :; do echo @@; ss -tanH '( sport = :${PORT} or dport = :${PORT} )'; sleep 1; done`]);
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const blocks = buffer.split('@@\n');
      buffer = blocks.pop() ?? '';
      for (const block of blocks) {
        for (const socket of parseSs(block)) {
          if (!socket.state || socket.state === 'LISTEN') continue;
          const k = key(host, formatEndpoint(socket.local), formatEndpoint(socket.peer), socket.state);
          if (!seen.has(k)) seen.set(k, Date.now() * 1000);
        }
      }
    });
    return child;
  });
  return {
    stop: () => {
      for (const child of children) child.kill();
      return seen;
    },
  };
}

function share(captured: Observation, truth: Observation): { hit: number; total: number } {
  let hit = 0;
  for (const k of truth.keys()) if (captured.has(k)) hit++;
  return { hit, total: truth.size };
}

function percent(s: { hit: number; total: number }): string {
  return `${((100 * s.hit) / Math.max(1, s.total)).toFixed(1).padStart(5)}% (${s.hit}/${s.total})`;
}

async function main(): Promise<void> {
  const why = labUnavailableReason();
  if (why || process.getuid?.() !== 0) {
    console.error(`bench:capture needs the virtual lab as root: ${why ?? 'run as root'}`);
    process.exitCode = 2;
    return;
  }
  await acquireLabLock();
  try {
    if (runLabScript('up', 'pipe').status !== 0) throw new Error('tcplab lab up failed');
    const hosts = await readHostsFile(labHostsFile());
    const experiment = findExperiment('normal-teardown');
    const totals = { engine: { hit: 0, total: 0 }, poll: { hit: 0, total: 0 } };
    let worstTimeErrorUs = 0;
    console.log(`normal-teardown x${RUNS} on the virtual lab: share of the kernel's transitions captured`);
    console.log('run   TCP Lab engine          watch ss (1 s)          worst |engine - kernel| time');
    for (let i = 1; i <= RUNS; i++) {
      const truthTracer = startTruthTracer();
      const watch = startWatchSs();
      await new Promise((r) => setTimeout(r, 300));
      const outDir = mkdtempSync(join(tmpdir(), 'tcplab-bench-'));
      const result = await new ExperimentRun({ experiment, hosts, outDir, typingDelayMs: 0 }).run();
      const polled = watch.stop();
      const truth = await truthTracer.stop();
      const engine: Observation = new Map();
      for (const [host, hostResult] of Object.entries(result.hosts)) {
        for (const c of hostResult.connections) {
          for (const s of c.states) {
            const us = Date.parse(s.hostTime) * 1000 + Number(s.hostTime.slice(23, 26));
            if (!engine.has(key(host, c.local, c.remote, s.state))) engine.set(key(host, c.local, c.remote, s.state), us);
            const truthUs = truth.get(key(host, c.local, c.remote, s.state));
            if (truthUs !== undefined && s.seen === 'trace') worstTimeErrorUs = Math.max(worstTimeErrorUs, Math.abs(us - truthUs));
          }
        }
      }
      const e = share(engine, truth);
      const p = share(polled, truth);
      totals.engine.hit += e.hit;
      totals.engine.total += e.total;
      totals.poll.hit += p.hit;
      totals.poll.total += p.total;
      const missed = [...truth.keys()].filter((k) => !engine.has(k));
      console.log(`${String(i).padStart(3)}   ${percent(e).padEnd(22)}  ${percent(p).padEnd(22)}  ${worstTimeErrorUs} µs${result.passed ? '' : '  (run FAILED)'}${missed.length ? `  missed: ${missed.join(', ')}` : ''}`);
    }
    const ratio = totals.poll.hit === 0 ? Infinity : totals.engine.hit / totals.poll.hit;
    console.log(`total ${percent(totals.engine).padEnd(22)}  ${percent(totals.poll).padEnd(22)}`);
    console.log(`ratio engine / watch-ss: ${ratio.toFixed(2)}x more transitions captured; traced states carry host timestamps to the microsecond (worst offset from the kernel's own: ${worstTimeErrorUs} µs)`);
  } finally {
    releaseLabLock();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
