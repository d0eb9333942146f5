/**
 * Netcat is four programs: the other three flavors, for real, on the virtual lab. Each host's nc
 * is replaced by ncat, Hobbit's traditional nc or BusyBox's applet (bind-mounted over the file
 * behind /usr/bin/nc in the sshd's mount namespace, which the SSH sessions share; Debian's own
 * binaries, installed by scripts/bootstrap.sh). The engine must detect the flavor, type that
 * flavor's syntax where it can express the step's intent, fall back to the tcp-peer helper where
 * it cannot, and the experiment must still keep its promises.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findExperiment } from '../../electron/lab/builtin-experiments';
import { ExperimentRun, type RunResult } from '../../electron/lab/experiment-runner';
import { labDir } from '../../electron/lab/virtual-lab';
import type { LabEvent } from '../../shared/src/events';
import { expectNothingLeft } from './leftovers';
import { labHosts, skipReason } from './lab-env';

const FLAVORS = [
  { flavor: 'ncat', binary: '/usr/bin/ncat' },
  { flavor: 'traditional', binary: '/usr/bin/nc.traditional' },
  { flavor: 'busybox', binary: '/usr/bin/busybox' },
] as const;

const missing = FLAVORS.filter((f) => !existsSync(f.binary)).map((f) => f.binary);
const reason = skipReason ?? (missing.length > 0 ? `${missing.join(', ')} not installed (scripts/bootstrap.sh installs ncat, netcat-traditional and busybox)` : undefined);
if (reason && !skipReason) console.warn(`\n*** SKIPPING the netcat flavor tests: ${reason} ***\n`);

/** The file /usr/bin/nc resolves to: what the hosts run as `nc`. */
const NC = existsSync('/usr/bin/nc') ? realpathSync('/usr/bin/nc') : '/usr/bin/nc';
const mounted: Array<{ pid: string; target: string }> = [];

function inHostMounts(label: 'h1' | 'h2', ...command: string[]): void {
  const pid = readFileSync(join(labDir(), label, 'sshd.pid'), 'utf8').trim();
  execFileSync('nsenter', ['-t', pid, '-m', ...command]);
}

/** Makes `nc` on both hosts be this binary (BusyBox picks its applet from the name it is run as). */
function replaceNc(binary: string): void {
  for (const label of ['h1', 'h2'] as const) {
    inHostMounts(label, 'mount', '--bind', binary, NC);
    mounted.push({ pid: label, target: NC });
  }
}

afterEach(() => {
  for (const { pid: label, target } of mounted.splice(0)) inHostMounts(label as 'h1' | 'h2', 'umount', target);
});

function events(result: RunResult): LabEvent[] {
  return readFileSync(join(result.out, 'session.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as LabEvent);
}

async function run(id: string, port: number): Promise<RunResult> {
  const outDir = mkdtempSync(join(tmpdir(), `tcplab-flavor-${id}-`));
  const result = await new ExperimentRun({ experiment: findExperiment(id), hosts: await labHosts(), outDir, port, typingDelayMs: 0 }).run();
  if (!result.passed) console.error(JSON.stringify(result, null, 2));
  return result;
}

/** What a step typed into a host's upper pane (command events). */
function typed(result: RunResult, host: 'H1' | 'H2'): string[] {
  return events(result).flatMap((e) => (e.type === 'command' && e.host === host && e.pane === 'upper' ? [e.text] : []));
}

describe.skipIf(reason)('the other netcat flavors on the virtual lab', () => {
  it.each(FLAVORS.map((f, i) => [f.flavor, f.binary, 8160 + i] as const))('normal-teardown with %s as nc (%s): its listen syntax on the server, the helper for the client', async (flavor, binary, port) => {
    replaceNc(binary);
    const result = await run('normal-teardown', port);
    expect(result.passed).toBe(true);
    const found = events(result).filter((e): e is Extract<LabEvent, { type: 'capability' }> => e.type === 'capability' && e.name === 'netcat');
    expect(found.map((e) => `${e.host}: ${e.detail}`).sort()).toEqual([`H1: nc is ${flavor} netcat`, `H2: nc is ${flavor} netcat`]);
    // The server (H2) listens with the flavor's own syntax; the listener exits when the peer
    // closes, as every flavor's does. ncat would half-close at end of input unless told not to.
    const listen = { ncat: `nc --no-shutdown -l ${port}`, traditional: `nc -l -p ${port}`, busybox: `nc -l -p ${port}` }[flavor];
    expect(typed(result, 'H2')).toContain(listen);
    // The client must stay after the peer closes (so H1 sits in CLOSE_WAIT until Ctrl-C): none
    // of these flavors can, so the tcp-peer helper stands in, and the log says why.
    expect(typed(result, 'H1').some((t) => /^python3 \/tmp\/tcplab-[0-9a-f]+-h1\/tcp-peer\.py --connect /.test(t))).toBe(true);
    expect(events(result).some((e) => e.type === 'note' && e.host === 'H1' && e.text.includes(`${flavor} netcat cannot do what this step asks`))).toBe(true);
    expect(result.hosts.H1!.connections.some((c) => c.states.some((s) => s.state === 'CLOSE_WAIT'))).toBe(true);
    expectNothingLeft(result);
  });

  it('fin-wait-2 with ncat as nc: ncat half-closes at the end of input by itself, so the server types plain `nc -l`', async () => {
    replaceNc('/usr/bin/ncat');
    const result = await run('fin-wait-2', 8165);
    expect(result.passed).toBe(true);
    expect(typed(result, 'H2')).toContain('nc -l 8165');
    expect(result.hosts.H2!.connections.some((c) => c.states.some((s) => s.state === 'FIN_WAIT2'))).toBe(true);
    expectNothingLeft(result);
  });
});
