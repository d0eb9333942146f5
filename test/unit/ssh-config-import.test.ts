/**
 * Import from ~/.ssh/config through the real `ssh-config` parser, on a realistic config (fixture
 * test/fixtures/ssh-config/): concrete aliases only, first value wins as in ssh, Include followed,
 * ProxyJump carried over, what cannot be carried over noted, and `Match exec` never run.
 */
import { cpSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SshConfigImport } from '../../shared/src/hosts-api';
import { importSshConfig } from '../../electron/lab/ssh-config-import';

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
    expect(host('inner')?.proxyJump).toBeUndefined();
    expect(host('inner')?.notes.join()).toMatch(/chain of jump hosts.*not support/);
    expect(host('legacy')?.notes.join()).toMatch(/ProxyCommand is not supported/);
    expect(host('lab-h1')?.notes.join()).toMatch(/2 IdentityFile entries: TCP Lab uses the first/);
  });

  it('resolves a ProxyJump that names another Host entry to its HostName, User and Port, as ssh -J does', () => {
    expect(host('behind-jumpbox')).toMatchObject({ address: '10.20.0.5', proxyJump: 'gate@192.168.56.1:2201' });
    const notes = host('behind-jumpbox')!.notes.join('\n');
    expect(notes).toMatch(/ProxyJump jumpbox resolved from its own Host entry to gate@192\.168\.56\.1:2201/);
    expect(notes).toContain(`the jump host logs in with its own IdentityFile ${join(home, '.ssh', 'id_jump')}: give it as proxyJumpAuth`);
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
