/**
 * The hosts file: where H1 and H2 are and how to log in to them. A lab assistant writes one for
 * physical hosts; `tcplab lab up` writes one for the virtual lab. YAML (or JSON):
 *
 * ```yaml
 * knownHosts: ~/.ssh/known_hosts      # optional (this default); relative paths are relative to this file
 * hosts:
 *   H1:
 *     address: 192.168.56.11          # where SSH connects
 *     port: 22                        # default 22
 *     experimentAddress: 10.0.0.1     # optional: how the other host reaches this one (default: address)
 *     user: lab
 *     auth: { type: key, keyFile: ~/.ssh/id_ed25519 }
 *       # or { type: agent }                              ($SSH_AUTH_SOCK)
 *       # or { type: password, passwordFile: ./h1.pass }  (or passwordEnv: H1_PASS)
 *     sudo: password                  # none (the login is root), passwordless, or password
 *     sudoPasswordFile: ./h1.sudo     # or sudoPasswordEnv: NAME; required when sudo is password
 *   H2: { ... }
 * ```
 *
 * Secrets never live in this file, only references to them (a file path or an environment
 * variable name), or `passwordStored: true` (and `passphraseStored`, `sudoPasswordStored`): the
 * app's Hosts view keeps that secret itself (encrypted with the desktop's keyring in the desktop
 * app, in memory only in browser mode). `password:` and friends are refused with a message
 * saying so. Optional: `name` (what the lab calls the machine) and `proxyJump` (as in
 * ssh_config: `[user@]host[:port]`, one jump host; the login name defaults to your local user
 * name, as with `ssh -J`). The jump host is logged in to with the host's own key or agent, or
 * with its own `proxyJumpAuth`, written like `auth` (key, agent or password; the host's password
 * is never sent to the jump host, so a host that logs in with a password needs it). Paths stay as
 * written here; electron/lab/hosts-config.ts resolves them and reads the secrets.
 */
import { z } from 'zod';
import { address, port, unixUser } from './safe-values';
import { loadYamlDocument, type LoadResult } from './yaml-load';

export const HOST_LABELS = ['H1', 'H2'] as const;
export type HostLabel = (typeof HOST_LABELS)[number];

/** A local file path as written: `~/...`, absolute, or relative to the hosts file. */
export const PathString = z
  .string({ error: (issue) => (issue.input === undefined ? undefined : 'must be a file path, written as text') })
  .superRefine((value, ctx) => {
    if (value.trim() === '') ctx.addIssue({ code: 'custom', message: 'must not be empty: give a file path' });
    else if (value.includes('\0')) ctx.addIssue({ code: 'custom', message: 'must not contain a NUL character' });
    else if (/^~[^/]/.test(value)) {
      ctx.addIssue({ code: 'custom', message: 'only "~/" (your own home directory) is understood; write the full path for other users\' homes' });
    }
  });

/** The name of an environment variable holding a secret. */
export const EnvVarName = z
  .string({ error: (issue) => (issue.input === undefined ? undefined : 'must be the name of an environment variable, such as H1_PASS') })
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be the name of an environment variable (letters, digits and "_", such as H1_PASS), not its value');

/** A key listed only to refuse it with a useful message. */
function refused(message: string) {
  return z.never({ error: message }).optional();
}

const NO_PASSWORD =
  'passwords are never written in the hosts file: put it in a file readable only by you and write passwordFile: <path>, or in an environment variable and write passwordEnv: <NAME>';
const NO_HOST_PASSWORD =
  'passwords are never written in the hosts file: put the password in a file readable only by you and write auth: { type: password, passwordFile: <path> }, or in an environment variable and write auth: { type: password, passwordEnv: <NAME> }';
const NO_SUDO_PASSWORD =
  'passwords are never written in the hosts file: put it in a file readable only by you and write sudoPasswordFile: <path>, or in an environment variable and write sudoPasswordEnv: <NAME>';
const NO_INLINE_KEY = 'private keys are never written in the hosts file: write keyFile: <path to the key file>';

export const KeyAuth = z
  .object({
    type: z.literal('key'),
    keyFile: PathString,
    /** The key's passphrase is kept by the app (see the file comment). */
    passphraseStored: z.literal(true).optional(),
    privateKey: refused(NO_INLINE_KEY),
    password: refused(NO_PASSWORD),
  })
  .strict();

export const AgentAuth = z
  .object({
    type: z.literal('agent'),
    password: refused(NO_PASSWORD),
  })
  .strict();

