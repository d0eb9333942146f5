/**
 * OpenSSH known_hosts, read and written the way OpenSSH does (sshd(8) "SSH_KNOWN_HOSTS FILE
 * FORMAT", hostfile.c), so a lab assistant's existing trust carries over and what TCP Lab adds is
 * trusted by `ssh` too.
 *
 * - A line is `[@marker] hosts keytype base64-key [comment]`; `#` comments and blank lines.
 * - `hosts` is a comma-separated list of patterns (`*`, `?`, `!negation`, case-insensitive), or a
 *   single hashed name `|1|base64(salt)|base64(HMAC-SHA1(salt, host))`.
 * - A host on a port other than 22 is looked up as `[host]:port`.
 * - `@revoked` keys are refused whatever else the file says; `@cert-authority` lines vouch for
 *   host certificates, which ssh2 does not use, so they are ignored for plain keys.
 * - A key is trusted if any line for the host has it. A line for the host with a different key
 *   of the same type means the key changed; lines with other key types only mean the key is
 *   unknown (OpenSSH: "but keys of different type are already known for this host").
 *   Key types are compared by name, so an ECDSA key on another curve counts as another type.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { appendFile, mkdir, open, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export type KnownHostMarker = 'cert-authority' | 'revoked';

export type HostPattern =
  | { kind: 'hashed'; salt: Buffer; hash: Buffer }
  | { kind: 'patterns'; patterns: Array<{ pattern: string; negated: boolean }> };

export interface KnownHostEntry {
  /** 1-based line number in the file. */
  line: number;
  marker?: KnownHostMarker;
  /** The hosts field as written. */
  hostsField: string;
  hosts: HostPattern;
  keyType: string;
  /** The key blob (base64-decoded key field), as ssh2's hostVerifier receives it. */
  keyBlob: Buffer;
  comment?: string;
}

export type HostKeyVerdict =
  | { status: 'trusted'; line: number }
  | { status: 'unknown'; fingerprint: string; keyType: string; /** Key types known for this host (none of them this one). */ otherKeyTypes: string[] }
  | { status: 'changed'; fingerprint: string; keyType: string; knownFingerprints: string[]; lines: number[] }
  | { status: 'revoked'; fingerprint: string; keyType: string; line: number };

/** `SHA256:<base64 without padding>`, exactly as `ssh-keygen -lf` and `ssh` print it. */
export function fingerprintSha256(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named at the start of an SSH key blob (`ssh-ed25519`, `ssh-rsa`...). */
export function keyTypeOf(keyBlob: Buffer): string {
  if (keyBlob.length < 4) throw new Error('not an SSH public key: too short');
  const length = keyBlob.readUInt32BE(0);
  if (length === 0 || length > 64 || 4 + length > keyBlob.length) throw new Error('not an SSH public key: bad key type length');
  const type = keyBlob.subarray(4, 4 + length).toString('latin1');
  if (!/^[\x21-\x7e]+$/.test(type)) throw new Error('not an SSH public key: bad key type');
  return type;
}

/** The name OpenSSH looks a host up by: `host` on port 22, `[host]:port` otherwise; lowercased. */
export function hostLookupName(host: string, port: number): string {
  const name = host.toLowerCase();
  return port === 22 ? name : `[${name}]:${port}`;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Parses a known_hosts file. Lines OpenSSH would ignore as invalid are skipped. */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const entry = parseLine(lines[i]!.replace(/\r$/, ''), i + 1);
    if (entry !== undefined) entries.push(entry);
  }
  return entries;
}

function parseLine(raw: string, line: number): KnownHostEntry | undefined {
  const text = raw.replace(/^[ \t]+/, '');
  if (text === '' || text.startsWith('#')) return undefined;
  const fields = text.split(/[ \t]+/);
  let marker: KnownHostMarker | undefined;
  if (fields[0]!.startsWith('@')) {
    const m = fields.shift()!;
    if (m === '@cert-authority') marker = 'cert-authority';
    else if (m === '@revoked') marker = 'revoked';
    else return undefined;
  }
  const [hostsField, keyType, keyBase64, ...rest] = fields;
  if (hostsField === undefined || keyType === undefined || keyBase64 === undefined) return undefined;
  if (hostsField === '' || keyType.startsWith('#') || keyBase64.startsWith('#')) return undefined;
  const hosts = parseHostsField(hostsField);
  if (hosts === undefined) return undefined;
  if (!BASE64.test(keyBase64)) return undefined;
  const keyBlob = Buffer.from(keyBase64, 'base64');
  let blobType: string;
  try {
    blobType = keyTypeOf(keyBlob);
  } catch {
    return undefined;
  }
  // OpenSSH reads the key through its type name; a line whose blob says otherwise is invalid.
  if (blobType !== keyType) return undefined;
  const comment = rest.join(' ').trim();
  return { line, ...(marker ? { marker } : {}), hostsField, hosts, keyType, keyBlob, ...(comment ? { comment } : {}) };
}

