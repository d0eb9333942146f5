/**
 * The `report` request (shared/src/report-api.ts): the runs this app started, by session, and
 * their report written into each run's folder by the same code as `tcplab report <run-dir>`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_REPORT_REPLY_CHARS, type ReportReply } from '../../shared/src/report-api';
import { writeReport } from '../figures/report';

/** A request that cannot be answered, in a lab assistant's words. */
export class ReportError extends Error {}

interface RunEntry {
  session: string;
  experiment: string;
  dir: string;
  finished: boolean;
}

export class RunReports {
  private readonly runs: RunEntry[] = [];

  /** A run started: its session id, experiment and folder. */
  started(session: string, experiment: string, dir: string): void {
    this.runs.push({ session, experiment, dir, finished: false });
  }

  /** The run's engine is done with it (its log and result are written). */
  finished(session: string): void {
    const entry = this.runs.find((r) => r.session === session);
    if (entry) entry.finished = true;
  }

  /** Writes `report.html` into the run's folder; `session` absent means the last run. */
  async report(session: string | undefined): Promise<ReportReply> {
    const entry = session === undefined ? this.runs.at(-1) : this.runs.find((r) => r.session === session);
    if (!entry) throw new ReportError(session === undefined ? 'No experiment has been run yet: run one, then ask for its report.' : `No run of this app has the session ${session}.`);
    if (!entry.finished) throw new ReportError(`The run of ${entry.experiment} is still going: its report can be made once it has finished.`);
    if (!existsSync(join(entry.dir, 'session.jsonl'))) throw new ReportError(`The run's log is missing from ${entry.dir}: no report can be made.`);
    const file = await writeReport(entry.dir, join(entry.dir, 'report.html'));
    const html = readFileSync(file, 'utf8');
    const fits = JSON.stringify(html).length <= MAX_REPORT_REPLY_CHARS;
    return { file, experiment: entry.experiment, bytes: Buffer.byteLength(html), ...(fits ? { html } : {}) };
  }
}
