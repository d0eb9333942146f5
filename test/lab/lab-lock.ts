/**
 * One user of the virtual lab at a time on this machine: lab test runs (and developers'
 * manual runs through scripts/with-lab.sh) take this lock, so one run's `lab down` never pulls
 * the lab from under another. A lock whose holder died is taken over.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

export const LAB_LOCK_DIR = '/tmp/tcplab-virtual-lab.lock';

function holderAlive(): boolean {
  try {
    const pid = Number(readFileSync(`${LAB_LOCK_DIR}/pid`, 'utf8'));
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Set by scripts/with-lab.sh to its own pid: a test run started under it already holds the lock. */
const HELD_BY_PARENT = 'TCPLAB_LAB_LOCK_HOLDER';
let heldByParent = false;

function lockHolder(): string | undefined {
  try {
    return readFileSync(`${LAB_LOCK_DIR}/pid`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

export async function acquireLabLock(timeoutMs = 30 * 60_000): Promise<void> {
  const parent = process.env[HELD_BY_PARENT];
  if (parent !== undefined && parent !== '' && lockHolder() === parent) {
    heldByParent = true; // waiting for it would wait for ourselves
    return;
  }
  const deadline = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    try {
      mkdirSync(LAB_LOCK_DIR);
      writeFileSync(`${LAB_LOCK_DIR}/pid`, String(process.pid));
      return;
    } catch {
      if (!holderAlive()) {
        // Give a holder that just made the directory a moment to write its pid.
        await new Promise((r) => setTimeout(r, 500));
        if (!holderAlive()) rmSync(LAB_LOCK_DIR, { recursive: true, force: true });
        continue;
      }
      if (!told) console.warn(`waiting for the virtual lab (held by pid ${readFileSync(`${LAB_LOCK_DIR}/pid`, 'utf8').trim()})...`);
      told = true;
      if (Date.now() > deadline) throw new Error(`the virtual lab stayed locked for ${timeoutMs / 60_000} min (${LAB_LOCK_DIR})`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

export function releaseLabLock(): void {
  if (heldByParent) return; // scripts/with-lab.sh releases it when the whole command ends
  rmSync(LAB_LOCK_DIR, { recursive: true, force: true });
}
