import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseTrace, parseTraceLine, TraceClock } from '../../shared/src/trace-parser';
import type { ParsedTraceTransition } from '../../shared/src/trace-parser';

const TRACE = new URL('../fixtures/trace/', import.meta.url);
const read = (name: string): string => readFileSync(new URL(name, TRACE), 'utf8');

/** from->to of each transition, with local and remote ports, for compact expectations. */
const summary = (t: ParsedTraceTransition): string =>
  `${t.local.address}:${t.local.port}>${t.remote.address}:${t.remote.port} ${t.from}->${t.to}`;

describe('parseTraceLine', () => {
  it('parses the example line from the design notes', () => {
    const line =
      '            nc-4918    [001] .....  4971.193213: inet_sock_set_state: family=AF_INET protocol=IPPROTO_TCP sport=43380 dport=7777 saddr=198.18.77.1 daddr=198.18.77.2 saddrv6=::ffff:198.18.77.1 daddrv6=::ffff:198.18.77.2 oldstate=TCP_SYN_SENT newstate=TCP_ESTABLISHED';
    expect(parseTraceLine(line)).toEqual({
      kind: 'transition',
      traceTimeUs: 4_971_193_213,
      family: 'inet',
      local: { address: '198.18.77.1', port: 43380 },
      remote: { address: '198.18.77.2', port: 7777 },
      from: 'SYN_SENT',
      to: 'ESTABLISHED',
      task: 'nc',
      pid: 4918,
      cpu: 1,
    });
  });

  it('parses a tcplab-clock marker to wall-clock microseconds', () => {
    const line = '            bash-4905    [001] ...1.  4970.845166: tracing_mark_write: tcplab-clock 1795471175.118088896';
    expect(parseTraceLine(line)).toEqual({ kind: 'clock', traceTimeUs: 4_970_845_166, wallTimeUs: 1_795_471_175_118_088 });
    expect(parseTraceLine('bash-1 [000] ...1. 1.000001: tracing_mark_write: tcplab-clock 1795471175')).toEqual({
      kind: 'clock',
      traceTimeUs: 1_000_001,
      wallTimeUs: 1_795_471_175_000_000,
    });
  });

  it('returns null for headers, other events, other markers and junk', () => {
    for (const line of [
      '',
      '# tracer: nop',
      '#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION',
      'bash-1 [000] ...1. 1.000001: tracing_mark_write: hello',
      'bash-1 [000] ...1. 1.000001: tracing_mark_write: tcplab-clock soon',
      'nc-1 [000] ..... 1.000001: sched_switch: prev_comm=nc',
      'CPU:1 [LOST 12 EVENTS]',
      'nc-1 [000] ..... 1.000001: inet_sock_set_state: family=AF_INET protocol=IPPROTO_TCP sport=1',
      'nc-1 [000] ..... 1.000001: inet_sock_set_state: family=AF_UNIX protocol=IPPROTO_TCP sport=1 dport=2 saddr=1.2.3.4 daddr=1.2.3.4 oldstate=TCP_CLOSE newstate=TCP_LISTEN',
      'nc-1 [000] ..... 1.000001: inet_sock_set_state: family=AF_INET protocol=IPPROTO_TCP sport=99999 dport=2 saddr=1.2.3.4 daddr=1.2.3.4 oldstate=TCP_CLOSE newstate=TCP_LISTEN',
      'nc-1 [000] ..... 1.000001: inet_sock_set_state: family=AF_INET protocol=IPPROTO_TCP sport=1 dport=2 saddr=nowhere daddr=1.2.3.4 oldstate=TCP_CLOSE newstate=TCP_LISTEN',
    ]) {
      expect(parseTraceLine(line), line).toBeNull();
    }
  });
});

