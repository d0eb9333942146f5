/**
 * Import from ~/.ssh/config: every concrete Host alias (not a pattern such as `*` or `lab-*`),
 * resolved the way `ssh` resolves it (first value wins, patterns and `Host *` apply), through the
 * `ssh-config` package. `Include` is followed (relative to ~/.ssh, `*` and `?` in file names),
 * `Match exec` is never run (matchExec: false: importing a config must not execute it).
 *
 * ProxyJump is resolved as `ssh -J` does: a jump host named by a Host alias gets that entry's
 * HostName, User, Port and IdentityFile (its own key becomes the jump host's login, proxyJumpAuth).
 *
 * What TCP Lab cannot carry over is listed per host as a note, never silently dropped:
 * ProxyCommand, a chain of several jump hosts (TCP Lab has one: the first is imported), several
 * IdentityFiles (the first is used).
 */
import { readdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join } from 'node:path';
import SSHConfig from 'ssh-config';
import type { ImportedHost, SshConfigImport } from '../../shared/src/hosts-api';
import { ProxyJump } from '../../shared/src/hosts-file';

const MAX_INCLUDE_DEPTH = 16;
/** Jump hosts followed through their own ProxyJump before the import stops (a loop). */
const MAX_JUMPS = 8;

export interface ImportOptions {
  /** What `~` means; default os.homedir(). */
  homeDir?: string;
  /** The local user, ssh's default login name; default $USER. */
  localUser?: string;
}

export async function importSshConfig(file: string, options: ImportOptions = {}): Promise<SshConfigImport> {
  const home = options.homeDir ?? homedir();
  const problems: string[] = [];
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { file, hosts: [], problems: [code === 'ENOENT' ? `There is no ${file}.` : `Cannot read ${file}: ${(error as Error).message}`] };
  }
  const expanded = await expandIncludes(text, file, home, problems, 0);
  return { file, hosts: resolveHosts(expanded, home, options.localUser ?? process.env.USER ?? 'root'), problems };
}

/** The config text with every `Include` replaced by the files it names, as ssh reads them (in place). */
async function expandIncludes(text: string, file: string, home: string, problems: string[], depth: number): Promise<string> {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*Include\s*[= ]\s*(.+?)\s*$/i.exec(line);
    if (!m?.[1]) {
      out.push(line);
      continue;
    }
    if (depth >= MAX_INCLUDE_DEPTH) {
      problems.push(`${file}: Include nested more than ${MAX_INCLUDE_DEPTH} deep; not followed further`);
      continue;
    }
    for (const pattern of splitWords(m[1])) {
      // ssh: relative Include paths in a user config are relative to ~/.ssh.
      const absolute = pattern.startsWith('~/') ? join(home, pattern.slice(2)) : isAbsolute(pattern) ? pattern : join(home, '.ssh', pattern);
      for (const included of await globFiles(absolute)) {
        try {
          out.push(await expandIncludes(await readFile(included, 'utf8'), included, home, problems, depth + 1));
        } catch (error) {
          problems.push(`${file}: Include ${included}: ${(error as Error).message}`);
        }
      }
    }
  }
  return out.join('\n');
}

