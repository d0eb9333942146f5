/**
 * Shared by the virtual-lab tests: whether the lab can run here, and handles on it.
 * Where it cannot (not Linux, no root), every lab test is skipped with the reason printed;
 * they never pass silently.
 */
import { execFileSync } from 'node:child_process';
import { labHostsFile, labUnavailableReason } from '../../electron/lab/virtual-lab';
import { readHostsFile, type ResolvedHosts } from '../../electron/lab/hosts-config';

export const skipReason: string | undefined = labUnavailableReason();
if (skipReason) {
  console.warn(`\n*** SKIPPING virtual-lab tests: ${skipReason} ***\n`);
}

export function labHosts(): Promise<ResolvedHosts> {
  return readHostsFile(labHostsFile());
}

/** Runs a command inside a virtual host's namespace, as root on this machine (test oracle). */
export function inHost(label: 'H1' | 'H2', command: string): string {
  return execFileSync('ip', ['netns', 'exec', `tcplab-${label.toLowerCase()}`, 'sh', '-c', command], { encoding: 'utf8' });
}

export function iptablesRules(label: 'H1' | 'H2'): string[] {
  return inHost(label, 'iptables -w -S').split('\n').filter((l) => l.startsWith('-A'));
}
