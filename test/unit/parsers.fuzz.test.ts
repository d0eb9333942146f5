/**
 * No input makes the parsers or the reconciler throw: random strings, real captured lines with
 * random damage, and random (well-typed but nonsensical) reconciler inputs. Bounded run counts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Endpoint, SsSocket } from '../../shared/src/observations';
import { reconcileHost } from '../../shared/src/reconcile';
import type { HostSnapshot, HostTransition } from '../../shared/src/reconcile';
import { parseSs, parseSsDetailed, parseSsDuration, parseSsEndpoint, parseSsLine } from '../../shared/src/ss-parser';
import { TCP_STATES } from '../../shared/src/tcp-states';
import type { TcpState } from '../../shared/src/tcp-states';
import { parseTrace, parseTraceLine, TraceClock } from '../../shared/src/trace-parser';

const RUNS = 2000;
const FIXTURES = new URL('../fixtures/', import.meta.url);

function linesOf(dir: string, filter: (line: string) => boolean): string[] {
  const base = new URL(dir, FIXTURES);
  const out: string[] = [];
  for (const entry of readdirSync(base, { withFileTypes: true })) {
    if (!entry.isFile()) continue;
    for (const line of readFileSync(new URL(entry.name, base), 'utf8').split('\n')) if (filter(line)) out.push(line);
  }
  return [...new Set(out)];
}

const ssLines = [
  ...linesOf('ss/', (l) => l.trim() !== ''),
  ...linesOf('ss/hand-written/', (l) => l.trim() !== ''),
  ...linesOf('ss/polls/', (l) => l.trim() !== '' && !l.startsWith('@')),
];
const traceLines = [
  ...linesOf('trace/', (l) => l.trim() !== ''),
  ...linesOf('trace/hand-written/', (l) => l.trim() !== ''),
];

/** A real line with random damage: insertions, deletions, replacements, truncation, duplication. */
function mutated(lines: string[]): fc.Arbitrary<string> {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.string({ maxLength: 6 }) }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 12 }) }),
    fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), text: fc.constantFrom(':', '[', ']', '%', '*', '(', ')', ',', '.', '-', ' ', '\t', '0', '9', '=', 'x', '\u0000', '\u00e9') }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 20 }) }),
  );
  return fc.tuple(fc.constantFrom(...lines), fc.array(op, { minLength: 1, maxLength: 5 })).map(([line, ops]) => {
    let s = line;
    for (const o of ops) {
      const at = s.length === 0 ? 0 : o.at % (s.length + 1);
      if (o.kind === 'insert') s = s.slice(0, at) + o.text + s.slice(at);
      else if (o.kind === 'delete') s = s.slice(0, at) + s.slice(at + o.length);
      else if (o.kind === 'replace') s = s.slice(0, at) + o.text + s.slice(at + 1);
      else if (o.kind === 'truncate') s = s.slice(0, at);
      else s = s.slice(0, at) + s.slice(at, at + o.length) + s.slice(at);
    }
    return s;
  });
}

const anyText = fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ unit: 'grapheme', maxLength: 100 }));

