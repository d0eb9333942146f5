/**
 * The renderer's workspace is a fold over LabApi session events (renderer/src/state/workspace.ts):
 * the same events give the same screen, live or replayed from a log.
 */
import { describe, expect, it } from 'vitest';
import { SessionLog } from '../../electron/lab/event-log';
import type { LabEvent, NewLabEvent } from '../../shared/src/events';
import { initialWorkspace, reduce, timerLeftMs, type WorkspaceState } from '../../renderer/src/state/workspace';

function fold(events: Array<[session: string, event: LabEvent]>, state: WorkspaceState = initialWorkspace()): WorkspaceState {
  return events.reduce((s, [session, event]) => reduce(s, session, event), state);
}

function session(id: string, events: NewLabEvent[]): Array<[string, LabEvent]> {
  const log = new SessionLog();
  for (const e of events) log.append(e);
  return log.events.map((e) => [id, e]);
}

const socket = (state: 'ESTABLISHED' | 'FIN_WAIT1', ssState: string, timer?: { name: 'on'; expiresMs: number; retransmits: number }) => ({
  state,
  ssState,
  recvQ: 0,
  sendQ: 1,
  local: { address: '198.18.77.1', port: 41422 },
  peer: { address: '198.18.77.2', port: 7777 },
  ...(timer ? { timer } : {}),
});

const start = (id: string, experiment?: string): NewLabEvent => ({
  type: 'session-start',
  sessionId: id,
  tool: 'tcplab',
  hosts: [
    { label: 'H1', address: '198.18.78.2', experimentAddress: '198.18.77.1', user: 'root' },
    { label: 'H2', address: '198.18.78.6', experimentAddress: '198.18.77.2', user: 'tcplab' },
  ],
  port: 7777,
  ...(experiment ? { experiment } : {}),
});

