import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HostObservations } from '../../electron/lab/lab-session';
import type { LabEvent } from '../../shared/src/events';
import type { Endpoint, SsSocket } from '../../shared/src/observations';
import { HostReconciler, impliedStates, mayBeOwnSocket, passesInOrder, reconcileHost } from '../../shared/src/reconcile';
import type { ConnectionHistory, HostSnapshot, HostTransition, ReconcileInput } from '../../shared/src/reconcile';
import { parseSs, parseSsEndpoint } from '../../shared/src/ss-parser';
import type { TcpState } from '../../shared/src/tcp-states';
import { parseTrace, TraceClock } from '../../shared/src/trace-parser';
import { reconcileHostReference } from './reconcile-reference';

const FIXTURES = new URL('../fixtures/', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, FIXTURES), 'utf8');

const H1 = '198.18.99.1';
const H2 = '198.18.99.2';
const PORT = 7799;

/** `@ <epoch s.ns>` followed by ss -tanoH output, repeated (see test/fixtures/README.md). */
function parsePollLog(text: string): HostSnapshot[] {
  const snapshots: HostSnapshot[] = [];
  let rows: string[] | null = null;
  let t = 0;
  const flush = () => {
    if (rows) snapshots.push({ hostTimeUs: t, sockets: parseSs(rows.join('\n')) });
  };
  for (const line of text.split('\n')) {
    const m = /^@ (\d+)\.(\d+)$/.exec(line);
    if (m) {
      flush();
      rows = [];
      t = Number(m[1]) * 1_000_000 + Number((m[2] ?? '').slice(0, 6));
    } else {
      rows?.push(line);
    }
  }
  flush();
  return snapshots;
}

interface Scenario {
  transitions: HostTransition[];
  h1: HostSnapshot[];
  h2: HostSnapshot[];
}

function loadScenario(name: string): Scenario {
  const { transitions, markers } = parseTrace(read(`trace/${name}.txt`));
  const clock = new TraceClock(markers);
  return {
    transitions: transitions.map((t) => ({ ...t, hostTimeUs: clock.toWallUs(t.traceTimeUs) ?? Number.NaN })),
    h1: parsePollLog(read(`ss/polls/${name}.h1.log`)),
    h2: parsePollLog(read(`ss/polls/${name}.h2.log`)),
  };
}

function host(s: Scenario, which: 'h1' | 'h2', traceAvailable = true, own?: string[]): ConnectionHistory[] {
  return reconcileHost({
    ownAddresses: own ?? [which === 'h1' ? H1 : H2],
    port: PORT,
    transitions: s.transitions,
    snapshots: s[which],
    traceAvailable,
  });
}

/** `STATE/seen` list of one connection. */
const states = (h: ConnectionHistory | undefined): string[] => (h ? h.states.map((s) => `${s.state}/${s.seen}`) : []);
const find = (hs: ConnectionHistory[], local: string, remote?: string) =>
  hs.find((h) => h.local === local && (remote === undefined || h.remote === remote));

function expectWellFormed(hs: ConnectionHistory[]): void {
  let previousFirst = -Infinity;
  for (const h of hs) {
    expect(h.states.length).toBeGreaterThan(0);
    const times = h.states.map((s) => s.hostTimeUs);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(h.states[0]?.hostTimeUs ?? 0).toBeGreaterThanOrEqual(previousFirst);
    previousFirst = h.states[0]?.hostTimeUs ?? 0;
    for (let i = 1; i < h.states.length; i++) expect(h.states[i]?.state).not.toBe(h.states[i - 1]?.state);
  }
}

