/**
 * ProxyJump on the virtual lab: H2 reached through H1 as the jump host.
 *
 * The lab's sshds listen on their management addresses only, which H1 cannot reach (H1 has
 * routes to its management /30 and the experiment link, nothing else). So, for this file only, a
 * second sshd runs in H2's namespaces (network, hostname, mounts: entered from the lab's own
 * sshd with nsenter) with the lab's H2 configuration, host key and accounts, listening on H2's
 * experiment address 198.18.77.2, which H1 reaches over lab0. The hosts file written here is
 * what a lab assistant writes for a host behind a jump host: H2's address as the jump host sees
 * it, and `proxyJump: root@<H1>`. The controller has no route of its own to 198.18.77.0/24 (it
 * would go to the default gateway), so nothing here ever connects there except through H1.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findExperiment } from '../../electron/lab/builtin-experiments';
import { ExperimentRun } from '../../electron/lab/experiment-runner';
import { readHostsFile, type ResolvedHosts } from '../../electron/lab/hosts-config';
import { fingerprintSha256 } from '../../electron/lab/known-hosts';
import { HostConnectError, SshHost } from '../../electron/lab/ssh-host';
import type { ConnectionStatus } from '../../shared/src/events';
import { inHost, labHosts, skipReason } from './lab-env';

const H2_BEHIND = '198.18.77.2'; // H2's experiment address: reachable from H1, not from here
const H1_LAB0 = '198.18.77.1';

function keyBlobOf(line: string): Buffer {
  return Buffer.from(line.trim().split(/\s+/)[2]!, 'base64');
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The forwarded connections H1 holds to H2's second sshd, with the pid of the sshd owning each. */
function forwardsOnH1(): Array<{ line: string; pid: number }> {
  return inHost('H1', `ss -tnpH state established dst ${H2_BEHIND} dport = :22`)
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line) => ({ line, pid: Number(/pid=(\d+)/.exec(line)?.[1]) }));
}

