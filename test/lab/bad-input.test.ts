import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { labDir } from '../../electron/lab/virtual-lab';
import { tcplab } from '../cli-runner';
import { inHost, iptablesRules, skipReason } from './lab-env';

/** The lab's hosts file with absolute paths, after `edit`, in a fresh directory. */
function variantHostsFile(edit: (text: string) => string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tcplab-bad-'));
  const text = readFileSync(join(labDir(), 'hosts.yaml'), 'utf8')
    .replace('knownHosts: known_hosts', `knownHosts: ${join(labDir(), 'known_hosts')}`)
    .replaceAll('keyFile: id_ed25519', `keyFile: ${join(labDir(), 'id_ed25519')}`)
    .replace('sudoPasswordFile: sudo-password', `sudoPasswordFile: ${join(labDir(), 'sudo-password')}`);
  const file = join(dir, 'hosts.yaml');
  writeFileSync(file, edit(text));
  return file;
}

/**
 * What a failed start must not leave changed: rules, session processes, tracefs instances.
 * Processes of the refused session may take a moment to go once its SSH connection closes.
 */
async function settledHostState(expected: string): Promise<string> {
  const deadline = Date.now() + 5000;
  let state = hostState();
  while (state !== expected && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    state = hostState();
  }
  return state;
}

function hostState(): string {
  const instances = execFileSync('unshare', ['-m', 'sh', '-c', 'mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing; ls /sys/kernel/tracing/instances'], { encoding: 'utf8' });
  const processes = inHost('H1', 'ps -eo args').split('\n').filter((l) => l.includes('tcplab-session='));
  return JSON.stringify({ h1: iptablesRules('H1'), h2: iptablesRules('H2'), instances, processes });
}

describe.skipIf(skipReason)('bad input against the virtual lab: a short error, non-zero exit, nothing changed', () => {
  it('an unreachable host', async () => {
    const before = hostState();
    const file = variantHostsFile((t) => t.replace(/(H1:\n {4}address: )\S+\n {4}port: 22/, '$1127.0.0.1\n    port: 1'));
    const { code, stderr } = tcplab(['run', 'lost-fin', '--hosts', file]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/H1 \(root@127\.0\.0\.1:1\): cannot reach the host \(ECONNREFUSED\)/);
    expect(await settledHostState(before)).toBe(before);
  });

  it('a key the host does not accept', async () => {
    const before = hostState();
    const dir = mkdtempSync(join(tmpdir(), 'tcplab-key-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'id')]);
    const file = variantHostsFile((t) => t.replace(`keyFile: ${join(labDir(), 'id_ed25519')}`, `keyFile: ${join(dir, 'id')}`));
    const { code, stderr } = tcplab(['run', 'lost-fin', '--hosts', file]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/H1 \(root@[\d.]+:22\): authentication failed/);
    expect(await settledHostState(before)).toBe(before);
  });

  it('a sudo password the host refuses', async () => {
    const before = hostState();
    const wrong = join(mkdtempSync(join(tmpdir(), 'tcplab-pw-')), 'pw');
    writeFileSync(wrong, 'not-the-password\n', { mode: 0o600 });
    const file = variantHostsFile((t) => t.replace(`sudoPasswordFile: ${join(labDir(), 'sudo-password')}`, `sudoPasswordFile: ${wrong}`));
    const { code, stderr } = tcplab(['run', 'lost-fin', '--hosts', file]);
    expect(code).not.toBe(0);
    expect(stderr + '').toMatch(/H2: sudo refused/);
    expect(await settledHostState(before)).toBe(before);
  });

  it('an unknown host key, refused unless its fingerprint is accepted on the command line', async () => {
    const knownHosts = join(mkdtempSync(join(tmpdir(), 'tcplab-kh-')), 'known_hosts');
    writeFileSync(knownHosts, readFileSync(join(labDir(), 'known_hosts'), 'utf8').split('\n')[1] + '\n'); // H2 only
    const file = variantHostsFile((t) => t.replace(`knownHosts: ${join(labDir(), 'known_hosts')}`, `knownHosts: ${knownHosts}`));
    const before = hostState();
    const refused = tcplab(['run', 'lost-fin', '--hosts', file]);
    expect(refused.code).toBe(2);
    const fingerprint = /fingerprint (SHA256:[A-Za-z0-9+/]+)/.exec(refused.stderr)?.[1];
    expect(fingerprint).toBeDefined();
    expect(await settledHostState(before)).toBe(before);
    const accepted = tcplab(['run', 'lost-fin', '--hosts', file, '--accept-host-key', fingerprint!, '--json']);
    expect(accepted.code).toBe(0);
    expect(JSON.parse(accepted.stdout).passed).toBe(true);
  });
});
