import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { SsSocket } from '../../shared/src/observations';
import {
  canonicalAddress,
  isUnspecifiedAddress,
  normalizeSsStateName,
  parseSs,
  parseSsDetailed,
  parseSsDuration,
  parseSsEndpoint,
  parseSsLine,
  parseSsTimer,
} from '../../shared/src/ss-parser';

const SS = new URL('../fixtures/ss/', import.meta.url);
const read = (name: string): string => readFileSync(new URL(name, SS), 'utf8');

/** Real captures: the whole file parses with nothing skipped. */
function parseClean(name: string, filterState?: string): SsSocket[] {
  const result = parseSsDetailed(read(name), filterState === undefined ? undefined : { filterState });
  expect(result.skipped, name).toEqual([]);
  return result.sockets;
}

describe('parseSs on real ss -tanoH output (iproute2 6.1, kernel 6.18)', () => {
  it('parses a listener, with and without the header line', () => {
    const expected: SsSocket[] = [
      {
        state: 'LISTEN',
        ssState: 'LISTEN',
        recvQ: 0,
        sendQ: 1,
        local: { address: '0.0.0.0', port: 7799 },
        peer: { address: '0.0.0.0', port: null },
      },
    ];
    expect(parseClean('listen.txt')).toEqual(expected);
    // `ss -tano` prints `State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess`
    expect(read('listen-header.txt')).toContain('Peer Address:PortProcess');
    expect(parseClean('listen-header.txt')).toEqual(expected);
  });

  it('parses ESTAB rows and ignores the Process column of ss -p', () => {
    expect(parseClean('estab-client.txt')).toEqual([
      {
        state: 'ESTABLISHED',
        ssState: 'ESTAB',
        recvQ: 0,
        sendQ: 0,
        local: { address: '198.18.99.1', port: 33444 },
        peer: { address: '198.18.99.2', port: 7799 },
      },
    ]);
    const withProcess = parseClean('estab-server-process.txt');
    expect(read('estab-server-process.txt')).toContain('users:(("nc",pid=');
    expect(withProcess.map((s) => s.state)).toEqual(['LISTEN', 'ESTABLISHED']);
    expect(withProcess[1]?.peer).toEqual({ address: '198.18.99.1', port: 33444 });
    expect(withProcess[1]?.timer).toBeUndefined();
    expect(parseClean('estab-server-process-header.txt')).toEqual(withProcess);
  });

  it('parses TIME-WAIT with its timewait timer', () => {
    expect(parseClean('time-wait.txt')).toEqual([
      {
        state: 'TIME_WAIT',
        ssState: 'TIME-WAIT',
        recvQ: 0,
        sendQ: 0,
        local: { address: '198.18.99.1', port: 33444 },
        peer: { address: '198.18.99.2', port: 7799 },
        timer: { name: 'timewait', expiresMs: 59_000, retransmits: 0 },
      },
    ]);
  });

  it('shows an orphaned FIN_WAIT2 as FIN-WAIT-2 with a timewait timer, later TIME-WAIT', () => {
    const [orphan] = parseClean('orphan-fin-wait-2.txt');
    expect(orphan?.state).toBe('FIN_WAIT2');
    expect(orphan?.ssState).toBe('FIN-WAIT-2');
    expect(orphan?.timer).toEqual({ name: 'timewait', expiresMs: 59_000, retransmits: 0 });
    const [later] = parseClean('orphan-then-time-wait.txt');
    expect(later?.state).toBe('TIME_WAIT');
    expect(later?.local).toEqual(orphan?.local);
  });

  it('parses CLOSE-WAIT with a byte in Recv-Q (the FIN) next to the listener', () => {
    const sockets = parseClean('close-wait.txt');
    expect(sockets.map((s) => [s.ssState, s.recvQ, s.sendQ])).toEqual([
      ['LISTEN', 0, 128],
      ['CLOSE-WAIT', 1, 0],
    ]);
  });

  it('parses CLOSING (simultaneous close) and its peer retransmitting FIN in FIN-WAIT-1', () => {
    expect(parseClean('closing.txt')).toEqual([
      {
        state: 'CLOSING',
        ssState: 'CLOSING',
        recvQ: 1,
        sendQ: 1,
        local: { address: '198.18.99.1', port: 44078 },
        peer: { address: '198.18.99.2', port: 7799 },
        timer: { name: 'persist', expiresMs: 64, retransmits: 0 },
      },
    ]);
    const [fw1] = parseClean('fin-wait-1-retrans.txt');
    expect(fw1?.state).toBe('FIN_WAIT1');
    expect(fw1?.timer).toEqual({ name: 'on', expiresMs: 28, retransmits: 0 });
    expect(parseClean('closing-then-time-wait.txt')[0]?.timer?.expiresMs).toBe(58_000);
  });

  it('parses SYN-SENT and SYN-RECV with retransmission timers, including ss`s 1.500ms (= 1.5 s)', () => {
    const synSent = parseClean('syn-sent.txt');
    expect(synSent.map((s) => s.state)).toEqual(['TIME_WAIT', 'SYN_SENT']);
    expect(synSent[1]?.timer).toEqual({ name: 'on', expiresMs: 536, retransmits: 1 });
    expect(synSent[1]?.sendQ).toBe(1);

    const synRecv = parseClean('syn-recv.txt');
    expect(synRecv.map((s) => s.state)).toEqual(['LISTEN', 'TIME_WAIT', 'SYN_RECV']);
    expect(read('syn-recv.txt')).toContain('timer:(on,1.500ms,1)');
    expect(synRecv[2]?.timer).toEqual({ name: 'on', expiresMs: 1500, retransmits: 1 });
  });

  it('parses the persist timer and large queues of a zero window', () => {
    const [sender] = parseClean('persist.txt');
    expect(sender?.sendQ).toBe(813_568);
    expect(sender?.timer).toEqual({ name: 'persist', expiresMs: 920, retransmits: 0 });
    const receiver = parseClean('recv-q-full.txt');
    expect(receiver[1]?.recvQ).toBe(1_136_128);
  });

  it('parses keepalive timers and every listener address shape', () => {
    const sockets = parseClean('keepalive-and-listeners.txt');
    const rows = sockets.map((s) => [s.ssState, s.local, s.peer]);
    expect(rows).toEqual([
      ['LISTEN', { address: '127.0.0.1', port: 7802, zone: 'lo' }, { address: '0.0.0.0', port: null }],
      ['ESTAB', { address: '198.18.99.1', port: 35090 }, { address: '198.18.99.2', port: 7799 }],
      ['ESTAB', { address: '127.0.0.1', port: 44652 }, { address: '127.0.0.1', port: 7800 }],
      ['LISTEN', { address: '::1', port: 7803 }, { address: '::', port: null }],
      ['LISTEN', { address: '*', port: 7800 }, { address: '*', port: null }],
      ['LISTEN', { address: '::', port: 7801 }, { address: '::', port: null }],
      ['ESTAB', { address: '::ffff:127.0.0.1', port: 7800 }, { address: '::ffff:127.0.0.1', port: 44652 }],
    ]);
    expect(sockets[1]?.timer).toEqual({ name: 'keepalive', expiresMs: 73_000, retransmits: 0 });
    expect(parseClean('keepalive-and-listeners-header.txt')).toEqual(sockets);
    expect(parseClean('keepalive-and-listeners-process.txt')).toEqual(sockets);
  });

  it('parses IPv6 loopback rows', () => {
    const estab = parseClean('ipv6-estab.txt');
    expect(estab.map((s) => [s.state, s.local.address, s.local.port, s.peer.port])).toEqual([
      ['LISTEN', '::1', 7799, null],
      ['ESTABLISHED', '::1', 7799, 44256],
      ['ESTABLISHED', '::1', 44256, 7799],
    ]);
    expect(parseClean('ipv6-time-wait.txt')[0]?.state).toBe('TIME_WAIT');
  });

  it('every row of every polled snapshot parses', () => {
    const polls = new URL('polls/', SS);
    const files = readdirSync(polls);
    expect(files.length).toBeGreaterThanOrEqual(16);
    let rows = 0;
    for (const file of files) {
      const text = readFileSync(new URL(file, polls), 'utf8')
        .split('\n')
        .filter((l) => !l.startsWith('@ '))
        .join('\n');
      const result = parseSsDetailed(text);
      expect(result.skipped, file).toEqual([]);
      rows += result.sockets.length;
    }
    expect(rows).toBeGreaterThan(300);
  });
});

