/**
 * Reading a hosts file (shared/src/hosts-file.ts) into everything the engine needs to connect:
 * paths resolved (`~/`, and relative to the hosts file's directory), key files, password files
 * and environment variables read. Every problem, in the file or in what it points to, becomes one
 * line of a ConfigError, `file:line:column: path: message`, all of them at once.
 *
 * Secrets (private keys, passwords) are non-enumerable properties: JSON.stringify, util.inspect
 * and structured clone (IPC) never see them, so a host can be logged or sent to the renderer
 * without leaking them. The flip side: `{ ...host }` drops `sudoPassword`, and `{ ...host.auth }`
 * drops the key or password; pass the objects themselves around.
 */
import { readFile, stat } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
// ssh2 is CommonJS; Node's ESM loader cannot see its named exports, so take them off the default.
import ssh2 from 'ssh2';
import { HOST_LABELS, parseHostsFile, parseProxyJump, type HostAuth, type HostEntry, type HostLabel, type JumpAuth, type SudoMode } from '../../shared/src/hosts-file';
import { formatFileErrors, yamlLocator, type FileError } from '../../shared/src/yaml-load';

export class ConfigError extends Error {
  override name = 'ConfigError';
  /** The problems, one per line of the message; empty when the file itself could not be read. */
  readonly errors: readonly FileError[];

  constructor(message: string, errors: readonly FileError[] = []) {
    super(message);
    this.errors = errors;
  }

  static fromErrors(errors: readonly FileError[]): ConfigError {
    return new ConfigError(formatFileErrors(errors), errors);
  }
}

export type ResolvedAuth =
  | { type: 'key'; /** Absolute path, for messages. */ keyFile: string; /** Secret: non-enumerable. */ privateKey: Buffer; /** Secret: non-enumerable; for an encrypted key. */ passphrase?: string }
  | { type: 'agent'; /** The ssh-agent socket ($SSH_AUTH_SOCK). */ agentSocket: string }
  | { type: 'password'; /** Secret: non-enumerable. */ password: string };

export interface ResolvedHost {
  label: HostLabel;
  address: string;
  port: number;
  /** The address the other host uses to reach this one (the hosts file's experimentAddress, or address). */
  experimentAddress: string;
  user: string;
  auth: ResolvedAuth;
  sudo: SudoMode;
  /** Present when sudo is 'password'. Secret: non-enumerable. */
  sudoPassword?: string;
  /** What the lab calls the machine (the hosts file's name). */
  name?: string;
  /** A jump host, `[user@]host[:port]` (ssh -J), as written. */
  proxyJump?: string;
  /** The jump host resolved: present exactly when proxyJump is. */
  jump?: ResolvedJump;
}

/** The jump host SSH goes through to reach a host (ssh -J): one hop. */
export interface ResolvedJump {
  /** As written in the hosts file: `[user@]host[:port]`. */
  spec: string;
  address: string;
  port: number;
  /** The login on the jump host: as written, else the local user name (as ssh -J). */
  user: string;
  /** The host's own auth object (same key or agent), or the jump host's proxyJumpAuth (key, agent or its own password). */
  auth: ResolvedAuth;
}

/** The secrets the app keeps itself (`passwordStored: true` and friends in the hosts file); `jump...` are the jump host's (proxyJumpAuth). */
export type StoredSecretName = 'password' | 'passphrase' | 'sudoPassword' | 'jumpPassword' | 'jumpPassphrase';
export const STORED_SECRET_NAMES: readonly StoredSecretName[] = ['password', 'passphrase', 'sudoPassword', 'jumpPassword', 'jumpPassphrase'];
export type StoredSecrets = (label: HostLabel, name: StoredSecretName) => string | undefined;

export interface ResolvedHosts {
  /** The hosts file, absolute. */
  file: string;
  /** The known_hosts file, absolute (it need not exist yet). */
  knownHostsFile: string;
  hosts: Record<HostLabel, ResolvedHost>;
}

