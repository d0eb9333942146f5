/**
 * Oracles for "a run left nothing behind", read from the namespaces themselves (iptables, /tmp,
 * ps), not from the engine: shared by the library tests.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { RunResult } from '../../electron/lab/experiment-runner';
import type { LabEvent } from '../../shared/src/events';
import { inHost, iptablesRules } from './lab-env';

/** The session id of a run, from the first line of its log. */
export function sessionId(result: RunResult): string {
  const start = JSON.parse(readFileSync(join(result.out, 'session.jsonl'), 'utf8').split('\n')[0]!) as LabEvent;
  if (start.type !== 'session-start') throw new Error('the log does not begin with session-start');
  return start.sessionId;
}

/** Run directories of TCP Lab sessions in the hosts' /tmp (shared by the two namespaces). */
export function runDirectories(): string[] {
  return inHost('H1', 'ls -d /tmp/tcplab-*-h1 /tmp/tcplab-*-h2 2>/dev/null || true')
    .split('\n')
    .filter((l) => /^\/tmp\/tcplab-[0-9a-f]+-h[12]$/.test(l));
}

export function helperProcesses(): string[] {
  return inHost('H1', 'ps -eo args').split('\n').filter((l) => /python3 \/tmp\/tcplab-/.test(l));
}

/** Nothing of the run is left on either host. */
export function expectNothingLeft(result: RunResult): void {
  expect(iptablesRules('H1')).toEqual([]);
  expect(iptablesRules('H2')).toEqual([]);
  const id = sessionId(result);
  expect(runDirectories().filter((d) => d.includes(id))).toEqual([]);
  expect(helperProcesses()).toEqual([]);
}