describe('a one-state filter drops the State column (real: ss -tanoH state time-wait)', () => {
  it('uses filterState for rows without a State column', () => {
    const sockets = parseClean('state-filter-time-wait.txt', 'time-wait');
    expect(sockets).toEqual(parseClean('time-wait.txt'));
    expect(parseClean('state-filter-time-wait-header.txt', 'time-wait')).toEqual(sockets);
    expect(parseClean('state-filter-fin-wait-2.txt', 'fin-wait-2')).toEqual(parseClean('orphan-fin-wait-2.txt'));
  });

  it('accepts filter names, ss words and article names alike', () => {
    for (const name of ['time-wait', 'TIME-WAIT', 'TIME_WAIT', ' time_wait ']) {
      expect(parseSs(read('state-filter-time-wait.txt'), { filterState: name })[0]?.state).toBe('TIME_WAIT');
    }
    const listening = parseClean('state-filter-listening.txt', 'listening');
    expect(listening).toHaveLength(4);
    expect(listening.every((s) => s.state === 'LISTEN' && s.ssState === 'LISTEN')).toBe(true);
    const established = parseSsDetailed(read('hand-written/state-filter-established.txt'), { filterState: 'established' });
    expect(established.skipped).toEqual([]);
    expect(established.sockets.map((s) => [s.state, s.ssState])).toEqual([
      ['ESTABLISHED', 'ESTAB'],
      ['ESTABLISHED', 'ESTAB'],
    ]);
  });

  it('skips (reports) rows without a State column when no filterState is given', () => {
    const result = parseSsDetailed(read('state-filter-time-wait.txt'));
    expect(result.sockets).toEqual([]);
    expect(result.skipped).toHaveLength(1);
  });

  it('keeps the column when two states are selected, even if a filterState is passed', () => {
    const sockets = parseClean('state-filter-two-states.txt', 'close-wait');
    expect(sockets.map((s) => s.state)).toEqual(['LISTEN', 'CLOSE_WAIT']);
  });
});

