import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  appendKnownHost,
  checkHostKey,
  entryMatchesHost,
  findHostEntries,
  fingerprintSha256,
  hostLookupName,
  keyTypeOf,
  knownHostLine,
  parseKnownHosts,
  wildcardMatch,
} from '../../electron/lab/known-hosts';

interface TestKey {
  type: string;
  /** `type base64` as in a .pub file, without the comment. */
  pub: string;
  blob: Buffer;
  /** What `ssh-keygen -lf` prints. */
  fingerprint: string;
}

interface TestKeys {
  ed: TestKey;
  ed2: TestKey;
  rsa: TestKey;
  ecdsa: TestKey;
  ecdsa384: TestKey;
}

let dir: string;
let keys: TestKeys;

function keygen(name: string, args: string[]): TestKey {
  const file = join(dir, name);
  execFileSync('ssh-keygen', ['-q', ...args, '-N', '', '-C', `test-${name}`, '-f', file]);
  const [type, base64] = readFileSync(`${file}.pub`, 'utf8').trim().split(' ');
  const listed = execFileSync('ssh-keygen', ['-lf', `${file}.pub`], { encoding: 'utf8' });
  const fingerprint = /(SHA256:\S+)/.exec(listed)?.[1];
  if (!type || !base64 || !fingerprint) throw new Error(`unexpected ssh-keygen output: ${listed}`);
  return { type, pub: `${type} ${base64}`, blob: Buffer.from(base64, 'base64'), fingerprint };
}

/** Line numbers `ssh-keygen -F name -f file` reports, with their markers. */
function sshKeygenFind(name: string, file: string): string[] {
  const result = spawnSync('ssh-keygen', ['-F', name, '-f', file], { encoding: 'utf8' });
  return [...result.stdout.matchAll(/^# Host \S+ found: line (\d+) ?(\S*)/gm)].map((m) => `${m[1]}${m[2] ? ` ${m[2]}` : ''}`);
}

function ourFind(name: string, port: number, file: string): string[] {
  const entries = parseKnownHosts(readFileSync(file, 'utf8'));
  return findHostEntries(entries, name, port).map(
    (e) => `${e.line}${e.marker === 'revoked' ? ' REVOKED' : e.marker === 'cert-authority' ? ' CA' : ''}`,
  );
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tcplab-known-hosts-'));
  keys = {
    ed: keygen('ed', ['-t', 'ed25519']),
    ed2: keygen('ed2', ['-t', 'ed25519']),
    rsa: keygen('rsa', ['-t', 'rsa', '-b', '2048']),
    ecdsa: keygen('ecdsa', ['-t', 'ecdsa']),
    ecdsa384: keygen('ecdsa384', ['-t', 'ecdsa', '-b', '384']),
  };
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('fingerprints and key types', () => {
  it('match ssh-keygen -lf for ed25519, rsa and ecdsa keys', () => {
    for (const key of Object.values(keys)) {
      expect(fingerprintSha256(key.blob)).toBe(key.fingerprint);
      expect(keyTypeOf(key.blob)).toBe(key.type);
    }
    expect(keyTypeOf(keys.ecdsa384.blob)).toBe('ecdsa-sha2-nistp384');
  });

  it('refuses blobs that are not keys', () => {
    expect(() => keyTypeOf(Buffer.alloc(2))).toThrow(/too short/);
    expect(() => keyTypeOf(Buffer.from([0, 0, 1, 0, 65]))).toThrow(/length/);
    expect(() => keyTypeOf(Buffer.from([0, 0, 0, 2, 10, 0]))).toThrow(/bad key type/);
  });
});

describe('parsing', () => {
  it('reads markers, patterns, hashed names and comments, and skips what OpenSSH would skip', () => {
    const { ed, rsa } = keys;
    const text = [
      '# comment',
      '',
      `   h1.lab ${ed.pub} my comment here`,
      `@revoked * ${rsa.pub}`,
      `@cert-authority *.ca ${ed.pub}`,
      `@bogus h1 ${ed.pub}`,
      'h1 ssh-ed25519',
      `h1 ssh-ed25519 not-base64!`,
      `h1 ssh-rsa ${ed.pub.split(' ')[1]}`,
      `|1|bad|hash ${ed.pub}`,
      `a,!b,[c]:2222\t${ed.pub}\r`,
    ].join('\n');
    const entries = parseKnownHosts(text);
    expect(entries.map((e) => e.line)).toEqual([3, 4, 5, 11]);
    expect(entries[0]).toMatchObject({ hostsField: 'h1.lab', keyType: 'ssh-ed25519', comment: 'my comment here' });
    expect(entries[0]!.marker).toBeUndefined();
    expect(entries[1]).toMatchObject({ marker: 'revoked', keyType: 'ssh-rsa' });
    expect(entries[2]).toMatchObject({ marker: 'cert-authority' });
    expect(entries[3]!.hosts).toEqual({
      kind: 'patterns',
      patterns: [
        { pattern: 'a', negated: false },
        { pattern: 'b', negated: true },
        { pattern: '[c]:2222', negated: false },
      ],
    });
    expect(entries[3]!.keyBlob.equals(ed.blob)).toBe(true);
  });

  it('never throws on garbage', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'|1@#, \t\n*?![]:AQab=+/-'.split('')), maxLength: 200 }), (text) => {
        expect(() => parseKnownHosts(text)).not.toThrow();
      }),
    );
  });

  it('matches wildcards like OpenSSH', () => {
    expect(wildcardMatch('h1.lab', '*')).toBe(true);
    expect(wildcardMatch('h1.lab', 'h?.lab')).toBe(true);
    expect(wildcardMatch('h10.lab', 'h?.lab')).toBe(false);
    expect(wildcardMatch('h10.lab', 'h*.lab')).toBe(true);
    expect(wildcardMatch('a.b.c', '*.*.c')).toBe(true);
    expect(wildcardMatch('abc', 'a*c*')).toBe(true);
    expect(wildcardMatch('ab', 'a*c')).toBe(false);
    expect(wildcardMatch('', '*')).toBe(true);
    expect(wildcardMatch('x'.repeat(5000), `${'*x'.repeat(50)}y`)).toBe(false);
  });

  it('looks hosts up as OpenSSH does: bare on port 22, [host]:port otherwise, lowercased', () => {
    expect(hostLookupName('H1.Lab', 22)).toBe('h1.lab');
    expect(hostLookupName('h1.lab', 2222)).toBe('[h1.lab]:2222');
    expect(hostLookupName('fd00::1', 2222)).toBe('[fd00::1]:2222');
  });
});