describe.skipIf(skipReason)('ProxyJump: H2 through H1 on the virtual lab', () => {
  let dir: string;
  let lab: ResolvedHosts;
  let sshdPidFile: string;
  let sshdLog: string;
  let h1KeyLine: string;
  let h2KeyLine: string;
  const h1Address = '198.18.78.2';

  /** A hosts file with H2 behind H1; known_hosts lines given by the test. */
  function writeHosts(name: string, knownHostsLines: string[], h2Auth = `{ type: key, keyFile: ${join(dirname(lab.file), 'id_ed25519')} }`): string {
    const labDir = dirname(lab.file);
    const knownHosts = join(dir, `${name}.known_hosts`);
    writeFileSync(knownHosts, knownHostsLines.map((l) => `${l}\n`).join(''));
    const file = join(dir, `${name}.yaml`);
    writeFileSync(
      file,
      `knownHosts: ${knownHosts}
hosts:
  H1:
    address: ${h1Address}
    experimentAddress: ${H1_LAB0}
    user: root
    auth: { type: key, keyFile: ${join(labDir, 'id_ed25519')} }
    sudo: none
  H2:
    address: ${H2_BEHIND}
    user: tcplab
    auth: ${h2Auth}
    sudo: password
    sudoPasswordFile: ${join(labDir, 'sudo-password')}
    proxyJump: root@${h1Address}
`,
    );
    return file;
  }

  const h1Known = (): string => `${h1Address} ${h1KeyLine.split(' ').slice(1).join(' ')}`;
  const h2Known = (): string => `${H2_BEHIND} ${h2KeyLine.split(' ').slice(1).join(' ')}`;

  beforeAll(async () => {
    lab = await labHosts();
    expect(lab.hosts.H1.address).toBe(h1Address);
    dir = mkdtempSync(join(tmpdir(), 'tcplab-jump-'));
    const labDir = dirname(lab.file);
    [h1KeyLine, h2KeyLine] = readFileSync(lab.knownHostsFile, 'utf8').trim().split('\n') as [string, string];

    // H2's second sshd: the lab's H2 configuration, on the experiment address, its own pid file.
    const config = readFileSync(join(labDir, 'h2', 'sshd_config'), 'utf8')
      .replace(/^ListenAddress .*$/m, `ListenAddress ${H2_BEHIND}`)
      .replace(/^PidFile .*$/m, `PidFile ${join(dir, 'sshd.pid')}`);
    expect(config).toContain(`ListenAddress ${H2_BEHIND}`);
    writeFileSync(join(dir, 'sshd_config'), `${config}LogLevel VERBOSE\n`);
    sshdPidFile = join(dir, 'sshd.pid');
    sshdLog = join(dir, 'sshd.log');
    const labSshd = readFileSync(join(labDir, 'h2', 'sshd.pid'), 'utf8').trim();
    execFileSync('nsenter', ['-t', labSshd, '-n', '-u', '-m', '/usr/sbin/sshd', '-f', join(dir, 'sshd_config'), '-E', sshdLog]);
    await until('the second sshd in H2', () => (existsSync(sshdPidFile) && inHost('H2', 'ss -tlnH').includes(`${H2_BEHIND}:22`) ? true : undefined));
    // Sanity of the arrangement: H1 has a route to it, this machine has no route of its own.
    expect(inHost('H1', `ip route get ${H2_BEHIND}`)).toMatch(/dev lab0/);
    expect(execFileSync('ip', ['route', 'get', H2_BEHIND], { encoding: 'utf8' })).not.toMatch(/dev (lab0|tlm-)/);
  });

  afterAll(() => {
    if (sshdPidFile && existsSync(sshdPidFile)) process.kill(Number(readFileSync(sshdPidFile, 'utf8').trim()));
  });

  it('reaches H2 through H1: H2 sees the connection come from H1, and closing closes both', async () => {
    const hosts = await readHostsFile(writeHosts('both-known', [h1Known(), h2Known()]));
    expect(hosts.hosts.H2.jump).toMatchObject({ address: h1Address, port: 22, user: 'root' });
    const controllerToH1 = (): number => execFileSync('ss', ['-tnH', 'state', 'established', 'dst', h1Address, 'dport', '=', ':22'], { encoding: 'utf8' }).split('\n').filter((l) => l.trim()).length;
    const before = controllerToH1();

    const h2 = new SshHost(hosts.hosts.H2, { knownHostsFile: hosts.knownHostsFile });
    await h2.connect();
    expect((await h2.run('hostname')).trim()).toBe('H2');
    expect((await h2.run('whoami')).trim()).toBe('tcplab');
    // The login's own view: the client of this SSH session is H1's lab0 address, not this machine.
    const [clientIp, , serverIp, serverPort] = (await h2.run('echo $SSH_CONNECTION')).trim().split(' ');
    expect({ clientIp, serverIp, serverPort }).toEqual({ clientIp: H1_LAB0, serverIp: H2_BEHIND, serverPort: '22' });
    // H2's kernel agrees; H1 holds the forwarded connection in an sshd; this machine has a new connection to H1 only.
    expect(inHost('H2', `ss -tnH state established src ${H2_BEHIND} sport = :22`)).toContain(`${H1_LAB0}:`);
    expect(forwardsOnH1()).toHaveLength(1);
    expect(forwardsOnH1()[0]!.line).toMatch(/"sshd"/);
    expect(controllerToH1()).toBe(before + 1);
    // Root through sudo with a password, over the tunnel.
    expect((await h2.run('id -u', { root: true })).trim()).toBe('0');

    h2.close();
    // Status follows the connections' close events (asynchronous; the probes below are synchronous).
    await until('H2 to show closed', () => (h2.status === 'closed' ? true : undefined));
    await until('the forwarded connection on H1 to close', () => (forwardsOnH1().length === 0 ? true : undefined));
    await until('the connection to the jump host to close', () => (controllerToH1() === before ? true : undefined));
  });

  it('refuses an unknown jump host key before any credential, with its fingerprint and the jump host named', async () => {
    // An ssh-agent stand-in that only counts: the first credential step would be asking it for keys.
    let agentContacts = 0;
    const agentSocket = join(dir, 'counting-agent.sock');
    const agent: Server = createServer((socket) => {
      agentContacts += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => agent.listen(agentSocket, resolve));
    try {
      const logBefore = readFileSync(sshdLog, 'utf8');
      const hosts = await readHostsFile(writeHosts('jump-unknown', [h2Known()], '{ type: agent }'), { env: { SSH_AUTH_SOCK: agentSocket } });
      const expected = fingerprintSha256(keyBlobOf(h1KeyLine));
      const error = await new SshHost(hosts.hosts.H2, { knownHostsFile: hosts.knownHostsFile }).connect().then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(HostConnectError);
      const refused = error as HostConnectError;
      expect(refused).toMatchObject({ host: 'H2', kind: 'unknown-host-key', fingerprint: expected, jumpHost: `root@${h1Address}` });
      expect(refused.message).toContain(`H2's jump host root@${h1Address} (${h1Address}:22) is not in ${hosts.knownHostsFile}`);
      expect(refused.message).toContain(expected);
      // What accepting it writes: the jump host's address and key.
      expect(refused.hostKey).toMatchObject({ address: h1Address, port: 22, knownHostsFile: hosts.knownHostsFile });
      expect(refused.hostKey?.keyBlob.equals(keyBlobOf(h1KeyLine))).toBe(true);
      expect(agentContacts).toBe(0);
      // H2 was never contacted: its sshd logs every connection (LogLevel VERBOSE).
      expect(readFileSync(sshdLog, 'utf8').slice(logBefore.length)).not.toMatch(/Connection from/);
    } finally {
      await new Promise<void>((resolve) => agent.close(() => resolve()));
    }

    // Accepted (as the host-key dialog does): the same hosts, with the key, connect.
    const hosts = await readHostsFile(writeHosts('jump-accepted', [h2Known()]));
    const h2 = new SshHost(hosts.hosts.H2, { knownHostsFile: hosts.knownHostsFile, acceptedFingerprints: new Set([fingerprintSha256(keyBlobOf(h1KeyLine))]) });
    await h2.connect();
    expect((await h2.run('echo $SSH_CONNECTION')).split(' ')[0]).toBe(H1_LAB0);
    h2.close();
  });

  it('refuses a changed jump host key, showing both fingerprints and the fix for the jump host', async () => {
    // H1's address recorded with H2's key.
    const hosts = await readHostsFile(writeHosts('jump-changed', [`${h1Address} ${h2KeyLine.split(' ').slice(1).join(' ')}`, h2Known()]));
    const error = (await new SshHost(hosts.hosts.H2, { knownHostsFile: hosts.knownHostsFile }).connect().then(() => undefined, (e: unknown) => e)) as HostConnectError;
    expect(error).toMatchObject({ host: 'H2', kind: 'changed-host-key', jumpHost: `root@${h1Address}`, retryable: false });
    expect(error.message).toContain(`H2's jump host root@${h1Address}`);
    expect(error.message).toContain(fingerprintSha256(keyBlobOf(h1KeyLine)));
    expect(error.message).toContain(fingerprintSha256(keyBlobOf(h2KeyLine)));
    expect(error.hostKey?.fix).toBe(`ssh-keygen -R ${h1Address} -f ${hosts.knownHostsFile}`);
  });

  it('still checks H2\'s own key through the tunnel, and closes the jump connection when H2 is refused', async () => {
    const hosts = await readHostsFile(writeHosts('target-unknown', [h1Known()]));
    const error = (await new SshHost(hosts.hosts.H2, { knownHostsFile: hosts.knownHostsFile }).connect().then(() => undefined, (e: unknown) => e)) as HostConnectError;
    expect(error).toMatchObject({ host: 'H2', kind: 'unknown-host-key', fingerprint: fingerprintSha256(keyBlobOf(h2KeyLine)) });
    expect(error.jumpHost).toBeUndefined();
    expect(error.message).toContain(`H2 (${H2_BEHIND}:22) is not in`);
    await until('the refused tunnel to close on H1', () => (forwardsOnH1().length === 0 ? true : undefined));
  });

  it('shows a jump host that drops as H2 disconnected, naming the jump host, and reconnects through it', async () => {
    const hosts = await readHostsFile(writeHosts('drop', [h1Known(), h2Known()]));
    const h2 = new SshHost(hosts.hosts.H2, { knownHostsFile: hosts.knownHostsFile }, { reconnect: true });
    const statuses: Array<[ConnectionStatus, string | undefined]> = [];
    h2.on('status', (status, detail) => statuses.push([status, detail]));
    await h2.connect();
    const [forward] = forwardsOnH1();
    expect(forward).toBeDefined();
    // Kill the sshd on H1 that carries this session: the jump host drops, H2's own sshd is untouched.
    inHost('H1', `kill -KILL ${forward!.pid}`);
    await until('H2 to show as disconnected', () => statuses.find(([s]) => s === 'disconnected'));
    expect(statuses.find(([s]) => s === 'disconnected')![1]).toMatch(new RegExp(`jump host root@${h1Address.replace(/\./g, '\\.')} dropped`));
    await until('H2 to reconnect', () => (statuses.filter(([s]) => s === 'connected').length === 2 ? true : undefined), 20_000);
    expect((await h2.run('echo $SSH_CONNECTION')).split(' ')[0]).toBe(H1_LAB0);
    expect(forwardsOnH1()).toHaveLength(1);
    h2.close();
    await until('the forwarded connection on H1 to close', () => (forwardsOnH1().length === 0 ? true : undefined));
  });

  it('runs lost-fin with H2 behind H1', async () => {
    const hosts = await readHostsFile(writeHosts('run', [h1Known(), h2Known()]));
    const outDir = mkdtempSync(join(tmpdir(), 'tcplab-jump-run-'));
    const result = await new ExperimentRun({ experiment: findExperiment('lost-fin'), hosts, outDir, typingDelayMs: 0 }).run();
    if (!result.passed) console.error(JSON.stringify(result, null, 2));
    expect(result.passed).toBe(true);
    const h1 = result.hosts.H1!.connections.find((c) => c.states.some((s) => s.state === 'FIN_WAIT1'))!;
    expect(h1.states.at(-1)!.state).toBe('FIN_WAIT1');
    const h2 = result.hosts.H2!.connections.find((c) => c.states.some((s) => s.state === 'ESTABLISHED' && s.seen === 'trace'))!;
    expect(h2.states.at(-1)!.state).toBe('ESTABLISHED');
    // H2's panes ran on H2 (its prompt), and the run's sessions are gone from H1 afterwards.
    expect(readFileSync(join(result.out, 'H2-upper.txt'), 'utf8')).toMatch(/\] H2\$ nc -l 7777/);
    await until('the run\'s tunnel on H1 to close', () => (forwardsOnH1().length === 0 ? true : undefined));
  });
});