describe('hand-written formats', () => {
  it('IPv6 zones, %lo, VRF devices and IPv4-mapped addresses', () => {
    const sockets = parseSs(read('hand-written/zones-and-mapped.txt'));
    expect(sockets.map((s) => s.local)).toEqual([
      { address: '127.0.0.53', port: 53, zone: 'lo' },
      { address: 'fe80::1', port: 22, zone: 'eth0' },
      { address: 'fe80::1', port: 22, zone: 'eth0' },
      { address: '::ffff:198.18.77.2', port: 7777 },
      { address: '0.0.0.0', port: 7777, zone: 'vrf-blue' },
    ]);
    expect(sockets[2]?.peer).toEqual({ address: 'fe80::2', port: 51234, zone: 'eth0' });
    expect(sockets[2]?.timer).toEqual({ name: 'keepalive', expiresMs: 119 * 60_000, retransmits: 0 });
  });

  it('timers: delack, combos, decimals, empty expiry, unknown names', () => {
    const timers = parseSs(read('hand-written/timers.txt')).map((s) => s.timer);
    expect(timers).toEqual([
      { name: 'delack', expiresMs: 40, retransmits: 0 },
      { name: 'keepalive', expiresMs: 62_000, retransmits: 0 },
      { name: 'persist', expiresMs: 1500, retransmits: 0 },
      { name: 'timewait', expiresMs: 8990, retransmits: 0 },
      { name: 'on', expiresMs: 0, retransmits: 3 },
      { name: 'unknown', expiresMs: 120_000, retransmits: 0 },
      { name: 'unknown', expiresMs: 10, retransmits: 0 },
    ]);
  });

  it('Netid column, odd states, -e fields, and bad rows skipped', () => {
    const { sockets, skipped } = parseSsDetailed(read('hand-written/odd-states-and-columns.txt'));
    expect(sockets.map((s) => [s.ssState, s.state])).toEqual([
      ['ESTAB', 'ESTABLISHED'],
      ['UNCONN', 'CLOSED'],
      ['UNKNOWN', null],
      ['BOUND-INACTIVE', null],
      ['LAST-ACK', 'LAST_ACK'],
      ['CLOSE-WAIT', 'CLOSE_WAIT'],
      ['SYN-RECV', 'SYN_RECV'],
    ]);
    expect(sockets[0]?.timer).toEqual({ name: 'on', expiresMs: 200, retransmits: 0 });
    expect(skipped).toEqual([
      'this is not a socket row',
      'ESTAB      x      0      198.18.77.1:43395 198.18.77.2:7777',
      'ESTAB      0      0      198.18.77.1:notaport 198.18.77.2:7777',
    ]);
  });

  it('old ss printing IPv6 without brackets', () => {
    const sockets = parseSs(read('hand-written/old-iproute2-ipv6.txt'));
    expect(sockets.map((s) => [s.local, s.peer])).toEqual([
      [{ address: '::', port: 22 }, { address: '::', port: null }],
      [{ address: '*', port: 7777 }, { address: '*', port: null }],
      [{ address: '::1', port: 7777 }, { address: '::1', port: 51234 }],
      [{ address: '::ffff:198.18.77.2', port: 7777 }, { address: '::ffff:198.18.77.1', port: 40000 }],
    ]);
  });
});