describe('reconcileHost on real captures', () => {
  it('normal close, client: trace states, then TIME_WAIT from ss (the tracer shows FIN_WAIT2 -> CLOSE)', () => {
    const s = loadScenario('normal-close');
    const h1 = host(s, 'h1');
    expectWellFormed(h1);
    // Only H1's socket: the trace also has H2's child and H2's 0.0.0.0 listener, which H1's ss never listed.
    expect(h1.map((h) => `${h.local} ${h.remote}`)).toEqual(['198.18.99.1:33444 198.18.99.2:7799']);
    expect(states(h1[0])).toEqual([
      'SYN_SENT/trace',
      'ESTABLISHED/trace',
      'FIN_WAIT1/trace',
      'FIN_WAIT2/trace',
      'TIME_WAIT/poll',
    ]);
    const [synSent, established] = h1[0]?.states ?? [];
    expect(synSent?.hostTimeUs).toBeLessThan(established?.hostTimeUs ?? 0); // sport=0 event attached
  });

  it('normal close, server: listener and child, all from the trace', () => {
    const s = loadScenario('normal-close');
    const h2 = host(s, 'h2');
    expectWellFormed(h2);
    expect(states(find(h2, '0.0.0.0:7799', '0.0.0.0:*'))).toEqual(['LISTEN/trace', 'CLOSED/trace']);
    expect(states(find(h2, '198.18.99.2:7799', '198.18.99.1:33444'))).toEqual([
      'SYN_RECV/trace',
      'ESTABLISHED/trace',
      'CLOSE_WAIT/trace',
      'LAST_ACK/trace',
      'CLOSED/trace',
    ]);
    expect(h2).toHaveLength(2);
  });

  it('normal close without the tracer: polled states, the missed teardown inferred', () => {
    const s = loadScenario('normal-close');
    const h1 = host(s, 'h1', false);
    expectWellFormed(h1);
    expect(states(h1[0])).toEqual(['ESTABLISHED/poll', 'FIN_WAIT1/inferred', 'FIN_WAIT2/inferred', 'TIME_WAIT/poll']);
    const h2 = host(s, 'h2', false);
    // The server's teardown took 0.5 ms: ss saw ESTAB, then nothing. A disappearance infers nothing.
    expect(states(find(h2, '198.18.99.2:7799'))).toEqual(['ESTABLISHED/poll', 'CLOSED/poll']);
    expect(states(find(h2, '0.0.0.0:7799'))).toEqual(['LISTEN/poll', 'CLOSED/poll']);
  });

  it('orphaned FIN_WAIT2: the trace CLOSE is dropped, ss carries on to TIME_WAIT', () => {
    const s = loadScenario('orphan-fin-wait-2');
    const h1 = host(s, 'h1');
    expectWellFormed(h1);
    // The TIME-WAIT left by the previous scenario expires during this one: poll-only history.
    expect(states(find(h1, '198.18.99.1:33444'))).toEqual(['TIME_WAIT/poll', 'CLOSED/poll']);
    const client = find(h1, '198.18.99.1:60754');
    expect(states(client)).toEqual([
      'SYN_SENT/trace',
      'ESTABLISHED/trace',
      'FIN_WAIT1/trace',
      'FIN_WAIT2/trace',
      'TIME_WAIT/poll',
    ]);
    // FIN_WAIT2 lasted until the server closed, ~1.9 s later, though the tracer said CLOSE at once.
    const fw2 = client?.states[3]?.hostTimeUs ?? 0;
    const tw = client?.states[4]?.hostTimeUs ?? 0;
    expect(tw - fw2).toBeGreaterThan(1_500_000);

    const h2 = host(s, 'h2');
    expect(states(find(h2, '198.18.99.2:7799', '198.18.99.1:60754'))).toEqual([
      'SYN_RECV/trace',
      'ESTABLISHED/trace',
      'CLOSE_WAIT/trace',
      'LAST_ACK/trace',
      'CLOSED/trace',
    ]);
  });

  it('orphaned FIN_WAIT2 without the tracer: ss sees FIN-WAIT-2 itself', () => {
    const h1 = host(loadScenario('orphan-fin-wait-2'), 'h1', false);
    expect(states(find(h1, '198.18.99.1:60754'))).toEqual([
      'ESTABLISHED/poll',
      'FIN_WAIT1/inferred',
      'FIN_WAIT2/poll',
      'TIME_WAIT/poll',
    ]);
  });

  it('simultaneous close: CLOSING from the trace, TIME_WAIT from ss, on both hosts', () => {
    const s = loadScenario('closing');
    const h1 = host(s, 'h1');
    expectWellFormed(h1);
    expect(states(find(h1, '198.18.99.1:44078'))).toEqual([
      'SYN_SENT/trace',
      'ESTABLISHED/trace',
      'FIN_WAIT1/trace',
      'CLOSING/trace',
      'TIME_WAIT/poll',
    ]);
    expect(states(find(h2Of(s), '198.18.99.2:7799', '198.18.99.1:44078'))).toEqual([
      'SYN_RECV/trace',
      'ESTABLISHED/trace',
      'FIN_WAIT1/trace',
      'FIN_WAIT2/trace',
      'TIME_WAIT/poll',
    ]);
    expect(passesInOrder(h1[0]?.states.map((x) => x.state) ?? [], ['FIN_WAIT1', 'CLOSING', 'TIME_WAIT'])).toBe(true);
  });

  it('simultaneous close with the trace but no snapshots: TIME_WAIT inferred after CLOSING, no CLOSED', () => {
    const s = loadScenario('closing');
    const h1 = reconcileHost({ ownAddresses: [H1], port: PORT, transitions: s.transitions, snapshots: [], traceAvailable: true });
    expect(states(find(h1, '198.18.99.1:44078'))).toEqual([
      'SYN_SENT/trace',
      'ESTABLISHED/trace',
      'FIN_WAIT1/trace',
      'CLOSING/trace',
      'TIME_WAIT/inferred',
    ]);
    // With no snapshots at all, the 0.0.0.0 listener cannot be placed and is kept.
    expect(find(h1, '0.0.0.0:7799')).toBeDefined();
  });

  it('SYN_SENT timeout: the sport=0 event joins its connection; an older TIME-WAIT is poll-only', () => {
    const s = loadScenario('syn-sent-timeout');
    const h1 = host(s, 'h1');
    expectWellFormed(h1);
    expect(h1.map((h) => [h.local, states(h)])).toEqual([
      ['198.18.99.1:44078', ['TIME_WAIT/poll']],
      ['198.18.99.1:44090', ['SYN_SENT/trace', 'CLOSED/trace']],
    ]);
  });

  it('SYN-RECV: the half-open request socket is seen by ss only, 3 s before the trace', () => {
    const s = loadScenario('syn-recv');
    const child = find(host(s, 'h2'), '198.18.99.2:7799', '198.18.99.1:36242');
    expect(states(child)).toEqual(['SYN_RECV/poll', 'ESTABLISHED/trace', 'CLOSE_WAIT/trace', 'LAST_ACK/trace', 'CLOSED/trace']);
    const [synRecv, established] = child?.states ?? [];
    expect((established?.hostTimeUs ?? 0) - (synRecv?.hostTimeUs ?? 0)).toBeGreaterThan(2_500_000);
  });

  it('RST teardown (zero-window scenario): no TIME_WAIT, trace CLOSE kept', () => {
    const s = loadScenario('persist');
    expect(states(find(host(s, 'h1'), '198.18.99.1:45828'))).toEqual([
      'SYN_SENT/trace',
      'ESTABLISHED/trace',
      'FIN_WAIT1/trace',
      'CLOSED/trace',
    ]);
    expect(states(find(host(s, 'h2'), '198.18.99.2:7799', '198.18.99.1:45828'))).toEqual([
      'SYN_RECV/trace',
      'ESTABLISHED/trace',
      'CLOSED/trace',
    ]);
  });

  it('IPv6 loopback: both ends on one host', () => {
    const s = loadScenario('ipv6-loopback');
    const h1 = host(s, 'h1', true, ['198.18.99.1', '::1']);
    expectWellFormed(h1);
    expect(h1.map((h) => [h.local, h.remote, states(h)])).toEqual([
      ['[::1]:7799', '[::]:*', ['LISTEN/trace', 'CLOSED/trace']],
      ['[::1]:44256', '[::1]:7799', ['SYN_SENT/trace', 'ESTABLISHED/trace', 'FIN_WAIT1/trace', 'FIN_WAIT2/trace', 'TIME_WAIT/poll']],
      ['[::1]:7799', '[::1]:44256', ['SYN_RECV/trace', 'ESTABLISHED/trace', 'CLOSE_WAIT/trace', 'LAST_ACK/trace', 'CLOSED/trace']],
    ]);
    expect(host(s, 'h2')).toEqual([]);
  });

  it('every scenario, both hosts, with and without the tracer, gives well-formed histories', () => {
    for (const name of ['normal-close', 'orphan-fin-wait-2', 'closing', 'syn-sent-timeout', 'syn-recv', 'persist', 'keepalive-listeners', 'ipv6-loopback']) {
      const s = loadScenario(name);
      for (const which of ['h1', 'h2'] as const) {
        for (const trace of [true, false]) {
          const hs = host(s, which, trace);
          expectWellFormed(hs);
          const own = which === 'h1' ? H1 : H2;
          for (const h of hs) expect(h.local.startsWith(own) || h.local.startsWith('0.0.0.0') || h.local.startsWith('[::1]')).toBe(true);
        }
      }
    }
  });
});

