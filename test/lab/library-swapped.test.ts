/**
 * Every built-in experiment with the roles swapped (H1 the server, H2 the client) and on a port
 * other than its own, on the virtual lab. Experiments name hosts by role only (a unit test checks
 * it), so every one of them allows the swap. Those already run swapped with their own assertions
 * in library.test.ts and experiments.test.ts are listed there; this file covers the rest, and a
 * check below keeps the two lists from drifting apart as the library grows.
 */
import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtinExperiments, findExperiment } from '../../electron/lab/builtin-experiments';
import { ExperimentRun } from '../../electron/lab/experiment-runner';
import { expectNothingLeft } from './leftovers';
import { labHosts, skipReason } from './lab-env';

/** Swapped elsewhere, with experiment-specific assertions (file: experiment -> port). */
const SWAPPED_ELSEWHERE: Record<string, number> = {
  'lost-fin': 8123, // experiments.test.ts
  'close-wait': 8124, // library.test.ts
  'fin-wait-2': 8125,
  'syn-sent': 8126,
  closing: 8127,
};

const HERE = ['normal-teardown', 'time-wait', 'last-ack', 'syn-recv', 'reset-closed-port', 'reset-after-last-ack', 'half-close-download', 'close-wait-leak'];

describe('the swapped-roles coverage', () => {
  it('covers every built-in experiment, here or elsewhere', () => {
    expect([...HERE, ...Object.keys(SWAPPED_ELSEWHERE)].sort()).toEqual(builtinExperiments().map((e) => e.id).sort());
    for (const [id, port] of Object.entries(SWAPPED_ELSEWHERE)) {
      const file = id === 'lost-fin' ? 'experiments.test.ts' : 'library.test.ts';
      expect(readFileSync(join(__dirname, file), 'utf8')).toMatch(new RegExp(`run\\('${id}', \\{[^}]*swapRoles: true, port: ${port}`));
    }
  });
});

describe.skipIf(skipReason)('every built-in experiment with the roles swapped, on another port', () => {
  it.each(HERE.map((id, i) => [id, 8140 + i] as const))('%s, H1 the server and H2 the client, on port %i', async (id, port) => {
    const experiment = findExperiment(id);
    const outDir = mkdtempSync(join(tmpdir(), `tcplab-swapped-${id}-`));
    const run = new ExperimentRun({ experiment, hosts: await labHosts(), outDir, swapRoles: true, port, typingDelayMs: 0 });
    expect(run.roles).toEqual({ client: experiment.roles.server, server: experiment.roles.client });
    const result = await run.run();
    if (!result.passed) console.error(JSON.stringify(result, null, 2));
    expect(result.passed).toBe(true);
    // The promises moved with the roles: the client's are now H2's.
    expect(result.hosts[run.roles.client]!.role).toBe('client');
    expect(result.hosts[run.roles.server]!.role).toBe('server');
    // Every connection of the run used the port asked for, not the experiment's own.
    const observed = Object.values(result.hosts).flatMap((h) => h.connections);
    expect(observed.length).toBeGreaterThan(0);
    for (const c of observed) expect([c.local, c.remote].some((end) => end.endsWith(`:${port}`))).toBe(true);
    expectNothingLeft(result);
  });
});
