/**
 * "Local virtual lab" in the Hosts view runs the lab script without blocking: the engine's event
 * loop keeps turning while the script works (the web server and Electron's main process stay
 * responsive), each line it prints is reported as it comes, and a failure says what failed.
 * A stand-in script takes virtual-lab.sh's place (same invocation: `bash SCRIPT up` as root);
 * the real script is exercised by the lab e2e test (e2e/hosts.e2e.test.ts).
 */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bringLocalLabUp, LabUnavailable, labHostsFile, labUnavailableReason, runLabScriptAsync } from '../../electron/lab/virtual-lab';

const dir = mkdtempSync(join(tmpdir(), 'tcplab-local-lab-'));
function script(name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, `#!/usr/bin/env bash\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

describe.skipIf(labUnavailableReason() !== undefined)('the local virtual lab, brought up without blocking', () => {
  it('streams the script\'s lines while the event loop keeps turning, and resolves to the lab\'s hosts file', async () => {
    // The script waits for a file the test writes from a timer: it can only finish if the event
    // loop runs while it works (a spawnSync would wait forever; the test's timeout would fail it).
    const go = join(dir, 'go');
    const stand = script('up-ok.sh', `echo "step 1 of 2: $1"; echo "to stderr" >&2; while [ ! -e '${go}' ]; do sleep 0.05; done; printf 'virtual lab is up\\nno newline at the end'`);
    const lines: string[] = [];
    let settled = false;
    const done = bringLocalLabUp((line) => lines.push(line), stand).finally(() => (settled = true));
    await expect.poll(() => lines, { timeout: 10_000 }).toEqual(expect.arrayContaining(['step 1 of 2: up', 'to stderr']));
    expect(settled).toBe(false);
    writeFileSync(go, '');
    await expect(done).resolves.toBe(labHostsFile());
    expect(lines.slice(-2)).toEqual(['virtual lab is up', 'no newline at the end']);
  });

  it('a script that fails: rejected with its exit status and its last lines, and what to try', async () => {
    const stand = script('up-fail.sh', 'echo "creating namespace tcplab-h1"; echo "RTNETLINK answers: File exists" >&2; exit 3');
    const lines: string[] = [];
    const failure = await bringLocalLabUp((line) => lines.push(line), stand).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(LabUnavailable);
    expect((failure as Error).message).toMatch(/^bringing the local virtual lab up failed \(exit status 3\): creating namespace tcplab-h1 RTNETLINK answers: File exists\. Try `sudo npx tcplab lab down`/);
    expect(lines).toEqual(['creating namespace tcplab-h1', 'RTNETLINK answers: File exists']);
  });

  it('reports the status and full output as the CLI\'s runLabScript does', async () => {
    const stand = script('status.sh', 'echo "H1: up"; echo "H2: down"; exit 1');
    await expect(runLabScriptAsync('status', undefined, stand)).resolves.toEqual({ status: 1, output: 'H1: up\nH2: down\n' });
  });
});