export interface ReadHostsOptions {
  /** Environment for passwordEnv, sudoPasswordEnv and SSH_AUTH_SOCK; default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** What `~` means; default os.homedir(). */
  homeDir?: string;
  /** The secrets kept by the app; without it, a `...Stored: true` secret is a problem. */
  storedSecrets?: StoredSecrets;
  /** How the secret store is described in "not given" problems. */
  storedSecretsWhere?: string;
  /** The login name on a jump host written without `user@`; default the local user (os.userInfo). */
  localUser?: string;
}

export const DEFAULT_KNOWN_HOSTS = '~/.ssh/known_hosts';

/** Reads, validates and resolves a hosts file. Throws a ConfigError listing every problem. */
export async function readHostsFile(path: string, options: ReadHostsOptions = {}): Promise<ResolvedHosts> {
  const file = resolve(path);
  const env = options.env ?? process.env;
  const home = options.homeDir ?? homedir();
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`${path}: cannot read the hosts file: ${describeFsError(error)}`);
  }

  const parsed = parseHostsFile(text, path);
  if (!parsed.ok) throw ConfigError.fromErrors(parsed.errors);

  const errorAt = yamlLocator(text, path);
  const errors: FileError[] = [];
  const baseDir = dirname(file);
  const resolvePath = (p: string): string => expandPath(p, baseDir, home);

  const hosts = {} as Record<HostLabel, ResolvedHost>;
  await Promise.all(
    HOST_LABELS.map(async (label) => {
      const problems: Array<{ path: PropertyKey[]; message: string }> = [];
      const stored = (name: StoredSecretName): string | undefined => options.storedSecrets?.(label, name);
      const where = options.storedSecretsWhere ?? 'the app';
      const localUser = options.localUser ?? localUserName(env);
      const host = await resolveHost(label, parsed.value.hosts[label], { resolvePath, env, problems, stored, where, localUser });
      for (const p of problems) errors.push(errorAt(['hosts', label, ...p.path], `${label}: ${p.message}`));
      if (host !== undefined) hosts[label] = host;
    }),
  );
  if (errors.length > 0) throw ConfigError.fromErrors(errors.sort((a, b) => a.line - b.line || a.column - b.column));

  return { file, knownHostsFile: resolvePath(parsed.value.knownHosts ?? DEFAULT_KNOWN_HOSTS), hosts };
}

/** ssh's default login name: the local account's (getpwuid), else $USER. */
function localUserName(env: Readonly<Record<string, string | undefined>>): string {
  try {
    return userInfo().username;
  } catch {
    return env.USER ?? 'root';
  }
}

/** `~` and `~/x` against the home directory; anything else against `baseDir` (absolute stays). */
export function expandPath(p: string, baseDir: string, home: string): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return join(home, p.slice(2));
  return resolve(baseDir, p);
}

interface ResolveContext {
  resolvePath: (p: string) => string;
  env: Readonly<Record<string, string | undefined>>;
  problems: Array<{ path: PropertyKey[]; message: string }>;
  stored: (name: StoredSecretName) => string | undefined;
  /** Where stored secrets are kept, for "not given" problems. */
  where: string;
  localUser: string;
}

function readStored(name: StoredSecretName, where: PropertyKey[], what: string, ctx: ResolveContext): string | undefined {
  const value = ctx.stored(name);
  if (value === undefined || value === '') {
    ctx.problems.push({ path: where, message: `the ${what} is kept by TCP Lab (${ctx.where}) and is not there: enter it in the Hosts view` });
    return undefined;
  }
  return value;
}