describe('pieces', () => {
  it('parseSsDuration', () => {
    const cases: Array<[string, number | null]> = [
      ['59sec', 59_000],
      ['1min', 60_000],
      ['1min2sec', 62_000],
      ['12min', 720_000],
      ['200ms', 200],
      ['050ms', 50],
      ['1.500ms', 1500],
      ['1min1.500ms', 61_500],
      ['1.5sec', 1500],
      ['8.990sec', 8990],
      ['', 0],
      ['-', 0],
      ['-5ms', 0],
      ['2h', 7_200_000],
      ['250', 250],
      ['soon', null],
      ['5parsecs', null],
      ['1min-2sec', null],
    ];
    for (const [text, ms] of cases) expect(parseSsDuration(text), text).toBe(ms);
  });

  it('parseSsTimer', () => {
    expect(parseSsTimer('timer:(timewait,59sec,0)')).toEqual({ name: 'timewait', expiresMs: 59_000, retransmits: 0 });
    expect(parseSsTimer('on,200ms')).toEqual({ name: 'on', expiresMs: 200, retransmits: 0 });
    expect(parseSsTimer('on,200ms,x')).toBeNull();
    expect(parseSsTimer('on')).toBeNull();
    expect(parseSsTimer('on,1,2,3')).toBeNull();
  });

  it('a malformed timer does not lose the row', () => {
    const s = parseSsLine('ESTAB 0 0 1.2.3.4:5 6.7.8.9:10 timer:(on,soon,0)');
    expect(s?.state).toBe('ESTABLISHED');
    expect(s?.timer).toBeUndefined();
  });

  it('parseSsEndpoint', () => {
    expect(parseSsEndpoint('*:*')).toEqual({ address: '*', port: null });
    expect(parseSsEndpoint('0.0.0.0:*')).toEqual({ address: '0.0.0.0', port: null });
    expect(parseSsEndpoint('[::1]:22')).toEqual({ address: '::1', port: 22 });
    expect(parseSsEndpoint('[::ffff:1.2.3.4]:80')).toEqual({ address: '::ffff:1.2.3.4', port: 80 });
    expect(parseSsEndpoint('[fe80::1]%eth0:22')).toEqual({ address: 'fe80::1', port: 22, zone: 'eth0' });
    expect(parseSsEndpoint('[fe80::1%eth0]:22')).toEqual({ address: 'fe80::1', port: 22, zone: 'eth0' });
    expect(parseSsEndpoint('127.0.0.53%lo:53')).toEqual({ address: '127.0.0.53', port: 53, zone: 'lo' });
    for (const bad of ['', ':', '1.2.3.4', '1.2.3.4:', '1.2.3.4:65536', '256.1.1.1:1', '[::1:22', 'host:22', '[]:1', '::x:1', '1::2::3:4']) {
      expect(parseSsEndpoint(bad), bad).toBeNull();
    }
  });

  it('normalizeSsStateName', () => {
    expect(normalizeSsStateName('established')).toBe('ESTAB');
    expect(normalizeSsStateName('listening')).toBe('LISTEN');
    expect(normalizeSsStateName('FIN_WAIT1')).toBe('FIN-WAIT-1');
    expect(normalizeSsStateName('TCP_CLOSE_WAIT')).toBe('CLOSE-WAIT');
    expect(normalizeSsStateName('closed')).toBe('UNCONN');
    expect(normalizeSsStateName('  ')).toBeUndefined();
    expect(normalizeSsStateName(undefined)).toBeUndefined();
  });

  it('canonicalAddress and isUnspecifiedAddress', () => {
    expect(canonicalAddress('::ffff:198.18.77.1')).toBe('198.18.77.1');
    expect(canonicalAddress('[::FFFF:c612:4d01]')).toBe('198.18.77.1');
    expect(canonicalAddress('fe80::1%eth0')).toBe('fe80:0:0:0:0:0:0:1');
    expect(canonicalAddress('FE80:0::0:1')).toBe('fe80:0:0:0:0:0:0:1');
    expect(canonicalAddress('*')).toBe('::');
    expect(canonicalAddress('0:0:0:0:0:0:0:0')).toBe('::');
    expect(canonicalAddress('not an address')).toBe('not an address');
    for (const a of ['0.0.0.0', '::', '*', '[::]', '::ffff:0.0.0.0']) expect(isUnspecifiedAddress(a), a).toBe(true);
    for (const a of ['127.0.0.1', '::1', '198.18.77.1']) expect(isUnspecifiedAddress(a), a).toBe(false);
  });

  it('ignores blank lines, CRLF and headers without reporting them', () => {
    const text = 'State Recv-Q Send-Q Local Address:Port Peer Address:Port\r\n\r\nESTAB 0 0 1.2.3.4:5 6.7.8.9:10\r\n   \r\n';
    expect(parseSsDetailed(text)).toEqual({
      sockets: [
        {
          state: 'ESTABLISHED',
          ssState: 'ESTAB',
          recvQ: 0,
          sendQ: 0,
          local: { address: '1.2.3.4', port: 5 },
          peer: { address: '6.7.8.9', port: 10 },
        },
      ],
      skipped: [],
    });
  });
});
