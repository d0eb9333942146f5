import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { labDir } from '../../electron/lab/virtual-lab';
import { CLI, tcplab } from '../cli-runner';
import { leftovers } from './global-setup';
import { inHost, skipReason } from './lab-env';

describe.skipIf(skipReason)('tcplab lab up | down | status', () => {
  it('status says what is up, and up again is a no-op that prints the same files', () => {
    const status = tcplab(['lab', 'status']);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^H1: up \(namespace tcplab-h1, sshd pid \d+, ssh root@198\.18\.78\.2, experiment address 198\.18\.77\.1\)$/m);
    expect(status.stdout).toMatch(/^H2: up \(namespace tcplab-h2, sshd pid \d+, ssh tcplab@198\.18\.78\.6, experiment address 198\.18\.77\.2\)$/m);
    const before = readFileSync(join(labDir(), 'known_hosts'), 'utf8');
    const again = tcplab(['lab', 'up']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already up');
    expect(again.stdout).toContain(`hosts file:  ${join(labDir(), 'hosts.yaml')}`);
    expect(again.stdout).toContain(`known_hosts: ${join(labDir(), 'known_hosts')}`);
    expect(readFileSync(join(labDir(), 'known_hosts'), 'utf8')).toBe(before); // same host keys
  });

  it('gives each host its own hostname, addresses and a veth link between them', () => {
    expect(inHost('H1', 'hostname').trim()).not.toBe('H1'); // ip netns exec alone has no UTS namespace...
    const viaSsh = (label: 'H1' | 'H2'): string =>
      execFileSync('ssh', ['-i', join(labDir(), 'id_ed25519'), '-o', `UserKnownHostsFile=${join(labDir(), 'known_hosts')}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes',
        `${label === 'H1' ? 'root@198.18.78.2' : 'tcplab@198.18.78.6'}`, 'hostname; ip -o -4 addr show lab0'], { encoding: 'utf8' });
    expect(viaSsh('H1')).toMatch(/^H1\n.*lab0\s+inet 198\.18\.77\.1\/24/s); // ...but sshd and its sessions do
    expect(viaSsh('H2')).toMatch(/^H2\n.*lab0\s+inet 198\.18\.77\.2\/24/s);
  });

  it('down after a crash (sshd killed, files half gone) removes everything, and up rebuilds', () => {
    // A crash: H2's sshd dies and the known_hosts file is gone.
    const pid = readFileSync(join(labDir(), 'h2', 'sshd.pid'), 'utf8').trim();
    execFileSync('kill', ['-9', pid]);
    rmSync(join(labDir(), 'known_hosts'));
    const broken = tcplab(['lab', 'status']);
    expect(broken.code).not.toBe(0);
    expect(broken.stdout).toMatch(/^H2: broken/m);
    const down = tcplab(['lab', 'down']);
    expect(down.code).toBe(0);
    expect(leftovers()).toEqual([]);
    expect(existsSync(labDir())).toBe(false);
    expect(spawnSync('id', ['tcplab']).status).not.toBe(0); // the account is gone
    expect(existsSync('/etc/sudoers.d/tcplab-lab')).toBe(false);
    const status = tcplab(['lab', 'status']);
    expect(status.stdout).toMatch(/^H1: down$/m);
    const up = tcplab(['lab', 'up']);
    expect(up.code).toBe(0);
    expect(tcplab(['lab', 'status']).code).toBe(0);
  });

  it('without root, says what is needed and changes nothing', () => {
    if (spawnSync('id', ['nobody']).status !== 0) return void console.warn('no user "nobody": skipped the non-root check');
    const result = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, CLI, 'lab', 'up'], { encoding: 'utf8', env: { ...process.env, HOME: '/tmp' } });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('the virtual lab needs root');
    expect(tcplab(['lab', 'status']).code).toBe(0); // still up, untouched
  });
});
