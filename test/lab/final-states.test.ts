/**
 * A run's log reports every state its observers saw, the teardown its cleanup causes included:
 * the last snapshot of each host has a matching transition for every socket it lists (unless a
 * trace event after it says more). Before, LabSession.close() flushed the transitions first and
 * stopped reporting, while the observers went on logging the states the cleanup's Ctrl-C and the
 * removed DROP rule caused (lost-fin: H1 CLOSING, then TIME_WAIT on both): the replay's socket
 * table showed them and its state diagram did not.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findExperiment } from '../../electron/lab/builtin-experiments';
import { ExperimentRun } from '../../electron/lab/experiment-runner';
import type { LabEvent } from '../../shared/src/events';
import { formatEndpoint } from '../../shared/src/observations';
import { initialWorkspace, reduce } from '../../renderer/src/state/workspace';
import { currentState, diagramConnection, hostPaths, tableRows } from '../../renderer/src/state/shown';
import { labHosts, skipReason } from './lab-env';

type Snapshot = Extract<LabEvent, { type: 'snapshot' }>;

describe.skipIf(skipReason)('the log of a run on the virtual lab', () => {
  it('lost-fin: the states seen while the session closed are reported too', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'tcplab-final-states-'));
    const result = await new ExperimentRun({ experiment: findExperiment('lost-fin'), hosts: await labHosts(), outDir, typingDelayMs: 0 }).run();
    expect(result.passed).toBe(true);
    const log = readFileSync(join(result.out, 'session.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as LabEvent);
    const closing = log.findIndex((e) => e.type === 'firewall' && e.action === 'remove');
    expect(closing).toBeGreaterThan(0);

    const unreported: string[] = [];
    for (const host of ['H1', 'H2'] as const) {
      const last = log.filter((e): e is Snapshot => e.type === 'snapshot' && e.host === host).at(-1)!;
      for (const socket of last.sockets) {
        if (socket.state === null) continue;
        const local = formatEndpoint(socket.local);
        const remote = formatEndpoint(socket.peer);
        // A trace event after the snapshot may have moved the socket on; then the snapshot is not the last word.
        if (log.some((e) => e.type === 'trace' && e.host === host && e.hostTimeUs > last.hostTimeUs && e.local === local)) continue;
        const reported = log.filter((e) => e.type === 'transition' && e.host === host && e.local === local && e.remote === remote).at(-1);
        if (!reported || reported.type !== 'transition' || reported.state !== socket.state) {
          unreported.push(`${host} ${local} -> ${remote}: ss ${socket.state}, last reported ${reported?.type === 'transition' ? reported.state : 'nothing'}`);
        }
      }
    }
    expect(unreported).toEqual([]);
    // The cleanup moved the connection on (the FIN that was dropped gets through once the rule is gone).
    const h1 = log.filter((e) => e.type === 'transition' && e.host === 'H1' && e.remote.endsWith(':7777'));
    expect(h1.map((e) => (e.type === 'transition' ? e.state : '')).indexOf('FIN_WAIT1')).toBeLessThan(h1.length - 1);

    // And the replay's end shows one state per host on the table and the diagram alike.
    const end = log.reduce((s, e) => reduce(s, result.out, e), initialWorkspace());
    for (const host of ['H1', 'H2']) {
      const view = end.hosts[host]!;
      const ring = hostPaths(end.hosts, [host])[host]?.at(-1);
      const c = diagramConnection(view);
      const row = c && tableRows(view).find((r) => r.local === c.local && r.remote === c.remote);
      expect(ring === 'CLOSED' ? row : row && currentState(row), host).toBe(ring === 'CLOSED' ? undefined : ring);
    }
  });
});
