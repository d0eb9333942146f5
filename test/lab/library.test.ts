/**
 * The built-in experiment library on the virtual lab: each experiment keeps its promises on both
 * hosts, shows what its explanation says students will see (timers, counters, transcripts), and
 * leaves nothing behind (firewall rules, sysctls, helper files, helper processes). Some run with
 * the roles swapped and on another port, as the issue asks. The oracles here are independent
 * of the engine where possible: the namespaces' own /proc, nstat, iptables and ps.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findExperiment } from '../../electron/lab/builtin-experiments';
import { ExperimentRun, type RunResult } from '../../electron/lab/experiment-runner';
import type { ConnectionResult, LabEvent } from '../../shared/src/events';
import type { SsSocket } from '../../shared/src/observations';
import { expectNothingLeft, runDirectories } from './leftovers';
import { inHost, labHosts, skipReason } from './lab-env';

type Label = 'H1' | 'H2';
const CLI = resolve(__dirname, '../../bin/tcplab.js');

async function run(
  id: string,
  options: { swapRoles?: boolean; port?: number; netcat?: 'auto' | 'helper'; onEvent?: (event: LabEvent, run: ExperimentRun) => void } = {},
): Promise<RunResult> {
  const outDir = mkdtempSync(join(tmpdir(), `tcplab-${id}-`));
  const { onEvent, ...rest } = options;
  const experimentRun: ExperimentRun = new ExperimentRun({
    experiment: findExperiment(id),
    hosts: await labHosts(),
    outDir,
    typingDelayMs: 0,
    ...rest,
    ...(onEvent ? { onEvent: (event: LabEvent) => onEvent(event, experimentRun) } : {}),
  });
  const result = await experimentRun.run();
  if (!result.passed) console.error(JSON.stringify(result, null, 2));
  return result;
}

function events(result: RunResult): LabEvent[] {
  return readFileSync(join(result.out, 'session.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as LabEvent);
}


/** Microseconds since the epoch of an ISO time with six fractional digits. */
function us(isoTime: string): number {
  return Date.parse(`${isoTime.slice(0, 23)}Z`) * 1000 + Number(isoTime.slice(23, 26));
}

function states(connection: ConnectionResult): string[] {
  return connection.states.map((s) => s.state);
}

/** The connection on `label` whose states include all of `wanted`, in order. */
function connectionThrough(result: RunResult, label: Label, ...wanted: string[]): ConnectionResult {
  const found = result.hosts[label]!.connections.find((c) => {
    let i = 0;
    for (const s of states(c)) if (s === wanted[i]) i++;
    return i === wanted.length;
  });
  if (!found) throw new Error(`${label} has no connection through ${wanted.join(', ')}: ${JSON.stringify(result.hosts[label]!.connections.map(states))}`);
  return found;
}

function timeOf(connection: ConnectionResult, state: string): number {
  const record = connection.states.find((s) => s.state === state);
  if (!record) throw new Error(`no ${state} in ${states(connection).join(', ')}`);
  return us(record.hostTime);
}

/** Every socket ss listed on a host during the run, with the host time of its snapshot. */
function polled(result: RunResult, label: Label, ssState: string): Array<SsSocket & { at: number }> {
  return events(result).flatMap((e) => (e.type === 'snapshot' && e.host === label ? e.sockets.filter((s) => s.ssState === ssState).map((s) => ({ ...s, at: e.hostTimeUs })) : []));
}

/** A pane's transcript without carriage returns and bash's bracketed-paste switches. */
function transcript(result: RunResult, label: Label, pane: 'upper' | 'lower'): string {
  return readFileSync(join(result.out, `${label}-${pane}.txt`), 'utf8').replaceAll('\u001b[?2004h', '').replaceAll('\u001b[?2004l', '').replaceAll('\r', '');
}

/** The commands the run typed on a host (the transcript wraps long lines at the pane's width). */
function commands(result: RunResult, label: Label): string[] {
  return events(result).flatMap((e) => (e.type === 'command' && e.host === label ? [e.text] : []));
}

/** A kernel counter in a virtual host's namespace, read with nstat (absolute, history untouched). */
function counter(label: Label, name: string): number {
  const line = inHost(label, `nstat -asz ${name}`).split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`nstat on ${label} has no ${name}`);
  return Number(line.trim().split(/\s+/)[1]);
}

function sysctl(label: Label, name: string): string {
  return inHost(label, `cat /proc/sys/${name.replace(/\./g, '/')}`).trim();
}