function h2Of(s: Scenario): ConnectionHistory[] {
  return host(s, 'h2');
}

// ---------------------------------------------------------------------------------------------
// Synthetic inputs for the rules one at a time.

const ep = (address: string, port: number | null): Endpoint => ({ address, port });

function tr(t: number, local: Endpoint, remote: Endpoint, from: TcpState, to: TcpState): HostTransition {
  return { traceTimeUs: t, hostTimeUs: t, family: local.address.includes(':') ? 'inet6' : 'inet', local, remote, from, to };
}

function sock(state: TcpState | null, local: Endpoint, peer: Endpoint): SsSocket {
  return { state, ssState: state ?? 'UNKNOWN', recvQ: 0, sendQ: 0, local, peer };
}

const C = ep('10.0.0.1', 40000);
const C0 = ep('10.0.0.1', 0);
const S = ep('10.0.0.2', 80);

function run(partial: Partial<ReconcileInput>): ConnectionHistory[] {
  return reconcileHost({ ownAddresses: ['10.0.0.1'], port: 80, transitions: [], snapshots: [], traceAvailable: true, ...partial });
}

describe('reconcileHost rules', () => {
  it('dates a polled state when ss had finished (readUs), so it never precedes its cause; "after" is still judged by the start', () => {
    // The trace says FIN_WAIT2 -> CLOSE at 100 (the timewait socket); ss ran from 200 to 230
    // and listed TIME-WAIT: the FIN that caused it may have arrived while ss ran.
    const transitions = [tr(10, C, S, 'SYN_SENT', 'ESTABLISHED'), tr(20, C, S, 'ESTABLISHED', 'FIN_WAIT1'), tr(30, C, S, 'FIN_WAIT1', 'FIN_WAIT2'), tr(100, C, S, 'FIN_WAIT2', 'CLOSED')];
    const [history] = run({ transitions, snapshots: [{ hostTimeUs: 200, readUs: 230, sockets: [sock('TIME_WAIT', C, S)] }, { hostTimeUs: 400, readUs: 410, sockets: [] }] });
    expect(history?.states.slice(-2)).toEqual([
      { state: 'TIME_WAIT', hostTimeUs: 230, seen: 'poll' },
      { state: 'CLOSED', hostTimeUs: 410, seen: 'poll' },
    ]);
    // A snapshot that started before the trace's CLOSE does not count as after it, however late it ended.
    const early = run({ transitions, snapshots: [{ hostTimeUs: 90, readUs: 120, sockets: [sock('FIN_WAIT2', C, S)] }] });
    expect(early[0]?.states.at(-1)).toMatchObject({ state: 'CLOSED', seen: 'trace' });
    // Older logs without readUs: the start, as before.
    const old = run({ transitions, snapshots: [{ hostTimeUs: 200, sockets: [sock('TIME_WAIT', C, S)] }] });
    expect(old[0]?.states.at(-1)).toEqual({ state: 'TIME_WAIT', hostTimeUs: 200, seen: 'poll' });
  });

  it('keeps only own addresses; IPv4-mapped and bracketed forms count as own', () => {
    const hs = run({
      ownAddresses: ['[::ffff:10.0.0.1]'],
      transitions: [tr(1, C, S, 'SYN_SENT', 'ESTABLISHED'), tr(2, S, C, 'SYN_RECV', 'ESTABLISHED')],
    });
    expect(hs.map((h) => h.local)).toEqual(['10.0.0.1:40000']);
  });

  it('keeps an unspecified-address listener only if this host`s snapshots list it', () => {
    const listen = [tr(1, ep('0.0.0.0', 80), ep('0.0.0.0', 0), 'CLOSED', 'LISTEN')];
    const other = { hostTimeUs: 5, sockets: [sock('ESTABLISHED', C, S)] };
    expect(run({ transitions: listen, snapshots: [other] }).filter((h) => h.local.startsWith('0.0.0.0'))).toEqual([]);
    const mine = { hostTimeUs: 5, sockets: [sock('LISTEN', ep('0.0.0.0', 80), ep('0.0.0.0', null))] };
    const hs = run({ transitions: listen, snapshots: [mine] });
    expect(hs).toEqual([
      {
        local: '0.0.0.0:80',
        remote: '0.0.0.0:*',
        states: [{ state: 'LISTEN', hostTimeUs: 1, seen: 'trace' }],
      },
    ]);
    expect(run({ transitions: listen }).map((h) => h.remote)).toEqual(['0.0.0.0:*']);
  });

  it('a dual-stack listener: trace `::` and ss `*` are the same socket', () => {
    const hs = run({
      transitions: [tr(1, ep('::', 80), ep('::', 0), 'CLOSED', 'LISTEN')],
      snapshots: [{ hostTimeUs: 2, sockets: [sock('LISTEN', ep('*', 80), ep('*', null))] }],
    });
    expect(hs.map((h) => [h.local, h.remote, states(h)])).toEqual([['*:80', '*:*', ['LISTEN/trace']]]);
  });

  it('attaches CLOSE -> SYN_SENT (sport=0) to the next connection out of SYN_SENT, one each', () => {
    const S2 = ep('10.0.0.2', 80);
    const hs = run({
      transitions: [
        tr(1, C0, S, 'CLOSED', 'SYN_SENT'),
        tr(2, C0, S2, 'CLOSED', 'SYN_SENT'),
        tr(3, ep('10.0.0.1', 40001), S, 'SYN_SENT', 'ESTABLISHED'),
        tr(4, ep('10.0.0.1', 40002), S2, 'SYN_SENT', 'CLOSED'),
        tr(5, ep('10.0.0.1', 40001), S, 'ESTABLISHED', 'FIN_WAIT1'),
      ],
    });
    expect(hs.map((h) => [h.local, states(h)])).toEqual([
      ['10.0.0.1:40001', ['SYN_SENT/trace', 'ESTABLISHED/trace', 'FIN_WAIT1/trace']],
      ['10.0.0.1:40002', ['SYN_SENT/trace', 'CLOSED/trace']],
    ]);
  });

  it('falls back to a snapshot for the port of a SYN_SENT whose next event is missing', () => {
    const hs = run({
      transitions: [tr(1, C0, S, 'CLOSED', 'SYN_SENT')],
      snapshots: [{ hostTimeUs: 2, sockets: [sock('SYN_SENT', C, S)] }],
    });
    expect(hs.map((h) => [h.local, states(h)])).toEqual([['10.0.0.1:40000', ['SYN_SENT/trace']]]);
  });

  it('FIN_WAIT2 -> CLOSE confirmed by ss: FIN-WAIT-2, TIME-WAIT, then gone', () => {
    const hs = run({
      transitions: [
        tr(10, C, S, 'SYN_SENT', 'ESTABLISHED'),
        tr(20, C, S, 'ESTABLISHED', 'FIN_WAIT1'),
        tr(21, C, S, 'FIN_WAIT1', 'FIN_WAIT2'),
        tr(22, C, S, 'FIN_WAIT2', 'CLOSED'),
      ],
      snapshots: [
        { hostTimeUs: 15, sockets: [sock('ESTABLISHED', C, S)] },
        { hostTimeUs: 30, sockets: [sock('FIN_WAIT2', C, S)] },
        { hostTimeUs: 40, sockets: [sock('TIME_WAIT', C, S)] },
        { hostTimeUs: 50, sockets: [sock('TIME_WAIT', C, S)] },
        { hostTimeUs: 60, sockets: [] },
        { hostTimeUs: 70, sockets: [] },
      ],
    });
    expect(hs).toHaveLength(1);
    expect(hs[0]?.states).toEqual([
      { state: 'ESTABLISHED', hostTimeUs: 10, seen: 'trace' },
      { state: 'FIN_WAIT1', hostTimeUs: 20, seen: 'trace' },
      { state: 'FIN_WAIT2', hostTimeUs: 21, seen: 'trace' },
      { state: 'TIME_WAIT', hostTimeUs: 40, seen: 'poll' },
      { state: 'CLOSED', hostTimeUs: 60, seen: 'poll' },
    ]);
  });

  it('FIN_WAIT2 -> CLOSE that ss does not contradict stays CLOSED', () => {
    const transitions = [tr(20, C, S, 'FIN_WAIT1', 'FIN_WAIT2'), tr(22, C, S, 'FIN_WAIT2', 'CLOSED')];
    expect(states(run({ transitions })[0])).toEqual(['FIN_WAIT2/trace', 'CLOSED/trace']);
    const gone = [{ hostTimeUs: 30, sockets: [] }];
    expect(states(run({ transitions, snapshots: gone })[0])).toEqual(['FIN_WAIT2/trace', 'CLOSED/trace']);
    // A snapshot from before the CLOSE does not confirm anything.
    const before = [{ hostTimeUs: 21, sockets: [sock('FIN_WAIT2', C, S)] }];
    expect(states(run({ transitions, snapshots: before })[0])).toEqual(['FIN_WAIT2/trace', 'CLOSED/trace']);
  });

  it('FIN_WAIT1 -> CLOSE then ss TIME-WAIT: FIN_WAIT2 inferred between', () => {
    const hs = run({
      transitions: [tr(20, C, S, 'ESTABLISHED', 'FIN_WAIT1'), tr(22, C, S, 'FIN_WAIT1', 'CLOSED')],
      snapshots: [{ hostTimeUs: 30, sockets: [sock('TIME_WAIT', C, S)] }],
    });
    expect(states(hs[0])).toEqual(['FIN_WAIT1/trace', 'FIN_WAIT2/inferred', 'TIME_WAIT/poll']);
  });

  it('CLOSING -> CLOSE: TIME_WAIT from ss when listed, inferred otherwise (never CLOSED)', () => {
    const transitions = [tr(20, C, S, 'FIN_WAIT1', 'CLOSING'), tr(22, C, S, 'CLOSING', 'CLOSED')];
    expect(run({ transitions })[0]?.states).toEqual([
      { state: 'CLOSING', hostTimeUs: 20, seen: 'trace' },
      { state: 'TIME_WAIT', hostTimeUs: 22, seen: 'inferred' },
    ]);
    const listed = [{ hostTimeUs: 30, sockets: [sock('TIME_WAIT', C, S)] }];
    expect(states(run({ transitions, snapshots: listed })[0])).toEqual(['CLOSING/trace', 'TIME_WAIT/poll']);
  });

  it('a later trace event of the same tuple ends the ss continuation and starts a new history', () => {
    const hs = run({
      transitions: [
        tr(21, C, S, 'FIN_WAIT1', 'FIN_WAIT2'),
        tr(22, C, S, 'FIN_WAIT2', 'CLOSED'),
        tr(100, C0, S, 'CLOSED', 'SYN_SENT'),
        tr(101, C, S, 'SYN_SENT', 'ESTABLISHED'),
      ],
      snapshots: [
        { hostTimeUs: 30, sockets: [sock('TIME_WAIT', C, S)] },
        { hostTimeUs: 110, sockets: [sock('ESTABLISHED', C, S)] },
      ],
    });
    expect(hs.map(states)).toEqual([
      ['FIN_WAIT2/trace', 'TIME_WAIT/poll'],
      ['SYN_SENT/trace', 'ESTABLISHED/trace'],
    ]);
  });

  it('polling only: a state per change, implied states inferred, CLOSED on disappearance', () => {
    const snaps = (...list: Array<TcpState | null | undefined>): HostSnapshot[] =>
      list.map((state, i) => ({ hostTimeUs: (i + 1) * 100, sockets: state === undefined ? [] : [sock(state, C, S)] }));
    const poll = (...list: Array<TcpState | null | undefined>) => states(run({ traceAvailable: false, snapshots: snaps(...list) })[0]);
    expect(poll('ESTABLISHED', 'ESTABLISHED', 'TIME_WAIT', undefined)).toEqual([
      'ESTABLISHED/poll',
      'FIN_WAIT1/inferred',
      'FIN_WAIT2/inferred',
      'TIME_WAIT/poll',
      'CLOSED/poll',
    ]);
    expect(poll('ESTABLISHED', 'LAST_ACK')).toEqual(['ESTABLISHED/poll', 'CLOSE_WAIT/inferred', 'LAST_ACK/poll']);
    expect(poll('SYN_SENT', 'FIN_WAIT1')).toEqual(['SYN_SENT/poll', 'ESTABLISHED/inferred', 'FIN_WAIT1/poll']);
    expect(poll('ESTABLISHED', undefined)).toEqual(['ESTABLISHED/poll', 'CLOSED/poll']);
    expect(poll(undefined, 'ESTABLISHED', null, 'ESTABLISHED')).toEqual(['ESTABLISHED/poll']);
    const times = run({ traceAvailable: false, snapshots: snaps('ESTABLISHED', 'TIME_WAIT') })[0]?.states.map((s) => s.hostTimeUs);
    expect(times).toEqual([100, 200, 200, 200]);
  });

  it('ignores the trace when traceAvailable is false', () => {
    const hs = run({ traceAvailable: false, transitions: [tr(1, C, S, 'SYN_SENT', 'ESTABLISHED')] });
    expect(hs).toEqual([]);
  });

  it('a tuple that reappears after it closed is a new history', () => {
    const hs = run({
      traceAvailable: false,
      snapshots: [
        { hostTimeUs: 1, sockets: [sock('ESTABLISHED', C, S)] },
        { hostTimeUs: 2, sockets: [] },
        { hostTimeUs: 3, sockets: [sock('ESTABLISHED', C, S)] },
      ],
    });
    expect(hs.map(states)).toEqual([['ESTABLISHED/poll', 'CLOSED/poll'], ['ESTABLISHED/poll']]);
  });

  it('tracing that began mid-connection: ss states before the first event come first', () => {
    const hs = run({
      transitions: [tr(50, C, S, 'ESTABLISHED', 'FIN_WAIT1'), tr(51, C, S, 'FIN_WAIT1', 'FIN_WAIT2')],
      snapshots: [
        { hostTimeUs: 10, sockets: [sock('ESTABLISHED', C, S)] },
        // stamped before the event, but listing a later state (stamp taken before ss ran): cut
        { hostTimeUs: 49, sockets: [sock('FIN_WAIT2', C, S)] },
      ],
    });
    expect(states(hs[0])).toEqual(['ESTABLISHED/poll', 'FIN_WAIT1/trace', 'FIN_WAIT2/trace']);
  });

  it('only sockets of the experiment port count', () => {
    const hs = run({
      transitions: [tr(1, ep('10.0.0.1', 5000), ep('10.0.0.2', 6000), 'SYN_SENT', 'ESTABLISHED')],
      snapshots: [{ hostTimeUs: 2, sockets: [sock('ESTABLISHED', ep('10.0.0.1', 22), ep('10.0.0.9', 50000))] }],
    });
    expect(hs).toEqual([]);
  });

  it('orders histories by their first state', () => {
    const D = ep('10.0.0.1', 40001);
    const hs = run({
      transitions: [tr(5, D, S, 'SYN_SENT', 'ESTABLISHED'), tr(9, C, S, 'ESTABLISHED', 'FIN_WAIT1')],
      snapshots: [{ hostTimeUs: 1, sockets: [sock('ESTABLISHED', C, S)] }],
    });
    expect(hs.map((h) => h.local)).toEqual(['10.0.0.1:40000', '10.0.0.1:40001']);
  });

  it('survives junk in its input', () => {
    const junk = {
      ownAddresses: ['10.0.0.1'],
      port: 80,
      traceAvailable: true,
      transitions: [
        tr(Number.NaN, C, S, 'SYN_SENT', 'ESTABLISHED'),
        { ...tr(1, C, S, 'SYN_SENT', 'ESTABLISHED'), from: 'BOGUS' },
        { ...tr(1, C, S, 'SYN_SENT', 'ESTABLISHED'), local: null },
        tr(2, C, S, 'ESTABLISHED', 'ESTABLISHED'),
      ],
      snapshots: [{ hostTimeUs: Number.POSITIVE_INFINITY, sockets: [] }, { hostTimeUs: 3, sockets: [null] }],
    } as unknown as ReconcileInput;
    expect(reconcileHost(junk)).toEqual([]);
  });
});

