/**
 * Preflight on the virtual lab: `tcplab check` on two complete hosts, then on a host whose
 * python3 and tcpdump do not run (bind-mounted over with /dev/null inside that host's mount
 * namespace, which its SSH sessions share: a real broken host, not a simulated answer), and an
 * experiment that needs python3 there refusing to start, naming the host, the item and the fix.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findExperiment } from '../../electron/lab/builtin-experiments';
import { ExperimentRun, SetupError } from '../../electron/lab/experiment-runner';
import { labDir } from '../../electron/lab/virtual-lab';
import type { LabEvent } from '../../shared/src/events';
import type { HostCheck } from '../../shared/src/preflight';
import { tcplab } from '../cli-runner';
import { iptablesRules, labHosts, skipReason, inHost } from './lab-env';

/** Runs a command in the mount namespace of H2's sshd, which its SSH sessions share. */
function inH2Mounts(...command: string[]): void {
  const pid = readFileSync(join(labDir(), 'h2', 'sshd.pid'), 'utf8').trim();
  execFileSync('nsenter', ['-t', pid, '-m', ...command]);
}

const BROKEN = [realpathSync('/usr/bin/python3'), realpathSync(execFileSync('sh', ['-c', 'command -v tcpdump'], { encoding: 'utf8' }).trim())];

describe.skipIf(skipReason)('tcplab check', () => {
  it('passes two complete hosts and says how each does sudo, netcat and iptables', () => {
    const { code, stdout, stderr } = tcplab(['check', '--lab', 'local', '--json']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as { ok: boolean; hosts: HostCheck[] };
    expect(report.ok).toBe(true);
    const [h1, h2] = report.hosts;
    expect(h1).toMatchObject({ host: 'H1', user: 'root', sudo: 'none-needed', netcat: { flavor: 'openbsd' }, iptablesBackend: 'nf_tables' });
    expect(h2).toMatchObject({ host: 'H2', user: 'tcplab', sudo: 'with-password', netcat: { flavor: 'openbsd' } });
    for (const host of [h1!, h2!]) {
      expect(host.items.map((i) => `${i.name}:${i.ok}`)).toEqual(['ss', 'netcat', 'iptables', 'sudo', 'tracefs', 'tcpdump', 'python3', 'clock'].map((n) => `${n}:true`));
      expect(Math.abs(host.clockOffsetMs!)).toBeLessThan(50); // same kernel clock: only measurement error
    }
  });

  describe('on a host whose python3 and tcpdump do not run', () => {
    beforeAll(() => {
      for (const path of BROKEN) inH2Mounts('mount', '--bind', '/dev/null', path);
    });
    afterAll(() => {
      for (const path of BROKEN) inH2Mounts('umount', path);
    });

    it('fails python3 (required) and warns about tcpdump (optional), each with its fix, and exits 1', () => {
      const { code, stdout } = tcplab(['check', '--lab', 'local']);
      expect(code).toBe(1);
      const h2 = stdout.slice(stdout.indexOf('H2  tcplab@'));
      expect(h2).toMatch(/FAIL +python3 +python3 is installed but does not run \([^)]*Permission denied\)/);
      expect(h2).toMatch(/fix: sudo apt-get install -y python3/);
      expect(h2).toMatch(/warn +tcpdump +tcpdump is installed but does not run/);
      expect(h2).toMatch(/fix: sudo apt-get install -y tcpdump/);
      expect(stdout.slice(0, stdout.indexOf('H2  tcplab@'))).not.toMatch(/FAIL|warn/);
      expect(stdout).toMatch(/NOT READY/);
    });

    it('refuses to start an experiment that needs python3 there, changes nothing, and logs why', async () => {
      const outDir = mkdtempSync(join(tmpdir(), 'tcplab-refused-'));
      // closing's client runs the delay helper; with the roles swapped that is H2.
      const run = new ExperimentRun({ experiment: findExperiment('closing'), hosts: await labHosts(), outDir, swapRoles: true, port: 8124, typingDelayMs: 0 });
      const error = await run.run().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(SetupError);
      expect((error as Error).message).toMatch(/^closing cannot start: H2 fails "python3", needed for step \d+ \(the delay helper\): python3 is installed but does not run.*Fix: sudo apt-get install -y python3$/);
      expect((error as Error).message).not.toMatch(/tcpdump/); // optional: never a reason to refuse
      expect(iptablesRules('H1').concat(iptablesRules('H2')).filter((r) => r.includes('tcplab:'))).toEqual([]);
      expect(inHost('H2', 'ls /tmp').split('\n').filter((f) => /^tcplab-[0-9a-f]{8}-h2$/.test(f))).toEqual([]);
      const events = readFileSync(join(outDir, 'session.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as LabEvent);
      const checks = events.filter((e): e is Extract<LabEvent, { type: 'capability' }> => e.type === 'capability' && e.name.startsWith('check:'));
      expect(checks.find((e) => e.host === 'H2' && e.name === 'check:python3')).toMatchObject({ ok: false, detail: expect.stringMatching(/fix: sudo apt-get install -y python3/) });
      expect(checks.filter((e) => e.host === 'H1').every((e) => e.ok)).toBe(true);
      expect(events.some((e) => e.type === 'step')).toBe(false); // no step ran
      expect(events.at(-1)).toMatchObject({ type: 'session-end', reason: expect.stringMatching(/refused to start/) });
      expect(existsSync(join(outDir, 'result.json'))).toBe(false);
    });
  });
});
