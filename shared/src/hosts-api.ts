/**
 * The Hosts view's part of LabApi (shared/src/lab-api.ts): how H1 and H2 are set up, as the
 * renderer edits them. Secrets (passwords, the key passphrase, the sudo password) only ever
 * travel from the renderer to the engine: the engine answers with whether each one is kept,
 * never with the secret.
 */
import { z } from 'zod';
import { ProxyJump, SudoMode } from './hosts-file';
import { address, port, unixUser } from './safe-values';

const Secret = z.string().min(1, 'must not be empty').max(1024, 'must be at most 1024 characters');
const LocalPath = z.string().min(1, 'must be a file path').max(4096).refine((p) => !p.includes('\0'), 'must not contain a NUL character');

/** Where a secret comes from, as the view shows it. */
export const SecretSource = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('none') }),
  /** Kept by the app (encrypted, or in memory only in browser mode). */
  z.strictObject({ kind: z.literal('stored') }),
  /** Marked as kept by the app, but not there (browser mode after a restart): enter it again. */
  z.strictObject({ kind: z.literal('missing') }),
  /** Named in the hosts file: read from this file or environment variable at connect. */
  z.strictObject({ kind: z.literal('file'), file: z.string() }),
  z.strictObject({ kind: z.literal('env'), name: z.string() }),
]);
export type SecretSource = z.infer<typeof SecretSource>;

/**
 * The jump host's own login (the hosts file's proxyJumpAuth), as the view edits it. Absent: the
 * jump host is logged in to with the host's own key or agent. A secret left out keeps what the app has.
 */
export const JumpAuthInput = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('key'), keyFile: LocalPath, passphrase: Secret.optional() }),
  z.strictObject({ type: z.literal('agent') }),
  z.strictObject({ type: z.literal('password'), password: Secret.optional() }),
]);

/** One host as the renderer sends it to be saved. A secret left out keeps what the app has. */
export const HostSetupInput = z.strictObject({
  name: z.string().max(60, 'must be at most 60 characters').default(''),
  address,
  port,
  experimentAddress: address.optional(),
  user: unixUser,
  auth: z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('key'), keyFile: LocalPath, passphrase: Secret.optional() }),
    z.strictObject({ type: z.literal('agent') }),
    z.strictObject({ type: z.literal('password'), password: Secret.optional() }),
  ]),
  sudo: SudoMode,
  sudoPassword: Secret.optional(),
  proxyJump: ProxyJump.optional(),
  /** Only with proxyJump. */
  proxyJumpAuth: JumpAuthInput.optional(),
});
export type HostSetupInput = z.input<typeof HostSetupInput>;
export type HostSetup = z.infer<typeof HostSetupInput>;

export const HostsSetupInput = z.strictObject({ H1: HostSetupInput, H2: HostSetupInput });
export type HostsSetupInput = z.input<typeof HostsSetupInput>;

/** One host as the engine shows it: the same fields, and where each secret comes from instead of it. */
export const HostSetupView = z.strictObject({
  name: z.string(),
  address: z.string(),
  port: z.number().int(),
  experimentAddress: z.string().optional(),
  user: z.string(),
  auth: z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('key'), keyFile: z.string(), passphrase: SecretSource }),
    z.strictObject({ type: z.literal('agent') }),
    z.strictObject({ type: z.literal('password'), password: SecretSource }),
  ]),
  sudo: SudoMode,
  sudoPassword: SecretSource,
  proxyJump: z.string().optional(),
  /** The jump host's own login; absent: the host's key or agent. */
  proxyJumpAuth: z
    .discriminatedUnion('type', [
      z.strictObject({ type: z.literal('key'), keyFile: z.string(), passphrase: SecretSource }),
      z.strictObject({ type: z.literal('agent') }),
      z.strictObject({ type: z.literal('password'), password: SecretSource }),
    ])
    .optional(),
});
export type HostSetupView = z.infer<typeof HostSetupView>;

export const HostsView = z.strictObject({
  /** The hosts file the view reads and writes. */
  file: z.string(),
  knownHostsFile: z.string(),
  /** Absent when no hosts file exists yet. */
  hosts: z.strictObject({ H1: HostSetupView, H2: HostSetupView }).optional(),
  /** How secrets are kept, in words the view shows as is. */
  secrets: z.strictObject({ kind: z.enum(['encrypted', 'memory', 'unavailable']), description: z.string() }),
  /** Why the hosts cannot be connected as they are (a missing secret, an unreadable key), if so. */
  problem: z.string().optional(),
  /** Whether this engine can build the local virtual lab, or why not. */
  localLab: z.strictObject({ available: z.boolean(), reason: z.string().optional() }),
});
export type HostsView = z.infer<typeof HostsView>;

/** A Host entry of ~/.ssh/config, resolved as `ssh -G` would for that alias. */
export const ImportedHost = z.strictObject({
  alias: z.string(),
  address: z.string(),
  port: z.number().int(),
  user: z.string().optional(),
  keyFile: z.string().optional(),
  proxyJump: z.string().optional(),
  /** The jump host's own key (its Host entry's IdentityFile); absent: the host's own login. */
  proxyJumpAuth: z.strictObject({ type: z.literal('key'), keyFile: z.string() }).optional(),
  /** Settings TCP Lab does not use or cannot carry over, in words. */
  notes: z.array(z.string()),
});
export type ImportedHost = z.infer<typeof ImportedHost>;

export const SshConfigImport = z.strictObject({ file: z.string(), hosts: z.array(ImportedHost), problems: z.array(z.string()) });
export type SshConfigImport = z.infer<typeof SshConfigImport>;

/** "Local virtual lab" reports its progress as info notices starting with this (the Hosts view shows the latest). */
export const LOCAL_LAB_PROGRESS = 'Local virtual lab: ';

export const HostsRequests = [
  z.strictObject({ method: z.literal('hosts-get') }),
  /** Validated here and again by the hosts file's own schema when written. */
  z.strictObject({ method: z.literal('hosts-save'), hosts: HostsSetupInput }),
  z.strictObject({ method: z.literal('hosts-import-ssh-config') }),
  /** Brings the virtual lab up if needed and makes it H1 and H2. */
  z.strictObject({ method: z.literal('hosts-use-local-lab') }),
  /** Removes a host's old key from known_hosts (ssh-keygen -R), after the user confirmed it. */
  z.strictObject({ method: z.literal('hosts-remove-key'), host: z.enum(['H1', 'H2']) }),
] as const;

export const HostsReplyResults = {
  'hosts-get': HostsView,
  'hosts-save': HostsView,
  'hosts-import-ssh-config': SshConfigImport,
  'hosts-use-local-lab': HostsView,
  'hosts-remove-key': z.strictObject({ removed: z.number().int(), kept: z.number().int(), backup: z.string(), file: z.string() }),
};
