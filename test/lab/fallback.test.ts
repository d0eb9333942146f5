import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findExperiment } from '../../electron/lab/builtin-experiments';
import { ExperimentRun } from '../../electron/lab/experiment-runner';
import { labDir } from '../../electron/lab/virtual-lab';
import type { LabEvent } from '../../shared/src/events';
import { labHosts, skipReason } from './lab-env';

/** Runs a command in the mount namespace of H1's sshd, which its SSH sessions share. */
function inH1Mounts(...command: string[]): void {
  const pid = readFileSync(join(labDir(), 'h1', 'sshd.pid'), 'utf8').trim();
  execFileSync('nsenter', ['-t', pid, '-m', ...command]);
}

describe.skipIf(skipReason)('a host without tracefs', () => {
  it('falls back to polling ss, says so, and still verifies lost-fin', async () => {
    inH1Mounts('umount', '/sys/kernel/tracing'); // H1 now looks like a host without tracefs
    try {
      const outDir = mkdtempSync(join(tmpdir(), 'tcplab-fallback-'));
      const result = await new ExperimentRun({ experiment: findExperiment('lost-fin'), hosts: await labHosts(), outDir, typingDelayMs: 0 }).run();
      expect(result.passed).toBe(true);
      const events = readFileSync(join(outDir, 'session.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as LabEvent);
      const capability = events.find((e): e is Extract<LabEvent, { type: 'capability' }> => e.type === 'capability' && e.host === 'H1' && e.name === 'tracepoint');
      expect(capability?.ok).toBe(false);
      expect(capability?.detail).toMatch(/polling ss only.*tracefs is not mounted/);
      const h1 = result.hosts.H1!.connections.find((c) => c.states.some((s) => s.state === 'FIN_WAIT1'))!;
      expect(h1.states.every((s) => s.seen === 'poll' || s.seen === 'inferred')).toBe(true);
      // H2 still traces, so its states are the kernel's own.
      const h2 = result.hosts.H2!.connections.find((c) => c.states.some((s) => s.state === 'ESTABLISHED' && s.seen === 'trace'));
      expect(h2).toBeDefined();
    } finally {
      inH1Mounts('mount', '-t', 'tracefs', 'nodev', '/sys/kernel/tracing');
    }
  });
});
