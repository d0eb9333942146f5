/**
 * The socket table and the state diagram never disagree: both read renderer/src/state/shown.ts
 * (shared/src/reconcile.ts, currentConnections), live after every event of the recorded sessions
 * and at the timeline's cursor. The recorded lost-fin session ends with snapshots (H1 CLOSING, H2
 * FIN_WAIT2) whose states were never reported as transitions (the engine stopped reporting when
 * the session began to close, see lab-session.ts): the table showed them, the diagram did not.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LabEvent } from '../../shared/src/events';
import type { SsSocket } from '../../shared/src/observations';
import { comesAfter, currentConnections } from '../../shared/src/reconcile';
import { currentState, diagramConnection, hostPaths, isCarried, tableRows } from '../../renderer/src/state/shown';
import { CARRY_WITHIN_MS, initialWorkspace, reduce, type HostView, type WorkspaceState } from '../../renderer/src/state/workspace';
import { Recording } from '../../renderer/src/timeline/recording';

const SESSIONS = join(import.meta.dirname, '..', 'fixtures', 'sessions');
const fixture = (name: string): LabEvent[] =>
  readFileSync(join(SESSIONS, name, 'session.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LabEvent);
const names = readdirSync(SESSIONS).sort();
const LABELS = ['H1', 'H2'];

/** What the screen shows of a host: the diagram's ring and the table's state for the diagram's connection. */
function shown(host: HostView): { ring: string | undefined; row: string | undefined; rows: number } {
  const ring = hostPaths({ [host.label]: host }, [host.label])[host.label]?.at(-1);
  const c = diagramConnection(host);
  const rows = tableRows(host);
  const row = c && rows.find((r) => r.local === c.local && r.remote === c.remote);
  return { ring, row: row && currentState(row), rows: rows.length };
}

/** Problems with what `state` shows, for the message of a failing expectation. */
function disagreements(state: WorkspaceState, where: string): string[] {
  const out: string[] = [];
  for (const label of LABELS) {
    const host = state.hosts[label];
    if (!host) continue;
    const { ring, row, rows } = shown(host);
    if (ring === undefined) {
      if (rows > 0) out.push(`${where} ${label}: the table lists ${rows} socket(s), the diagram none`);
    } else if (ring === 'CLOSED' ? row !== undefined : row !== ring) {
      out.push(`${where} ${label}: diagram ${ring}, table ${row ?? 'no row'}`);
    }
  }
  return out;
}

describe('the connection the state diagram follows', () => {
  const transition = (local: string, remote: string, state: string, hostTimeUs: number): LabEvent =>
    ({ seq: 0, t: hostTimeUs / 1000, type: 'transition', host: 'H1', local, remote, state, seen: 'trace', hostTimeUs }) as LabEvent;

  it('stays on the open connection when an earlier one leaves TIME_WAIT (the clean-clone CI caught it switching to CLOSED)', () => {
    const old = ['198.18.77.1:52674', '198.18.77.2:7777'] as const;
    const now = ['198.18.77.1:38838', '198.18.77.2:7777'] as const;
    const events = [
      transition(...old, 'SYN_SENT', 1_000),
      transition(...old, 'ESTABLISHED', 2_000),
      transition(...old, 'FIN_WAIT1', 3_000),
      transition(...old, 'FIN_WAIT2', 4_000),
      transition(...old, 'TIME_WAIT', 5_000),
      transition(...now, 'SYN_SENT', 10_000),
      transition(...now, 'ESTABLISHED', 11_000),
      transition(...now, 'FIN_WAIT1', 12_000),
      // 2MSL after the first connection's TIME_WAIT: its last change is the host's latest.
      transition(...old, 'CLOSED', 60_005_000),
    ];
    const host = events.reduce((s, e) => reduce(s, 's', e), initialWorkspace()).hosts.H1!;
    expect(diagramConnection(host)).toMatchObject({ local: now[0], states: ['SYN_SENT', 'ESTABLISHED', 'FIN_WAIT1'] });
    expect(shown(host)).toEqual({ ring: 'FIN_WAIT1', row: 'FIN_WAIT1', rows: 1 });
  });

  it('follows a connection down to CLOSED when no other is open, and a listener only when there is nothing else', () => {
    const c = ['198.18.77.1:40000', '198.18.77.2:7777'] as const;
    const closed = [transition(...c, 'SYN_SENT', 1_000), transition(...c, 'ESTABLISHED', 2_000), transition(...c, 'CLOSE_WAIT', 3_000), transition(...c, 'LAST_ACK', 4_000), transition(...c, 'CLOSED', 5_000)];
    const listener = transition('0.0.0.0:7777', '0.0.0.0:*', 'LISTEN', 6_000);
    const host = [...closed, listener].reduce((s, e) => reduce(s, 's', e), initialWorkspace()).hosts.H1!;
    expect(diagramConnection(host)).toMatchObject({ local: c[0], states: ['SYN_SENT', 'ESTABLISHED', 'CLOSE_WAIT', 'LAST_ACK', 'CLOSED'] });
    const onlyListener = [listener].reduce((s, e) => reduce(s, 's', e), initialWorkspace()).hosts.H1!;
    expect(diagramConnection(onlyListener)).toMatchObject({ local: '0.0.0.0:7777' });
  });
});