describe('real traces (kernel 6.18, instance with mono clock)', () => {
  it('every line of every capture is a header, a transition or a marker', () => {
    const files = readdirSync(TRACE).filter((f) => f.endsWith('.txt'));
    expect(files).toHaveLength(8);
    for (const file of files) {
      const result = parseTrace(read(file));
      expect(result.skipped, file).toEqual([]);
      expect(result.markers, file).toHaveLength(2);
      expect(result.transitions.length, file).toBeGreaterThan(3);
      const times = result.transitions.map((t) => t.traceTimeUs);
      expect(times, file).toEqual([...times].sort((a, b) => a - b));
    }
  });

  it('normal close: both hosts in one trace, the client SYN_SENT with sport=0, the listener with dport=0', () => {
    const { transitions, markers } = parseTrace(read('normal-close.txt'));
    expect(markers[0]).toEqual({ kind: 'clock', traceTimeUs: 5_787_229_094, wallTimeUs: 1_795_471_991_502_514 });
    expect(transitions.map(summary)).toEqual([
      '0.0.0.0:7799>0.0.0.0:0 CLOSED->LISTEN',
      '198.18.99.1:0>198.18.99.2:7799 CLOSED->SYN_SENT',
      '198.18.99.1:33444>198.18.99.2:7799 SYN_SENT->ESTABLISHED',
      '198.18.99.2:7799>198.18.99.1:33444 LISTEN->SYN_RECV',
      '198.18.99.2:7799>198.18.99.1:33444 SYN_RECV->ESTABLISHED',
      '198.18.99.1:33444>198.18.99.2:7799 ESTABLISHED->FIN_WAIT1',
      '198.18.99.2:7799>198.18.99.1:33444 ESTABLISHED->CLOSE_WAIT',
      '198.18.99.2:7799>198.18.99.1:33444 CLOSE_WAIT->LAST_ACK',
      '198.18.99.1:33444>198.18.99.2:7799 FIN_WAIT1->FIN_WAIT2',
      '198.18.99.1:33444>198.18.99.2:7799 FIN_WAIT2->CLOSED',
      '198.18.99.2:7799>198.18.99.1:33444 LAST_ACK->CLOSED',
      '0.0.0.0:7799>0.0.0.0:0 LISTEN->CLOSED',
    ]);
    expect(transitions.every((t) => t.family === 'inet')).toBe(true);
  });

  it('orphaned FIN_WAIT2 closes for the tracer within milliseconds; TIME_WAIT never appears', () => {
    const client = parseTrace(read('orphan-fin-wait-2.txt')).transitions.filter((t) => t.local.address === '198.18.99.1');
    expect(client.map((t) => `${t.from}->${t.to}`)).toEqual([
      'CLOSED->SYN_SENT',
      'SYN_SENT->ESTABLISHED',
      'ESTABLISHED->FIN_WAIT1',
      'FIN_WAIT1->FIN_WAIT2',
      'FIN_WAIT2->CLOSED',
    ]);
    const [fw1, fw2, closed] = client.slice(2);
    expect((closed?.traceTimeUs ?? 0) - (fw1?.traceTimeUs ?? 0)).toBeLessThan(10_000);
    expect(fw2?.task).toBe('ksoftirqd/1');
    for (const file of readdirSync(TRACE).filter((f) => f.endsWith('.txt'))) {
      expect(read(file)).not.toContain('TCP_TIME_WAIT');
    }
  });

  it('simultaneous close shows FIN_WAIT1 -> CLOSING -> CLOSE', () => {
    const client = parseTrace(read('closing.txt')).transitions.filter((t) => t.local.address === '198.18.99.1');
    expect(client.map((t) => t.to)).toEqual(['SYN_SENT', 'ESTABLISHED', 'FIN_WAIT1', 'CLOSING', 'CLOSED']);
  });

  it('IPv6: addresses come from saddrv6/daddrv6 (the IPv4 fields hold garbage)', () => {
    const text = read('ipv6-loopback.txt');
    expect(text).toContain('saddr=127.0.0.6');
    const { transitions } = parseTrace(text);
    expect(transitions.every((t) => t.family === 'inet6')).toBe(true);
    expect(transitions.map(summary).slice(0, 4)).toEqual([
      '::1:7799>:::0 CLOSED->LISTEN',
      '::1:0>::1:7799 CLOSED->SYN_SENT',
      '::1:44256>::1:7799 SYN_SENT->ESTABLISHED',
      '::1:7799>::1:44256 LISTEN->SYN_RECV',
    ]);
  });
});