describe('agreement with ssh-keygen -F', () => {
  let plainFile: string;
  let hashedFile: string;
  const names: Array<[string, number]> = [
    ['h1.lab', 22],
    ['H1.LAB', 22],
    ['h1.lab', 2222],
    ['h1.lab', 2200],
    ['h2.lab', 22],
    ['h3.lab', 22],
    ['x.example.com', 22],
    ['bad.example.com', 22],
    ['x.example.com', 2222],
    ['10.0.0.5', 22],
    ['10.0.0.55', 22],
    ['10.0.0.5', 2222],
    ['foo.ca', 22],
    ['192.168.56.11', 22],
    ['fd00::11', 22],
    ['fd00::11', 2222],
    ['nowhere', 22],
  ];

  beforeAll(() => {
    const { ed, rsa, ecdsa } = keys;
    const text = [
      '# TCP Lab test known_hosts',
      `h1.lab ${ed.pub}`,
      `[h1.lab]:2222 ${rsa.pub}`,
      '',
      `*.example.com,!bad.example.com ${ecdsa.pub}`,
      `10.0.0.? ${ed.pub}`,
      `@revoked [*]:2222 ${rsa.pub}`,
      `@cert-authority *.ca ${ecdsa.pub}`,
      `H2.LAB,h3.lab ${ed.pub} a comment`,
      `192.168.56.11,[fd00::11]:2222 ${ecdsa.pub}`,
      `fd00::11 ${rsa.pub}`,
      '',
    ].join('\n');
    plainFile = join(dir, 'known_hosts.plain');
    hashedFile = join(dir, 'known_hosts.hashed');
    writeFileSync(plainFile, text);
    writeFileSync(hashedFile, text);
    execFileSync('ssh-keygen', ['-H', '-f', hashedFile], { stdio: 'ignore' });
  });

  it('finds the same lines in a plain file', () => {
    for (const [host, port] of names) {
      const lookup = hostLookupName(host, port);
      expect(ourFind(host, port, plainFile), lookup).toEqual(sshKeygenFind(lookup, plainFile));
    }
  });

  it('finds the same lines in a file hashed by ssh-keygen -H', () => {
    const hashedText = readFileSync(hashedFile, 'utf8');
    expect(hashedText).toMatch(/^\|1\|[A-Za-z0-9+/=]+\|[A-Za-z0-9+/=]+ ssh-ed25519 /m);
    expect(hashedText).not.toMatch(/^h1\.lab /m);
    let hashedMatches = 0;
    for (const [host, port] of names) {
      const lookup = hostLookupName(host, port);
      const ours = ourFind(host, port, hashedFile);
      expect(ours, lookup).toEqual(sshKeygenFind(lookup, hashedFile));
      hashedMatches += findHostEntries(parseKnownHosts(hashedText), host, port).filter((e) => e.hosts.kind === 'hashed').length;
    }
    expect(hashedMatches).toBeGreaterThan(5);
  });

  it('checks keys with OpenSSH semantics', () => {
    const { ed, ed2, rsa, ecdsa, ecdsa384 } = keys;
    for (const file of [plainFile, hashedFile]) {
      const entries = parseKnownHosts(readFileSync(file, 'utf8'));
      expect(checkHostKey(entries, 'h1.lab', 22, ed.blob).status).toBe('trusted');
      expect(checkHostKey(entries, 'H1.Lab', 22, ed.blob).status).toBe('trusted');
      // Same type, other key: changed, with the known fingerprint.
      expect(checkHostKey(entries, 'h1.lab', 22, ed2.blob)).toMatchObject({
        status: 'changed',
        fingerprint: ed2.fingerprint,
        keyType: 'ssh-ed25519',
        knownFingerprints: [ed.fingerprint],
        lines: [2],
      });
      // Only other key types known: unknown, saying which types are known.
      expect(checkHostKey(entries, 'h1.lab', 22, ecdsa.blob)).toEqual({
        status: 'unknown',
        fingerprint: ecdsa.fingerprint,
        keyType: 'ecdsa-sha2-nistp256',
        otherKeyTypes: ['ssh-ed25519'],
      });
      // The port matters: [h1.lab]:2222 has an RSA key, and @revoked [*]:2222 revokes it.
      expect(checkHostKey(entries, 'h1.lab', 2222, rsa.blob)).toMatchObject({ status: 'revoked', fingerprint: rsa.fingerprint });
      expect(checkHostKey(entries, 'h1.lab', 2222, ed.blob)).toMatchObject({ status: 'unknown', otherKeyTypes: ['ssh-rsa'] });
      // The revocation is limited to its host pattern.
      expect(checkHostKey(entries, 'fd00::11', 22, rsa.blob).status).toBe('trusted');
      expect(checkHostKey(entries, 'fd00::11', 2222, ecdsa.blob).status).toBe('trusted');
      expect(checkHostKey(entries, '192.168.56.11', 22, ecdsa.blob).status).toBe('trusted');
      // Wildcards and negation.
      expect(checkHostKey(entries, 'www.example.com', 22, ecdsa.blob).status).toBe('trusted');
      expect(checkHostKey(entries, 'bad.example.com', 22, ecdsa.blob)).toMatchObject({ status: 'unknown', otherKeyTypes: [] });
      expect(checkHostKey(entries, '10.0.0.7', 22, ed.blob).status).toBe('trusted');
      // Lines split by ssh-keygen -H still vouch for both names.
      expect(checkHostKey(entries, 'h2.lab', 22, ed.blob).status).toBe('trusted');
      expect(checkHostKey(entries, 'h3.lab', 22, ed.blob).status).toBe('trusted');
      // @cert-authority lines do not vouch for plain keys.
      expect(checkHostKey(entries, 'foo.ca', 22, ecdsa.blob).status).toBe('unknown');
      // Another ECDSA curve is another key type.
      expect(checkHostKey(entries, 'www.example.com', 22, ecdsa384.blob)).toMatchObject({ status: 'unknown', otherKeyTypes: ['ecdsa-sha2-nistp256'] });
      expect(checkHostKey(entries, 'nowhere', 22, ed.blob)).toMatchObject({ status: 'unknown', otherKeyTypes: [] });
    }
  });

  it('trusts a key if any line has it, even when another line for the host has an old key', () => {
    const { ed, ed2 } = keys;
    const entries = parseKnownHosts(`h1 ${ed2.pub}\nh1 ${ed.pub}\n`);
    expect(checkHostKey(entries, 'h1', 22, ed.blob)).toEqual({ status: 'trusted', line: 2 });
    const revoked = parseKnownHosts(`h1 ${ed.pub}\n@revoked h1 ${ed.pub}\n`);
    expect(checkHostKey(revoked, 'h1', 22, ed.blob)).toMatchObject({ status: 'revoked', line: 2 });
  });
});

