/**
 * Import from ~/.ssh/config through the real `ssh-config` parser, on a realistic config (fixture
 * test/fixtures/ssh-config/): concrete aliases only, first value wins as in ssh, Include followed,
 * ProxyJump carried over, what cannot be carried over noted, and `Match exec` never run.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SshConfigImport } from '../../shared/src/hosts-api';
import { importSshConfig } from '../../electron/lab/ssh-config-import';
import { ProxyJump } from '../../shared/src/hosts-file';

const FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'ssh-config');

describe('importSshConfig', () => {
  let home: string;
  let result: SshConfigImport;
  const host = (alias: string) => result.hosts.find((h) => h.alias === alias);

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'tcplab-sshconfig-'));
    cpSync(FIXTURE, join(home, '.ssh'), { recursive: true });
    result = await importSshConfig(join(home, '.ssh', 'config'), { homeDir: home, localUser: 'me' });
  });

  it('lists the concrete Host aliases, never the patterns, and follows Include (conf.d/*.conf only)', () => {
    expect(result.hosts.map((h) => h.alias)).toEqual(['course-box', 'lab-h1', 'h1', 'lab-h2', 'inner', 'legacy', 'percent', 'jumpbox', 'behind-jumpbox']);
    expect(result.problems).toEqual([]);
    expect(host('course-box')).toMatchObject({ address: 'course.example.org', user: 'student', port: 22 });
  });

  it('resolves each alias as ssh does: the first value wins, patterns and Host * fill the rest', () => {
    // lab-h1: its own User wins over lab-*'s; lab-*'s Port applies; ~ expanded.
    expect(host('lab-h1')).toMatchObject({ address: '192.168.56.11', port: 2022, user: 'lab', keyFile: join(home, '.ssh', 'id_lab') });
    // h1 is the same block but does not match lab-*: Host * gives the user, port stays 22.
    expect(host('h1')).toMatchObject({ address: '192.168.56.11', port: 22, user: 'lab' });
    expect(host('lab-h2')).toMatchObject({ address: '192.168.56.12', port: 2222, user: 'fallback' });
    expect(host('percent')?.address).toBe('percent.lab.example.org');
  });

  it('carries one ProxyJump over and explains what it cannot carry', () => {
    expect(host('lab-h2')?.proxyJump).toBe('gateway@bastion.example.org:2200');
    // A chain: the first jump host (Host * gives it a User) is imported, the rest is named as not imported.
    expect(host('inner')?.proxyJump).toBe('everyone@first.example.org');
    expect(host('inner')?.notes.join()).toMatch(/goes through 2 jump hosts .*TCP Lab goes through one.*Not imported: everyone@second\.example\.org/);
    expect(host('legacy')?.notes.join()).toMatch(/ProxyCommand is not supported/);
    expect(host('lab-h1')?.notes.join()).toMatch(/2 IdentityFile entries: TCP Lab uses the first/);
  });

  it('resolves a ProxyJump that names another Host entry to its HostName, User and Port, as ssh -J does', () => {
    expect(host('behind-jumpbox')).toMatchObject({ address: '10.20.0.5', proxyJump: 'gate@192.168.56.1:2201' });
    const notes = host('behind-jumpbox')!.notes.join('\n');
    expect(notes).toMatch(/ProxyJump jumpbox resolved from its own Host entry to gate@192\.168\.56\.1:2201/);
    // Its IdentityFile becomes the jump host's own login.
    expect(host('behind-jumpbox')?.proxyJumpAuth).toEqual({ type: 'key', keyFile: join(home, '.ssh', 'id_jump') });
    // Given in full, nothing to resolve and nothing noted.
    expect(host('lab-h2')!.notes.join()).not.toMatch(/resolved/);
  });

  it('never runs Match exec', () => {
    expect(existsSync('MATCH_EXEC_RAN')).toBe(false);
    expect(existsSync(join(home, '.ssh', 'MATCH_EXEC_RAN'))).toBe(false);
    expect(result.hosts.some((h) => h.user === 'evil')).toBe(false);
  });

  it('says so when there is no config', async () => {
    const none = await importSshConfig(join(home, 'nope', 'config'), { homeDir: home });
    expect(none.hosts).toEqual([]);
    expect(none.problems[0]).toMatch(/There is no .*nope\/config/);
  });
});

/** Every ProxyJump form ssh accepts, each in a config as a lab assistant would write it. */
describe('importSshConfig: ProxyJump as ssh -J resolves it', () => {
  let home: string;
  const importText = async (text: string) => {
    writeFileSync(join(home, '.ssh', 'config'), text);
    return importSshConfig(join(home, '.ssh', 'config'), { homeDir: home, localUser: 'me' });
  };
  const only = async (text: string, alias: string) => {
    const result = await importText(text);
    expect(result.problems).toEqual([]);
    const found = result.hosts.find((h) => h.alias === alias);
    if (found === undefined) throw new Error(`no ${alias} in ${JSON.stringify(result.hosts)}`);
    return found;
  };

  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'tcplab-proxyjump-'));
    mkdirSync(join(home, '.ssh'));
  });

  it('a Host alias: its HostName, User, Port and IdentityFile become the jump host and its login', async () => {
    const h2 = await only(
      `Host gw
    HostName 203.0.113.7
    User gate
    Port 2201
    IdentityFile ~/.ssh/id_gw

Host lab-h2
    HostName 10.0.0.12
    User lab
    IdentityFile ~/.ssh/id_lab
    ProxyJump gw
`,
      'lab-h2',
    );
    expect(h2).toMatchObject({ address: '10.0.0.12', user: 'lab', keyFile: join(home, '.ssh', 'id_lab'), proxyJump: 'gate@203.0.113.7:2201' });
    expect(h2.proxyJumpAuth).toEqual({ type: 'key', keyFile: join(home, '.ssh', 'id_gw') });
    expect(h2.notes.join('\n')).toContain('ProxyJump gw resolved from its own Host entry to gate@203.0.113.7:2201, as ssh does');
    // What the import gives is what the Hosts view saves: the schema takes it.
    expect(ProxyJump.safeParse(h2.proxyJump).success).toBe(true);
  });

  it("an IdentityFile's tokens are the jump host's own (%h its HostName, %r its User)", async () => {
    const h = await only(
      `Host gw
    HostName gw.example.org
    User gate
    IdentityFile ~/.ssh/%r@%h

Host h1
    HostName 10.0.0.11
    ProxyJump gw
`,
      'h1',
    );
    expect(h.proxyJumpAuth).toEqual({ type: 'key', keyFile: join(home, '.ssh', 'gate@gw.example.org') });
  });

  it('the same IdentityFile for both (Host *): the jump host uses the host’s own login, nothing to fill in', async () => {
    const h = await only(
      `Host gw
    HostName gw.example.org

Host h1
    HostName 10.0.0.11
    ProxyJump gw

Host *
    IdentityFile ~/.ssh/id_course
`,
      'h1',
    );
    expect(h).toMatchObject({ keyFile: join(home, '.ssh', 'id_course'), proxyJump: 'gw.example.org' });
    expect(h.proxyJumpAuth).toBeUndefined();
    expect(h.notes.join('\n')).not.toMatch(/IdentityFile/);
  });

  it('a jump host without an IdentityFile: the host’s own login, and a note on what ssh would offer instead', async () => {
    const h = await only(
      `Host gw
    HostName gw.example.org

Host h1
    HostName 10.0.0.11
    IdentityFile ~/.ssh/id_lab
    ProxyJump gw
`,
      'h1',
    );
    expect(h.proxyJumpAuth).toBeUndefined();
    expect(h.notes.join('\n')).toContain(`the jump host gw has no IdentityFile: ssh would offer it the ssh-agent's keys and ~/.ssh/id_*; TCP Lab logs in to it with this host's key ${join(home, '.ssh', 'id_lab')}`);
    // Neither has one: both use the same defaults, as with ssh; nothing to say.
    const bare = await only('Host gw\n    HostName gw.example.org\nHost h1\n    HostName 10.0.0.11\n    ProxyJump gw\n', 'h1');
    expect(bare.proxyJumpAuth).toBeUndefined();
    expect(bare.notes).toEqual(['ProxyJump gw resolved from its own Host entry to gw.example.org, as ssh does']);
  });

  it('user@alias:port: what is written wins over the alias’s User and Port; its HostName and IdentityFile still apply', async () => {
    const h = await only(
      `Host gw
    HostName gw.example.org
    User gate
    Port 2201
    IdentityFile ~/.ssh/id_gw

Host h1
    HostName 10.0.0.11
    ProxyJump admin@gw:2299
`,
      'h1',
    );
    expect(h.proxyJump).toBe('admin@gw.example.org:2299');
    expect(h.proxyJumpAuth).toEqual({ type: 'key', keyFile: join(home, '.ssh', 'id_gw') });
  });

  it('user@host:port, ssh://user@host:port and [IPv6]:port, not in the config: taken as written', async () => {
    const config = `Host plain
    HostName 10.0.0.1
    ProxyJump gateway@bastion.example.org:2200

Host uri
    HostName 10.0.0.2
    ProxyJump ssh://gateway@bastion.example.org:2200

Host v6
    HostName 10.0.0.3
    ProxyJump gateway@[fd00::1]:2222

Host default-port
    HostName 10.0.0.4
    ProxyJump bastion.example.org:22
`;
    const result = await importText(config);
    const by = (alias: string) => result.hosts.find((x) => x.alias === alias);
    expect(by('plain')).toMatchObject({ proxyJump: 'gateway@bastion.example.org:2200', notes: [] });
    expect(by('uri')).toMatchObject({ proxyJump: 'gateway@bastion.example.org:2200', notes: [] });
    expect(by('v6')).toMatchObject({ proxyJump: 'gateway@[fd00::1]:2222', notes: [] });
    expect(by('default-port')?.proxyJump).toBe('bastion.example.org');
    for (const h of result.hosts) {
      expect(h.proxyJumpAuth).toBeUndefined();
      expect(ProxyJump.safeParse(h.proxyJump).success).toBe(true);
    }
  });

  it('a chain a,b: the first jump host is imported with its login, and the note names what was not and why', async () => {
    const h = await only(
      `Host outer
    HostName outer.example.org
    User gate
    IdentityFile ~/.ssh/id_outer

Host inner
    HostName 10.1.0.1
    User relay

Host deep
    HostName 10.2.0.5
    ProxyJump outer,inner
`,
      'deep',
    );
    expect(h.proxyJump).toBe('gate@outer.example.org');
    expect(h.proxyJumpAuth).toEqual({ type: 'key', keyFile: join(home, '.ssh', 'id_outer') });
    expect(h.notes).toEqual([
      'ProxyJump outer,inner goes through 2 jump hosts (outer → inner → deep); TCP Lab goes through one, so it imported the first, gate@outer.example.org, the one this computer connects to, which must reach 10.2.0.5:22 itself. Not imported: relay@10.1.0.1',
    ]);
  });

  it('a jump host with a ProxyJump of its own is a chain too, as ssh follows it', async () => {
    const h = await only(
      `Host outer
    HostName outer.example.org
    IdentityFile ~/.ssh/id_outer

Host inner
    HostName 10.1.0.1
    ProxyJump outer

Host deep
    HostName 10.2.0.5
    ProxyJump inner
`,
      'deep',
    );
    expect(h.proxyJump).toBe('outer.example.org');
    expect(h.proxyJumpAuth).toEqual({ type: 'key', keyFile: join(home, '.ssh', 'id_outer') });
    expect(h.notes.join('\n')).toMatch(/goes through 2 jump hosts \(outer → inner → deep\).*Not imported: 10\.1\.0\.1/);
  });

  it('ProxyJump none: no jump host, first value winning over Host *', async () => {
    const result = await importText(`Host gw
    HostName gw.example.org
    ProxyJump none

Host direct
    HostName 10.0.0.9
    ProxyJump none

Host behind
    HostName 10.0.0.10

Host *
    ProxyJump gw
`);
    const by = (alias: string) => result.hosts.find((x) => x.alias === alias);
    expect(by('direct')?.proxyJump).toBeUndefined();
    expect(by('direct')?.notes).toEqual([]);
    expect(by('gw')?.proxyJump).toBeUndefined();
    // Host * gives `behind` the jump host, whose own `ProxyJump none` ends the chain there.
    expect(by('behind')).toMatchObject({ proxyJump: 'gw.example.org' });
    expect(by('behind')?.notes.join('\n')).not.toMatch(/jump hosts|loop/);
  });

  it('a loop (Host * ProxyJump gw, and gw not excepted): not imported, and why, as ssh fails on it too', async () => {
    const result = await importText(`Host gw
    HostName gw.example.org

Host behind
    HostName 10.0.0.10

Host *
    ProxyJump gw
`);
    for (const alias of ['gw', 'behind']) {
      const h = result.hosts.find((x) => x.alias === alias);
      expect(h?.proxyJump).toBeUndefined();
      expect(h?.notes.join('\n')).toMatch(/gw would be reached through itself \(a loop.*"ProxyJump none"\).*not imported/);
    }
  });

  it('a jump host that is not [user@]host[:port]: not imported, and said', async () => {
    const h = await only('Host h1\n    HostName 10.0.0.11\n    ProxyJump gw:notaport\n', 'h1');
    expect(h.proxyJump).toBeUndefined();
    expect(h.notes).toEqual(['ProxyJump gw:notaport: gw:notaport is not [user@]host[:port]; not imported']);
  });
});