describe('the socket table and the state diagram show the same state', () => {
  it('the recorded lost-fin session ends with H1 in CLOSING and H2 in FIN_WAIT2 on both', () => {
    const end = fixture('lost-fin').reduce((s, e) => reduce(s, '76e328a9', e), initialWorkspace());
    // The engine's last reports were H1 FIN_WAIT1 and H2 ESTABLISHED; the last snapshots are newer.
    expect(end.hosts.H1!.transitions.at(-1)!.state).toBe('FIN_WAIT1');
    expect(end.hosts.H2!.transitions.at(-1)!.state).toBe('ESTABLISHED');
    expect(shown(end.hosts.H1!)).toEqual({ ring: 'CLOSING', row: 'CLOSING', rows: 1 });
    expect(shown(end.hosts.H2!)).toEqual({ ring: 'FIN_WAIT2', row: 'FIN_WAIT2', rows: 1 });
    // The path goes on from the reported states: FIN_WAIT1 -> CLOSING is an edge of the diagram.
    expect(hostPaths(end.hosts, LABELS).H1!.slice(-3)).toEqual(['ESTABLISHED', 'FIN_WAIT1', 'CLOSING']);
  });

  for (const name of names) {
    it(`live, after every event of ${name}`, () => {
      const events = fixture(name);
      const session = (events[0] as Extract<LabEvent, { type: 'session-start' }>).sessionId;
      let state = initialWorkspace();
      const problems: string[] = [];
      for (const e of events) {
        state = reduce(state, session, e);
        problems.push(...disagreements(state, `after seq ${e.seq} (${e.type})`));
      }
      expect(problems).toEqual([]);
    });

    it(`at the cursor, at every instant of ${name}`, () => {
      const events = fixture(name);
      const session = (events[0] as Extract<LabEvent, { type: 'session-start' }>).sessionId;
      const recording = new Recording();
      for (const e of events) recording.add({ type: 'event', session, event: e });
      recording.flush();
      // Every instant where the fold changes lies at an event's controller time or its host time
      // moved by the host's clock offset (the cursor's axis); a microsecond either side of each.
      const offsets = new Map(events.flatMap((e) => (e.type === 'clock' ? [[e.host, e.offsetMs] as const] : [])));
      const instants = new Set<number>();
      for (const e of events) {
        for (const ms of ['hostTimeUs' in e ? e.hostTimeUs / 1000 - (offsets.get(e.host) ?? 0) : e.t, e.t]) {
          instants.add(ms - 0.001);
          instants.add(ms + 0.001);
        }
      }
      const problems: string[] = [];
      for (const ms of [...instants].sort((a, b) => a - b)) problems.push(...disagreements(recording.foldAt(ms), `at ${ms.toFixed(3)}`));
      expect(problems).toEqual([]);
    });
  }
});