describe('hand-written trace formats', () => {
  it('old kernels: no flags column, 4-char flags, tcp:tcp_set_state, a task with a space', () => {
    const { transitions, markers, skipped } = parseTrace(read('hand-written/old-kernel-no-flags.txt'));
    expect(skipped).toEqual([]);
    expect(markers).toEqual([{ kind: 'clock', traceTimeUs: 4_970_845_166, wallTimeUs: 1_795_471_175_118_088 }]);
    expect(transitions.map((t) => [t.task, t.pid, t.cpu, t.family, t.from, t.to])).toEqual([
      ['nc', 4918, 1, 'inet', 'CLOSED', 'SYN_SENT'],
      ['nc', 4918, 1, 'inet', 'SYN_SENT', 'ESTABLISHED'],
      ['<idle>', 0, 0, 'inet', 'SYN_RECV', 'ESTABLISHED'],
      ['Web Content', 2234, 3, 'inet6', 'ESTABLISHED', 'CLOSE_WAIT'],
    ]);
    expect(transitions[3]?.local).toEqual({ address: 'fe80::1', port: 7777 });
  });

  it('dashes in task names, record-tgid, and lines that are not ours', () => {
    const { transitions, markers, skipped } = parseTrace(read('hand-written/odd-lines.txt'));
    expect(transitions.map((t) => [t.task, t.pid, t.family, t.local.address, t.to])).toEqual([
      ['gnome-shell-x', 2345, 'inet', '198.18.77.2', 'FIN_WAIT1'],
      ['nc', 4918, 'inet6', '::ffff:198.18.77.2', 'FIN_WAIT2'],
    ]);
    expect(markers).toHaveLength(1);
    expect(skipped).toHaveLength(5);
    expect(skipped.some((l) => l.includes('IPPROTO_MPTCP'))).toBe(true);
    expect(skipped.some((l) => l.includes('newstate=0xd'))).toBe(true);
    expect(skipped).toContain('CPU:1 [LOST 12 EVENTS]');
  });
});

describe('clock markers', () => {
  it('reads the plain, tai and mono forms', () => {
    expect(parseTraceLine('  bash-4905  [001] ...1.  4970.845166: tracing_mark_write: tcplab-clock 1795471175.118088896')).toEqual({
      kind: 'clock',
      traceTimeUs: 4_970_845_166,
      wallTimeUs: 1_795_471_175_118_088,
    });
    expect(parseTraceLine('  bash-4905  [001] ...1. 1795471175.118200: tracing_mark_write: tcplab-clock 1795471175.118088 tai')).toEqual({
      kind: 'clock',
      traceTimeUs: 1_795_471_175_118_200,
      wallTimeUs: 1_795_471_175_118_088,
      clock: 'tai',
    });
    expect(
      parseTraceLine('  python3-1800  [001] ...1. 13599.570946: tracing_mark_write: tcplab-clock 1795494860.025516196 mono 13599.570871597'),
    ).toEqual({ kind: 'clock', traceTimeUs: 13_599_570_946, wallTimeUs: 1_795_494_860_025_516, clock: 'mono', clockTimeUs: 13_599_570_871 });
    expect(parseTraceLine('  bash-1 [001] ...1. 1.000001: tracing_mark_write: tcplab-clock 1795471175.1 mono')).toBeNull();
    expect(parseTraceLine('  bash-1 [001] ...1. 1.000001: tracing_mark_write: tcplab-clock 1795471175.1 utc')).toBeNull();
  });
});