async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(skipReason)('the experiment library on the virtual lab', () => {
  it('close-wait: the client application never closes; H1 stays in CLOSE_WAIT with no timer, H2 has an orphaned FIN_WAIT2', async () => {
    const result = await run('close-wait');
    expect(result.passed).toBe(true);
    const h1 = connectionThrough(result, 'H1', 'ESTABLISHED', 'CLOSE_WAIT');
    expect(states(h1).at(-1)).toBe('CLOSE_WAIT');
    expect(h1.states.find((s) => s.state === 'CLOSE_WAIT')!.seen).toBe('trace');
    // No timer ends CLOSE_WAIT; the orphan on H2 has one (tcp_fin_timeout, 60 s here).
    const closeWait = polled(result, 'H1', 'CLOSE-WAIT');
    expect(closeWait.length).toBeGreaterThan(0);
    expect(closeWait.every((s) => s.timer === undefined)).toBe(true);
    const orphan = polled(result, 'H2', 'FIN-WAIT-2').filter((s) => s.timer?.name === 'timewait');
    expect(orphan.length).toBeGreaterThan(0);
    expect(Math.max(...orphan.map((s) => s.timer!.expiresMs))).toBeLessThanOrEqual(60_000);
    // -p names the process that holds the CLOSE_WAIT socket.
    expect(transcript(result, 'H1', 'lower')).toMatch(/CLOSE-WAIT .*users:\(\("nc"/);
    // The netcat intent became the article's commands: both hosts have OpenBSD netcat.
    const found = events(result).filter((e) => e.type === 'capability' && e.name === 'netcat');
    expect(found.map((e) => (e.type === 'capability' ? `${e.host}: ${e.detail}` : '')).sort()).toEqual(['H1: nc is openbsd netcat', 'H2: nc is openbsd netcat']);
    expect(commands(result, 'H2')).toContain('nc -l 7777');
    expect(commands(result, 'H1')).toContain('nc 198.18.77.2 7777');
    expectNothingLeft(result);
  });

  it('close-wait with roles swapped on port 8124: the sudo login is the one stuck in CLOSE_WAIT', async () => {
    const result = await run('close-wait', { swapRoles: true, port: 8124 });
    expect(result.passed).toBe(true);
    const h2 = connectionThrough(result, 'H2', 'ESTABLISHED', 'CLOSE_WAIT');
    expect(h2.remote).toBe('198.18.77.1:8124');
    expect(states(h2).at(-1)).toBe('CLOSE_WAIT');
    expect(states(connectionThrough(result, 'H1', 'FIN_WAIT1', 'FIN_WAIT2')).at(-1)).toBe('FIN_WAIT2');
    expectNothingLeft(result);
  });

  it('fin-wait-2: FIN_WAIT2 has no timer while the application lives; the orphan lasts tcp_fin_timeout (5 s), which is restored', async () => {
    const before = sysctl('H2', 'net.ipv4.tcp_fin_timeout');
    const result = await run('fin-wait-2');
    expect(result.passed).toBe(true);
    // The value the host had, read by the show step, and set back afterwards.
    expect(result.values?.H2?.['net.ipv4.tcp_fin_timeout']).toBe(before);
    expect(sysctl('H2', 'net.ipv4.tcp_fin_timeout')).toBe(before);
    const h2 = connectionThrough(result, 'H2', 'FIN_WAIT1', 'FIN_WAIT2', 'CLOSED');
    // The tracer reports the orphan closed the moment the application exits; ss keeps listing it.
    const orphaned = events(result).find((e) => e.type === 'trace' && e.host === 'H2' && e.from === 'FIN_WAIT2' && e.to === 'CLOSED' && e.local === h2.local);
    expect(orphaned).toBeDefined();
    const closed = h2.states.at(-1)!;
    expect(closed.seen).toBe('poll');
    const lasted = (us(closed.hostTime) - (orphaned as { hostTimeUs: number }).hostTimeUs) / 1e6;
    expect(lasted).toBeGreaterThan(4.5);
    expect(lasted).toBeLessThan(6.5);
    const fw2 = polled(result, 'H2', 'FIN-WAIT-2');
    expect(fw2.some((s) => s.timer === undefined)).toBe(true);
    expect(fw2.filter((s) => s.timer?.name === 'timewait').every((s) => s.timer!.expiresMs <= 5000)).toBe(true);
    expect(states(connectionThrough(result, 'H1', 'ESTABLISHED', 'CLOSE_WAIT')).at(-1)).toBe('CLOSE_WAIT');
    expect(commands(result, 'H2')).toContain('sudo /usr/sbin/sysctl -w net.ipv4.tcp_fin_timeout=5');
    expectNothingLeft(result);
  });

  it('fin-wait-2 with roles swapped on port 8125: the root login changes and restores its own setting', async () => {
    const before = sysctl('H1', 'net.ipv4.tcp_fin_timeout');
    const untouched = sysctl('H2', 'net.ipv4.tcp_fin_timeout');
    const result = await run('fin-wait-2', { swapRoles: true, port: 8125 });
    expect(result.passed).toBe(true);
    expect(connectionThrough(result, 'H1', 'FIN_WAIT2', 'CLOSED').local).toBe('198.18.77.1:8125');
    expect(sysctl('H1', 'net.ipv4.tcp_fin_timeout')).toBe(before);
    expect(sysctl('H2', 'net.ipv4.tcp_fin_timeout')).toBe(untouched);
    expect(commands(result, 'H1')).toContain('sysctl -w net.ipv4.tcp_fin_timeout=5');
    expectNothingLeft(result);
  });

  it('time-wait: the countdown starts at 60 s (not the article\'s 120 s) and runs down', async () => {
    const result = await run('time-wait');
    expect(result.passed).toBe(true);
    const h1 = connectionThrough(result, 'H1', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT');
    const timers = polled(result, 'H1', 'TIME-WAIT')
      .filter((s) => `${s.local.address}:${s.local.port}` === h1.local)
      .map((s) => ({ at: s.at, left: s.timer!.expiresMs }));
    expect(timers.length).toBeGreaterThan(5);
    const first = timers[0]!;
    const last = timers.at(-1)!;
    expect(first.left).toBeLessThanOrEqual(60_000);
    expect(first.left).toBeGreaterThan(55_000);
    // It counts down in real time: what passed on the host's clock is what the timer lost.
    const elapsed = (last.at - first.at) / 1000;
    expect(elapsed).toBeGreaterThan(2500);
    expect(Math.abs(first.left - last.left - elapsed)).toBeLessThan(1500);
    expect(states(connectionThrough(result, 'H2', 'CLOSE_WAIT', 'LAST_ACK', 'CLOSED')).at(-1)).toBe('CLOSED');
    expect(transcript(result, 'H1', 'lower')).toMatch(/TIME-WAIT .*timer:\(timewait,59sec,0\)/);
    expectNothingLeft(result);
  });

  it('last-ack: the final ACK is dropped; H2 stays in LAST_ACK and retransmits its FIN', async () => {
    const result = await run('last-ack');
    expect(result.passed).toBe(true);
    const h2 = connectionThrough(result, 'H2', 'CLOSE_WAIT', 'LAST_ACK');
    expect(states(h2).at(-1)).toBe('LAST_ACK');
    const retransmits = polled(result, 'H2', 'LAST-ACK').map((s) => s.timer?.retransmits ?? 0);
    expect(Math.max(...retransmits)).toBeGreaterThanOrEqual(3);
    expect(polled(result, 'H2', 'LAST-ACK').every((s) => s.timer?.name === 'on')).toBe(true);
    expect(states(connectionThrough(result, 'H1', 'FIN_WAIT2', 'TIME_WAIT')).at(-1)).toBe('TIME_WAIT');
    expectNothingLeft(result);
  });

  it('syn-sent: the SYN-ACK is dropped; H1 retransmits its SYN from SYN_SENT, H2 waits in SYN_RECV', async () => {
    const result = await run('syn-sent');
    expect(result.passed).toBe(true);
    const synSent = polled(result, 'H1', 'SYN-SENT');
    expect(Math.max(...synSent.map((s) => s.timer?.retransmits ?? 0))).toBeGreaterThanOrEqual(2);
    expect(polled(result, 'H2', 'SYN-RECV').length).toBeGreaterThan(0);
    expect(result.values?.H1?.['net.ipv4.tcp_syn_retries']).toMatch(/^\d+$/);
    expectNothingLeft(result);
  });

  it('syn-sent with roles swapped on port 8126: the sudo login drops the SYN-ACK', async () => {
    const result = await run('syn-sent', { swapRoles: true, port: 8126 });
    expect(result.passed).toBe(true);
    expect(polled(result, 'H2', 'SYN-SENT').some((s) => s.peer.port === 8126)).toBe(true);
    expect(polled(result, 'H1', 'SYN-RECV').some((s) => s.local.port === 8126)).toBe(true);
    expect(commands(result, 'H2').some((c) => c.startsWith('sudo iptables -w -A INPUT -p tcp --sport 8126 --tcp-flags SYN,ACK SYN,ACK'))).toBe(true);
    expectNothingLeft(result);
  });

  it('syn-recv: the handshake\'s ACK is dropped; H2 waits half-open in SYN_RECV until data completes the handshake', async () => {
    const result = await run('syn-recv');
    expect(result.passed).toBe(true);
    const h2 = connectionThrough(result, 'H2', 'SYN_RECV', 'ESTABLISHED');
    const halfOpen = (timeOf(h2, 'ESTABLISHED') - timeOf(h2, 'SYN_RECV')) / 1e6;
    expect(halfOpen).toBeGreaterThan(3);
    const h1 = connectionThrough(result, 'H1', 'SYN_SENT', 'ESTABLISHED');
    // H1 believed the connection was up seconds before H2 did.
    expect(timeOf(h2, 'ESTABLISHED') - timeOf(h1, 'ESTABLISHED')).toBeGreaterThan(3e6);
    expect(Math.max(...polled(result, 'H2', 'SYN-RECV').map((s) => s.timer?.retransmits ?? 0))).toBeGreaterThanOrEqual(1);
    expect(transcript(result, 'H2', 'upper')).toContain('Hello');
    expectNothingLeft(result);
  });

  it('reset-closed-port: nothing listens; H2\'s kernel answers the SYN with RST and H1 goes SYN_SENT -> CLOSED', async () => {
    const resetsBefore = counter('H2', 'TcpOutRsts');
    const failsBefore = counter('H1', 'TcpAttemptFails');
    const result = await run('reset-closed-port');
    expect(result.passed).toBe(true);
    const h1 = connectionThrough(result, 'H1', 'SYN_SENT', 'CLOSED');
    expect(h1.states.map((s) => s.seen)).toEqual(['trace', 'trace']);
    expect(timeOf(h1, 'CLOSED') - timeOf(h1, 'SYN_SENT')).toBeLessThan(50_000);
    expect(counter('H2', 'TcpOutRsts')).toBeGreaterThan(resetsBefore);
    expect(counter('H1', 'TcpAttemptFails')).toBeGreaterThan(failsBefore);
    expect(transcript(result, 'H1', 'upper')).toContain('Connection refused');
    // No socket of this connection ever existed on H2.
    expect(result.hosts.H2!.connections.filter((c) => c.remote === h1.local)).toEqual([]);
    expectNothingLeft(result);
  });

  it('closing: with H1\'s packets delayed 1 s, the FINs cross and both hosts pass CLOSING', async () => {
    const result = await run('closing');
    expect(result.passed).toBe(true);
    for (const label of ['H1', 'H2'] as const) {
      const c = connectionThrough(result, label, 'ESTABLISHED', 'FIN_WAIT1', 'CLOSING', 'TIME_WAIT');
      expect(c.states.find((s) => s.state === 'CLOSING')!.seen).toBe('trace');
      expect(states(c)).not.toContain('CLOSE_WAIT');
    }
    // H1's FIN took the slow path: H2 entered CLOSING about a second after H1.
    const lag = timeOf(connectionThrough(result, 'H2', 'CLOSING'), 'CLOSING') - timeOf(connectionThrough(result, 'H1', 'CLOSING'), 'CLOSING');
    expect(lag).toBeGreaterThan(800_000);
    expect(lag).toBeLessThan(1_500_000);
    expect(polled(result, 'H1', 'CLOSING').length).toBeGreaterThan(0);
    expectNothingLeft(result);
  });

  it('closing with roles swapped on port 8127: the delay helper runs through sudo', async () => {
    const result = await run('closing', { swapRoles: true, port: 8127 });
    expect(result.passed).toBe(true);
    expect(connectionThrough(result, 'H2', 'FIN_WAIT1', 'CLOSING', 'TIME_WAIT').remote).toBe('198.18.77.1:8127');
    expect(connectionThrough(result, 'H1', 'FIN_WAIT1', 'CLOSING', 'TIME_WAIT').local).toBe('198.18.77.1:8127');
    expect(commands(result, 'H2').some((c) => /^sudo iptables -w -A OUTPUT -p tcp --dport 8127 .* -j NFQUEUE --queue-num \d+ --queue-bypass$/.test(c))).toBe(true);
    expect(readFileSync(join(result.out, 'session.jsonl'), 'utf8')).not.toContain((await labHosts()).hosts.H2.sudoPassword!);
    expectNothingLeft(result);
  });

  it('reset-after-last-ack: without TIME_WAIT, the retransmitted FIN is answered with RST', async () => {
    const buckets = sysctl('H1', 'net.ipv4.tcp_max_tw_buckets');
    const overflows = counter('H1', 'TcpExtTCPTimeWaitOverflow');
    const resets = counter('H1', 'TcpOutRsts');
    const result = await run('reset-after-last-ack');
    expect(result.passed).toBe(true);
    const h1 = connectionThrough(result, 'H1', 'FIN_WAIT1', 'FIN_WAIT2', 'CLOSED');
    expect(states(h1)).not.toContain('TIME_WAIT');
    expect(polled(result, 'H1', 'TIME-WAIT').filter((s) => `${s.local.address}:${s.local.port}` === h1.local)).toEqual([]);
    // H2 waited one retransmission timeout in LAST_ACK, then the RST ended it.
    const h2 = connectionThrough(result, 'H2', 'CLOSE_WAIT', 'LAST_ACK', 'CLOSED');
    const lastAck = timeOf(h2, 'CLOSED') - timeOf(h2, 'LAST_ACK');
    expect(lastAck).toBeGreaterThan(150_000);
    expect(lastAck).toBeLessThan(3_000_000);
    expect(counter('H1', 'TcpExtTCPTimeWaitOverflow')).toBeGreaterThan(overflows);
    expect(counter('H1', 'TcpOutRsts')).toBeGreaterThan(resets);
    expect(sysctl('H1', 'net.ipv4.tcp_max_tw_buckets')).toBe(buckets);
    expectNothingLeft(result);
  });

  it('half-close-download: H1 receives all 8 MB while in FIN_WAIT2, H2 sends it from CLOSE_WAIT', async () => {
    const result = await run('half-close-download');
    expect(result.passed).toBe(true);
    const h1 = connectionThrough(result, 'H1', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT');
    expect((timeOf(h1, 'TIME_WAIT') - timeOf(h1, 'FIN_WAIT2')) / 1e6).toBeGreaterThan(2.5);
    const h2 = connectionThrough(result, 'H2', 'CLOSE_WAIT', 'LAST_ACK', 'CLOSED');
    expect((timeOf(h2, 'LAST_ACK') - timeOf(h2, 'CLOSE_WAIT')) / 1e6).toBeGreaterThan(2.5);
    expect(transcript(result, 'H1', 'upper')).toMatch(/^8000000$/m);
    expect(transcript(result, 'H2', 'upper')).toContain('sent 8000000 bytes');
    expectNothingLeft(result);
  });

  it('close-wait-leak: a server that never closes piles up 20 connections in CLOSE_WAIT', async () => {
    const result = await run('close-wait-leak');
    expect(result.passed).toBe(true);
    const leaked = result.hosts.H2!.connections.filter((c) => states(c).at(-1) === 'CLOSE_WAIT' && c.states[0]?.seen === 'trace');
    expect(leaked.length).toBe(20);
    expect(transcript(result, 'H2', 'lower')).toMatch(/wc -l\n20\n/);
    expect(transcript(result, 'H2', 'lower')).toMatch(/users:\(\("python3",pid=\d+,fd=\d+\)\)/);
    expect(transcript(result, 'H2', 'upper')).toContain('20 in CLOSE_WAIT');
    expectNothingLeft(result);
  });
});

describe.skipIf(skipReason)('the tcp-peer helper standing in for netcat', () => {
  it('close-wait: the helper client stays in CLOSE_WAIT, the helper server exits when the peer closes', async () => {
    const result = await run('close-wait', { netcat: 'helper' });
    expect(result.passed).toBe(true);
    expect(commands(result, 'H2').some((c) => /^python3 \/tmp\/tcplab-[0-9a-f]+-h2\/tcp-peer\.py --listen 7777 --on-peer-close exit$/.test(c))).toBe(true);
    expect(commands(result, 'H1').some((c) => /tcp-peer\.py --connect 198\.18\.77\.2 7777 --on-peer-close stay$/.test(c))).toBe(true);
    expect(states(connectionThrough(result, 'H1', 'ESTABLISHED', 'CLOSE_WAIT')).at(-1)).toBe('CLOSE_WAIT');
    expect(transcript(result, 'H1', 'lower')).toMatch(/CLOSE-WAIT .*users:\(\("python3"/);
    expectNothingLeft(result);
  });

  it('fin-wait-2 with roles swapped on port 8128: the helper half-closes at the end of input', async () => {
    const result = await run('fin-wait-2', { netcat: 'helper', swapRoles: true, port: 8128 });
    expect(result.passed).toBe(true);
    expect(commands(result, 'H1').some((c) => c.endsWith('tcp-peer.py --listen 8128 --on-peer-close exit --half-close'))).toBe(true);
    const h1 = connectionThrough(result, 'H1', 'FIN_WAIT1', 'FIN_WAIT2', 'CLOSED');
    expect(h1.local).toBe('198.18.77.1:8128');
    expectNothingLeft(result);
  });

  it('half-close-download: the helper client half-closes and counts all 8 MB', async () => {
    const result = await run('half-close-download', { netcat: 'helper' });
    expect(result.passed).toBe(true);
    expect(transcript(result, 'H1', 'upper')).toMatch(/^8000000$/m);
    expectNothingLeft(result);
  });

  it('reset-closed-port: the helper reports the refused connection', async () => {
    const result = await run('reset-closed-port', { netcat: 'helper' });
    expect(result.passed).toBe(true);
    expect(transcript(result, 'H1', 'upper')).toContain('failed: Connection refused');
    expectNothingLeft(result);
  });
});

describe.skipIf(skipReason)('host changes are undone', () => {
  it('after an abort right after the sysctl step: the value is restored and the run directory removed', async () => {
    const before = sysctl('H2', 'net.ipv4.tcp_fin_timeout');
    let changed = '';
    const result = await run('fin-wait-2', {
      onEvent: (event, experimentRun) => {
        if (event.type === 'step' && event.phase === 'end' && event.summary.includes('set net.ipv4.tcp_fin_timeout')) {
          changed = sysctl('H2', 'net.ipv4.tcp_fin_timeout');
          experimentRun.abort('test abort');
        }
      },
    });
    expect(changed).toBe('5');
    expect(result.passed).toBe(false);
    expect(result.error).toContain('aborted: test abort');
    expect(sysctl('H2', 'net.ipv4.tcp_fin_timeout')).toBe(before);
    expectNothingLeft(result);
    const notes = events(result).flatMap((e) => (e.type === 'note' ? [e.text] : []));
    expect(notes).toContain(`restored net.ipv4.tcp_fin_timeout to ${before}`);
  });

  it('after the controller is killed: the next run restores the sysctl from the host\'s ledger and removes the directory', async () => {
    const before = sysctl('H2', 'net.ipv4.tcp_fin_timeout');
    const out = mkdtempSync(join(tmpdir(), 'tcplab-crash-'));
    const child = spawn(process.execPath, [CLI, 'run', 'fin-wait-2', '--lab', 'local', '--out', out], { stdio: 'ignore' });
    const log = join(out, 'session.jsonl');
    await waitFor(() => existsSync(log) && /"summary":"H2 upper: nc -N -l \d+"/.test(readFileSync(log, 'utf8')), 60_000, 'the run to change the sysctl');
    expect(sysctl('H2', 'net.ipv4.tcp_fin_timeout')).toBe('5');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const crashed = (JSON.parse(readFileSync(log, 'utf8').split('\n')[0]!) as { sessionId: string }).sessionId;
    expect(runDirectories()).toContain(`/tmp/tcplab-${crashed}-h2`);
    expect(sysctl('H2', 'net.ipv4.tcp_fin_timeout')).toBe('5');
    await waitFor(() => !inHost('H2', 'ps -eo args').includes(`tcplab-session=${crashed}`), 10_000, 'the killed session\'s processes to end');

    const result = await run('reset-closed-port');
    expect(result.passed).toBe(true);
    expect(sysctl('H2', 'net.ipv4.tcp_fin_timeout')).toBe(before);
    expect(runDirectories()).toEqual([]);
    const notes = events(result).flatMap((e) => (e.type === 'note' ? [e.text] : []));
    expect(notes.some((n) => n.includes(`cleaned up after session ${crashed}`) && n.includes(`net.ipv4.tcp_fin_timeout=${before}`))).toBe(true);
  });
});