describe('appendKnownHost', () => {
  it('creates the directory (0700) and file (0600), and writes lines ssh-keygen understands', async () => {
    const { ed, rsa } = keys;
    const file = join(dir, 'new', 'ssh', 'known_hosts');
    const line = await appendKnownHost(file, 'H1.lab', 22, ed.blob);
    expect(line).toBe(`h1.lab ${ed.pub}`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'new', 'ssh')).mode & 0o777).toBe(0o700);
    await appendKnownHost(file, '192.168.56.12', 2222, rsa.blob, { hash: true });
    await appendKnownHost(file, 'fd00::12', 2200, ed.blob);

    const text = readFileSync(file, 'utf8');
    expect(text.split('\n')).toHaveLength(4);
    expect(text).toMatch(/^\|1\|[A-Za-z0-9+/]{27}=\|[A-Za-z0-9+/]{27}= ssh-rsa /m);
    expect(text).toContain(`[fd00::12]:2200 ${ed.pub}\n`);
    expect(sshKeygenFind('h1.lab', file)).toEqual(['1']);
    expect(sshKeygenFind('[192.168.56.12]:2222', file)).toEqual(['2']);
    expect(sshKeygenFind('192.168.56.12', file)).toEqual([]);
    expect(sshKeygenFind('[fd00::12]:2200', file)).toEqual(['3']);
    // ssh-keygen reads every line back with the same fingerprints.
    const listed = execFileSync('ssh-keygen', ['-l', '-f', file], { encoding: 'utf8' });
    expect([...listed.matchAll(/SHA256:\S+/g)].map((m) => m[0])).toEqual([ed.fingerprint, rsa.fingerprint, ed.fingerprint]);

    const entries = parseKnownHosts(text);
    expect(checkHostKey(entries, '192.168.56.12', 2222, rsa.blob).status).toBe('trusted');
    expect(checkHostKey(entries, 'fd00::12', 2200, ed.blob).status).toBe('trusted');
  });

  it('starts a new line when the file does not end with one, and keeps existing modes', async () => {
    const { ed } = keys;
    const file = join(dir, 'no-newline');
    writeFileSync(file, `# last line without newline`, { mode: 0o644 });
    await appendKnownHost(file, 'h1', 22, ed.blob);
    expect(readFileSync(file, 'utf8')).toBe(`# last line without newline\nh1 ${ed.pub}\n`);
    expect(statSync(file).mode & 0o777).toBe(0o644);
  });

  it('refuses host names that would corrupt the file', () => {
    const { ed } = keys;
    for (const bad of ['', 'a b', 'a,b', '#x', '|1|x', '@revoked', '!h1', 'h1\nh2']) {
      expect(() => knownHostLine(bad, 22, ed.blob), JSON.stringify(bad)).toThrow(/not a host name/);
    }
  });

  it('hashes as OpenSSH does', () => {
    const { ed } = keys;
    const [entry] = parseKnownHosts(knownHostLine('H1.lab', 2222, ed.blob, { hash: true }));
    expect(entry!.hosts.kind).toBe('hashed');
    expect(entryMatchesHost(entry!, '[h1.lab]:2222')).toBe(true);
    expect(entryMatchesHost(entry!, 'h1.lab')).toBe(false);
  });
});