describe('across the reconnect after a run', () => {
  const run = fixture('lost-fin');
  const runStart = run[0] as Extract<LabEvent, { type: 'session-start' }>;
  const afterRun = run.reduce((s, e) => reduce(s, runStart.sessionId, e), initialWorkspace());
  const ended = run.find((e) => e.type === 'session-end')!;
  /** A workspace session on the run's hosts and port, `afterMs` after the run ended. */
  const start = (sessionId: string, afterMs: number, change: { address?: string; port?: number } = {}): LabEvent =>
    ({
      ...runStart,
      seq: 0,
      t: ended.t + afterMs,
      sessionId,
      experiment: undefined,
      port: change.port ?? runStart.port,
      hosts: runStart.hosts.map((h) => (h.label === 'H1' && change.address ? { ...h, address: change.address } : h)),
    }) as LabEvent;
  const fold = (events: Array<[string, LabEvent]>, from: WorkspaceState = afterRun): WorkspaceState => events.reduce((s, [session, e]) => reduce(s, session, e), from);

  it('until the new session looks at a host, its table and diagram show what the run last saw, marked as carried', () => {
    const reconnecting = fold([['workspace', start('workspace', 3000)]]);
    for (const label of LABELS) {
      const host = reconnecting.hosts[label]!;
      expect(host.sockets).toEqual([]);
      expect(isCarried(host)).toBe(true);
      expect(shown(host)).toEqual(shown(afterRun.hosts[label]!));
    }
    expect(shown(reconnecting.hosts.H1!)).toEqual({ ring: 'CLOSING', row: 'CLOSING', rows: 1 });
    expect(hostPaths(reconnecting.hosts, LABELS)).toEqual(hostPaths(afterRun.hosts, LABELS));
  });

  it('a host\'s first snapshot in the new session ends it for that host, the other stays carried', () => {
    const timeWait: SsSocket = { state: 'TIME_WAIT', ssState: 'TIME-WAIT', recvQ: 0, sendQ: 0, local: { address: '198.18.77.1', port: 40000 }, peer: { address: '198.18.77.2', port: 7777 }, timer: { name: 'timewait', expiresMs: 50_000, retransmits: 0 } };
    const t = ended.t + 4000;
    const looked = fold([
      ['workspace', start('workspace', 3000)],
      ['workspace', { type: 'snapshot', seq: 1, t, host: 'H1', hostTimeUs: t * 1000, readUs: t * 1000, sockets: [timeWait] } as LabEvent],
    ]);
    expect(isCarried(looked.hosts.H1!)).toBe(false);
    expect(looked.hosts.H1!.carried).toBeUndefined();
    expect(shown(looked.hosts.H1!)).toEqual({ ring: 'TIME_WAIT', row: 'TIME_WAIT', rows: 1 });
    expect(isCarried(looked.hosts.H2!)).toBe(true);
    expect(shown(looked.hosts.H2!)).toEqual({ ring: 'FIN_WAIT2', row: 'FIN_WAIT2', rows: 1 });
  });

  it('carries nothing to a first connection, a connection made a minute or more later, another address or another port; nor past a session that ended without looking', () => {
    const nothing = { ring: undefined, row: undefined, rows: 0 };
    expect(shown(reduce(initialWorkspace(), 'w', start('w', 0)).hosts.H1!)).toEqual(nothing);
    expect(isCarried(fold([['w', start('w', CARRY_WITHIN_MS + 1)]]).hosts.H1!)).toBe(false);
    const moved = fold([['w', start('w', 3000, { address: '192.0.2.9' })]]);
    expect([isCarried(moved.hosts.H1!), isCarried(moved.hosts.H2!)]).toEqual([false, true]);
    expect(isCarried(fold([['w', start('w', 3000, { port: 8888 })]]).hosts.H1!)).toBe(false);
    // The first reconnect fails (its session starts and ends without looking): the table says
    // "not observed yet" rather than "last seen, reconnecting…" while nothing reconnects.
    const failed = fold([
      ['w1', start('w1', 3000)],
      ['w1', { ...ended, seq: 0, t: ended.t + 5000, reason: 'could not connect: timed out' } as LabEvent],
    ]);
    expect([isCarried(failed.hosts.H1!), shown(failed.hosts.H1!)]).toEqual([false, nothing]);
    expect(isCarried(fold([['w2', start('w2', 9000)]], failed).hosts.H1!)).toBe(false);
  });
});