export const PasswordAuth = z
  .object({
    type: z.literal('password'),
    passwordFile: PathString.optional(),
    passwordEnv: EnvVarName.optional(),
    /** The password is kept by the app (see the file comment). */
    passwordStored: z.literal(true).optional(),
    password: refused(NO_PASSWORD),
  })
  .strict()
  .superRefine((auth, ctx) => {
    if (auth.passwordFile === undefined && auth.passwordEnv === undefined && auth.passwordStored === undefined && auth.password === undefined) {
      ctx.addIssue({ code: 'custom', path: [], message: 'type: password needs passwordFile: <path> or passwordEnv: <NAME>' });
    }
    if ([auth.passwordFile, auth.passwordEnv, auth.passwordStored].filter((v) => v !== undefined).length > 1) {
      ctx.addIssue({ code: 'custom', path: ['passwordEnv'], message: 'give either passwordFile or passwordEnv, not both' });
    }
  });

export const HostAuth = z.discriminatedUnion('type', [KeyAuth, AgentAuth, PasswordAuth]);
export type HostAuth = z.infer<typeof HostAuth>;

export const SudoMode = z.enum(['none', 'passwordless', 'password']);
export type SudoMode = z.infer<typeof SudoMode>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const PROXY_JUMP_RE = /^(?:([a-z_][a-z0-9_.-]{0,31})@)?(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9][A-Za-z0-9.-]{0,252}))(?::(\d{1,5}))?$/;

/** ssh_config's ProxyJump for one jump host: `[user@]host[:port]`. */
export const ProxyJump = z
  .string({ error: 'must be a jump host written as [user@]host[:port]' })
  .superRefine((value, ctx) => {
    if (value.includes(',')) {
      ctx.addIssue({ code: 'custom', message: 'is a chain of several jump hosts, which TCP Lab does not support: give one jump host, [user@]host[:port]' });
    } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
      ctx.addIssue({ code: 'custom', message: 'must be written as [user@]host[:port], without a scheme such as ssh://' });
    } else if (parseProxyJump(value) === undefined) {
      ctx.addIssue({ code: 'custom', message: 'must be one jump host written as [user@]host[:port] (chains of several jump hosts are not supported)' });
    }
  });

/** A ProxyJump value taken apart; undefined when it is not one `[user@]host[:port]` (port 1-65535). */
export function parseProxyJump(value: string): { user?: string; address: string; port: number } | undefined {
  const m = PROXY_JUMP_RE.exec(value);
  if (!m) return undefined;
  const port = m[4] === undefined ? 22 : Number(m[4]);
  if (port < 1 || port > 65535) return undefined;
  const address = m[2] ?? m[3];
  if (address === undefined) return undefined;
  return { ...(m[1] !== undefined ? { user: m[1] } : {}), address, port };
}

/**
 * How the jump host is logged in to, when not with the host's own key or agent (OpenSSH's
 * IdentityFile for the jump host): a key file (its passphrase kept by the app:
 * `passphraseStored: true`), ssh-agent, or a password of its own (passwordFile, passwordEnv or
 * passwordStored, as for a host). The host's own password is never sent to the jump host.
 */
export const JumpAuth = z.discriminatedUnion('type', [KeyAuth, AgentAuth, PasswordAuth]);
export type JumpAuth = z.infer<typeof JumpAuth>;