async function resolveHost(label: HostLabel, entry: HostEntry, ctx: ResolveContext): Promise<ResolvedHost | undefined> {
  const auth = await resolveAuth(entry.auth, ['auth'], ctx);
  const jump = entry.proxyJump === undefined ? undefined : await resolveJump(entry.proxyJump, entry.proxyJumpAuth, auth, ctx);
  let sudoPassword: string | undefined;
  if (entry.sudo === 'password') {
    if (entry.sudoPasswordFile !== undefined) {
      sudoPassword = await readSecretFile(ctx.resolvePath(entry.sudoPasswordFile), ['sudoPasswordFile'], 'sudo password', ctx);
    } else if (entry.sudoPasswordEnv !== undefined) {
      sudoPassword = readSecretEnv(entry.sudoPasswordEnv, ['sudoPasswordEnv'], 'sudo password', ctx);
    } else if (entry.sudoPasswordStored) {
      sudoPassword = readStored('sudoPassword', ['sudoPasswordStored'], 'sudo password', ctx);
    }
  }
  if (auth === undefined || (entry.sudo === 'password' && sudoPassword === undefined)) return undefined;
  if (entry.proxyJump !== undefined && jump === undefined) return undefined;

  const host: ResolvedHost = {
    label,
    address: entry.address,
    port: entry.port,
    experimentAddress: entry.experimentAddress ?? entry.address,
    user: entry.user,
    auth,
    sudo: entry.sudo,
    ...(entry.name !== undefined ? { name: entry.name } : {}),
    ...(entry.proxyJump !== undefined ? { proxyJump: entry.proxyJump } : {}),
    ...(jump !== undefined ? { jump } : {}),
  };
  if (sudoPassword !== undefined) defineSecret(host, 'sudoPassword', sudoPassword);
  return host;
}

/**
 * The jump host: its address, port and login from the ProxyJump text, and its auth: its own
 * proxyJumpAuth (its secrets stored under the jump... names), else the host's key or agent (never
 * the host's password: the schema refuses that).
 */
async function resolveJump(spec: string, own: JumpAuth | undefined, hostAuth: ResolvedAuth | undefined, ctx: ResolveContext): Promise<ResolvedJump | undefined> {
  const parsed = parseProxyJump(spec);
  if (parsed === undefined) {
    ctx.problems.push({ path: ['proxyJump'], message: 'must be one jump host written as [user@]host[:port]' });
    return undefined;
  }
  let auth: ResolvedAuth | undefined;
  if (own !== undefined) {
    auth = await resolveAuth(own, ['proxyJumpAuth'], ctx, JUMP_SECRETS);
  } else if (hostAuth?.type === 'password') {
    ctx.problems.push({ path: ['proxyJump'], message: 'this host logs in with a password, which is never sent to another machine: give the jump host its own login (proxyJumpAuth)' });
    return undefined;
  } else {
    auth = hostAuth;
  }
  if (auth === undefined) return undefined;
  return { spec, address: parsed.address, port: parsed.port, user: parsed.user ?? ctx.localUser, auth };
}

/** Which stored secrets an auth block's `...Stored: true` refer to, and how messages name them. */
interface SecretNames {
  password: StoredSecretName;
  passphrase: StoredSecretName;
  /** Prefix for messages: '' for the host, "jump host's " for proxyJumpAuth. */
  whose: string;
}
const HOST_SECRETS: SecretNames = { password: 'password', passphrase: 'passphrase', whose: '' };
const JUMP_SECRETS: SecretNames = { password: 'jumpPassword', passphrase: 'jumpPassphrase', whose: "jump host's " };

