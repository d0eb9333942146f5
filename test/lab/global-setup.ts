/**
 * Brings the virtual lab up before the lab tests and down after them, then checks that nothing
 * is left behind: namespaces, sshd processes, the lab account, tracefs instances.
 */
import { execFileSync } from 'node:child_process';
import { labUnavailableReason, runLabScript } from '../../electron/lab/virtual-lab';
import { acquireLabLock, releaseLabLock } from './lab-lock';

export async function setup(): Promise<void> {
  if (labUnavailableReason()) return;
  await acquireLabLock();
  const up = runLabScript('up', 'pipe');
  if (up.status !== 0) throw new Error(`tcplab lab up failed:\n${up.output}`);
}

export function leftovers(): string[] {
  const found: string[] = [];
  const namespaces = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (/tcplab-/.test(namespaces)) found.push(`namespaces: ${namespaces.trim()}`);
  const processes = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => /tcplab\/lab\/h[12]\/sshd_config|tcplab-session=/.test(l));
  if (processes.length) found.push(`processes: ${processes.join('; ')}`);
  const instances = execFileSync('sh', ['-c', 'unshare -m sh -c "mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing; ls /sys/kernel/tracing/instances"'], { encoding: 'utf8' })
    .split('\n')
    .filter((n) => n.startsWith('tcplab-'));
  if (instances.length) found.push(`tracefs instances: ${instances.join(', ')}`);
  const links = execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' }).split('\n').filter((l) => /tlm-h[12]/.test(l));
  if (links.length) found.push(`links: ${links.length}`);
  return found;
}

export function teardown(): void {
  if (labUnavailableReason()) return;
  const down = runLabScript('down', 'pipe');
  const left = leftovers();
  releaseLabLock();
  if (down.status !== 0 || left.length) {
    console.error(`virtual lab teardown left things behind:\n${down.output}\n${left.join('\n')}`);
    process.exitCode = 1;
    throw new Error('virtual lab teardown left things behind');
  }
}