export const HostEntry = z
  .object({
    /** What the lab calls this machine (shown next to H1/H2). */
    name: z.string().max(60, 'must be at most 60 characters').optional(),
    /** Where SSH connects. */
    address,
    port: port.default(22),
    /** The address the other host uses to reach this one in experiments (default: address). */
    experimentAddress: address.optional(),
    user: unixUser,
    auth: HostAuth,
    /** How commands that need root get it: none (the login is root), passwordless or password sudo. */
    sudo: SudoMode,
    sudoPasswordFile: PathString.optional(),
    sudoPasswordEnv: EnvVarName.optional(),
    /** The sudo password is kept by the app (see the file comment). */
    sudoPasswordStored: z.literal(true).optional(),
    /** Reach the host through this jump host, as `ssh -J` does. */
    proxyJump: ProxyJump.optional(),
    /** The jump host's own login; default: this host's key or agent. */
    proxyJumpAuth: JumpAuth.optional(),
    password: refused(NO_HOST_PASSWORD),
    passwordFile: refused('passwordFile belongs inside auth: auth: { type: password, passwordFile: <path> }'),
    passwordEnv: refused('passwordEnv belongs inside auth: auth: { type: password, passwordEnv: <NAME> }'),
    keyFile: refused('keyFile belongs inside auth: auth: { type: key, keyFile: <path> }'),
    sudoPassword: refused(NO_SUDO_PASSWORD),
  })
  .strict()
  .superRefine(
    (raw, ctx) => {
      // Runs even when other fields failed (see `when`), so look at the raw values defensively.
      const host: Record<string, unknown> = isRecord(raw) ? raw : {};
      const { sudo, user } = host;
      const hasFile = host.sudoPasswordFile !== undefined;
      const hasEnv = host.sudoPasswordEnv !== undefined || host.sudoPasswordStored !== undefined;
      if (sudo === 'none' && typeof user === 'string' && user !== 'root') {
        ctx.addIssue({
          code: 'custom',
          path: ['sudo'],
          message: `sudo: none means the login is root; use passwordless or password (user is "${user}", not root)`,
        });
      }
      if (sudo === 'password' && !hasFile && !hasEnv && host.sudoPassword === undefined) {
        ctx.addIssue({ code: 'custom', path: ['sudo'], message: 'sudo: password needs sudoPasswordFile: <path> or sudoPasswordEnv: <NAME> next to it' });
      }
      if ([host.sudoPasswordFile, host.sudoPasswordEnv, host.sudoPasswordStored].filter((v) => v !== undefined).length > 1) {
        const message = host.sudoPasswordStored === undefined ? 'give either sudoPasswordFile or sudoPasswordEnv, not both' : 'give one of sudoPasswordFile, sudoPasswordEnv or sudoPasswordStored, not several';
        ctx.addIssue({ code: 'custom', path: ['sudoPasswordEnv'], message });
      }
      const authType = isRecord(host.auth) ? host.auth.type : undefined;
      if (host.proxyJump !== undefined && host.proxyJumpAuth === undefined && authType === 'password') {
        ctx.addIssue({
          code: 'custom',
          path: ['proxyJump'],
          message: 'this host logs in with a password, which is never sent to another machine: give the jump host its own login, proxyJumpAuth: { type: key, keyFile: <path> }, { type: agent } or { type: password, passwordFile: <path> }',
        });
      }
      if (host.proxyJumpAuth !== undefined && host.proxyJump === undefined) {
        ctx.addIssue({ code: 'custom', path: ['proxyJumpAuth'], message: 'is the login for the jump host, and there is no proxyJump: add proxyJump: [user@]host[:port] or remove it' });
      }
      if ((sudo === 'none' || sudo === 'passwordless') && (hasFile || hasEnv)) {
        ctx.addIssue({
          code: 'custom',
          path: [hasFile ? 'sudoPasswordFile' : 'sudoPasswordEnv'],
          message: `is only used with sudo: password (sudo is ${sudo}); remove it or set sudo: password`,
        });
      }
    },
    { when: (payload) => isRecord(payload.value) },
  );
export type HostEntry = z.infer<typeof HostEntry>;

export const HostsFile = z
  .object({
    /** OpenSSH known_hosts file; default ~/.ssh/known_hosts. */
    knownHosts: PathString.optional(),
    /** Exactly the two lab hosts. */
    hosts: z.object({ H1: HostEntry, H2: HostEntry }).strict(),
  })
  .strict()
  .superRefine(
    (raw, ctx) => {
      const hosts = isRecord(raw) && isRecord(raw.hosts) ? raw.hosts : undefined;
      const h1 = hosts !== undefined && isRecord(hosts.H1) ? hosts.H1 : undefined;
      const h2 = hosts !== undefined && isRecord(hosts.H2) ? hosts.H2 : undefined;
      if (h1 === undefined || h2 === undefined) return;
      const experiment = (h: Record<string, unknown>): unknown => h.experimentAddress ?? h.address;
      const e1 = experiment(h1);
      const e2 = experiment(h2);
      if (typeof e1 === 'string' && typeof e2 === 'string' && e1.toLowerCase() === e2.toLowerCase()) {
        ctx.addIssue({
          code: 'custom',
          path: ['hosts', 'H2', h2.experimentAddress !== undefined ? 'experimentAddress' : 'address'],
          message: `H1 and H2 have the same experiment address (${e1}); the experiments need two different hosts`,
        });
      }
    },
    { when: (payload) => isRecord(payload.value) },
  );
export type HostsFile = z.infer<typeof HostsFile>;

/** Parses and validates a hosts file; every problem comes back with its line. */
export function parseHostsFile(text: string, fileName: string): LoadResult<HostsFile> {
  return loadYamlDocument(text, HostsFile, fileName);
}