/** Files matching `*` and `?` in the last path component (sorted, as glob(3) does); the path itself otherwise. */
async function globFiles(path: string): Promise<string[]> {
  const name = basename(path);
  if (!/[*?]/.test(name)) return [path];
  const dir = dirname(path);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const re = new RegExp(`^${name.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return names.filter((n) => re.test(n) && !n.startsWith('.')).sort().map((n) => join(dir, n));
}

function splitWords(value: string): string[] {
  return [...value.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '').filter((w) => w !== '');
}

/** A port as ssh_config writes it; undefined when it is not 1-65535. */
function portNumber(text: string): number | undefined {
  const n = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  return n >= 1 && n <= 65535 ? n : undefined;
}

/** One hop of a ProxyJump value, `[ssh://][user@]host[:port]` (host may be `[v6]`), taken apart as written. */
function parseHop(text: string): { user?: string; host: string; port?: string } | undefined {
  const m = /^(?:ssh:\/\/)?(?:([^@\s]+)@)?(?:\[([^\]\s]+)\]|([^:@[\]\s/]+))(?::(\d+))?\/?$/.exec(text.trim());
  const host = m?.[2] ?? m?.[3];
  if (!m || host === undefined) return undefined;
  return { ...(m[1] !== undefined ? { user: m[1] } : {}), host, ...(m[4] !== undefined ? { port: m[4] } : {}) };
}

/** A jump host as `ssh -J` reaches it: what is written, completed by its Host entry (if any). */
interface Hop {
  /** As written in the ProxyJump value. */
  written: string;
  /** Its address and login as the hosts file's proxyJump: `[user@]address[:port]`. */
  proxyJump: string;
  /** Its own IdentityFiles, expanded (first is used). */
  keyFiles: string[];
}

function resolveHosts(text: string, home: string, localUser: string): ImportedHost[] {
  const config = SSHConfig.parse(text);
  const aliases: string[] = [];
  for (const line of config) {
    if (line.type !== SSHConfig.DIRECTIVE || line.param.toLowerCase() !== 'host') continue;
    const values = typeof line.value === 'string' ? splitWords(line.value) : line.value.map((v) => v.val);
    for (const alias of values) if (!/[*?!]/.test(alias) && !aliases.includes(alias)) aliases.push(alias);
  }
  const compute = (name: string) => config.compute(name, { ignoreCase: true, matchExec: false });
  const all = (computed: Record<string, string | string[]>, key: string): string[] => {
    const v = computed[key];
    return v === undefined ? [] : Array.isArray(v) ? v : [v];
  };
  const first = (computed: Record<string, string | string[]>, key: string): string | undefined => all(computed, key)[0];
  /** ssh's tokens and `~` in an IdentityFile, for the machine it logs in to. */
  const expandPath = (p: string, target: { address: string; user: string | undefined }): string => {
    const withTokens = p
      .replace(/%d/g, home)
      .replace(/%h/g, target.address)
      .replace(/%u/g, localUser)
      .replace(/%r/g, target.user ?? localUser);
    return withTokens.startsWith('~/') ? join(home, withTokens.slice(2)) : withTokens;
  };

  /**
   * One hop resolved as ssh does: its host looked up like any alias, so a Host entry's HostName,
   * User, Port and IdentityFile apply, what is written (`user@`, `:port`) winning. A string says
   * why it cannot be imported.
   */
  const resolveHop = (written: string): { hop: Hop; ownJump: string | undefined; name: string } | string => {
    const parts = parseHop(written);
    if (parts === undefined) return `${written} is not [user@]host[:port]`;
    const computed = compute(parts.host);
    const address = first(computed, 'hostname')?.replace(/%h/g, parts.host) ?? parts.host;
    const user = parts.user ?? first(computed, 'user')?.replace(/%u/g, localUser);
    const portText = parts.port ?? first(computed, 'port') ?? '22';
    const port = portNumber(portText);
    if (port === undefined) return `${written}: port ${portText} is not a port number`;
    const ownJump = first(computed, 'proxyjump');
    const proxyJump = `${user !== undefined ? `${user}@` : ''}${address.includes(':') ? `[${address}]` : address}${port !== 22 ? `:${port}` : ''}`;
    const keyFiles = all(computed, 'identityfile').map((f) => expandPath(f, { address, user }));
    return { hop: { written, proxyJump, keyFiles }, ownJump: ownJump?.toLowerCase() === 'none' ? undefined : ownJump, name: parts.host };
  };

  /**
   * The jump hosts a ProxyJump value goes through, the one this computer connects to first. As in
   * ssh: `a,b` is a, then b through a; and the first hop's own Host entry may have a ProxyJump of
   * its own, which ssh follows when it connects to that hop (the later hops' own ProxyJump are
   * overridden by the chain). `seen` are the hosts already on the way: one of them again is a loop
   * (`Host * ProxyJump gw` without `ProxyJump none` for gw), on which ssh fails too. A string says
   * why the chain cannot be imported.
   */
  const chainOf = (value: string, seen: string[]): Hop[] | string => {
    if (seen.length > MAX_JUMPS) return `more than ${MAX_JUMPS} jump hosts in a row`;
    const hops: Hop[] = [];
    let firstOwn: { ownJump: string; name: string } | undefined;
    for (const [i, written] of value.split(',').entries()) {
      const resolved = resolveHop(written);
      if (typeof resolved === 'string') return resolved;
      if (seen.some((s) => s.toLowerCase() === resolved.name.toLowerCase())) {
        return `${resolved.name} would be reached through itself (a loop, on which ssh fails too: give Host ${resolved.name} its own "ProxyJump none")`;
      }
      hops.push(resolved.hop);
      if (i === 0 && resolved.ownJump !== undefined) firstOwn = { ownJump: resolved.ownJump, name: resolved.name };
    }
    if (firstOwn === undefined) return hops;
    const before = chainOf(firstOwn.ownJump, [...seen, firstOwn.name]);
    return typeof before === 'string' ? `${firstOwn.name}'s own ProxyJump ${firstOwn.ownJump}: ${before}` : [...before, ...hops];
  };

  return aliases.map((alias) => {
    const computed = compute(alias);
    const one = (key: string): string | undefined => first(computed, key);
    const notes: string[] = [];
    const address = (one('hostname') ?? alias).replace(/%h/g, alias);
    const portText = one('port');
    const port = portText === undefined ? 22 : (portNumber(portText) ?? 22);
    if (portText !== undefined && port === 22 && portText !== '22') notes.push(`Port ${portText} is not a port number; 22 used`);
    const user = one('user')?.replace(/%u/g, localUser);
    const identities = all(computed, 'identityfile');
    const keyFile = identities[0] !== undefined ? expandPath(identities[0], { address, user }) : undefined;
    if (identities.length > 1) notes.push(`${identities.length} IdentityFile entries: TCP Lab uses the first (${keyFile}); add the others to ssh-agent to use them`);

    let proxyJump: string | undefined;
    let proxyJumpAuth: ImportedHost['proxyJumpAuth'];
    const jumpValue = one('proxyjump');
    if (jumpValue !== undefined && jumpValue.toLowerCase() !== 'none') {
      const chain = chainOf(jumpValue, [alias]);
      const jump = typeof chain === 'string' ? undefined : chain[0];
      if (typeof chain === 'string' || jump === undefined) {
        notes.push(`ProxyJump ${jumpValue}: ${typeof chain === 'string' ? chain : 'no jump host'}; not imported`);
      } else if (!ProxyJump.safeParse(jump.proxyJump).success) {
        notes.push(`ProxyJump ${jumpValue}: the jump host resolves to ${jump.proxyJump}, which is not [user@]host[:port] as TCP Lab takes it; not imported`);
      } else {
        proxyJump = jump.proxyJump;
        const through = chain.map((h) => h.written);
        if (chain.length > 1) {
          // TCP Lab has one jump host (jump-host.ts): the first hop is the one this computer can
          // reach; the others would only be reachable through it.
          notes.push(
            `ProxyJump ${jumpValue} goes through ${chain.length} jump hosts (${through.join(' → ')} → ${alias}); TCP Lab goes through one, so it imported the first, ${jump.proxyJump}, the one this computer connects to, which must reach ${address}:${port} itself. Not imported: ${chain
              .slice(1)
              .map((h) => h.proxyJump)
              .join(', ')}`,
          );
        } else if (jump.proxyJump !== jump.written.replace(/^ssh:\/\//, '').replace(/\/$/, '')) {
          notes.push(`ProxyJump ${jump.written} resolved from its own Host entry to ${jump.proxyJump}, as ssh does`);
        }
        const jumpKey = jump.keyFiles[0];
        if (jump.keyFiles.length > 1) notes.push(`the jump host has ${jump.keyFiles.length} IdentityFile entries: TCP Lab uses the first (${jumpKey}) for it`);
        if (jumpKey !== undefined && jumpKey !== keyFile) {
          proxyJumpAuth = { type: 'key', keyFile: jumpKey };
        } else if (jumpKey === undefined && keyFile !== undefined) {
          // ssh would offer the jump host the agent's keys and the default ~/.ssh/id_*, not this
          // host's IdentityFile; TCP Lab's default jump login is the host's own.
          notes.push(`the jump host ${jump.written} has no IdentityFile: ssh would offer it the ssh-agent's keys and ~/.ssh/id_*; TCP Lab logs in to it with this host's key ${keyFile} (Jump host login: choose ssh-agent or a key file if it needs another)`);
        }
      }
    }
    if (one('proxycommand') !== undefined) notes.push('ProxyCommand is not supported by TCP Lab (ProxyJump is); not imported');
    return {
      alias,
      address,
      port,
      ...(user !== undefined ? { user } : {}),
      ...(keyFile !== undefined ? { keyFile } : {}),
      ...(proxyJump !== undefined ? { proxyJump } : {}),
      ...(proxyJumpAuth !== undefined ? { proxyJumpAuth } : {}),
      notes,
    };
  });
}
