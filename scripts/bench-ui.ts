/**
 * `npm run bench:ui`: the app in browser mode on the virtual lab (the real `tcplab web`, Debian's
 * Chromium), measuring what a lab assistant feels:
 *
 * 1. kernel transition -> UI: netcat connections opened and closed in the panes (BENCH_RUNS,
 *    default 5); each state the diagram shows is timed from the kernel's own timestamp (the
 *    session log's hostTimeUs, mapped to this machine's clock with the host's measured offset)
 *    to the moment the page's DOM showed it (a MutationObserver in the page). p50 and p95.
 * 2. a 100 MB flood (`seq`) in H1's upper pane, as a throughput ratio against the OpenSSH client
 *    writing the same bytes to /dev/null in the same run: `ssh -tt`, so that the host's output goes
 *    through a terminal as the pane's does (CRLF line ends: exactly the bytes the pane receives,
 *    and the host's terminal driver, which costs the host more than the bytes do). Printed too:
 *    plain `ssh`, whose output is a pipe (LF only, 10% fewer bytes, no terminal driver on the
 *    host): the fastest OpenSSH can be, not the same bytes. Keystroke echo latency in
 *    H2's lower pane during the flood (p50, p95; in the page, from keydown to the echo on
 *    screen: e2e/support/echo.ts); the server process's peak RSS (VmHWM). A second reference
 *    in the same run: the engine alone (its own LabSession in this process, logging every byte,
 *    acknowledging on log, no page), the most the path through the page could reach.
 *
 * Goals (issue 3, section 8): p95 transition -> UI <= 150 ms; flood ratio >= 0.3; echo p95 <= 100 ms.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Page } from 'playwright-core';
import { labDir, labUnavailableReason, runLabScript } from '../electron/lab/virtual-lab';
import type { LabEvent } from '../shared/src/events';
import { SessionLog } from '../electron/lab/event-log';
import { LabSession } from '../electron/lab/lab-session';
import { labHosts } from '../test/lab/lab-env';
import { acquireLabLock, releaseLabLock } from '../test/lab/lab-lock';
import { launchBrowser, paneChars, paneSkippedChars, paneText, peakRssMiB, seqCountFor, seqOutputChars } from '../e2e/support/browser';
import { timedEcho } from '../e2e/support/echo';
import { startWebApp } from '../e2e/support/web-app';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
/** BENCH_FLOOD_MB: a smaller flood for iterating; the README's numbers use the full 100 MB. */
const FLOOD_MB = Number(process.env.BENCH_FLOOD_MB ?? 100);
/** Which part of the bench a profile or trace covers: `1` (or `flood`) the flood, `transitions` the connections. */
type Phase = 'flood' | 'transitions' | undefined;
const phase = (value: string | undefined): Phase => (value === '1' || value === 'flood' ? 'flood' : value === 'transitions' ? 'transitions' : undefined);
/** BENCH_PROFILE=1|transitions: a CPU profile of the page during that phase; prints the top functions by self time. */
const PROFILE = phase(process.env.BENCH_PROFILE);
/** BENCH_TRACE=1|transitions: Chromium's own trace of that phase; prints, per thread of every browser process, where the time went. */
const TRACE = phase(process.env.BENCH_TRACE);
/** BENCH_KEEP=1: keep the run's session logs (about 235 MB, most of it the flood) to study them. */
const KEEP = process.env.BENCH_KEEP === '1';
const PORT = 7777;

type Host = 'H1' | 'H2';

/**
 * Waits for a step of the script, looking every 100 ms. Only the pace of the script depends on
 * it: what is measured is timed in the page. Each look that asks the page is a Playwright round
 * trip, and looking every 20 ms loaded the page being measured.
 */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function type(page: Page, host: Host, pane: 'upper' | 'lower', text: string, enter = true): Promise<void> {
  await page.getByTestId(`pane-${host}-${pane}`).click();
  await page.keyboard.type(text);
  if (enter) await page.keyboard.press('Enter');
}

const diagramState = (page: Page, host: Host): Promise<string | null> =>
  page.locator(`[data-testid="diagram-host-${host}"]`).getAttribute('data-state', { timeout: 1000 }).catch(() => null);

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;
}

