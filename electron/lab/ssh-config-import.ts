/**
 * Import from ~/.ssh/config: every concrete Host alias (not a pattern such as `*` or `lab-*`),
 * resolved the way `ssh` resolves it (first value wins, patterns and `Host *` apply), through the
 * `ssh-config` package. `Include` is followed (relative to ~/.ssh, `*` and `?` in file names),
 * `Match exec` is never run (matchExec: false: importing a config must not execute it).
 *
 * What TCP Lab cannot carry over is listed per host as a note, never silently dropped:
 * ProxyCommand, a chain of several ProxyJump hosts, several IdentityFiles (the first is used).
 */
import { readdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join } from 'node:path';
import SSHConfig from 'ssh-config';
import type { ImportedHost, SshConfigImport } from '../../shared/src/hosts-api';
import { ProxyJump } from '../../shared/src/hosts-file';

const MAX_INCLUDE_DEPTH = 16;

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

function resolveHosts(text: string, home: string, localUser: string): ImportedHost[] {
  const config = SSHConfig.parse(text);
  const aliases: string[] = [];
  for (const line of config) {
    if (line.type !== SSHConfig.DIRECTIVE || line.param.toLowerCase() !== 'host') continue;
    const values = typeof line.value === 'string' ? splitWords(line.value) : line.value.map((v) => v.val);
    for (const alias of values) if (!/[*?!]/.test(alias) && !aliases.includes(alias)) aliases.push(alias);
  }
  const first = (computed: Record<string, string | string[]>, key: string): string | undefined => {
    const v = computed[key];
    return Array.isArray(v) ? v[0] : v;
  };
  const jumpParts = (jump: string) => /^(?:([^@]+)@)?(.+?)(?::(\d+))?$/.exec(jump);
  /** `[user@]host[:port]` with host looked up as ssh -J does: a Host entry's HostName, User and Port apply. */
  const resolveJump = (jump: string): string => {
    const parts = jumpParts(jump);
    if (!parts?.[2]) return jump;
    const computed = config.compute(parts[2], { ignoreCase: true, matchExec: false });
    const hostName = first(computed, 'hostname')?.replace(/%h/g, parts[2]) ?? parts[2];
    const user = parts[1] ?? first(computed, 'user')?.replace(/%u/g, localUser);
    const port = parts[3] ?? first(computed, 'port');
    return `${user !== undefined ? `${user}@` : ''}${hostName}${port !== undefined && port !== '22' ? `:${port}` : ''}`;
  };
  const jumpIdentityFile = (jump: string): string | undefined => {
    const host = jumpParts(jump)?.[2];
    return host === undefined ? undefined : first(config.compute(host, { ignoreCase: true, matchExec: false }), 'identityfile');
  };
  return aliases.map((alias) => {
    const computed = config.compute(alias, { ignoreCase: true, matchExec: false });
    const one = (key: string): string | undefined => {
      const v = computed[key];
      return Array.isArray(v) ? v[0] : v;
    };
    const notes: string[] = [];
    const address = (one('hostname') ?? alias).replace(/%h/g, alias);
    const portText = one('port');
    const port = portText !== undefined && /^\d+$/.test(portText) && Number(portText) >= 1 && Number(portText) <= 65535 ? Number(portText) : 22;
    if (portText !== undefined && port === 22 && portText !== '22') notes.push(`Port ${portText} is not a port number; 22 used`);
    const user = one('user')?.replace(/%u/g, localUser);
    const identity = computed['identityfile'];
    const identities = identity === undefined ? [] : Array.isArray(identity) ? identity : [identity];
    const expand = (p: string): string => {
      const withTokens = p.replace(/%d/g, home).replace(/%h/g, address).replace(/%u/g, localUser).replace(/%r/g, user ?? localUser);
      return withTokens.startsWith('~/') ? join(home, withTokens.slice(2)) : withTokens;
    };
    const keyFile = identities[0] !== undefined ? expand(identities[0]) : undefined;
    if (identities.length > 1) notes.push(`${identities.length} IdentityFile entries: TCP Lab uses the first (${keyFile}); add the others to ssh-agent to use them`);
    let proxyJump = one('proxyjump');
    if (proxyJump?.toLowerCase() === 'none') proxyJump = undefined;
    if (proxyJump !== undefined) {
      const jump = proxyJump.replace(/^ssh:\/\//, '');
      if (jump.includes(',')) {
        notes.push(`ProxyJump ${proxyJump} is a chain of jump hosts, which TCP Lab does not support (one jump host only)`);
        proxyJump = undefined;
      } else if (!ProxyJump.safeParse(jump).success) {
        notes.push(`ProxyJump ${proxyJump} is not [user@]host[:port]; not imported`);
        proxyJump = undefined;
      } else {
        proxyJump = resolveJump(jump);
        if (proxyJump !== jump) notes.push(`ProxyJump ${jump} resolved from its own Host entry to ${proxyJump}, as ssh does`);
        const jumpIdentity = jumpIdentityFile(jump);
        if (jumpIdentity !== undefined && expand(jumpIdentity) !== keyFile) {
          notes.push(`the jump host logs in with its own IdentityFile ${expand(jumpIdentity)}: give it as proxyJumpAuth: { type: key, keyFile: ... } in the hosts file`);
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
      notes,
    };
  });
}