async function resolveAuth(auth: HostAuth | JumpAuth, base: PropertyKey[], ctx: ResolveContext, names: SecretNames = HOST_SECRETS): Promise<ResolvedAuth | undefined> {
  switch (auth.type) {
    case 'key': {
      const keyFile = ctx.resolvePath(auth.keyFile);
      let passphrase: string | undefined;
      if (auth.passphraseStored) {
        passphrase = readStored(names.passphrase, [...base, 'passphraseStored'], `${names.whose}key passphrase`, ctx);
        if (passphrase === undefined) return undefined;
      }
      const privateKey = await readKeyFile(keyFile, [...base, 'keyFile'], ctx, passphrase);
      if (privateKey === undefined) return undefined;
      const resolved = defineSecret({ type: 'key', keyFile } as ResolvedAuth & { type: 'key' }, 'privateKey', privateKey);
      if (passphrase !== undefined) defineSecret(resolved, 'passphrase', passphrase);
      return resolved;
    }
    case 'agent': {
      const agentSocket = ctx.env.SSH_AUTH_SOCK;
      if (agentSocket === undefined || agentSocket === '') {
        ctx.problems.push({
          path: [...base, 'type'],
          message: 'auth type agent uses the ssh-agent named by $SSH_AUTH_SOCK, which is not set: start ssh-agent and ssh-add your key, or use type: key',
        });
        return undefined;
      }
      try {
        await stat(agentSocket);
      } catch (error) {
        ctx.problems.push({
          path: [...base, 'type'],
          message: `auth type agent uses $SSH_AUTH_SOCK (${agentSocket}), which cannot be used (${describeFsError(error)}): is ssh-agent running?`,
        });
        return undefined;
      }
      return { type: 'agent', agentSocket };
    }
    case 'password': {
      let password: string | undefined;
      if (auth.passwordFile !== undefined) {
        password = await readSecretFile(ctx.resolvePath(auth.passwordFile), [...base, 'passwordFile'], 'password', ctx);
      } else if (auth.passwordEnv !== undefined) {
        password = readSecretEnv(auth.passwordEnv, [...base, 'passwordEnv'], 'password', ctx);
      } else if (auth.passwordStored) {
        password = readStored(names.password, [...base, 'passwordStored'], `${names.whose}password`, ctx);
      }
      if (password === undefined) return undefined;
      return defineSecret({ type: 'password' } as ResolvedAuth & { type: 'password' }, 'password', password);
    }
  }
}

async function readKeyFile(keyFile: string, where: PropertyKey[], ctx: ResolveContext, passphrase?: string): Promise<Buffer | undefined> {
  let data: Buffer;
  try {
    data = await readFile(keyFile);
  } catch (error) {
    ctx.problems.push({ path: where, message: `cannot read the key file ${keyFile}: ${describeFsError(error)}` });
    return undefined;
  }
  const parsed = ssh2.utils.parseKey(data, passphrase);
  if (parsed instanceof Error) {
    const message = passphrase !== undefined && /encrypted|passphrase|decrypt|bad/i.test(parsed.message)
      ? `the passphrase kept for the key file ${keyFile} does not open it (${parsed.message}): enter it again in the Hosts view`
      : /encrypted/i.test(parsed.message)
      ? `the key file ${keyFile} is protected by a passphrase: enter it in the Hosts view (the app keeps it), or add the key to ssh-agent (ssh-add ${keyFile}) and use auth: { type: agent }`
      : `${keyFile} is not a private key TCP Lab can read (${parsed.message})`;
    ctx.problems.push({ path: where, message });
    return undefined;
  }
  if (!parsed.isPrivateKey()) {
    ctx.problems.push({
      path: where,
      message: `${keyFile} is a public key; keyFile must name the private key (${keyFile.replace(/\.pub$/, '')}, without .pub)`,
    });
    return undefined;
  }
  return data;
}

async function readSecretFile(file: string, where: PropertyKey[], what: string, ctx: ResolveContext): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    ctx.problems.push({ path: where, message: `cannot read the ${what} file ${file}: ${describeFsError(error)}` });
    return undefined;
  }
  const secret = text.replace(/\r?\n$/, '');
  if (secret === '') {
    ctx.problems.push({ path: where, message: `the ${what} file ${file} is empty` });
    return undefined;
  }
  return secret;
}

function readSecretEnv(name: string, where: PropertyKey[], what: string, ctx: ResolveContext): string | undefined {
  const value = ctx.env[name];
  if (value === undefined) {
    ctx.problems.push({ path: where, message: `the environment variable ${name} (the ${what}) is not set` });
    return undefined;
  }
  if (value === '') {
    ctx.problems.push({ path: where, message: `the environment variable ${name} (the ${what}) is empty` });
    return undefined;
  }
  return value;
}

/** Adds `key` as a non-enumerable, read-only property: invisible to JSON, inspect and IPC. */
function defineSecret<T extends object, K extends string, V>(target: T, key: K, value: V): T & Record<K, V> {
  Object.defineProperty(target, key, { value, enumerable: false, writable: false, configurable: false });
  return target as T & Record<K, V>;
}

function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory';
    default:
      return (error as Error | undefined)?.message ?? String(error);
  }
}
