/**
 * A recorded run read back from its folder (what `tcplab run --out DIR` writes): the session log
 * (session.jsonl), and result.json when the run finished. Figures and reports are built from it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HostResult, LabEvent } from '../../shared/src/events';
import { promptUtcOffsetMinutes } from '../../shared/src/figures/instant';

export class RunFolderError extends Error {}

export type SessionStart = Extract<LabEvent, { type: 'session-start' }>;

export interface RunRecord {
  dir: string;
  events: LabEvent[];
  start: SessionStart;
  /** result.json, when present. */
  result?: { experiment: string; passed: boolean; hosts: Record<string, HostResult>; error?: string };
  /** The hosts' zone as the prompts show it (minutes east of UTC). */
  utcOffsetMin: number;
  /** The default instant of window figures: the end of the experiment's last step (before cleanup). */
  experimentEndMs: number;
  /** The start of the first step (or of the session). */
  experimentStartMs: number;
}

export function readRun(dir: string): RunRecord {
  const logPath = join(dir, 'session.jsonl');
  if (!existsSync(logPath)) throw new RunFolderError(`${dir}: no session.jsonl here; give the folder a run wrote (tcplab run ... --out DIR)`);
  const lines = readFileSync(logPath, 'utf8').split('\n');
  const events: LabEvent[] = [];
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    try {
      events.push(JSON.parse(line) as LabEvent);
    } catch {
      // A crash can cut the last line short (DESIGN.md: a crash loses at most the last second).
      if (index < lines.length - 2) throw new RunFolderError(`${logPath}:${index + 1}: not a JSON event`);
    }
  });
  const start = events.find((e): e is SessionStart => e.type === 'session-start');
  if (!start) throw new RunFolderError(`${logPath}: no session-start event; is this a TCP Lab session log?`);
  const resultPath = join(dir, 'result.json');
  const result = existsSync(resultPath) ? (JSON.parse(readFileSync(resultPath, 'utf8')) as RunRecord['result']) : undefined;
  const steps = events.filter((e) => e.type === 'step');
  const last = events[events.length - 1]!;
  return {
    dir,
    events,
    start,
    ...(result ? { result } : {}),
    utcOffsetMin: promptUtcOffsetMinutes(events),
    experimentEndMs: steps.length > 0 ? steps[steps.length - 1]!.t : last.t,
    experimentStartMs: steps.length > 0 ? steps[0]!.t : start.t,
  };
}

/** The host's clock offset (host minus controller, ms) in force at `atMs`: the latest estimate before it, else the first. */
export function clockOffsetMs(events: readonly LabEvent[], host: string, atMs: number): number {
  let offset: number | undefined;
  for (const e of events) {
    if (e.type !== 'clock' || e.host !== host) continue;
    if (offset === undefined || e.t <= atMs) offset = e.offsetMs;
    if (e.t > atMs) break;
  }
  return offset ?? 0;
}