describe('currentConnections: the newer of the snapshot and the reported transitions', () => {
  const socket = (localPort: number, peerPort: number, state: SsSocket['state'], ssState = state ?? 'UNKNOWN'): SsSocket => ({
    state,
    ssState,
    recvQ: 0,
    sendQ: 0,
    local: { address: '198.18.77.1', port: localPort },
    peer: { address: '198.18.77.2', port: peerPort },
  });
  const local = '198.18.77.1:40000';
  const remote = '198.18.77.2:7777';
  const reported = (state: 'ESTABLISHED' | 'FIN_WAIT1' | 'CLOSED' | 'SYN_SENT', hostTimeUs: number) => ({ local, remote, state, hostTimeUs });

  it('a state traced after ss ran wins over the snapshot (no queues or timer from the older row)', () => {
    const [c] = currentConnections({ hostTimeUs: 1000, sockets: [socket(40000, 7777, 'ESTABLISHED')] }, [reported('ESTABLISHED', 500), reported('FIN_WAIT1', 1500)]);
    expect(c).toMatchObject({ states: ['ESTABLISHED', 'FIN_WAIT1'], provisional: false });
    expect(c!.socket).toBeUndefined();
  });

  it('a newer snapshot goes on from the reports, provisionally', () => {
    const [c] = currentConnections({ hostTimeUs: 2000, sockets: [socket(40000, 7777, 'FIN_WAIT1', 'FIN-WAIT-1')] }, [reported('ESTABLISHED', 500)]);
    expect(c).toMatchObject({ states: ['ESTABLISHED', 'FIN_WAIT1'], provisional: true });
    expect(c!.socket?.ssState).toBe('FIN-WAIT-1');
  });

  it('a snapshot that shows an earlier state than the last report is stale, however its clock reads', () => {
    const [c] = currentConnections({ hostTimeUs: 2000, sockets: [socket(40000, 7777, 'ESTABLISHED')] }, [reported('ESTABLISHED', 500), reported('FIN_WAIT1', 1990)]);
    expect(c!.states).toEqual(['ESTABLISHED', 'FIN_WAIT1']);
    expect(comesAfter('ESTABLISHED', 'FIN_WAIT1')).toBe(true);
    expect(comesAfter('TIME_WAIT', 'CLOSED')).toBe(true);
    expect(comesAfter('FIN_WAIT1', 'ESTABLISHED')).toBe(false);
  });

  it('a reported connection a newer snapshot no longer lists is CLOSED; an older snapshot says nothing of it', () => {
    expect(currentConnections({ hostTimeUs: 2000, sockets: [] }, [reported('ESTABLISHED', 500)])[0]!.states).toEqual(['ESTABLISHED', 'CLOSED']);
    expect(currentConnections({ hostTimeUs: 400, sockets: [] }, [reported('SYN_SENT', 500)])[0]!.states).toEqual(['SYN_SENT']);
  });

  it('sockets only ss has seen are listed with their state; UNKNOWN keeps ss\'s word', () => {
    const rows = currentConnections({ hostTimeUs: 2000, sockets: [socket(40001, 7777, 'TIME_WAIT', 'TIME-WAIT'), socket(40002, 7777, null, 'UNKNOWN')] }, []);
    expect(rows.map((r) => [r.local, r.states, r.unknownState])).toEqual([
      ['198.18.77.1:40001', ['TIME_WAIT'], undefined],
      ['198.18.77.1:40002', [], 'UNKNOWN'],
    ]);
  });
});