describe('ss parser never throws', () => {
  it('on random text', () => {
    fc.assert(
      fc.property(anyText, fc.option(fc.string({ maxLength: 20 }), { nil: undefined }), (text, filterState) => {
        const result = parseSsDetailed(text, { filterState });
        expect(result.sockets.length + result.skipped.length).toBeLessThanOrEqual(text.split(/\r?\n/).length);
        parseSs(text);
        parseSsLine(text);
        parseSsEndpoint(text);
        parseSsDuration(text);
      }),
      { numRuns: RUNS },
    );
  });

  it('on damaged real lines, and what it returns is well-formed', () => {
    expect(ssLines.length).toBeGreaterThan(50);
    fc.assert(
      fc.property(fc.array(mutated(ssLines), { minLength: 1, maxLength: 8 }), fc.constantFrom(undefined, 'time-wait', 'established'), (lines, filterState) => {
        const { sockets } = parseSsDetailed(lines.join('\n'), { filterState });
        for (const s of sockets) {
          expect(Number.isSafeInteger(s.recvQ) && s.recvQ >= 0).toBe(true);
          expect(Number.isSafeInteger(s.sendQ) && s.sendQ >= 0).toBe(true);
          for (const e of [s.local, s.peer]) {
            expect(e.port === null || (Number.isInteger(e.port) && e.port >= 0 && e.port <= 65535)).toBe(true);
          }
          if (s.timer) expect(Number.isFinite(s.timer.expiresMs) && s.timer.expiresMs >= 0).toBe(true);
          expect(s.state === null || (TCP_STATES as readonly string[]).includes(s.state)).toBe(true);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('round-trips rows written the way ss writes them', () => {
    const states: Array<[string, TcpState]> = [
      ['ESTAB', 'ESTABLISHED'],
      ['SYN-SENT', 'SYN_SENT'],
      ['SYN-RECV', 'SYN_RECV'],
      ['FIN-WAIT-1', 'FIN_WAIT1'],
      ['FIN-WAIT-2', 'FIN_WAIT2'],
      ['TIME-WAIT', 'TIME_WAIT'],
      ['CLOSE-WAIT', 'CLOSE_WAIT'],
      ['LAST-ACK', 'LAST_ACK'],
      ['LISTEN', 'LISTEN'],
      ['CLOSING', 'CLOSING'],
    ];
    const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => b.join('.'));
    const v6 = fc.ipV6().filter((a) => !a.includes('.'));
    const endpoint = fc.record({
      address: fc.oneof(v4, v6),
      port: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: null }),
      zone: fc.option(fc.constantFrom('lo', 'eth0', 'fx-va'), { nil: undefined }),
    });
    const show = (e: { address: string; port: number | null; zone: string | undefined }) =>
      `${e.address.includes(':') ? `[${e.address}]` : e.address}${e.zone ? `%${e.zone}` : ''}:${e.port ?? '*'}`;
    // ss's own expiry printer (misc/ss.c print_ms_timer)
    const ssExpiry = (ms: number): string => {
      let secs = Math.floor(ms / 1000);
      const minutes = Math.floor(secs / 60);
      secs %= 60;
      let msecs = ms % 1000;
      let out = '';
      if (minutes) {
        msecs = 0;
        out += `${minutes}min`;
        if (minutes > 9) secs = 0;
      }
      if (secs) {
        if (secs > 9) msecs = 0;
        out += `${secs}${msecs ? '.' : 'sec'}`;
      }
      if (msecs) out += `${String(msecs).padStart(3, '0')}ms`;
      return out;
    };
    const expected = (ms: number): number => {
      const minutes = Math.floor(ms / 60_000);
      if (minutes > 9) return minutes * 60_000;
      if (minutes) return minutes * 60_000 + (Math.floor(ms / 1000) % 60) * 1000;
      const secs = Math.floor(ms / 1000);
      return secs > 9 ? secs * 1000 : ms;
    };
    fc.assert(
      fc.property(
        fc.constantFrom(...states),
        fc.nat(5_000_000),
        fc.nat(5_000_000),
        endpoint,
        endpoint,
        fc.option(fc.record({ name: fc.constantFrom('on', 'keepalive', 'timewait', 'persist', 'delack'), ms: fc.nat(7_200_000), retrans: fc.nat(15) }), { nil: undefined }),
        fc.constantFrom(' ', '   ', '\t'),
        (state, recvQ, sendQ, local, peer, timer, gap) => {
          const timerText = timer ? `${gap}timer:(${timer.name},${ssExpiry(timer.ms)},${timer.retrans})` : '';
          const line = [state[0], recvQ, sendQ, show(local), show(peer)].join(gap) + timerText;
          const s = parseSsLine(line);
          expect(s).not.toBeNull();
          expect(s?.state).toBe(state[1]);
          expect([s?.recvQ, s?.sendQ]).toEqual([recvQ, sendQ]);
          expect(s?.local.address).toBe(local.address);
          expect(s?.local.port).toBe(local.port);
          expect(s?.local.zone).toBe(local.zone);
          expect(s?.peer.port).toBe(peer.port);
          if (timer) expect(s?.timer).toEqual({ name: timer.name, expiresMs: expected(timer.ms), retransmits: timer.retrans });
          else expect(s?.timer).toBeUndefined();
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('trace parser never throws', () => {
  it('on random text', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        parseTraceLine(text);
        const result = parseTrace(text);
        expect(result.transitions.length + result.markers.length + result.skipped.length).toBeLessThanOrEqual(text.split(/\r?\n/).length);
      }),
      { numRuns: RUNS },
    );
  });

  it('on damaged real lines, and what it returns is well-formed', () => {
    expect(traceLines.length).toBeGreaterThan(50);
    fc.assert(
      fc.property(mutated(traceLines), (line) => {
        const parsed = parseTraceLine(line);
        if (parsed === null) return;
        expect(Number.isSafeInteger(parsed.traceTimeUs)).toBe(true);
        if (parsed.kind === 'clock') {
          expect(Number.isSafeInteger(parsed.wallTimeUs)).toBe(true);
        } else {
          expect((TCP_STATES as readonly string[]).includes(parsed.from)).toBe(true);
          expect((TCP_STATES as readonly string[]).includes(parsed.to)).toBe(true);
          for (const e of [parsed.local, parsed.remote]) expect(Number.isInteger(e.port) && (e.port ?? -1) <= 65535).toBe(true);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('TraceClock on any markers', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ traceTimeUs: fc.double(), wallTimeUs: fc.double() }), { maxLength: 10 }),
        fc.double(),
        (markers, t) => {
          const clock = new TraceClock(markers);
          const wall = clock.toWallUs(t);
          if (clock.size === 0) expect(wall).toBeNull();
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('reconcileHost never throws', () => {
  const address = fc.constantFrom('10.0.0.1', '10.0.0.2', '0.0.0.0', '::', '*', '::1', '::ffff:10.0.0.1', 'fe80::1', 'junk');
  const endpoint: fc.Arbitrary<Endpoint> = fc.record({ address, port: fc.constantFrom(0, 80, 40000, 40001, null) });
  const state = fc.constantFrom(...TCP_STATES);
  const time = fc.oneof(fc.integer({ min: 0, max: 50 }), fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -1));
  const transition: fc.Arbitrary<HostTransition> = fc.record({
    traceTimeUs: time,
    hostTimeUs: time,
    family: fc.constantFrom('inet' as const, 'inet6' as const),
    local: endpoint,
    remote: endpoint,
    from: state,
    to: state,
  });
  const socket: fc.Arbitrary<SsSocket> = fc.record({
    state: fc.option(state, { nil: null }),
    ssState: fc.constant('X'),
    recvQ: fc.nat(),
    sendQ: fc.nat(),
    local: endpoint,
    peer: endpoint,
  });
  const snapshot: fc.Arbitrary<HostSnapshot> = fc.record({ hostTimeUs: time, sockets: fc.array(socket, { maxLength: 4 }) });

  it('on random inputs, and its histories are well-formed', () => {
    fc.assert(
      fc.property(
        fc.array(transition, { maxLength: 25 }),
        fc.array(snapshot, { maxLength: 12 }),
        fc.boolean(),
        fc.subarray(['10.0.0.1', '::1', 'fe80::1']),
        (transitions, snapshots, traceAvailable, ownAddresses) => {
          const hs = reconcileHost({ ownAddresses, port: 80, transitions, snapshots, traceAvailable });
          for (const h of hs) {
            expect(h.states.length).toBeGreaterThan(0);
            const times = h.states.map((s) => s.hostTimeUs);
            expect(times.every(Number.isFinite)).toBe(true);
            expect(times).toEqual([...times].sort((a, b) => a - b));
            const closed = h.states.findIndex((s) => s.state === 'CLOSED');
            expect(closed === -1 || closed === h.states.length - 1).toBe(true);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('on damaged real captures fed through the parsers', () => {
    const trace = readFileSync(new URL('trace/closing.txt', FIXTURES), 'utf8').split('\n');
    const polls = readFileSync(new URL('ss/polls/closing.h1.log', FIXTURES), 'utf8').split('\n');
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), mutated(traceLines)), { maxLength: 6 }), fc.array(fc.tuple(fc.nat(), mutated(ssLines)), { maxLength: 6 }), (traceEdits, ssEdits) => {
        const t = [...trace];
        for (const [at, line] of traceEdits) t[at % t.length] = line;
        const p = [...polls];
        for (const [at, line] of ssEdits) p[at % p.length] = line;
        const parsed = parseTrace(t.join('\n'));
        const clock = new TraceClock(parsed.markers);
        const transitions = parsed.transitions.map((x) => ({ ...x, hostTimeUs: clock.toWallUs(x.traceTimeUs) ?? 0 }));
        const snapshots: HostSnapshot[] = [];
        let rows: string[] = [];
        let at = 0;
        for (const line of p) {
          const m = /^@ (\d+)\.(\d+)$/.exec(line);
          if (m) {
            snapshots.push({ hostTimeUs: at, sockets: parseSs(rows.join('\n')) });
            rows = [];
            at = Number(m[1]) * 1e6 + Number((m[2] ?? '').slice(0, 6));
          } else rows.push(line);
        }
        reconcileHost({ ownAddresses: ['198.18.99.1'], port: 7799, transitions, snapshots, traceAvailable: true });
      }),
      { numRuns: 300 },
    );
  });
});
