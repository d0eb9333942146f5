/**
 * `tcplab lab up | down | status`: wraps resources/virtual-lab.sh, which does the root work.
 * Without root it goes through sudo when sudo works without a prompt, else says what is needed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const RESOURCES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'resources');
export const LAB_SCRIPT = join(RESOURCES_DIR, 'virtual-lab.sh');

export function labDir(): string {
  return process.env.TCPLAB_LAB_DIR ?? '/var/lib/tcplab/lab';
}

export function labHostsFile(): string {
  return join(labDir(), 'hosts.yaml');
}

export class LabUnavailable extends Error {}

/** Why the virtual lab cannot run here, or undefined when it can. */
export function labUnavailableReason(): string | undefined {
  if (process.platform !== 'linux') return `the virtual lab needs Linux network namespaces; this is ${process.platform}`;
  if (process.getuid?.() === 0) return undefined;
  const sudo = spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' });
  if (sudo.status === 0) return undefined;
  return 'the virtual lab needs root: run as root, or give this user passwordless sudo (sudo -n true must succeed)';
}

/** Runs the lab script with the terminal attached; returns its exit status. */
export function runLabScript(action: 'up' | 'down' | 'status', stdio: 'inherit' | 'pipe' = 'inherit'): { status: number; output: string } {
  const why = labUnavailableReason();
  if (why) throw new LabUnavailable(why);
  const asRoot = process.getuid?.() === 0;
  const command = asRoot ? 'bash' : 'sudo';
  const args = asRoot ? [LAB_SCRIPT, action] : ['-n', 'env', `TCPLAB_LAB_DIR=${labDir()}`, 'bash', LAB_SCRIPT, action];
  const result = spawnSync(command, args, { stdio: stdio === 'inherit' ? 'inherit' : 'pipe', encoding: 'utf8', env: { ...process.env, TCPLAB_LAB_DIR: labDir() } });
  return { status: result.status ?? 1, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

/** The hosts file `--lab local` means; a clear error when the lab is not up. */
export function localLabHostsFile(): string {
  const file = labHostsFile();
  if (!existsSync(file)) throw new LabUnavailable(`the local virtual lab is not up (no ${file}); start it with: npx tcplab lab up`);
  return file;
}
