/** Runs the real `tcplab` command (bin/tcplab.js) as a child process, for tests. */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

export const CLI = resolve(__dirname, '../bin/tcplab.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function tcplab(args: string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): CliResult {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 120_000,
    env: { ...process.env, ...options.env },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}