/**
 * The same resolution asked of OpenSSH itself: `ssh -G` (prints the configuration ssh would use,
 * connects nowhere) for the host, then for the jump host it reaches first, with what the
 * ProxyJump value writes given as -l and -p, following that jump host's own ProxyJump as ssh does.
 */
describe('importSshConfig agrees with ssh -G on the jump host', () => {
  const sshG = (file: string, args: string[]): Map<string, string> => {
    const out = execFileSync('ssh', ['-G', '-F', file, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const values = new Map<string, string>();
    for (const line of out.split('\n')) {
      const m = /^(\S+) (.*)$/.exec(line);
      if (m?.[1] !== undefined && m[2] !== undefined && !values.has(m[1])) values.set(m[1], m[2]);
    }
    return values;
  };
  /** The jump host this computer connects to first, as ssh resolves it. */
  const sshFirstJump = (file: string, alias: string) => {
    let jump = sshG(file, [alias]).get('proxyjump');
    for (let depth = 0; jump !== undefined && jump !== 'none' && depth < 8; depth++) {
      const m = /^(?:([^@]+)@)?(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(jump.split(',')[0] ?? '');
      if (!m) throw new Error(`ssh -G gave ProxyJump ${jump}`);
      const g = sshG(file, [...(m[1] ? ['-l', m[1]] : []), ...(m[4] ? ['-p', m[4]] : []), m[2] ?? m[3] ?? '']);
      const own = g.get('proxyjump');
      if (own === undefined || own === 'none') return g;
      jump = own;
    }
    return undefined;
  };
  const sshAvailable = (() => {
    try {
      execFileSync('ssh', ['-V'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

  it.skipIf(!sshAvailable)('for every form: alias, user@alias:port, literal, chain, a jump host’s own ProxyJump, none', async () => {
    const home = mkdtempSync(join(tmpdir(), 'tcplab-sshG-'));
    mkdirSync(join(home, '.ssh'));
    const file = join(home, '.ssh', 'config');
    writeFileSync(
      file,
      `Host gw
    HostName gw.example.org
    User gate
    Port 2201
    IdentityFile ~/.ssh/id_gw
    ProxyJump none

Host relay
    HostName 10.1.0.1
    User relay
    IdentityFile ~/.ssh/%r@%h
    ProxyJump gw

Host via-alias
    HostName 10.0.0.1
    ProxyJump gw

Host via-override
    HostName 10.0.0.2
    ProxyJump admin@gw:2299

Host via-literal
    HostName 10.0.0.3
    ProxyJump gateway@bastion.example.org:2200

Host via-chain
    HostName 10.0.0.4
    ProxyJump relay,gateway@bastion.example.org

Host via-nested
    HostName 10.0.0.5
    ProxyJump relay

Host direct
    HostName 10.0.0.6
    ProxyJump none

Host *
    User everyone
`,
    );
    const localUser = userInfo().username;
    const result = await importSshConfig(file, { homeDir: home, localUser });
    expect(result.hosts.map((h) => h.alias)).toEqual(['gw', 'relay', 'via-alias', 'via-override', 'via-literal', 'via-chain', 'via-nested', 'direct']);
    for (const h of result.hosts) {
      const ssh = sshFirstJump(file, h.alias);
      if (ssh === undefined) {
        expect(h.proxyJump, h.alias).toBeUndefined();
        continue;
      }
      const port = ssh.get('port') ?? '22';
      expect(h.proxyJump, h.alias).toBe(`${ssh.get('user')}@${ssh.get('hostname')}${port === '22' ? '' : `:${port}`}`);
      const key = ssh.get('identityfile');
      if (h.proxyJumpAuth !== undefined && key !== undefined) {
        const expanded = key.replace(/^~\//, `${home}/`).replace(/%r/g, ssh.get('user') ?? '').replace(/%h/g, ssh.get('hostname') ?? '');
        expect(h.proxyJumpAuth.keyFile, h.alias).toBe(expanded);
      }
    }
    // The forms that have a jump host have its key as their own login (none of them has an IdentityFile).
    expect(result.hosts.filter((h) => h.proxyJumpAuth !== undefined).map((h) => h.alias)).toEqual(['relay', 'via-alias', 'via-override', 'via-chain', 'via-nested']);
  });
});
