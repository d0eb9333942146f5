/**
 * The Hosts view's storage: H1 and H2 as a hosts file (shared/src/hosts-file.ts, the same format
 * `tcplab run --hosts` reads) plus the secrets the app keeps itself, which never go in that file.
 *
 * Secrets go to a SecretStore: in the desktop app an encrypted file (EncryptedSecretStore, its
 * cipher Electron's safeStorage, i.e. the desktop keyring); in browser mode memory only
 * (MemorySecretStore), which the view says. The hosts file marks each such secret
 * `...Stored: true`, so the CLI and a restarted browser mode say which one is missing.
 */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { stringify } from 'yaml';
import type { HostsSetupInput, HostSetup, HostSetupView, HostsView, SecretSource } from '../../shared/src/hosts-api';
import { HostsSetupInput as HostsSetupSchema } from '../../shared/src/hosts-api';
import { HOST_LABELS, parseHostsFile, type HostEntry, type HostLabel, type HostsFile } from '../../shared/src/hosts-file';
import { describeIssues } from '../../shared/src/lab-api';
import { ConfigError, DEFAULT_KNOWN_HOSTS, expandPath, readHostsFile, STORED_SECRET_NAMES, type ResolvedHosts, type StoredSecretName } from './hosts-config';

export interface SecretStore {
  readonly kind: 'encrypted' | 'memory' | 'unavailable';
  /** Shown as is in the Hosts view. */
  readonly description: string;
  get(label: HostLabel, name: StoredSecretName): string | undefined;
  /** Undefined removes the secret. */
  set(label: HostLabel, name: StoredSecretName, value: string | undefined): Promise<void>;
}

export class MemorySecretStore implements SecretStore {
  readonly kind = 'memory';
  readonly description = 'Browser mode keeps passwords and passphrases in memory only: they are forgotten when `tcplab web` stops, and never written to disk. The desktop app keeps them encrypted.';
  private readonly values = new Map<string, string>();
  get(label: HostLabel, name: StoredSecretName): string | undefined {
    return this.values.get(`${label}.${name}`);
  }
  async set(label: HostLabel, name: StoredSecretName, value: string | undefined): Promise<void> {
    if (value === undefined) this.values.delete(`${label}.${name}`);
    else this.values.set(`${label}.${name}`, value);
  }
}

/** What encrypts the secrets file: Electron's safeStorage in the app (electron/main). */
export interface SecretCipher {
  available(): boolean;
  encrypt(plain: string): Buffer;
  decrypt(encrypted: Buffer): string;
  /** Which keyring protects the key, for the view ("gnome_libsecret", "kwallet"...). */
  backend(): string;
}

/**
 * Secrets in one JSON file of base64 ciphertexts (`{"H1.password": "..."}`), mode 0600, written
 * atomically. Nothing is read or written when the cipher is unavailable (no keyring): the view
 * says so and the secrets are not kept, rather than kept in clear.
 */
export class EncryptedSecretStore implements SecretStore {
  private values = new Map<string, string>();
  readonly kind: 'encrypted' | 'unavailable';
  readonly description: string;

  private constructor(
    private readonly file: string,
    private readonly cipher: SecretCipher,
  ) {
    const ok = cipher.available();
    this.kind = ok ? 'encrypted' : 'unavailable';
    this.description = ok
      ? `Passwords and passphrases are kept encrypted with the desktop keyring (${cipher.backend()}) in ${file}, never in the hosts file.`
      : 'No desktop keyring is available to encrypt passwords, so TCP Lab keeps none: use a key file without a passphrase, ssh-agent, or passwordFile in the hosts file.';
  }

