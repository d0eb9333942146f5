/**
 * "Report" next to a run's result: the engine writes the run's self-contained HTML report into
 * the run's folder (what `tcplab report <run-dir>` writes), and the page offers it as a download
 * and says where the file is.
 */
import { useState } from 'react';
import type { ReportReply } from '../../../shared/src/report-api';

export type RequestReport = (session: string) => Promise<ReportReply>;

/** Saves text as a file through the browser's download (no server round trip). */
function download(name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/html;charset=utf-8' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.style.display = 'none';
  document.body.append(a);
  a.click();
  a.remove();
  // The download has taken its copy once click() returns; a later revoke is only tidiness.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function ReportButton({ session, requestReport }: { session: string; requestReport: RequestReport }) {
  const [busy, setBusy] = useState(false);
  const [made, setMade] = useState<ReportReply>();
  const [error, setError] = useState<string>();

  const make = () => {
    setBusy(true);
    setError(undefined);
    requestReport(session)
      .then((reply) => {
        setMade(reply);
        if (reply.html !== undefined) download(`tcplab-${reply.experiment}-${session}.html`, reply.html);
      }, (e: unknown) => setError((e as Error).message))
      .finally(() => setBusy(false));
  };

  return (
    <div className="mt-1.5 text-[11.5px]">
      <button
        type="button"
        data-testid="report-button"
        onClick={make}
        disabled={busy}
        title="One HTML file with the explanation, the steps, each host's states, the figures and the panes' transcripts; opens offline"
        className="rounded-md border border-slate-300 bg-white px-2 py-0.5 text-[12px] enabled:hover:bg-slate-100 disabled:opacity-50 dark:border-slate-600 dark:bg-slate-800 dark:enabled:hover:bg-slate-700"
      >
        {busy ? 'Making the report…' : '⤓ Report (HTML)'}
      </button>
      {made && (
        <p className="mt-0.5 break-all text-slate-600 dark:text-slate-300" data-testid="report-file">
          {made.html === undefined ? `Too large to download here (${(made.bytes / 1e6).toFixed(1)} MB); written to ` : 'Downloaded; also written to '}
          <code className="font-mono">{made.file}</code>
        </p>
      )}
      {error && (
        <p className="mt-0.5 text-red-700 dark:text-red-300" role="alert" data-testid="report-error">
          {error}
        </p>
      )}
    </div>
  );
}
