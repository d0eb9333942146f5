import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findExperiment } from '../../electron/lab/builtin-experiments';
import { SessionLog } from '../../electron/lab/event-log';
import { ExperimentRun } from '../../electron/lab/experiment-runner';
import { LabSession } from '../../electron/lab/lab-session';
import { inHost, iptablesRules, labHosts, skipReason } from './lab-env';

const CLI = resolve(__dirname, '../../bin/tcplab.js');

function tracefsInstances(): string[] {
  // A private mount namespace, so this look does not change the machine's mounts.
  const listing = execFileSync('unshare', ['-m', 'sh', '-c', 'mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing; ls /sys/kernel/tracing/instances'], { encoding: 'utf8' });
  return listing.split('\n').filter((n) => n.startsWith('tcplab-'));
}

async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(skipReason)('a run killed with SIGKILL', () => {
  it('leaves its firewall rule, which the next connect removes (and nobody else\'s)', async () => {
    // A rule that is not ours: it must survive every cleanup.
    inHost('H1', 'iptables -w -A INPUT -p tcp --dport 9 -m comment --comment someone-else -j ACCEPT');
    const out = mkdtempSync(join(tmpdir(), 'tcplab-crash-'));
    const child = spawn(process.execPath, [CLI, 'run', 'lost-fin', '--lab', 'local', '--out', out], { stdio: 'ignore' });
    const log = join(out, 'session.jsonl');
    await waitFor(() => existsSync(log) && readFileSync(log, 'utf8').includes('"type":"firewall"'), 60_000, 'the run to add its rule');
    await waitFor(() => iptablesRules('H1').some((r) => r.includes('tcplab:')), 15_000, 'the rule to appear on H1');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(iptablesRules('H1').filter((r) => r.includes('tcplab:'))).toHaveLength(1);

    // The next session's connect finds the rule's session dead and removes exactly that rule.
    const session = new LabSession({ hosts: await labHosts(), port: 7777, log: new SessionLog() });
    await waitFor(() => !/tcplab-session=/.test(inHost('H1', 'ps -eo args')), 10_000, 'the killed session\'s processes to end');
    await session.open();
    const rules = iptablesRules('H1');
    expect(rules.filter((r) => r.includes('tcplab:'))).toEqual([]);
    expect(rules.some((r) => r.includes('someone-else'))).toBe(true);
    const removals = session.log.events.filter((e) => e.type === 'firewall' && e.action === 'remove');
    expect(removals).toHaveLength(1);
    await session.close('test over');
    expect(tracefsInstances()).toEqual([]);
    inHost('H1', 'iptables -w -D INPUT -p tcp --dport 9 -m comment --comment someone-else -j ACCEPT');
  });

  it('SIGINT or SIGTERM mid-run: the run aborts, removes its rule, and exits non-zero', async () => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const out = mkdtempSync(join(tmpdir(), `tcplab-${signal}-`));
      const child = spawn(process.execPath, [CLI, 'run', 'lost-fin', '--lab', 'local', '--out', out], { stdio: 'ignore' });
      await waitFor(() => iptablesRules('H1').some((r) => r.includes('tcplab:')), 90_000, 'the rule to appear on H1');
      child.kill(signal);
      const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      expect(code).not.toBe(0);
      expect(iptablesRules('H1').filter((r) => r.includes('tcplab:'))).toEqual([]);
      const log = readFileSync(join(out, 'session.jsonl'), 'utf8');
      expect(log).toContain(`aborted: interrupted by ${signal}`);
      expect(log).toContain('"action":"remove"');
    }
  });
});

describe.skipIf(skipReason)('a host that drops during a run', () => {
  it('stops a step-by-step run waiting for its next step at once, naming the host, and removes the rules it can still reach', async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'tcplab-drop-'));
    const run = new ExperimentRun({ experiment: findExperiment('lost-fin'), hosts: await labHosts(), outDir, typingDelayMs: 0, pace: 'step' });
    const finished = run.run();
    // Up to H1's FIN DROP (step 10) and one more: the run then waits for the user, with its rule on H1.
    for (let step = 1; step <= 10; step++) {
      await waitFor(() => run.waitingForProceed, 60_000, `step ${step} to wait`);
      run.proceed();
    }
    await waitFor(() => run.waitingForProceed && iptablesRules('H1').some((r) => r.includes('tcplab:')), 60_000, 'the DROP rule and the next step to wait');
    // H2 drops while nobody touches it: the run does not wait for the user or a step on H2 to find out.
    inHost('H2', "ss -K -tn 'sport = :22'");
    const result = await finished;
    expect(result.passed).toBe(false);
    expect(result.error).toBe('aborted: the SSH connection to H2 dropped');
    // H1 is still reachable: its rules are gone.
    expect(iptablesRules('H1').filter((r) => r.includes('tcplab:'))).toEqual([]);
    const events = readFileSync(join(outDir, 'session.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { type: string; reason?: string });
    expect(events.find((e) => e.type === 'session-end')?.reason).toBe('aborted: the SSH connection to H2 dropped');
  });
});