  static async open(file: string, cipher: SecretCipher): Promise<EncryptedSecretStore> {
    const store = new EncryptedSecretStore(file, cipher);
    if (store.kind === 'encrypted') {
      let text: string | undefined;
      try {
        text = await readFile(file, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
      if (text !== undefined) {
        const raw = JSON.parse(text) as unknown;
        if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${file}: not a TCP Lab secrets file`);
        for (const [key, value] of Object.entries(raw)) {
          if (typeof value !== 'string' || !/^H[12]\.(password|passphrase|sudoPassword|jumpPassword|jumpPassphrase)$/.test(key)) continue;
          store.values.set(key, cipher.decrypt(Buffer.from(value, 'base64')));
        }
      }
    }
    return store;
  }

  get(label: HostLabel, name: StoredSecretName): string | undefined {
    return this.values.get(`${label}.${name}`);
  }

  async set(label: HostLabel, name: StoredSecretName, value: string | undefined): Promise<void> {
    if (this.kind !== 'encrypted') {
      if (value === undefined) return;
      throw new Error(this.description);
    }
    if (value === undefined) this.values.delete(`${label}.${name}`);
    else this.values.set(`${label}.${name}`, value);
    const out: Record<string, string> = {};
    for (const [key, plain] of this.values) out[key] = this.cipher.encrypt(plain).toString('base64');
    await writeAtomically(this.file, `${JSON.stringify(out, null, 2)}\n`);
  }
}

export interface HostsStoreOptions {
  /** The hosts file the view reads and writes. */
  file: string;
  secrets: SecretStore;
  /** Overrides the file's knownHosts (tcplab web --known-hosts). */
  knownHostsFile?: string;
  homeDir?: string;
  env?: Readonly<Record<string, string | undefined>>;
}

/** A request the Hosts view made that cannot be carried out, in the user's words. */
export class HostsError extends Error {}

export class HostsStore {
  constructor(readonly options: HostsStoreOptions) {}

  get file(): string {
    return resolve(this.options.file);
  }

  private async readEntries(): Promise<HostsFile | undefined> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    const parsed = parseHostsFile(text, this.file);
    if (!parsed.ok) throw ConfigError.fromErrors(parsed.errors);
    return parsed.value;
  }

  private knownHostsOf(file: HostsFile | undefined): string {
    if (this.options.knownHostsFile) return this.options.knownHostsFile;
    return expandPath(file?.knownHosts ?? DEFAULT_KNOWN_HOSTS, dirname(this.file), this.options.homeDir ?? homedir());
  }

  /** The hosts, resolved for connecting (secrets read); throws a ConfigError saying what is missing. */
  async resolve(): Promise<ResolvedHosts> {
    const resolved = await readHostsFile(this.file, {
      ...(this.options.env ? { env: this.options.env } : {}),
      ...(this.options.homeDir ? { homeDir: this.options.homeDir } : {}),
      storedSecrets: (label, name) => this.options.secrets.get(label, name),
      storedSecretsWhere: this.options.secrets.kind === 'memory' ? 'in memory in browser mode, forgotten when it restarts' : 'encrypted',
    });
    if (this.options.knownHostsFile) resolved.knownHostsFile = this.options.knownHostsFile;
    return resolved;
  }

  async view(localLab: HostsView['localLab']): Promise<HostsView> {
    let entries: HostsFile | undefined;
    let problem: string | undefined;
    try {
      entries = await this.readEntries();
    } catch (error) {
      problem = (error as Error).message;
    }
    if (entries && !problem) {
      try {
        await this.resolve();
      } catch (error) {
        problem = (error as Error).message;
      }
    }
    const secrets = { kind: this.options.secrets.kind, description: this.options.secrets.description };
    const base = { file: this.file, knownHostsFile: this.knownHostsOf(entries), secrets, localLab, ...(problem ? { problem } : {}) };
    if (!entries) return base;
    return { ...base, hosts: { H1: this.viewHost('H1', entries.hosts.H1), H2: this.viewHost('H2', entries.hosts.H2) } };
  }

  private viewHost(label: HostLabel, entry: HostEntry): HostSetupView {
    const stored = (name: StoredSecretName): SecretSource => (this.options.secrets.get(label, name) !== undefined ? { kind: 'stored' } : { kind: 'missing' });
    const source = (file: string | undefined, env: string | undefined, isStored: boolean | undefined, name: StoredSecretName): SecretSource =>
      file !== undefined ? { kind: 'file', file } : env !== undefined ? { kind: 'env', name: env } : isStored ? stored(name) : { kind: 'none' };
    const auth: HostSetupView['auth'] =
      entry.auth.type === 'key'
        ? { type: 'key', keyFile: entry.auth.keyFile, passphrase: entry.auth.passphraseStored ? stored('passphrase') : { kind: 'none' } }
        : entry.auth.type === 'agent'
          ? { type: 'agent' }
          : { type: 'password', password: source(entry.auth.passwordFile, entry.auth.passwordEnv, entry.auth.passwordStored, 'password') };
    return {
      name: entry.name ?? '',
      address: entry.address,
      port: entry.port,
      ...(entry.experimentAddress !== undefined ? { experimentAddress: entry.experimentAddress } : {}),
      user: entry.user,
      auth,
      sudo: entry.sudo,
      sudoPassword: entry.sudo === 'password' ? source(entry.sudoPasswordFile, entry.sudoPasswordEnv, entry.sudoPasswordStored, 'sudoPassword') : { kind: 'none' },
      ...(entry.proxyJump !== undefined ? { proxyJump: entry.proxyJump } : {}),
      ...(entry.proxyJumpAuth !== undefined ? { proxyJumpAuth: this.viewJumpAuth(entry.proxyJumpAuth, stored, source) } : {}),
    };
  }

  private viewJumpAuth(
    auth: NonNullable<HostEntry['proxyJumpAuth']>,
    stored: (name: StoredSecretName) => SecretSource,
    source: (file: string | undefined, env: string | undefined, isStored: boolean | undefined, name: StoredSecretName) => SecretSource,
  ): NonNullable<HostSetupView['proxyJumpAuth']> {
    if (auth.type === 'key') return { type: 'key', keyFile: auth.keyFile, passphrase: auth.passphraseStored ? stored('jumpPassphrase') : { kind: 'none' } };
    if (auth.type === 'agent') return { type: 'agent' };
    return { type: 'password', password: source(auth.passwordFile, auth.passwordEnv, auth.passwordStored, 'jumpPassword') };
  }

  /**
   * Writes the hosts file from the view's input and keeps its secrets. A secret left out keeps
   * what is there (a stored secret, or the file's passwordFile/passwordEnv reference); a secret
   * needed and nowhere is an error naming it. The result is checked by the hosts file's own
   * schema before anything is written.
   */
  async save(input: HostsSetupInput, knownHosts?: string): Promise<void> {
    const parsed = HostsSetupSchema.safeParse(input);
    if (!parsed.success) throw new HostsError(`hosts refused: ${describeIssues(parsed.error)}`);
    const previous = await this.readEntries().catch(() => undefined);
    const secretsToSet: Array<[HostLabel, StoredSecretName, string | undefined]> = [];
    const problems: string[] = [];
    const hosts = {} as Record<HostLabel, Record<string, unknown>>;
    for (const label of HOST_LABELS) {
      hosts[label] = this.entryFor(label, parsed.data[label], previous?.hosts[label], secretsToSet, problems);
    }
    const document: Record<string, unknown> = { knownHosts: knownHosts ?? previous?.knownHosts ?? DEFAULT_KNOWN_HOSTS, hosts };
    const text = `# TCP Lab hosts, written by the app's Hosts view. Secrets are never in this file:\n# "...Stored: true" means the app keeps that one (${this.options.secrets.kind === 'memory' ? 'browser mode: in memory only' : 'encrypted'}).\n${stringify(document)}`;
    const check = parseHostsFile(text, this.file);
    if (!check.ok) problems.push(...check.errors.map((e) => e.message));
    if (problems.length) throw new HostsError(problems.join('\n'));
    if (this.options.secrets.kind === 'unavailable' && secretsToSet.some(([, , v]) => v !== undefined)) throw new HostsError(this.options.secrets.description);
    for (const [label, name, value] of secretsToSet) await this.options.secrets.set(label, name, value);
    await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
    await writeAtomically(this.file, text);
  }

  private entryFor(
    label: HostLabel,
    host: HostSetup,
    previous: HostEntry | undefined,
    secrets: Array<[HostLabel, StoredSecretName, string | undefined]>,
    problems: string[],
  ): Record<string, unknown> {
    const keep = (name: StoredSecretName, given: string | undefined, what: string): { passwordStored: true } | { ref: Record<string, string> } | undefined => {
      if (given !== undefined) {
        secrets.push([label, name, given]);
        return { passwordStored: true };
      }
      if (this.options.secrets.get(label, name) !== undefined) return { passwordStored: true };
      const prevRef: Record<string, string> | undefined =
        name === 'password' && previous?.auth.type === 'password'
          ? previous.auth.passwordFile !== undefined
            ? { passwordFile: previous.auth.passwordFile }
            : previous.auth.passwordEnv !== undefined
              ? { passwordEnv: previous.auth.passwordEnv }
              : undefined
          : name === 'sudoPassword' && previous?.sudo === 'password'
            ? previous.sudoPasswordFile !== undefined
              ? { sudoPasswordFile: previous.sudoPasswordFile }
              : previous.sudoPasswordEnv !== undefined
                ? { sudoPasswordEnv: previous.sudoPasswordEnv }
                : undefined
            : undefined;
      if (prevRef) return { ref: prevRef };
      problems.push(`${label}: enter the ${what}`);
      return undefined;
    };
    const entry: Record<string, unknown> = {};
    if (host.name.trim() !== '') entry.name = host.name.trim();
    entry.address = host.address;
    entry.port = host.port;
    if (host.experimentAddress !== undefined && host.experimentAddress !== '') entry.experimentAddress = host.experimentAddress;
    entry.user = host.user;
    if (host.auth.type === 'key') {
      const auth: Record<string, unknown> = { type: 'key', keyFile: host.auth.keyFile };
      if (host.auth.passphrase !== undefined) secrets.push([label, 'passphrase', host.auth.passphrase]);
      if (host.auth.passphrase !== undefined || (this.options.secrets.get(label, 'passphrase') !== undefined && previous?.auth.type === 'key' && previous.auth.passphraseStored)) auth.passphraseStored = true;
      else secrets.push([label, 'passphrase', undefined]);
      entry.auth = auth;
    } else if (host.auth.type === 'agent') {
      entry.auth = { type: 'agent' };
    } else {
      const kept = keep('password', host.auth.password, 'password');
      entry.auth = { type: 'password', ...(kept && 'ref' in kept ? kept.ref : kept ? { passwordStored: true } : {}) };
    }
    if (host.auth.type !== 'password') secrets.push([label, 'password', undefined]);
    entry.sudo = host.sudo;
    if (host.sudo === 'password') {
      const kept = keep('sudoPassword', host.sudoPassword, 'sudo password');
      if (kept && 'ref' in kept) Object.assign(entry, kept.ref);
      else if (kept) entry.sudoPasswordStored = true;
    } else {
      secrets.push([label, 'sudoPassword', undefined]);
    }
    const jumpAuth = host.proxyJump !== undefined && host.proxyJump !== '' ? host.proxyJumpAuth : undefined;
    if (host.proxyJump !== undefined && host.proxyJump !== '') {
      entry.proxyJump = host.proxyJump;
      if (jumpAuth !== undefined) entry.proxyJumpAuth = this.jumpEntryFor(label, jumpAuth, previous?.proxyJumpAuth, secrets, problems);
    }
    if (jumpAuth?.type !== 'key') secrets.push([label, 'jumpPassphrase', undefined]);
    if (jumpAuth?.type !== 'password') secrets.push([label, 'jumpPassword', undefined]);
    return entry;
  }

  /** The jump host's own login (proxyJumpAuth), its secrets kept as the host's are. */
  private jumpEntryFor(
    label: HostLabel,
    auth: NonNullable<HostSetup['proxyJumpAuth']>,
    previous: HostEntry['proxyJumpAuth'],
    secrets: Array<[HostLabel, StoredSecretName, string | undefined]>,
    problems: string[],
  ): Record<string, unknown> {
    const kept = (name: StoredSecretName): boolean => this.options.secrets.get(label, name) !== undefined;
    if (auth.type === 'agent') return { type: 'agent' };
    if (auth.type === 'key') {
      const out: Record<string, unknown> = { type: 'key', keyFile: auth.keyFile };
      if (auth.passphrase !== undefined) {
        secrets.push([label, 'jumpPassphrase', auth.passphrase]);
        out.passphraseStored = true;
      } else if (kept('jumpPassphrase') && previous?.type === 'key' && previous.passphraseStored) {
        out.passphraseStored = true;
      } else {
        secrets.push([label, 'jumpPassphrase', undefined]);
      }
      return out;
    }
    if (auth.password !== undefined) {
      secrets.push([label, 'jumpPassword', auth.password]);
      return { type: 'password', passwordStored: true };
    }
    if (kept('jumpPassword')) return { type: 'password', passwordStored: true };
    if (previous?.type === 'password' && previous.passwordFile !== undefined) return { type: 'password', passwordFile: previous.passwordFile };
    if (previous?.type === 'password' && previous.passwordEnv !== undefined) return { type: 'password', passwordEnv: previous.passwordEnv };
    problems.push(`${label}: enter the jump host's password`);
    return { type: 'password' };
  }

  /** Makes another hosts file (the virtual lab's) this one: paths made absolute, secrets by reference. */
  async adopt(otherFile: string): Promise<void> {
    const text = await readFile(otherFile, 'utf8');
    const parsed = parseHostsFile(text, otherFile);
    if (!parsed.ok) throw ConfigError.fromErrors(parsed.errors);
    const base = dirname(resolve(otherFile));
    const home = this.options.homeDir ?? homedir();
    const abs = (p: string): string => expandPath(p, base, home);
    const doc = parsed.value;
    const hosts: Record<string, unknown> = {};
    for (const label of HOST_LABELS) {
      const h = doc.hosts[label];
      const auth =
        h.auth.type === 'key'
          ? { type: 'key', keyFile: abs(h.auth.keyFile) }
          : h.auth.type === 'password'
            ? { type: 'password', ...(h.auth.passwordFile ? { passwordFile: abs(h.auth.passwordFile) } : {}), ...(h.auth.passwordEnv ? { passwordEnv: h.auth.passwordEnv } : {}) }
            : { type: 'agent' };
      hosts[label] = {
        name: h.name ?? `virtual ${label}`,
        address: h.address,
        port: h.port,
        ...(h.experimentAddress ? { experimentAddress: h.experimentAddress } : {}),
        user: h.user,
        auth,
        sudo: h.sudo,
        ...(h.sudoPasswordFile ? { sudoPasswordFile: abs(h.sudoPasswordFile) } : {}),
        ...(h.sudoPasswordEnv ? { sudoPasswordEnv: h.sudoPasswordEnv } : {}),
      };
      for (const name of STORED_SECRET_NAMES) await this.options.secrets.set(label, name, undefined);
    }
    const out = `# TCP Lab hosts: the local virtual lab (from ${otherFile}).\n${stringify({ knownHosts: abs(doc.knownHosts ?? DEFAULT_KNOWN_HOSTS), hosts })}`;
    const check = parseHostsFile(out, this.file);
    if (!check.ok) throw ConfigError.fromErrors(check.errors);
    await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
    await writeAtomically(this.file, out);
  }
}

/** Write to a temporary file next to it, then rename: a crash never leaves half a file. Mode 0600. */
async function writeAtomically(file: string, text: string): Promise<void> {
  const temporary = `${file}.tmp-${process.pid}`;
  await writeFile(temporary, text, { mode: 0o600 });
  await chmod(temporary, 0o600);
  await rename(temporary, file);
}