function parseHostsField(field: string): HostPattern | undefined {
  if (field.startsWith('|')) {
    const m = /^\|1\|([^|]+)\|([^|]+)$/.exec(field);
    if (!m || !BASE64.test(m[1]!) || !BASE64.test(m[2]!)) return undefined;
    const salt = Buffer.from(m[1]!, 'base64');
    const hash = Buffer.from(m[2]!, 'base64');
    if (salt.length !== 20 || hash.length !== 20) return undefined;
    return { kind: 'hashed', salt, hash };
  }
  const patterns = field
    .split(',')
    .filter((p) => p !== '')
    .map((p) => (p.startsWith('!') ? { pattern: p.slice(1).toLowerCase(), negated: true } : { pattern: p.toLowerCase(), negated: false }));
  return patterns.length === 0 ? undefined : { kind: 'patterns', patterns };
}

/** OpenSSH's match_pattern: `*` any run of characters, `?` exactly one. */
export function wildcardMatch(text: string, pattern: string): boolean {
  // Iterative glob with single-star backtracking: linear-ish, no regex built from user input.
  let t = 0;
  let p = 0;
  let starP = -1;
  let starT = 0;
  while (t < text.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === text[t])) {
      t++;
      p++;
    } else if (p < pattern.length && pattern[p] === '*') {
      starP = p++;
      starT = t;
    } else if (starP !== -1) {
      p = starP + 1;
      t = ++starT;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

/** HMAC-SHA1 of the host name keyed with the salt, as in `|1|salt|hash`. */
export function hashHostName(name: string, salt: Buffer): Buffer {
  return createHmac('sha1', salt).update(name).digest();
}

/** Whether the entry's hosts field matches a lookup name (from hostLookupName). */
export function entryMatchesHost(entry: KnownHostEntry, lookupName: string): boolean {
  const name = lookupName.toLowerCase();
  if (entry.hosts.kind === 'hashed') {
    const hash = hashHostName(name, entry.hosts.salt);
    return hash.length === entry.hosts.hash.length && timingSafeEqual(hash, entry.hosts.hash);
  }
  let positive = false;
  for (const { pattern, negated } of entry.hosts.patterns) {
    if (!wildcardMatch(name, pattern)) continue;
    if (negated) return false;
    positive = true;
  }
  return positive;
}

/** The entries (any marker) whose hosts field matches `host` on `port`, in file order: `ssh-keygen -F`. */
export function findHostEntries(entries: readonly KnownHostEntry[], host: string, port: number): KnownHostEntry[] {
  const name = hostLookupName(host, port);
  return entries.filter((e) => entryMatchesHost(e, name));
}

/** Checks the key a host presented against known_hosts entries, with OpenSSH's semantics. */
export function checkHostKey(entries: readonly KnownHostEntry[], host: string, port: number, keyBlob: Buffer): HostKeyVerdict {
  const fingerprint = fingerprintSha256(keyBlob);
  const keyType = keyTypeOf(keyBlob);
  const matching = findHostEntries(entries, host, port);

  const revoked = matching.find((e) => e.marker === 'revoked' && e.keyBlob.equals(keyBlob));
  if (revoked) return { status: 'revoked', fingerprint, keyType, line: revoked.line };

  const plain = matching.filter((e) => e.marker === undefined);
  const same = plain.find((e) => e.keyBlob.equals(keyBlob));
  if (same) return { status: 'trusted', line: same.line };

  const sameType = plain.filter((e) => e.keyType === keyType);
  if (sameType.length > 0) {
    return {
      status: 'changed',
      fingerprint,
      keyType,
      knownFingerprints: [...new Set(sameType.map((e) => fingerprintSha256(e.keyBlob)))],
      lines: sameType.map((e) => e.line),
    };
  }
  return { status: 'unknown', fingerprint, keyType, otherKeyTypes: [...new Set(plain.map((e) => e.keyType))] };
}

/** The known_hosts line for a key, as `ssh` would add it (hashed like HashKnownHosts=yes if asked). */
export function knownHostLine(host: string, port: number, keyBlob: Buffer, options: { hash?: boolean } = {}): string {
  const name = hostLookupName(host, port);
  if (host === '' || /[\s,#]/.test(name) || name.startsWith('|') || name.startsWith('@') || name.startsWith('!')) {
    throw new Error(`not a host name that can go in known_hosts: ${JSON.stringify(host)}`);
  }
  const keyType = keyTypeOf(keyBlob);
  let hostsField = name;
  if (options.hash) {
    const salt = randomBytes(20);
    hostsField = `|1|${salt.toString('base64')}|${hashHostName(name, salt).toString('base64')}`;
  }
  return `${hostsField} ${keyType} ${keyBlob.toString('base64')}`;
}

/**
 * Appends a host key to a known_hosts file, creating the file (mode 0600) and its directory
 * (mode 0700) if missing. Returns the line written.
 */
export async function appendKnownHost(file: string, host: string, port: number, keyBlob: Buffer, options: { hash?: boolean } = {}): Promise<string> {
  const line = knownHostLine(host, port, keyBlob, options);
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  // Open (creating 0600 if new) and check whether the file ends with a newline before appending.
  const handle = await open(file, 'a+', 0o600);
  try {
    const { size } = await handle.stat();
    let prefix = '';
    if (size > 0) {
      const last = Buffer.alloc(1);
      await handle.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) prefix = '\n';
    }
    await appendFile(handle, `${prefix}${line}\n`);
  } finally {
    await handle.close();
  }
  return line;
}

/**
 * Whether a key TCP Lab adds should be hashed: as the file already is. A file whose entries are
 * hashed (HashKnownHosts yes, as Debian and Ubuntu set it) gets a hashed line; a plain or empty
 * file gets a plain one, which is what `ssh` writes without that setting.
 */
export function fileUsesHashing(text: string): boolean {
  const entries = parseKnownHosts(text).filter((e) => e.marker === undefined);
  return entries.length > 0 && entries.some((e) => e.hosts.kind === 'hashed');
}

/** Appends an accepted host key, hashed or not as the file already is. Returns the line written. */
export async function trustHostKey(file: string, host: string, port: number, keyBlob: Buffer): Promise<string> {
  let text = '';
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return appendKnownHost(file, host, port, keyBlob, { hash: fileUsesHashing(text) });
}

/**
 * Removes every plain entry for `host` on `port` (ssh-keygen -R): lines that name only this host
 * go; a line that also names other hosts (`a,b key`) is kept whole and reported, as editing it
 * would also drop trust in the others. `@revoked` and `@cert-authority` lines stay. The previous
 * file is kept as `<file>.old`, as ssh-keygen does. Returns the removed line numbers.
 */
export async function removeKnownHost(file: string, host: string, port: number): Promise<{ removed: number[]; kept: number[]; backup: string }> {
  const text = await readFile(file, 'utf8');
  const name = hostLookupName(host, port);
  const removed: number[] = [];
  const kept: number[] = [];
  const lines = text.split('\n');
  const out: string[] = [];
  lines.forEach((raw, index) => {
    const entry = parseLine(raw.replace(/\r$/, ''), index + 1);
    if (entry && entry.marker === undefined && entryMatchesHost(entry, name)) {
      const single = entry.hosts.kind === 'hashed' || (entry.hosts.patterns.length === 1 && !entry.hosts.patterns[0]!.negated && !/[*?]/.test(entry.hosts.patterns[0]!.pattern));
      if (single) {
        removed.push(index + 1);
        return;
      }
      kept.push(index + 1);
    }
    out.push(raw);
  });
  const backup = `${file}.old`;
  await writeFile(backup, text, { mode: 0o600 });
  if (removed.length > 0) {
    const temporary = `${file}.tcplab-${process.pid}`;
    await writeFile(temporary, out.join('\n'), { mode: 0o600 });
    await rename(temporary, file);
  }
  return { removed, kept, backup };
}
