/**
 * The report part of LabApi (shared/src/lab-api.ts): "one self-contained HTML file" for a run,
 * from the app (issue 4). The engine writes `report.html` into the run's folder (what
 * `tcplab report <run-dir>` writes) and answers with its path and, when it fits in one message,
 * its text, which the renderer offers as a download.
 */
import { z } from 'zod';

/**
 * The largest report sent back in the reply, in characters of its JSON encoding: below the
 * message limit (MAX_MESSAGE_BYTES, 4 MiB) with room for the envelope. A report embeds the
 * figure font (~180 kB in all for a typical run); only pane transcripts of a huge output get
 * near this, and then the reply names the file without its text.
 */
export const MAX_REPORT_REPLY_CHARS = 3.5 * 1024 * 1024;

export const ReportRequests = [
  /** Writes report.html for a finished run of this app: the session's, or the last run's when none is named. */
  z.strictObject({
    method: z.literal('report'),
    session: z
      .string()
      .regex(/^[0-9a-f]{8}$/, 'must be a session id (8 hex digits)')
      .optional(),
  }),
] as const;

export const ReportReplyResults = {
  report: z.strictObject({
    /** Where the report was written on the engine's machine. */
    file: z.string(),
    /** The run's experiment id, for the download's name. */
    experiment: z.string(),
    /** The HTML itself, absent when larger than MAX_REPORT_REPLY_CHARS (then only the file has it). */
    html: z.string().optional(),
    /** The report's size in bytes (UTF-8). */
    bytes: z.number().int().min(0),
  }),
};
export type ReportReply = z.infer<(typeof ReportReplyResults)['report']>;