describe('TraceClock', () => {
  const m = (traceTimeUs: number, wallTimeUs: number) => ({ traceTimeUs, wallTimeUs });

  it('is null without markers', () => {
    expect(new TraceClock().toWallUs(5)).toBeNull();
    expect(new TraceClock().size).toBe(0);
  });

  it('uses the largest offset among nearby markers (each marker falls short by its write latency)', () => {
    // Offsets: 999_999_000 and 1_000_000_000 (the second marker was written with less delay).
    const clock = new TraceClock([m(2_000, 1_000_002_000), m(1_000, 999_999_000 + 1_000)]);
    expect(clock.toWallUs(500)).toBe(1_000_000_500);
    expect(clock.toWallUs(1_000)).toBe(1_000_001_000);
    expect(clock.toWallUs(9_000)).toBe(1_000_009_000);
    expect(clock.size).toBe(2);
  });

  it('uses only markers within the window, else the nearest, so slewing clocks are followed', () => {
    const clock = new TraceClock([m(0, 1_000), m(100_000_000, 100_000_000 + 5_000)]);
    expect(clock.toWallUs(10)).toBe(1_010); // only the first marker is within 30 s
    expect(clock.toWallUs(100_000_010)).toBe(100_005_010); // only the second
    expect(clock.toWallUs(50_000_000)).toBe(50_001_000); // none within: the nearest (first, tie -> first)
    clock.add(m(200_000_000, 200_000_000 + 9_000));
    expect(clock.toWallUs(190_000_000)).toBe(190_009_000);
    expect(clock.size).toBe(3);
  });

  it('converts a real capture: the first event lies between its markers in wall time', () => {
    const { transitions, markers } = parseTrace(read('normal-close.txt'));
    const clock = new TraceClock(markers);
    const first = transitions[0];
    const wall = first ? clock.toWallUs(first.traceTimeUs) : null;
    expect(wall).not.toBeNull();
    expect(wall).toBeGreaterThan(markers[0]?.wallTimeUs ?? Infinity);
    expect(wall).toBeLessThan(markers[1]?.wallTimeUs ?? 0);
  });

  it('tai: the offset is whole seconds, so a marker late by its write latency maps exactly', () => {
    // CLOCK_TAI = wall + 37 s here; each marker's trace stamp is 50..400 µs after its wall read.
    const tai = 37_000_000;
    const clock = new TraceClock([
      { traceTimeUs: 1_000_000_000 + tai + 400, wallTimeUs: 1_000_000_000, clock: 'tai' },
      { traceTimeUs: 1_001_000_000 + tai + 50, wallTimeUs: 1_001_000_000, clock: 'tai' },
    ]);
    expect(clock.method).toBe('tai');
    expect(clock.toWallUs(1_000_500_123 + tai)).toBe(1_000_500_123);
    // With the TAI offset 0 (common), the wall time is the trace time.
    const zero = new TraceClock([{ traceTimeUs: 5_000_000_180, wallTimeUs: 5_000_000_000, clock: 'tai' }]);
    expect(zero.toWallUs(5_000_000_100)).toBe(5_000_000_100);
  });

  it('mono-sampled: each marker carries the monotonic time read with its wall time; the nearest one maps', () => {
    const clock = new TraceClock([
      { traceTimeUs: 4_970_845_166, wallTimeUs: 1_795_471_175_118_088, clock: 'mono', clockTimeUs: 4_970_845_000 },
      // The wall clock was stepped 2 ms forward between the markers.
      { traceTimeUs: 4_980_845_300, wallTimeUs: 1_795_471_185_120_088, clock: 'mono', clockTimeUs: 4_980_845_000 },
    ]);
    expect(clock.method).toBe('mono-sampled');
    expect(clock.toWallUs(4_970_846_000)).toBe(1_795_471_175_119_088);
    expect(clock.toWallUs(4_980_846_000)).toBe(1_795_471_185_121_088);
  });

  it('prefers exact markers over plain ones (a session whose sampler started late)', () => {
    const clock = new TraceClock([
      m(1_000, 10_000_900), // plain: early by its latency
      { traceTimeUs: 2_000_100, wallTimeUs: 12_000_000, clock: 'mono', clockTimeUs: 2_000_000 },
    ]);
    expect(clock.method).toBe('mono-sampled');
    expect(clock.toWallUs(1_500)).toBe(10_001_500);
    expect(new TraceClock([m(1_000, 10_000_900)]).method).toBe('markers');
    expect(new TraceClock().method).toBeNull();
  });

  it('ignores non-finite markers', () => {
    const clock = new TraceClock([m(Number.NaN, 1)]);
    expect(clock.size).toBe(0);
  });
});