describe('the workspace fold', () => {
  it('follows connections, sockets and firewall rules of a run, and keeps its result after the workspace reconnects', () => {
    const run = session('aaaa0001', [
      start('aaaa0001', 'lost-fin'),
      { type: 'connection', host: 'H1', status: 'connecting' },
      { type: 'connection', host: 'H1', status: 'connected' },
      { type: 'capability', host: 'H1', name: 'tracepoint', ok: true, detail: 'every transition' },
      { type: 'step', index: 0, phase: 'start', summary: 'H2 upper: nc -l 7777', explain: 'H2 runs a server' },
      { type: 'step', index: 0, phase: 'end', summary: 'H2 upper: nc -l 7777' },
      {
        type: 'firewall',
        host: 'H1',
        action: 'add',
        command: 'iptables -w -A OUTPUT -p tcp --dport 7777 --tcp-flags FIN FIN -m comment --comment tcplab:aaaa0001 -j DROP',
        owner: 'aaaa0001',
      },
      { type: 'snapshot', host: 'H1', hostTimeUs: 1, sockets: [socket('FIN_WAIT1', 'FIN-WAIT-1', { name: 'on', expiresMs: 1500, retransmits: 2 })] },
      { type: 'step', index: 1, phase: 'failed', summary: 'wait until H1 is FIN_WAIT1', detail: 'aborted: stopped from the app' },
      // Removal as `iptables -S` spells the rule: not the text that added it.
      {
        type: 'firewall',
        host: 'H1',
        action: 'remove',
        command: 'iptables -w -D OUTPUT -p tcp -m tcp --dport 7777 --tcp-flags FIN FIN -m comment --comment tcplab:aaaa0001 -j DROP',
        owner: 'aaaa0001',
      },
      { type: 'session-end', reason: 'aborted: stopped from the app' },
      { type: 'result', passed: false, hosts: { H1: { role: 'client', passed: false, reason: 'aborted', connections: [] } } },
    ]);
    const midRun = fold(run.slice(0, 8));
    expect(midRun.hosts.H1).toMatchObject({ status: 'connected', rules: [expect.stringContaining('-A OUTPUT')], capability: { ok: true } });
    expect(midRun.hosts.H1!.sockets.map((s) => s.state)).toEqual(['FIN_WAIT1']);
    expect(midRun.run).toMatchObject({ experiment: 'lost-fin', currentStep: 0, steps: { 0: { phase: 'done', explain: 'H2 runs a server' } } });

    const afterRun = fold(run);
    expect(afterRun.hosts.H1!.rules).toEqual([]);
    expect(afterRun.run).toMatchObject({ ended: 'aborted: stopped from the app', result: { passed: false }, steps: { 1: { phase: 'failed', detail: 'aborted: stopped from the app' } } });
    expect(afterRun.run!.log.map((l) => l.text)).toEqual([expect.stringMatching(/^added firewall rule/), expect.stringMatching(/^removed firewall rule/)]);

    // The workspace's next session starts afresh on the hosts, and the run's result stays.
    const workspace = session('bbbb0002', [start('bbbb0002'), { type: 'connection', host: 'H1', status: 'connected' }, { type: 'snapshot', host: 'H1', hostTimeUs: 2, sockets: [] }]);
    const after = fold(workspace, afterRun);
    expect(after.session).toBe('bbbb0002');
    expect(after.hosts.H1!.sockets).toEqual([]);
    expect(after.run?.result?.passed).toBe(false);
  });

  it('shows a note outside a run in its host\'s column (once, though repeated), a run\'s in the run\'s log, and a stale session\'s or a host-less one nowhere', () => {
    const cleanup = 'cleaned up after an earlier session that did not end cleanly: removed 1 firewall rule';
    const workspace = fold(session('ffff0006', [start('ffff0006'), { type: 'note', host: 'H1', text: cleanup }]));
    expect(workspace.hosts.H1!.note).toMatchObject({ text: cleanup });
    expect(workspace.hosts.H2!.note).toBeUndefined();
    // The same note again (a poller complaining at every poll) is the same note: closed, it stays closed.
    expect(fold(session('ffff0006', [{ type: 'note', host: 'H1', text: cleanup }]), workspace)).toBe(workspace);
    // One naming no host (a failed connect's error, shown where it happened) is in no column.
    const both = fold(session('ffff0006', [{ type: 'note', text: 'could not connect: H2 (tcplab@198.18.78.6:22): cannot reach the host' }]), workspace);
    expect(both).toBe(workspace);
    // A stale session's note changes nothing; the next session starts without the old notes.
    expect(fold(session('0000dead', [{ type: 'note', host: 'H1', text: 'late' }]), both)).toBe(both);
    const run = fold(session('aaaa0007', [start('aaaa0007', 'lost-fin'), { type: 'note', host: 'H1', text: 'could not remove the firewall rules this run added here, tagged tcplab:aaaa0007 (not connected)' }]), both);
    expect(run.hosts.H1!.note).toBeUndefined();
    expect(run.run!.log.map((l) => l.text)).toEqual([expect.stringMatching(/^could not remove the firewall rules this run added here/)]);
  });

  it('ignores a stale session\'s snapshots and connection changes', () => {
    const current = fold(session('cccc0003', [start('cccc0003'), { type: 'connection', host: 'H2', status: 'connected' }]));
    const stale = session('dddd0004', [
      { type: 'connection', host: 'H2', status: 'closed' },
      { type: 'snapshot', host: 'H2', hostTimeUs: 3, sockets: [socket('ESTABLISHED', 'ESTAB')] },
    ]);
    const next = fold(stale, current);
    expect(next.hosts.H2).toMatchObject({ status: 'connected', sockets: [] });
  });

  it('returns the same state for events it does not show, so nothing re-renders on pane output', () => {
    const state = fold(session('eeee0005', [start('eeee0005')]));
    const [[id, output]] = session('eeee0005', [{ type: 'pane-output', host: 'H1', pane: 'upper', data: 'x'.repeat(1000) }]) as [[string, LabEvent]];
    expect(reduce(state, id, output)).toBe(state);
  });

  it('counts a timer down from its snapshot and stops at zero', () => {
    const s = socket('FIN_WAIT1', 'FIN-WAIT-1', { name: 'on', expiresMs: 59_000, retransmits: 0 });
    expect(timerLeftMs(s, 1000, 1000)).toBe(59_000);
    expect(timerLeftMs(s, 1000, 11_000)).toBe(49_000);
    expect(timerLeftMs(s, 1000, 100_000)).toBe(0);
    expect(timerLeftMs(socket('ESTABLISHED', 'ESTAB'), 1000, 2000)).toBeUndefined();
  });
});
