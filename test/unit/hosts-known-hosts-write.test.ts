/**
 * Accepting a host key writes it to known_hosts the way ssh would (hashed if the file already is),
 * and "Remove the old key" removes exactly that host's lines (ssh-keygen -R). Checked with
 * OpenSSH's own ssh-keygen -F, which must find (or no longer find) the host.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { fingerprintSha256, removeKnownHost, trustHostKey } from '../../electron/lab/known-hosts';
import { removeKeyCommand } from '../../electron/lab/ssh-host';

function newKey(dir: string, name: string): Buffer {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, name)]);
  return Buffer.from(readFileSync(join(dir, `${name}.pub`), 'utf8').split(/\s+/)[1]!, 'base64');
}

/** OpenSSH's lookup: the fingerprints `ssh-keygen -l -F` lists for a host ('' when none). */
function find(host: string, file: string): string {
  try {
    return execFileSync('ssh-keygen', ['-l', '-F', host, '-f', file], { encoding: 'utf8' });
  } catch {
    return '';
  }
}

describe('writing known_hosts', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tcplab-kh-'));
    file = join(dir, 'known_hosts');
  });

  it('appends a plain line to a plain (or missing) file; ssh-keygen -F finds it, [host]:port for another port', async () => {
    const key = newKey(dir, 'a');
    await trustHostKey(file, '192.0.2.7', 22, key);
    await trustHostKey(file, '192.0.2.8', 2222, key);
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^192\.0\.2\.7 ssh-ed25519 \S+\n\[192\.0\.2\.8\]:2222 ssh-ed25519 \S+\n$/);
    expect(find('192.0.2.7', file)).toContain(fingerprintSha256(key));
    expect(find('[192.0.2.8]:2222', file)).toContain(fingerprintSha256(key));
    expect(find('192.0.2.8', file)).toBe('');
  });

  it('hashes the line when the file is hashed (HashKnownHosts), and ssh-keygen -F still finds it', async () => {
    const old = newKey(dir, 'old');
    writeFileSync(file, `other.example.org ssh-ed25519 ${old.toString('base64')}\n`);
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
    const key = newKey(dir, 'b');
    const line = await trustHostKey(file, 'lab-h1.example.org', 22, key);
    expect(line).toMatch(/^\|1\|[^|]+\|[^ ]+ ssh-ed25519 /);
    expect(readFileSync(file, 'utf8')).not.toContain('lab-h1');
    expect(find('lab-h1.example.org', file)).toContain(fingerprintSha256(key));
  });

  it('removes exactly the host\'s lines, keeps a copy as .old, and leaves other hosts alone', async () => {
    const key = newKey(dir, 'c');
    const other = newKey(dir, 'd');
    await trustHostKey(file, '192.0.2.7', 22, key);
    await trustHostKey(file, '192.0.2.9', 22, other);
    writeFileSync(file, `${readFileSync(file, 'utf8')}192.0.2.7,192.0.2.10 ssh-ed25519 ${other.toString('base64')}\n@revoked 192.0.2.7 ssh-ed25519 ${other.toString('base64')}\n`);
    const before = readFileSync(file, 'utf8');
    const result = await removeKnownHost(file, '192.0.2.7', 22);
    expect(result.removed).toEqual([1]);
    expect(result.kept).toEqual([3]); // shared with another host: not edited, reported
    expect(readFileSync(result.backup, 'utf8')).toBe(before);
    expect(find('192.0.2.9', file)).toContain(fingerprintSha256(other));
    expect(readFileSync(file, 'utf8')).not.toContain(key.toString('base64'));
    expect(readFileSync(file, 'utf8')).toContain('@revoked 192.0.2.7');
  });

  it('removes a hashed entry too; the command shown does the same with ssh-keygen -R', async () => {
    const key = newKey(dir, 'e');
    writeFileSync(file, '');
    await trustHostKey(file, 'seed.example.org', 22, newKey(dir, 'seed'));
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
    await trustHostKey(file, '192.0.2.7', 2222, key);
    const copy = join(dir, 'copy');
    writeFileSync(copy, readFileSync(file));
    await removeKnownHost(file, '192.0.2.7', 2222);
    expect(find('[192.0.2.7]:2222', file)).toBe('');
    expect(find('seed.example.org', file)).not.toBe('');
    // The fix shown in the dialog, run by a shell, gives the same result on the copy.
    const command = removeKeyCommand('192.0.2.7', 2222, copy);
    expect(command).toBe(`ssh-keygen -R '[192.0.2.7]:2222' -f ${copy}`);
    execFileSync('sh', ['-c', command], { stdio: 'ignore' });
    expect(find('[192.0.2.7]:2222', copy)).toBe('');
    expect(existsSync(`${copy}.old`)).toBe(true);
  });
});
