import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fingerprintSha256 } from '../../electron/lab/known-hosts';
import { HostConnectError, SshHost } from '../../electron/lab/ssh-host';
import { labHosts, skipReason } from './lab-env';

function keyBlobOf(line: string): Buffer {
  return Buffer.from(line.trim().split(/\s+/)[2]!, 'base64');
}

describe.skipIf(skipReason)('SSH to the virtual lab', () => {
  it('connects to both hosts, whose shells report their own hostnames', async () => {
    const hosts = await labHosts();
    for (const label of ['H1', 'H2'] as const) {
      const host = new SshHost(hosts.hosts[label], { knownHostsFile: hosts.knownHostsFile });
      await host.connect();
      expect((await host.run('hostname')).trim()).toBe(label);
      // Root by both paths: H1 logs in as root, H2 goes through sudo with a password.
      expect((await host.run('id -u', { root: true })).trim()).toBe('0');
      host.close();
    }
  });

  it('refuses an unknown host key before authenticating, showing its fingerprint, and connects once it is accepted', async () => {
    const hosts = await labHosts();
    const empty = join(mkdtempSync(join(tmpdir(), 'tcplab-kh-')), 'known_hosts');
    writeFileSync(empty, '');
    const expected = fingerprintSha256(keyBlobOf(readFileSync(hosts.knownHostsFile, 'utf8').split('\n')[0]!));
    const refused = new SshHost(hosts.hosts.H1, { knownHostsFile: empty });
    const error = await refused.connect().then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(HostConnectError);
    expect((error as HostConnectError).kind).toBe('unknown-host-key');
    expect((error as HostConnectError).fingerprint).toBe(expected);
    expect((error as Error).message).toContain(expected);

    const accepted = new SshHost(hosts.hosts.H1, { knownHostsFile: empty, acceptedFingerprints: new Set([expected]) });
    await accepted.connect();
    expect((await accepted.run('hostname')).trim()).toBe('H1');
    accepted.close();
  });

  it('refuses a changed host key, showing both fingerprints', async () => {
    const hosts = await labHosts();
    const [h1Line, h2Line] = readFileSync(hosts.knownHostsFile, 'utf8').trim().split('\n');
    // H1's address recorded with H2's key: exactly what a reinstalled or impersonated host looks like.
    const h1Address = h1Line!.split(' ')[0]!;
    const forged = join(mkdtempSync(join(tmpdir(), 'tcplab-kh-')), 'known_hosts');
    writeFileSync(forged, `${h1Address} ${h2Line!.split(' ').slice(1).join(' ')}\n`);
    const host = new SshHost(hosts.hosts.H1, { knownHostsFile: forged });
    const error = (await host.connect().then(() => undefined, (e: unknown) => e)) as HostConnectError;
    expect(error.kind).toBe('changed-host-key');
    expect(error.message).toContain(fingerprintSha256(keyBlobOf(h1Line!)));
    expect(error.message).toContain(fingerprintSha256(keyBlobOf(h2Line!)));
    // Even an explicit acceptance does not override a changed key.
    const stillRefused = new SshHost(hosts.hosts.H1, { knownHostsFile: forged, acceptedFingerprints: new Set([error.fingerprint!]) });
    await expect(stillRefused.connect()).rejects.toThrow(/different host key/);
  });

  it('authenticates through an ssh-agent holding the key', async () => {
    const hosts = await labHosts();
    const dir = mkdtempSync(join(tmpdir(), 'tcplab-agent-'));
    const socket = join(dir, 'agent.sock');
    const agentPid = /SSH_AGENT_PID=(\d+)/.exec(execFileSync('ssh-agent', ['-a', socket], { encoding: 'utf8' }))![1]!;
    try {
      execFileSync('ssh-add', ['-q', hosts.hosts.H2.auth.type === 'key' ? hosts.hosts.H2.auth.keyFile : ''], { env: { ...process.env, SSH_AUTH_SOCK: socket } });
      const viaAgent = Object.assign(Object.create(Object.getPrototypeOf(hosts.hosts.H2) as object) as typeof hosts.hosts.H2, hosts.hosts.H2, {
        auth: { type: 'agent' as const, agentSocket: socket },
      });
      const host = new SshHost(viaAgent, { knownHostsFile: hosts.knownHostsFile });
      await host.connect();
      expect((await host.run('whoami')).trim()).toBe('tcplab');
      host.close();
    } finally {
      process.kill(Number(agentPid));
    }
  });

  it('reports a wrong key as an authentication failure, which is never retried', async () => {
    const hosts = await labHosts();
    const dir = mkdtempSync(join(tmpdir(), 'tcplab-key-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'id')]);
    const stranger = { ...hosts.hosts.H1, auth: { type: 'key' as const, keyFile: join(dir, 'id'), privateKey: readFileSync(join(dir, 'id')) } };
    const host = new SshHost(stranger, { knownHostsFile: hosts.knownHostsFile });
    const error = (await host.connect().then(() => undefined, (e: unknown) => e)) as HostConnectError;
    expect(error.kind).toBe('auth');
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/authentication failed/);
  });

  it('says so when sudo refuses the password', async () => {
    const hosts = await labHosts();
    const h2 = hosts.hosts.H2;
    const wrong = Object.assign(Object.create(Object.getPrototypeOf(h2) as object) as typeof h2, h2, { sudoPassword: 'not-the-password' });
    const host = new SshHost(wrong, { knownHostsFile: hosts.knownHostsFile });
    await host.connect();
    await expect(host.run('id -u', { root: true })).rejects.toThrow(/sudo refused/);
    host.close();
  });
});