function readEvents(outDir: string): LabEvent[] {
  const events: LabEvent[] = [];
  for (const dir of readdirSync(outDir)) {
    if (!dir.endsWith('-workspace')) continue;
    for (const line of readFileSync(join(outDir, dir, 'session.jsonl'), 'utf8').split('\n')) if (line.trim()) events.push(JSON.parse(line) as LabEvent);
  }
  return events;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** Starts the page's CPU profiler (1 ms samples); the returned function stops it and resolves with the profile. */
async function startProfile(page: Page): Promise<() => Promise<Profile>> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 1000 });
  await cdp.send('Profiler.start');
  return async () => {
    const { profile } = await cdp.send('Profiler.stop');
    await cdp.detach();
    return profile;
  };
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

/** Self time per function (name, file, line), the top 25, from a CDP CPU profile. */
function printProfile(what: string, profile: Profile): void {
  const totalSamples = profile.samples?.length ?? 0;
  const byNode = new Map<number, number>();
  for (const id of profile.samples ?? []) byNode.set(id, (byNode.get(id) ?? 0) + 1);
  const byFunction = new Map<string, number>();
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame;
    const name = `${functionName || '(anonymous)'} ${url.split('/').pop() ?? ''}:${lineNumber}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + (byNode.get(node.id) ?? 0));
  }
  const ms = (profile.endTime - profile.startTime) / 1000;
  console.log(`page CPU profile of ${what}, ${ms.toFixed(0)} ms, ${totalSamples} samples; self time:`);
  for (const [name, n] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`  ${((100 * n) / Math.max(1, totalSamples)).toFixed(1).padStart(5)}%  ${name}`);
}

interface TraceEvent {
  ph: string;
  name: string;
  pid: number;
  tid: number;
  dur?: number;
  args?: { name?: string };
}

/** Starts Chromium's tracing; the returned function stops it and resolves with the events. */
async function startTrace(page: Page): Promise<() => Promise<TraceEvent[]>> {
  const cdp = await page.context().newCDPSession(page);
  const events: TraceEvent[] = [];
  cdp.on('Tracing.dataCollected', (data) => void events.push(...(data.value as unknown as TraceEvent[])));
  await cdp.send('Tracing.start', { transferMode: 'ReportEvents', traceConfig: { includedCategories: ['devtools.timeline', 'toplevel', 'v8', 'blink', 'net', 'ipc', 'mojom', 'cc'] } });
  return async () => {
    const complete = new Promise<void>((resolve) => cdp.once('Tracing.tracingComplete', () => resolve()));
    await cdp.send('Tracing.end');
    await complete;
    await cdp.detach();
    return events;
  };
}

/**
 * Busy time per thread (top-level tasks only) and its busiest events (nested ones counted in their
 * parents too): milliseconds per second, and how many a second in brackets.
 */
function printTrace(what: string, events: TraceEvent[], seconds: number): void {
  const threads = new Map<string, string>();
  for (const e of events) if (e.ph === 'M' && e.name === 'thread_name') threads.set(`${e.pid}:${e.tid}`, `${e.args?.name ?? '?'} (${e.pid})`);
  const totals = new Map<string, Map<string, { ms: number; count: number }>>();
  for (const e of events) {
    if (e.ph !== 'X' || e.dur === undefined) continue;
    const thread = threads.get(`${e.pid}:${e.tid}`) ?? `${e.pid}:${e.tid}`;
    let perName = totals.get(thread);
    if (!perName) totals.set(thread, (perName = new Map()));
    const total = perName.get(e.name) ?? { ms: 0, count: 0 };
    total.ms += e.dur / 1000;
    total.count++;
    perName.set(e.name, total);
  }
  console.log(`trace of ${what} (${seconds.toFixed(1)} s), ms per second, per thread:`);
  for (const [thread, perName] of totals) {
    const top = [...perName].sort((a, b) => b[1].ms - a[1].ms).slice(0, thread.startsWith('CrRendererMain') ? 30 : 10);
    if (top[0]![1].ms / seconds < 20) continue;
    console.log(`  ${thread}: ${top.map(([name, { ms, count }]) => `${name} ${(ms / seconds).toFixed(0)} (${(count / seconds).toFixed(0)})`).join(', ')}`);
  }
}

/**
 * The engine alone takes the same flood: its own session (SSH, both hosts' observers, the session
 * log written to a file), output acknowledged once logged, no page. Seconds from the command to
 * the prompt after the last line.
 */
async function engineAloneSeconds(n: number, outDir: string): Promise<number> {
  const session = new LabSession({ hosts: await labHosts(), port: PORT, log: new SessionLog(join(outDir, 'engine-alone.jsonl')) });
  await session.open();
  try {
    const pane = session.pane('H1', 'upper');
    let tail = '';
    let started = false;
    const lastLineThenPrompt = new RegExp(`\\n${n}\\r\\n.*H1[#$] $`);
    const finished = new Promise<void>((resolve) =>
      pane.on('data', (text) => {
        tail = (tail + text).slice(-200);
        if (started && lastLineThenPrompt.test(tail)) resolve();
      }),
    );
    // What opening starts (clock probes, the observers' first snapshots) settles first.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    pane.write('\r'); // the first prompt came while the session opened: ask for another
    await until('the engine-alone pane prompt', async () => /H1[#$] $/.test(tail));
    started = true;
    const start = performance.now();
    pane.write(`seq 1 ${n}\r`);
    await finished;
    return (performance.now() - start) / 1000;
  } finally {
    await session.close('bench over');
  }
}

async function main(): Promise<void> {
  const why = labUnavailableReason();
  if (why || process.getuid?.() !== 0) {
    console.error(`bench:ui needs the virtual lab as root: ${why ?? 'run as root'}`);
    process.exitCode = 2;
    return;
  }
  await acquireLabLock();
  const out = join(mkdtempSync(join(tmpdir(), 'tcplab-bench-ui-')), 'runs');
  try {
    if (runLabScript('up', 'pipe').status !== 0) throw new Error('tcplab lab up failed');
    const app = await startWebApp(['--lab', 'local', '--out', out]);
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      await page.goto(app.url);
      await page.getByTestId('connect-button').click();
      await page.locator('[data-testid="backend-phase"][data-phase="connected"]').waitFor({ timeout: 90_000 });
      for (const host of ['H1', 'H2'] as const) {
        for (const pane of ['upper', 'lower'] as const) await until(`${host} ${pane} prompt`, async () => /H\d[#$] \s*$/.test(await paneText(page, host, pane)));
      }
      const hello = await page.evaluate<string>('document.querySelector(\'[data-testid="host-status-H2"]\')?.closest("article")?.querySelector("header span[title]")?.textContent ?? ""');
      const h2Experiment = /·\s*(\S+)/.exec(hello)?.[1];
      if (!h2Experiment) throw new Error(`cannot read H2's experiment address from the column header: "${hello}"`);

      // 1. Transitions -> UI.
      await page.evaluate(`(() => {
        window.__seen = [];
        const record = (el) => window.__seen.push({ host: el.dataset.testid.slice('diagram-host-'.length), state: el.dataset.state, t: performance.timeOrigin + performance.now() });
        new MutationObserver((mutations) => {
          for (const m of mutations) {
            if (m.type === 'attributes' && m.target.dataset?.testid?.startsWith('diagram-host-')) record(m.target);
            for (const n of m.addedNodes ?? []) if (n.dataset?.testid?.startsWith('diagram-host-')) record(n);
          }
        }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-state'] });
      })()`);
      const transitionsProfile = PROFILE === 'transitions' ? await startProfile(page) : undefined;
      const transitionsTrace = TRACE === 'transitions' ? await startTrace(page) : undefined;
      const transitionsStart = performance.now();
      for (let run = 1; run <= RUNS; run++) {
        await type(page, 'H2', 'upper', `nc -l ${PORT}`);
        // From the socket table: the diagram keeps showing H2's last connection (CLOSED) until a new one starts.
        await until('H2 LISTEN', async () => (await page.locator('[data-testid="sockets-H2"] tr[data-state="LISTEN"]').count()) > 0);
        await type(page, 'H1', 'upper', `nc ${h2Experiment} ${PORT}`);
        await until('both ESTABLISHED', async () => (await diagramState(page, 'H1')) === 'ESTABLISHED' && (await diagramState(page, 'H2')) === 'ESTABLISHED');
        await page.getByTestId('pane-H1-upper').click();
        await page.keyboard.press('Control+C');
        // H2 enters CLOSE_WAIT on H1's FIN; its netcat may close at once on that EOF (then LAST_ACK
        // and CLOSED follow within a millisecond), so any of the three may be what the diagram shows.
        await until('H2 past ESTABLISHED', async () => ['CLOSE_WAIT', 'LAST_ACK', 'CLOSED'].includes((await diagramState(page, 'H2')) ?? ''));
        if ((await diagramState(page, 'H2')) === 'CLOSE_WAIT') {
          await page.getByTestId('pane-H2-upper').click();
          await page.keyboard.press('Control+C');
        }
        await until('H2 CLOSED', async () => (await diagramState(page, 'H2')) === 'CLOSED');
        await new Promise((resolve) => setTimeout(resolve, 500));
        process.stdout.write(`transition run ${run}/${RUNS} done\n`);
      }
      if (transitionsProfile) printProfile('the connections', await transitionsProfile());
      if (transitionsTrace) printTrace('the connections', await transitionsTrace(), (performance.now() - transitionsStart) / 1000);
      const seen = await page.evaluate<Array<{ host: Host; state: string; t: number }>>('window.__seen');
      const events = readEvents(out);
      const offsets = new Map<string, number>();
      for (const e of events) if (e.type === 'clock') offsets.set(e.host, e.offsetMs);
      const latencies: number[] = [];
      // Where the time went: kernel -> the engine's log line (observing, reconciling), and that
      // line -> the page's DOM (WebSocket, fold, render).
      const split: Array<{ what: string; engine: number; page: number }> = [];
      for (const s of seen) {
        const offset = offsets.get(s.host) ?? 0;
        const candidates = events.flatMap((e) => (e.type === 'transition' && e.host === s.host && e.state === s.state ? [{ kernel: e.hostTimeUs / 1000 - offset, logged: e.t }] : [])).filter((c) => c.kernel <= s.t + 5 && s.t - c.kernel < 10_000);
        const match = candidates.at(-1);
        if (match === undefined) continue;
        latencies.push(s.t - match.kernel);
        split.push({ what: `${s.host} ${s.state}`, engine: match.logged - match.kernel, page: s.t - match.logged });
      }

      // 2. The flood, against OpenSSH writing the same output to /dev/null.
      const n = seqCountFor(FLOOD_MB * 1_000_000);
      const info = await page.evaluate<string>('document.querySelector(\'[data-testid="host-status-H1"]\')?.closest("article")?.querySelector("header span[title]")?.getAttribute("title") ?? ""');
      const ssh = /SSH (\S+)@(\S+):(\d+)/.exec(info);
      if (!ssh) throw new Error(`cannot read H1's SSH address from the column header: "${info}"`);
      const openSshSeconds = (terminal: boolean): number => {
        const start = performance.now();
        const baseline = spawnSync(
          'ssh',
          [...(terminal ? ['-tt'] : []), '-i', join(labDir(), 'id_ed25519'), '-o', `UserKnownHostsFile=${join(labDir(), 'known_hosts')}`, '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', '-p', ssh[3]!, `${ssh[1]}@${ssh[2]}`, `seq 1 ${n}`],
          { stdio: ['ignore', 'ignore', 'pipe'] },
        );
        if (baseline.status !== 0) throw new Error(`ssh baseline (${terminal ? 'ssh -tt' : 'ssh'}) failed: ${baseline.stderr.toString()}`);
        return (performance.now() - start) / 1000;
      };
      const sshSeconds = openSshSeconds(true);
      const sshPipeSeconds = openSshSeconds(false);
      const engineSeconds = await engineAloneSeconds(n, dirname(out));

      await type(page, 'H1', 'upper', `seq 1 ${n}; echo FLOOD-END`, false);
      const before = await paneChars(page, 'H1', 'upper');
      const skippedBefore = await paneSkippedChars(page, 'H1', 'upper');
      const rssBefore = peakRssMiB(app.pid);
      const floodProfile = PROFILE === 'flood' ? await startProfile(page) : undefined;
      const floodTrace = TRACE === 'flood' ? await startTrace(page) : undefined;
      // The flood's end is watched in the page, through the pane's drawn-character counter, every
      // 20 ms: from here, each look is a Playwright round trip (CDP, a function compiled and run
      // in the page), and 50 of them a second loaded the page this measures. Reading the
      // 10,000-line scrollback's text that often would too; it is checked once at the end.
      const target = before + seqOutputChars(n) + 'FLOOD-END\r\n'.length;
      await page.evaluate(`window.__floodEnd = new Promise((resolve) => {
        const look = () => (window.tcplab.paneChars('H1', 'upper') >= ${target} ? resolve(performance.timeOrigin + performance.now()) : setTimeout(look, 20));
        look();
      }), undefined`); // (the promise itself is awaited below: evaluate would wait for it here)
      const floodStart = performance.timeOrigin + performance.now();
      await page.keyboard.press('Enter');
      await page.getByTestId('pane-H2-lower').click();
      const echoes: number[] = [];
      let done = false;
      const end = page.evaluate<number>('window.__floodEnd').finally(() => (done = true));
      for (let i = 0; !done; i++) {
        if (performance.timeOrigin + performance.now() - floodStart > 900_000) throw new Error('timed out waiting for the flood to end (900 s)');
        echoes.push(await timedEcho(page, 'H2', 'lower', `k${i}z`, 60_000));
        await page.keyboard.press('Control+U');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const uiSeconds = ((await end) - floodStart) / 1000;
      if (floodProfile) printProfile('the flood', await floodProfile());
      if (floodTrace) printTrace('the flood', await floodTrace(), uiSeconds);
      await until('the prompt after the flood', async () => /\n\d+\nFLOOD-END\n\[\d\d:\d\d:\d\d\] H1[#$] \s*$/.test(await paneText(page, 'H1', 'upper')));
      const drawn = (await paneChars(page, 'H1', 'upper')) - before;
      const skipped = (await paneSkippedChars(page, 'H1', 'upper')) - skippedBefore;
      const expected = seqOutputChars(n);

      const date = new Date().toISOString().slice(0, 10);
      const cpus = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m)?.[1] ?? 'unknown CPU';
      const cores = readFileSync('/proc/cpuinfo', 'utf8').match(/^processor\s*:/gm)?.length ?? 0;
      console.log(`\nbench:ui ${date}, ${cores} cores (${cpus}), virtual lab, headless Chromium`);
      console.log(`kernel transition -> UI (diagram), ${latencies.length} states over ${RUNS} connections: p50 ${percentile(latencies, 0.5).toFixed(0)} ms, p95 ${percentile(latencies, 0.95).toFixed(0)} ms (goal p95 <= 150 ms)`);
      const engine = split.map((x) => x.engine);
      const pageMs = split.map((x) => x.page);
      const slowest = [...split].sort((a, b) => b.engine + b.page - (a.engine + a.page)).slice(0, 4);
      console.log(`  kernel -> engine log p50 ${percentile(engine, 0.5).toFixed(0)} ms, p95 ${percentile(engine, 0.95).toFixed(0)} ms; log -> page p50 ${percentile(pageMs, 0.5).toFixed(0)} ms, p95 ${percentile(pageMs, 0.95).toFixed(0)} ms; slowest: ${slowest.map((x) => `${x.what} ${x.engine.toFixed(0)}+${x.page.toFixed(0)}`).join(', ')}`);
      console.log(`flood ${FLOOD_MB} MB (seq 1 ${n}): UI ${uiSeconds.toFixed(1)} s (${(drawn / 1e6 / uiSeconds).toFixed(1)} MB/s), OpenSSH (ssh -tt, the same ${expected} bytes) to /dev/null ${sshSeconds.toFixed(1)} s; ratio ${(sshSeconds / uiSeconds).toFixed(2)} (goal >= 0.3)`);
      console.log(`  OpenSSH without a terminal (ssh, a pipe: ${expected - n} bytes, LF line ends) ${sshPipeSeconds.toFixed(1)} s: ratio ${(sshPipeSeconds / uiSeconds).toFixed(2)}`);
      console.log(`  engine alone (SSH, session log, no page) ${engineSeconds.toFixed(1)} s: ratio ${(sshSeconds / engineSeconds).toFixed(2)} (${(sshPipeSeconds / engineSeconds).toFixed(2)} against the pipe)`);
      console.log(`  nothing dropped: ${drawn >= expected ? 'yes' : 'NO'} (${drawn} characters taken by the pane, ${expected} sent; of them ${skipped} (${((100 * skipped) / Math.max(1, drawn)).toFixed(1)}%) fast-forwarded past the scrollback, not parsed by xterm)`);
      console.log(`keystroke echo in another pane during the flood, ${echoes.length} keys: p50 ${percentile(echoes, 0.5).toFixed(0)} ms, p95 ${percentile(echoes, 0.95).toFixed(0)} ms (goal p95 <= 100 ms)`);
      console.log(`server (engine + web) peak RSS: ${peakRssMiB(app.pid).toFixed(0)} MiB (before the flood ${rssBefore.toFixed(0)} MiB)`);
    } finally {
      await browser.close();
      await app.stop();
    }
  } finally {
    if (KEEP) console.log(`session logs kept in ${out}`);
    else rmSync(dirname(out), { recursive: true, force: true });
    releaseLabLock();
  }
}

await main();