describe('passesInOrder and impliedStates', () => {
  it('passesInOrder is a subsequence check', () => {
    const seq: TcpState[] = ['SYN_SENT', 'ESTABLISHED', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT'];
    expect(passesInOrder(seq, ['ESTABLISHED', 'TIME_WAIT'])).toBe(true);
    expect(passesInOrder(seq, [])).toBe(true);
    expect(passesInOrder(seq, seq)).toBe(true);
    expect(passesInOrder(seq, ['TIME_WAIT', 'ESTABLISHED'])).toBe(false);
    expect(passesInOrder(seq, ['CLOSING'])).toBe(false);
    expect(passesInOrder([], ['CLOSED'])).toBe(false);
    expect(passesInOrder(['FIN_WAIT1', 'FIN_WAIT1'], ['FIN_WAIT1', 'FIN_WAIT1'])).toBe(true);
  });

  it('impliedStates follows the shortest path of the diagram', () => {
    expect(impliedStates('ESTABLISHED', 'TIME_WAIT')).toEqual(['FIN_WAIT1', 'FIN_WAIT2']);
    expect(impliedStates('ESTABLISHED', 'LAST_ACK')).toEqual(['CLOSE_WAIT']);
    expect(impliedStates('FIN_WAIT1', 'TIME_WAIT')).toEqual(['FIN_WAIT2']);
    expect(impliedStates('SYN_SENT', 'FIN_WAIT1')).toEqual(['ESTABLISHED']);
    expect(impliedStates('SYN_RECV', 'CLOSE_WAIT')).toEqual(['ESTABLISHED']);
    expect(impliedStates('CLOSED', 'ESTABLISHED')).toEqual(['SYN_SENT']);
    expect(impliedStates('ESTABLISHED', 'FIN_WAIT1')).toEqual([]);
    expect(impliedStates('ESTABLISHED', 'CLOSED')).toEqual([]);
    expect(impliedStates('TIME_WAIT', 'ESTABLISHED')).toEqual([]);
    expect(impliedStates('LAST_ACK', 'LAST_ACK')).toEqual([]);
  });
});

describe('a SYN_SENT that never leaves that state', () => {
  it('takes its port from a socket in SYN_SENT, not from an older connection to the same peer', () => {
    const ep = (address: string, port: number | null) => ({ address, port });
    const input = {
      ownAddresses: ['198.18.77.1'],
      port: 7777,
      traceAvailable: true,
      transitions: [{ kind: 'transition' as const, traceTimeUs: 1, hostTimeUs: 1_000, family: 'inet' as const, local: ep('198.18.77.1', 0), remote: ep('198.18.77.2', 7777), from: 'CLOSED' as const, to: 'SYN_SENT' as const }],
      snapshots: [
        {
          hostTimeUs: 2_000,
          sockets: [
            { state: 'TIME_WAIT' as const, ssState: 'TIME-WAIT', recvQ: 0, sendQ: 0, local: ep('198.18.77.1', 40000), peer: ep('198.18.77.2', 7777) },
            { state: 'SYN_SENT' as const, ssState: 'SYN-SENT', recvQ: 0, sendQ: 1, local: ep('198.18.77.1', 40001), peer: ep('198.18.77.2', 7777) },
          ],
        },
      ],
    };
    const histories = reconcileHost(input);
    const synSent = histories.find((h) => h.states.some((s) => s.state === 'SYN_SENT' && s.seen === 'trace'));
    expect(synSent?.local).toBe('198.18.77.1:40001');
  });
});

describe('mayBeOwnSocket: which traced sockets a host asks a snapshot for', () => {
  it("its own addresses (in any spelling) and unspecified ones; not the other host's", () => {
    expect(mayBeOwnSocket({ address: H1, port: 40000 }, [H1])).toBe(true);
    expect(mayBeOwnSocket({ address: '::ffff:198.18.99.1', port: 40000 }, [H1])).toBe(true);
    expect(mayBeOwnSocket({ address: '0.0.0.0', port: PORT }, [H1])).toBe(true);
    expect(mayBeOwnSocket({ address: '::', port: PORT }, [H1])).toBe(true);
    expect(mayBeOwnSocket({ address: H2, port: PORT }, [H1])).toBe(false);
  });
});

/** An endpoint as the session log writes it (`address:port`). */
function parseEndpoint(text: string): Endpoint {
  const endpoint = parseSsEndpoint(text);
  if (!endpoint) throw new Error(`not an endpoint: ${text}`);
  return endpoint;
}

describe('reconcileHost gives what the reference build gives (test/unit/reconcile-reference.ts)', () => {
  const STATES: TcpState[] = ['CLOSED', 'LISTEN', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT1', 'FIN_WAIT2', 'CLOSING', 'TIME_WAIT', 'CLOSE_WAIT', 'LAST_ACK'];
  /** The teardown states and their neighbours, so that closes into TIME_WAIT and timewait sockets come up often. */
  const TEARDOWN: TcpState[] = ['CLOSED', 'SYN_SENT', 'ESTABLISHED', 'FIN_WAIT1', 'FIN_WAIT2', 'CLOSING', 'TIME_WAIT'];
  const SS_NAMES: Partial<Record<TcpState, string>> = { LISTEN: 'LISTEN', SYN_SENT: 'SYN-SENT', SYN_RECV: 'SYN-RECV', ESTABLISHED: 'ESTAB', FIN_WAIT1: 'FIN-WAIT-1', FIN_WAIT2: 'FIN-WAIT-2', CLOSING: 'CLOSING', TIME_WAIT: 'TIME-WAIT', CLOSE_WAIT: 'CLOSE-WAIT', LAST_ACK: 'LAST-ACK' };
  // A client port not yet assigned (0), a listener, a server side, and another host's socket.
  const TUPLES: Array<[Endpoint, Endpoint]> = [
    [{ address: H1, port: 40000 }, { address: H2, port: PORT }],
    [{ address: H1, port: 40001 }, { address: H2, port: PORT }],
    [{ address: H1, port: 0 }, { address: H2, port: PORT }],
    [{ address: '0.0.0.0', port: PORT }, { address: '0.0.0.0', port: 0 }],
    [{ address: H1, port: PORT }, { address: H2, port: 40002 }],
    [{ address: H2, port: PORT }, { address: H1, port: 40002 }],
  ];
  const observations = (states: TcpState[]) =>
    fc.record({
      transitions: fc.array(fc.record({ ms: fc.integer({ min: 0, max: 60 }), tuple: fc.nat(TUPLES.length - 1), from: fc.constantFrom(...states), to: fc.constantFrom(...states) }), { maxLength: 25 }),
      snapshots: fc.array(
        fc.record({ ms: fc.integer({ min: 0, max: 60 }), readMs: fc.integer({ min: 0, max: 2 }), sockets: fc.array(fc.record({ tuple: fc.nat(TUPLES.length - 1), state: fc.option(fc.constantFrom(...states.filter((s) => s !== 'CLOSED'))) }), { maxLength: 4 }) }),
        { maxLength: 25 },
      ),
      traceAvailable: fc.boolean(),
    });
  const input = (o: { transitions: Array<{ ms: number; tuple: number; from: TcpState; to: TcpState }>; snapshots: Array<{ ms: number; readMs: number; sockets: Array<{ tuple: number; state: TcpState | null }> }>; traceAvailable: boolean }): ReconcileInput => ({
    ownAddresses: [H1],
    port: PORT,
    traceAvailable: o.traceAvailable,
    transitions: o.transitions.map((t) => ({ hostTimeUs: t.ms * 1000, traceTimeUs: t.ms * 1000, family: 'inet', from: t.from, to: t.to, local: TUPLES[t.tuple]![0], remote: TUPLES[t.tuple]![1] })),
    snapshots: o.snapshots.map((s) => ({
      hostTimeUs: s.ms * 1000,
      readUs: s.ms * 1000 + s.readMs * 400,
      sockets: s.sockets.map((socket): SsSocket => ({ state: socket.state, ssState: socket.state ? SS_NAMES[socket.state]! : 'UNCONN', recvQ: 0, sendQ: 0, local: TUPLES[socket.tuple]![0], peer: TUPLES[socket.tuple]![1] })),
    })),
  });

  it('on random observations of a few tuples, in any order and any states', () => {
    for (const states of [STATES, TEARDOWN]) {
      fc.assert(
        fc.property(observations(states), (o) => {
          expect(reconcileHost(input(o))).toEqual(reconcileHostReference(input(o)));
        }),
        { numRuns: 3000 },
      );
    }
  });

  it('kept up to date one observation at a time (HostReconciler), on random sequences of observations', () => {
    type Op =
      | { kind: 'trace'; ms: number; tuple: number; from: TcpState; to: TcpState }
      | { kind: 'snapshot'; ms: number; readMs: number; sockets: Array<{ tuple: number; state: TcpState | null }> }
      | { kind: 'replace-last'; laterMs: number; sameSockets: boolean; sockets: Array<{ tuple: number; state: TcpState | null }> }
      | { kind: 'own'; addresses: number }
      | { kind: 'unusable-snapshot'; replacesLast: boolean };
    const sockets = (states: TcpState[]) => fc.array(fc.record({ tuple: fc.nat(TUPLES.length - 1), state: fc.option(fc.constantFrom(...states.filter((s) => s !== 'CLOSED'))) }), { maxLength: 4 });
    const op = (states: TcpState[]): fc.Arbitrary<Op> =>
      fc.oneof(
        { weight: 4, arbitrary: fc.record({ kind: fc.constant('trace' as const), ms: fc.integer({ min: -5, max: 15 }), tuple: fc.nat(TUPLES.length - 1), from: fc.constantFrom(...states), to: fc.constantFrom(...states) }) },
        { weight: 4, arbitrary: fc.record({ kind: fc.constant('snapshot' as const), ms: fc.integer({ min: -3, max: 15 }), readMs: fc.integer({ min: 0, max: 2 }), sockets: sockets(states) }) },
        { weight: 2, arbitrary: fc.record({ kind: fc.constant('replace-last' as const), laterMs: fc.integer({ min: 0, max: 10 }), sameSockets: fc.boolean(), sockets: sockets(states) }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('own' as const), addresses: fc.nat(2) }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('unusable-snapshot' as const), replacesLast: fc.boolean() }) },
        // A client's connect(): CLOSE -> SYN_SENT before its port is known, and the event out of SYN_SENT that tells it.
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('trace' as const), ms: fc.integer({ min: -5, max: 15 }), tuple: fc.constant(2), from: fc.constant<TcpState>('CLOSED'), to: fc.constant<TcpState>('SYN_SENT') }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('trace' as const), ms: fc.integer({ min: -5, max: 15 }), tuple: fc.nat(1), from: fc.constant<TcpState>('SYN_SENT'), to: fc.constantFrom<TcpState>('ESTABLISHED', 'CLOSED') }) },
      );
    const socket = (s: { tuple: number; state: TcpState | null }): SsSocket => ({ state: s.state, ssState: s.state ? SS_NAMES[s.state]! : 'UNCONN', recvQ: 0, sendQ: 0, local: TUPLES[s.tuple]![0], peer: TUPLES[s.tuple]![1] });
    const OWN = [[H1], [H1, H2], []];
    for (const states of [STATES, TEARDOWN]) {
      fc.assert(
        fc.property(fc.array(op(states), { maxLength: 40 }), fc.boolean(), (ops, traceAvailable) => {
          const reconciler = new HostReconciler();
          const transitions: HostTransition[] = [];
          const snapshots: HostSnapshot[] = [];
          let own = [H1];
          let clockMs = 0;
          for (const o of ops) {
            if (o.kind === 'trace') transitions.push({ hostTimeUs: (clockMs + o.ms) * 1000, traceTimeUs: 0, family: 'inet', from: o.from, to: o.to, local: TUPLES[o.tuple]![0], remote: TUPLES[o.tuple]![1] });
            else if (o.kind === 'snapshot') {
              clockMs += o.ms;
              snapshots.push({ hostTimeUs: clockMs * 1000, readUs: (clockMs + o.readMs) * 1000, sockets: o.sockets.map(socket) });
            } else if (o.kind === 'replace-last' && snapshots.length > 0) {
              const last = snapshots[snapshots.length - 1]!;
              if (Number.isFinite(last.hostTimeUs)) clockMs = last.hostTimeUs / 1000;
              clockMs += o.laterMs;
              snapshots[snapshots.length - 1] = { hostTimeUs: clockMs * 1000, readUs: clockMs * 1000, sockets: o.sameSockets ? [...last.sockets] : o.sockets.map(socket) };
            } else if (o.kind === 'own') own = OWN[o.addresses]!;
            else if (o.kind === 'unusable-snapshot') {
              // As a malformed one would look (no time): reconciling passes over it.
              const unusable = { hostTimeUs: Number.NaN, sockets: [] };
              if (o.replacesLast && snapshots.length > 0) snapshots[snapshots.length - 1] = unusable;
              else snapshots.push(unusable);
            }
            const now: ReconcileInput = { ownAddresses: own, port: PORT, transitions, snapshots, traceAvailable };
            expect(reconciler.reconcile(now)).toEqual(reconcileHostReference(now));
          }
        }),
        { numRuns: 1500 },
      );
    }
  });

  it('on recorded sessions, after every observation as a host keeps them (HostObservations)', () => {
    const dir = new URL('sessions/', FIXTURES);
    let compared = 0;
    for (const name of readdirSync(dir)) {
      const events = readFileSync(new URL(`${name}/session.jsonl`, dir), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as LabEvent);
      const start = events.find((e) => e.type === 'session-start');
      if (start?.type !== 'session-start' || start.port === undefined) throw new Error(`${name}: no session-start with a port`);
      for (const host of start.hosts) {
        const kept = new HostObservations(start.port);
        kept.traceAvailable = true;
        kept.ownAddresses = [host.experimentAddress ?? host.address];
        for (const e of events) {
          if (e.type === 'trace' && e.host === host.label) kept.transitions.push({ hostTimeUs: e.hostTimeUs, traceTimeUs: e.hostTimeUs, family: 'inet', from: e.from, to: e.to, local: parseEndpoint(e.local), remote: parseEndpoint(e.remote) });
          else if (e.type === 'snapshot' && e.host === host.label) kept.addSnapshot({ hostTimeUs: e.hostTimeUs, readUs: e.readUs ?? e.hostTimeUs, sockets: e.sockets });
          else continue;
          for (const traceAvailable of [true, false]) {
            const now: ReconcileInput = { ownAddresses: kept.ownAddresses, port: start.port, transitions: kept.transitions, snapshots: kept.snapshots, traceAvailable };
            expect(reconcileHost(now)).toEqual(reconcileHostReference(now));
            compared++;
          }
        }
      }
    }
    expect(compared).toBeGreaterThan(1000);
  });
});
