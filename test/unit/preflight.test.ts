/**
 * The preflight's judging, without hosts: probe outputs as real hosts print them (the Debian 12
 * lab's, and the shapes other distributions and a broken host give) turned into items, fixes for
 * each package manager, and which items each built-in experiment needs. The probes themselves
 * run on the virtual lab in test/lab/preflight.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { findExperiment } from '../../electron/lab/builtin-experiments';
import { classifyNetcat, parseNetcatProbe } from '../../shared/src/netcat';
import { installCommand, judgeHost, packageManager, probeSections, refusal, requirementsOf, type ProbeOutputs } from '../../shared/src/preflight';

const DEBIAN_USER = '@@os\ndebian \n@@uid\n1000\n@@ss\nss utility, iproute2-6.1.0\n@@python3\nPython 3.11.2\n';
const DEBIAN_ROOT = '@@iptables\niptables v1.8.9 (nf_tables)\n@@nft\n/tmp/x/cmd: line 1: nft: command not found\n@missing\n@@tracefs\nok\n@@tcpdump\ntcpdump version 4.99.3\nlibpcap version 1.10.3 (with TPACKET_V3)\n';

function probe(overrides: Partial<ProbeOutputs> = {}): ProbeOutputs {
  return {
    host: 'H2',
    address: '198.18.78.6',
    user: 'tcplab',
    userProbe: DEBIAN_USER,
    rootProbe: { output: DEBIAN_ROOT },
    sudoConfigured: 'password',
    clockOffsetMs: 0.4,
    netcat: { command: 'nc', flavor: 'openbsd' },
    ...overrides,
  };
}

const item = (check: ReturnType<typeof judgeHost>, name: string) => check.items.find((i) => i.name === name)!;

describe('judging a host from its probes', () => {
  it('passes every item of a complete Debian host, naming what it found', () => {
    const check = judgeHost(probe());
    expect(check.items.map((i) => i.name)).toEqual(['ss', 'netcat', 'iptables', 'sudo', 'tracefs', 'tcpdump', 'python3', 'clock']);
    expect(check.items.filter((i) => !i.ok)).toEqual([]);
    expect(check.sudo).toBe('with-password');
    expect(check.iptablesBackend).toBe('nf_tables');
    expect(item(check, 'iptables').detail).toBe('iptables v1.8.9 (nf_tables) (the nft backend)');
    expect(item(check, 'netcat').detail).toBe('nc is openbsd netcat');
    expect(item(check, 'tcpdump').detail).toBe('tcpdump version 4.99.3');
  });

  it('reports sudo as not needed for a root login and as passwordless when so configured', () => {
    expect(judgeHost(probe({ userProbe: DEBIAN_USER.replace('1000', '0') })).sudo).toBe('none-needed');
    expect(judgeHost(probe({ sudoConfigured: 'passwordless' })).sudo).toBe('passwordless');
  });

  it('fails sudo when it is refused, and leaves the root items unchecked with a pointer to sudo', () => {
    const check = judgeHost(probe({ rootProbe: { error: 'sudo: a password is required' }, sudoConfigured: 'passwordless' }));
    expect(item(check, 'sudo')).toMatchObject({ ok: false, severity: 'required', detail: 'sudo refused: sudo: a password is required' });
    expect(item(check, 'sudo').fix).toContain('usermod -aG sudo tcplab');
    for (const name of ['iptables', 'tracefs', 'tcpdump']) expect(item(check, name)).toMatchObject({ ok: false, fix: 'fix sudo first (see the sudo item)' });
    const notConfigured = judgeHost(probe({ rootProbe: { error: 'sudo: a password is required' }, sudoConfigured: 'none' }));
    expect(item(notConfigured, 'sudo').fix).toMatch(/set sudo: passwordless or sudo: password for H2 in the hosts file/);
  });

  it('gives the install command for the host\'s own package manager', () => {
    const fedoraUser = DEBIAN_USER.replace('debian ', 'fedora ').replace('Python 3.11.2', '/tmp/x: line 1: python3: command not found\n@missing');
    const fedoraRoot = DEBIAN_ROOT.replace('tcpdump version 4.99.3\nlibpcap version 1.10.3 (with TPACKET_V3)', "bash: tcpdump: command not found\n@missing");
    const check = judgeHost(probe({ userProbe: fedoraUser, rootProbe: { output: fedoraRoot }, netcat: undefined }));
    expect(item(check, 'python3')).toMatchObject({ ok: false, severity: 'required', detail: 'python3 is not installed: experiments with helper programs cannot run here', fix: 'sudo dnf install -y python3' });
    expect(item(check, 'tcpdump')).toMatchObject({ ok: false, severity: 'optional', fix: 'sudo dnf install -y tcpdump' });
    // No netcat and no python3: nc steps cannot run at all.
    expect(item(check, 'netcat')).toMatchObject({ ok: false, fix: 'sudo dnf install -y nmap-ncat' });
  });

  it('lets python3 stand in for a missing netcat', () => {
    expect(item(judgeHost(probe({ netcat: undefined })), 'netcat')).toMatchObject({ ok: true, detail: expect.stringMatching(/tcp-peer helper/) });
  });

  it('says an installed tool that does not run is broken, in the shell\'s words', () => {
    const broken = DEBIAN_USER.replace('Python 3.11.2', '/tmp/tmp.x/cmd: line 1: /usr/bin/python3: Permission denied\n@missing');
    expect(item(judgeHost(probe({ userProbe: broken })), 'python3').detail).toBe('python3 is installed but does not run (/usr/bin/python3: Permission denied): experiments with helper programs cannot run here');
  });

  it('tells a legacy iptables, a missing iptables with nft present, an unmounted tracefs and a far clock apart', () => {
    const legacy = judgeHost(probe({ rootProbe: { output: DEBIAN_ROOT.replace('(nf_tables)', '(legacy)') } }));
    expect(legacy.iptablesBackend).toBe('legacy');
    const nftOnly = judgeHost(probe({ rootProbe: { output: DEBIAN_ROOT.replace('iptables v1.8.9 (nf_tables)', 'sh: iptables: not found\n@missing').replace('/tmp/x/cmd: line 1: nft: command not found\n@missing', 'nftables v1.0.6 (Lester Gooch #5)') } }));
    expect(item(nftOnly, 'iptables')).toMatchObject({ ok: false, severity: 'required', fix: 'sudo apt-get install -y iptables' });
    expect(item(nftOnly, 'iptables').detail).toMatch(/nft is: nftables v1\.0\.6/);
    const noTracefs = judgeHost(probe({ rootProbe: { output: DEBIAN_ROOT.replace('@@tracefs\nok', '@@tracefs\ntracefs is not mounted') } }));
    expect(item(noTracefs, 'tracefs')).toMatchObject({ ok: false, severity: 'optional', fix: 'sudo mount -t tracefs nodev /sys/kernel/tracing' });
    const far = judgeHost(probe({ clockOffsetMs: -4200 }));
    expect(item(far, 'clock')).toMatchObject({ ok: false, severity: 'optional', fix: 'sudo timedatectl set-ntp true' });
    expect(item(far, 'clock').detail).toMatch(/^-4200\.0 ms from this machine/);
  });
});

describe('probe parsing', () => {
  it('splits sections and keeps empty ones', () => {
    expect([...probeSections('@@a\nx\ny\n@@b\n@@c\nz')]).toEqual([['a', 'x\ny'], ['b', ''], ['c', 'z']]);
  });

  it('finds the first netcat whose flavor is known', () => {
    const out = '@@nc\nsomething else entirely\n@@ncat\nNcat 7.93 ( https://nmap.org/ncat )\nUsage: ncat [options]\n';
    expect(parseNetcatProbe(out)).toEqual({ command: 'ncat', flavor: 'ncat' });
    expect(parseNetcatProbe('')).toBeNull();
    expect(classifyNetcat('OpenBSD netcat (Debian patchlevel 1.219-1)')).toBe('openbsd');
  });

  it('knows the package managers of common lab distributions', () => {
    expect(packageManager('ubuntu debian')).toBe('apt-get');
    expect(packageManager('rocky "rhel centos fedora"')).toBe('dnf');
    expect(packageManager('alpine')).toBe('apk');
    expect(packageManager('arch')).toBe('pacman');
    expect(packageManager('opensuse-leap "suse opensuse"')).toBe('zypper');
    expect(packageManager('plan9')).toBeUndefined();
    expect(installCommand('netcat', 'arch', true)).toBe('pacman -S --noconfirm openbsd-netcat');
  });
});

describe('what experiments need', () => {
  const roles = { client: 'H1', server: 'H2' } as const;

  it('needs iptables only where a firewall step runs, and python3 where a helper or delay runs', () => {
    const lostFin = requirementsOf(findExperiment('lost-fin'), roles);
    expect(lostFin.H1.map((r) => r.item)).toContain('iptables');
    expect(lostFin.H2.map((r) => r.item)).not.toContain('iptables');
    const closing = requirementsOf(findExperiment('closing'), roles);
    expect(closing.H1.find((r) => r.item === 'python3')?.why).toMatch(/delay helper/);
    const swapped = requirementsOf(findExperiment('lost-fin'), { client: 'H2', server: 'H1' });
    expect(swapped.H2.map((r) => r.item)).toContain('iptables');
    for (const id of ['normal-teardown', 'close-wait', 'time-wait']) {
      const needs = requirementsOf(findExperiment(id), roles);
      for (const label of ['H1', 'H2'] as const) expect(needs[label].map((r) => r.item)).toEqual(expect.arrayContaining(['ss', 'sudo']));
    }
  });

  it('refuses a run naming the host, the item, the step that needs it and the fix; optional items never refuse', () => {
    const noPython = judgeHost(probe({ host: 'H1', userProbe: DEBIAN_USER.replace('Python 3.11.2', 'bash: python3: command not found\n@missing') }));
    const fine = judgeHost(probe());
    const closing = findExperiment('closing');
    const message = refusal([noPython, fine], requirementsOf(closing, roles), closing.id);
    expect(message).toMatch(/^closing cannot start: H1 fails "python3", needed for step \d+ \(the delay helper\): python3 is not installed.*Fix: sudo apt-get install -y python3$/);
    const noTcpdump = judgeHost(probe({ rootProbe: { output: DEBIAN_ROOT.replace(/@@tcpdump[\s\S]*$/, '@@tcpdump\n@missing') } }));
    expect(item(noTcpdump, 'tcpdump').ok).toBe(false);
    expect(refusal([noTcpdump, fine], requirementsOf(closing, roles), closing.id)).toBeUndefined();
  });
});
