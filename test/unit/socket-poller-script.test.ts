/**
 * The poller's script, run by this machine's bash (the hosts run the same text over SSH), read
 * by the same PollerLines the engine uses: requests answered at once and named, the next tick
 * announced, and what "every snapshot before this time has arrived" may claim.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { PollerLines, pollerScript, type Snapshot } from '../../electron/lab/socket-poller';

const haveSs = spawnSync('ss', ['-V']).status === 0;
if (!haveSs) console.warn('SKIPPED socket-poller-script: `ss` (iproute2) is not installed here');

interface Run {
  child: ChildProcessWithoutNullStreams;
  lines: PollerLines;
  raw: string[];
  snapshots: Snapshot[];
  /** Resolves at the next `@@end` line read. */
  nextEnd(): Promise<string>;
}

const runs: Run[] = [];
afterEach(() => {
  for (const run of runs.splice(0)) run.child.kill();
});

function startPoller(intervalMs: number): Run {
  const child = spawn('bash', ['-c', pollerScript(7, intervalMs, 'test')]);
  const snapshots: Snapshot[] = [];
  const raw: string[] = [];
  const waiters: Array<(line: string) => void> = [];
  const lines = new PollerLines((snapshot) => snapshots.push(snapshot));
  let partial = '';
  child.stdout.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString('utf8')).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      raw.push(line);
      lines.line(line);
      if (line.startsWith('@@end')) waiters.shift()?.(line);
    }
  });
  const run: Run = { child, lines, raw, snapshots, nextEnd: () => new Promise((resolve) => waiters.push(resolve)) };
  runs.push(run);
  return run;
}

describe.skipIf(!haveSs)('the socket poller script (bash, ss)', () => {
  it('announces its next tick, answers a request at once naming it, and ends on EOF', async () => {
    const run = startPoller(10_000);
    const first = await run.nextEnd();
    const [, readUs, tickUs] = first.split(' ').map(Number);
    expect(tickUs).toBeGreaterThan(readUs!);
    // No request outstanding: everything before the announced tick is in.
    expect(run.lines.snapshotsCompleteBeforeUs()).toBe(tickUs);

    const answered = run.nextEnd();
    run.child.stdin.write(`${run.lines.nextRequest()}\n`);
    // Unanswered, the request may start a snapshot at any moment: the claim falls back to the
    // latest snapshot's start.
    expect(run.lines.snapshotsCompleteBeforeUs()).toBe(run.snapshots.at(-1)!.hostTimeUs);
    await answered;
    const start = run.raw.filter((l) => l.startsWith('@@snapshot')).at(-1)!;
    expect(start.split(' ')[2]).toBe('1');
    // Taken on the request, long before the 10 s tick.
    expect(run.snapshots.at(-1)!.hostTimeUs).toBeLessThan(tickUs!);
    expect(run.lines.snapshotsCompleteBeforeUs()).toBeGreaterThan(tickUs!);

    const exited = new Promise<number | null>((resolve) => run.child.on('exit', resolve));
    run.child.stdin.end();
    expect(await exited).toBe(0);
  });

  it('with a request unanswered, claims only up to the latest snapshot it has, or the one under way', () => {
    const snapshots: Snapshot[] = [];
    let started = 0;
    const lines = new PollerLines(
      (s) => snapshots.push(s),
      () => started++,
    );
    lines.line('@@snapshot 1000 ');
    lines.line('@@end 1500 201000');
    expect(lines.snapshotsCompleteBeforeUs()).toBe(201000);
    lines.nextRequest(); // 1
    // Sent after the claim: the host may take it before the tick.
    expect(lines.snapshotsCompleteBeforeUs()).toBe(1000);
    lines.nextRequest(); // 2
    // A tick's snapshot begins while both requests are in transit: every snapshot before it is in.
    lines.line('@@snapshot 201000 ');
    expect(started).toBe(2);
    expect(lines.snapshotsCompleteBeforeUs()).toBe(201000);
    // It arrives; the next may start at any time.
    lines.line('@@end 201400 401000');
    expect(lines.snapshotsCompleteBeforeUs()).toBe(201000);
    // The first request's snapshot begins: the claim moves to its start before `ss` has run.
    lines.line('@@snapshot 210000 1');
    expect(lines.snapshotsCompleteBeforeUs()).toBe(210000);
    lines.line('@@end 210300 401000');
    expect(lines.snapshotsCompleteBeforeUs()).toBe(210000);
    lines.line('@@snapshot 210400 2');
    lines.line('@@end 210700 401000');
    expect(lines.snapshotsCompleteBeforeUs()).toBe(401000);
    expect(snapshots.map((s) => [s.hostTimeUs, s.readUs])).toEqual([
      [1000, 1500],
      [201000, 201400],
      [210000, 210300],
      [210400, 210700],
    ]);
  });

  it('reads the old form of its lines (no request, no tick) as before', () => {
    const snapshots: Snapshot[] = [];
    const lines = new PollerLines((s) => snapshots.push(s));
    lines.line('@@snapshot 1000');
    lines.line('@@end');
    lines.line('@@snapshot not-a-time');
    expect(snapshots).toEqual([{ hostTimeUs: 1000, readUs: 1000, sockets: [] }]);
    expect(lines.snapshotsCompleteBeforeUs()).toBe(1000);
  });
});
