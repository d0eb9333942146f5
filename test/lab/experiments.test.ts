import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findExperiment } from '../../electron/lab/builtin-experiments';
import { ExperimentRun, type RunResult } from '../../electron/lab/experiment-runner';
import type { LabEvent } from '../../shared/src/events';
import { iptablesRules, labHosts, skipReason } from './lab-env';

async function run(id: string, options: { swapRoles?: boolean; port?: number } = {}): Promise<RunResult> {
  const outDir = mkdtempSync(join(tmpdir(), `tcplab-${id}-`));
  const experiment = findExperiment(id);
  const result = await new ExperimentRun({ experiment, hosts: await labHosts(), outDir, typingDelayMs: 0, ...options }).run();
  if (!result.passed) console.error(JSON.stringify(result, null, 2));
  return result;
}

function statesOf(result: RunResult, label: string): string[][] {
  return result.hosts[label]!.connections.map((c) => c.states.map((s) => s.state));
}

function events(result: RunResult): LabEvent[] {
  return readFileSync(join(result.out, 'session.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as LabEvent);
}

describe.skipIf(skipReason)('the article\'s experiments on the virtual lab', () => {
  it('normal-teardown: H2 closes actively, H1 passively, every state seen', async () => {
    const result = await run('normal-teardown');
    expect(result.error).toBeUndefined();
    expect(result.passed).toBe(true);
    // H2 (server, sudo login) takes the active close path; the tracer sees the sub-millisecond states.
    const h2 = statesOf(result, 'H2').find((s) => s.includes('FIN_WAIT1'))!;
    expect(h2).toEqual(expect.arrayContaining(['ESTABLISHED', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT']));
    const h2Connection = result.hosts.H2!.connections.find((c) => c.states.some((s) => s.state === 'FIN_WAIT1'))!;
    expect(h2Connection.states.find((s) => s.state === 'FIN_WAIT1')!.seen).toBe('trace');
    expect(h2Connection.states.find((s) => s.state === 'TIME_WAIT')!.seen).toBe('poll');
    // H1 (client, root login) takes the passive path.
    const h1 = statesOf(result, 'H1').find((s) => s.includes('CLOSE_WAIT'))!;
    expect(h1.slice(h1.indexOf('ESTABLISHED'))).toEqual(['ESTABLISHED', 'CLOSE_WAIT', 'LAST_ACK', 'CLOSED']);
    // Host times are microsecond ISO-8601.
    expect(h2Connection.states[0]!.hostTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    // The run left its record: log, transcripts with the article's prompts.
    for (const file of ['session.jsonl', 'H1-upper.txt', 'H1-lower.txt', 'H2-upper.txt', 'H2-lower.txt', 'result.json']) {
      expect(existsSync(join(result.out, file))).toBe(true);
    }
    expect(readFileSync(join(result.out, 'H2-upper.txt'), 'utf8')).toMatch(/\[\d\d:\d\d:\d\d\] H2\$ nc -l 7777/);
    expect(readFileSync(join(result.out, 'H1-upper.txt'), 'utf8')).toMatch(/\[\d\d:\d\d:\d\d\] H1# nc 198\.18\.77\.2 7777/);
  });

  it('lost-fin: H1 stays in FIN_WAIT1, H2 in ESTABLISHED, and the rule is gone afterwards', async () => {
    const result = await run('lost-fin');
    expect(result.passed).toBe(true);
    const h1 = result.hosts.H1!.connections.find((c) => c.states.some((s) => s.state === 'FIN_WAIT1'))!;
    expect(h1.states.at(-1)!.state).toBe('FIN_WAIT1');
    // Sockets left from earlier runs show up by polling only; this run's connection was traced.
    const h2 = result.hosts.H2!.connections.find((c) => c.states.some((s) => s.state === 'ESTABLISHED' && s.seen === 'trace'))!;
    expect(h2.states.at(-1)!.state).toBe('ESTABLISHED');
    const log = events(result);
    const added = log.filter((e) => e.type === 'firewall' && e.action === 'add');
    const removed = log.filter((e) => e.type === 'firewall' && e.action === 'remove');
    // The experiment's DROP, and the NFLOG rule just before it that shows the capture what it ate.
    expect(added.map((e) => (e.type === 'firewall' ? (/-j (\w+)/.exec(e.command)?.[1] ?? e.command) : ''))).toEqual(['NFLOG', 'DROP']);
    expect(removed).toHaveLength(2);
    expect(iptablesRules('H1')).toEqual([]);
    // The sudo password never appears anywhere in the log.
    const hosts = await labHosts();
    expect(readFileSync(join(result.out, 'session.jsonl'), 'utf8')).not.toContain(hosts.hosts.H2.sudoPassword!);
  });

  it('lost-fin with roles swapped: the sudo login drops its own FIN, on a non-default port', async () => {
    const result = await run('lost-fin', { swapRoles: true, port: 8123 });
    expect(result.passed).toBe(true);
    const h2 = result.hosts.H2!.connections.find((c) => c.states.some((s) => s.state === 'FIN_WAIT1'))!;
    expect(h2.remote).toBe('198.18.77.1:8123');
    expect(h2.states.at(-1)!.state).toBe('FIN_WAIT1');
    expect(iptablesRules('H2')).toEqual([]);
    const hosts = await labHosts();
    expect(readFileSync(join(result.out, 'session.jsonl'), 'utf8')).not.toContain(hosts.hosts.H2.sudoPassword!);
    expect(readFileSync(join(result.out, 'H2-lower.txt'), 'utf8')).toContain('sudo iptables -w -A OUTPUT -p tcp --dport 8123');
  });

  it('normal-teardown with roles swapped: the root login closes actively', async () => {
    const result = await run('normal-teardown', { swapRoles: true });
    expect(result.passed).toBe(true);
    expect(statesOf(result, 'H1').some((s) => s.includes('TIME_WAIT'))).toBe(true);
    expect(statesOf(result, 'H2').some((s) => s.includes('LAST_ACK'))).toBe(true);
  });
});
