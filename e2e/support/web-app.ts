/**
 * Starts `tcplab web` as a lab assistant would (the real CLI, the real engine), and stops it
 * with Ctrl-C, which must clean the hosts up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';

const REPO = join(import.meta.dirname, '..', '..');

export interface RunningWebApp {
  url: string;
  /** The server's process (the engine runs in it): for memory readings. */
  pid: number;
  output: () => string;
  stop(): Promise<number | null>;
}

/**
 * TCPLAB_SERVER_NODE_ARGS: extra options for the server's node, for profiling it (e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof`, which NODE_OPTIONS does not accept).
 */
const SERVER_NODE_ARGS = (process.env.TCPLAB_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);

/** `env`: added to this process's environment for the server (e.g. HOME, for its ~/.ssh/config). */
export async function startWebApp(args: string[], timeoutMs = 60_000, env: Record<string, string> = {}): Promise<RunningWebApp> {
  const child: ChildProcess = spawn(process.execPath, [...SERVER_NODE_ARGS, join(REPO, 'bin', 'tcplab.js'), 'web', ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`tcplab web printed no link within ${timeoutMs / 1000} s:\n${output}`)), timeoutMs);
    const check = (): void => {
      const match = /^\s+(http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)$/m.exec(output);
      if (match?.[1]) {
        clearTimeout(deadline);
        resolve(match[1]);
      }
    };
    child.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(deadline);
      reject(new Error(`tcplab web exited (${code}) before printing its link:\n${output}`));
    });
  });
  return {
    url,
    pid: child.pid!,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Closes the browser, then stops the app with Ctrl-C; prints the server's output unless it exited 0. Resolves with its exit code. */
export async function closeWebApp(app: RunningWebApp | undefined, browser: BrowserContext | undefined): Promise<number | null | undefined> {
  await browser?.close();
  const code = await app?.stop();
  if (code !== 0) console.error(app?.output());
  return code;
}
