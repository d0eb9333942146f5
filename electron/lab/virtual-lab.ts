/**
 * `tcplab lab up | down | status`: wraps resources/virtual-lab.sh, which does the root work.
 * Without root it goes through sudo when sudo works without a prompt, else says what is needed.
 */
import { spawn, spawnSync } from 'node:child_process';
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

/**
 * Runs the lab script without blocking (the web server and Electron's main process keep
 * answering while namespaces and sshds are built, which takes seconds): each line it prints goes
 * to `onLine` as it comes. `script` is for tests; the app always runs LAB_SCRIPT.
 */
export function runLabScriptAsync(action: 'up' | 'down' | 'status', onLine?: (line: string) => void, script = LAB_SCRIPT): Promise<{ status: number; output: string }> {
  const why = labUnavailableReason();
  if (why) return Promise.reject(new LabUnavailable(why));
  const asRoot = process.getuid?.() === 0;
  const command = asRoot ? 'bash' : 'sudo';
  const args = asRoot ? [script, action] : ['-n', 'env', `TCPLAB_LAB_DIR=${labDir()}`, 'bash', script, action];
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TCPLAB_LAB_DIR: labDir() } });
    let output = '';
    // stdout and stderr are split into lines separately, so a line is never two interleaved halves.
    const lines = (stream: NodeJS.ReadableStream): void => {
      let partial = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        output += chunk;
        const parts = (partial + chunk).split('\n');
        partial = parts.pop() ?? '';
        for (const line of parts) if (line.trim() !== '') onLine?.(line.trimEnd());
      });
      stream.on('end', () => {
        if (partial.trim() !== '') onLine?.(partial.trimEnd());
      });
    };
    lines(child.stdout);
    lines(child.stderr);
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ status: code ?? (signal ? 128 : 1), output }));
  });
}

/**
 * "Local virtual lab" in the Hosts view: brings the lab up (a no-op when it is up) without
 * blocking, reporting the script's lines; resolves to its hosts file, or rejects with what failed.
 */
export async function bringLocalLabUp(onProgress?: (line: string) => void, script = LAB_SCRIPT): Promise<string> {
  const result = await runLabScriptAsync('up', onProgress, script);
  if (result.status !== 0) {
    const tail = result.output.trim().split('\n').slice(-3).join(' ').trim();
    throw new LabUnavailable(`bringing the local virtual lab up failed (exit status ${result.status})${tail ? `: ${tail}` : ''}. Try \`sudo npx tcplab lab down\`, then the button again; \`npx tcplab lab up\` in a terminal shows every step.`);
  }
  return labHostsFile();
}

/** The hosts file `--lab local` means; a clear error when the lab is not up. */
export function localLabHostsFile(): string {
  const file = labHostsFile();
  if (!existsSync(file)) throw new LabUnavailable(`the local virtual lab is not up (no ${file}); start it with: npx tcplab lab up`);
  return file;
}
