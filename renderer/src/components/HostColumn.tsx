/**
 * A window-like column per host, as in the article's figures: application pane, state pane, sockets.
 * Memoized: a snapshot of one host (several a second) re-renders that host's column only.
 */
import { memo, useState } from 'react';
import type { ApiHostLabel, HostInfo } from '../../../shared/src/lab-api';
import type { HostView } from '../state/workspace';
import { isCarried } from '../state/shown';
import type { TerminalHub } from '../terminals/terminal-hub';
import { SocketTable } from './SocketTable';
import { TerminalPane } from './TerminalPane';

const STATUS: Record<string, { text: string; dot: string }> = {
  'not connected': { text: 'not connected', dot: 'bg-slate-400' },
  connecting: { text: 'connecting…', dot: 'bg-amber-400 animate-pulse' },
  connected: { text: 'connected', dot: 'bg-emerald-500' },
  disconnected: { text: 'disconnected', dot: 'bg-red-500' },
  reconnecting: { text: 'reconnecting…', dot: 'bg-amber-400 animate-pulse' },
  failed: { text: 'connection failed', dot: 'bg-red-500' },
  closed: { text: 'closed', dot: 'bg-slate-400' },
};

export interface HostColumnProps {
  label: ApiHostLabel;
  info: HostInfo | undefined;
  view: HostView;
  role: string | undefined;
  port: number | undefined;
  hub: TerminalHub;
  /** Set while the timeline's cursor shows a past instant (controller ms): timers count from it. */
  at?: number | undefined;
}

/** The status line: while a dropped host is being reconnected, it still says it is disconnected. */
function statusOf(view: HostView): { text: string; dot: string } {
  const status = STATUS[view.status] ?? STATUS['not connected']!;
  if (view.lost === undefined || view.status === 'disconnected') return status;
  return { text: `disconnected · ${status.text}`, dot: 'bg-red-500 animate-pulse' };
}

/** The banner under the title: what went wrong, and while reconnecting, why and what happens next. */
function problemOf(view: HostView): string | undefined {
  if (view.lost !== undefined && view.status !== 'disconnected') {
    const attempt = view.attempt !== undefined ? ` (attempt ${view.attempt})` : '';
    const next = view.status === 'reconnecting' ? `reconnecting${attempt}: ${view.detail ?? ''}` : view.status === 'connecting' ? `reconnecting${attempt}: connecting…` : `reconnecting${attempt}: ${view.detail ?? 'failed'}`;
    return `Connection lost: ${view.lost}. ${capitalized(next)}`;
  }
  if (view.detail && (view.status === 'failed' || view.status === 'disconnected' || view.status === 'reconnecting')) return view.detail;
  return undefined;
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export const HostColumn = memo(function HostColumn({ label, info, view, role, port, hub, at }: HostColumnProps) {
  const status = statusOf(view);
  const problem = problemOf(view);
  // A note stays until the user closes it or another one comes (notes are rare: a few a session).
  const [closedNote, setClosedNote] = useState<string | undefined>();
  const noteKey = view.note && `${view.note.t}|${view.note.text}`;
  const note = view.note && noteKey !== closedNote ? view.note : undefined;
  return (
    <article
      className="flex min-h-0 min-w-0 flex-col overflow-hidden rounded-lg border border-slate-300 bg-white shadow-sm dark:border-slate-700 dark:bg-slate-900"
      aria-label={`host ${label}`}
    >
      <header className="flex items-center gap-2 border-b border-slate-200 bg-slate-50 px-3 py-1.5 dark:border-slate-700 dark:bg-slate-800/70">
        <h2 className="text-[15px] font-bold tracking-tight">{label}</h2>
        {role && <span className="rounded bg-slate-200 px-1.5 text-[11px] font-medium text-slate-700 dark:bg-slate-700 dark:text-slate-200">{role}</span>}
        <span className="truncate font-mono text-[11px] text-slate-500 dark:text-slate-400" title={info ? `SSH ${info.user}@${info.address}:${info.port}; experiment address ${info.experimentAddress}` : ''}>
          {info ? `${info.user}@${info.address} · ${info.experimentAddress}` : ''}
        </span>
        <span className="ml-auto flex shrink-0 items-center gap-1.5 text-[12px]" data-testid={`host-status-${label}`} data-status={view.status}>
          <span className={`h-2 w-2 rounded-full ${status.dot}`} />
          {status.text}
        </span>
      </header>
      {problem !== undefined && (
        <p data-testid={`host-problem-${label}`} className="border-b border-red-200 bg-red-50 px-3 py-1 text-[12px] text-red-800 dark:border-red-900 dark:bg-red-950 dark:text-red-200">{problem}</p>
      )}
      {note && (
        <p data-testid={`host-note-${label}`} className="flex items-start gap-2 border-b border-amber-200 bg-amber-50 px-3 py-1 text-[12px] text-amber-900 dark:border-amber-900 dark:bg-amber-950 dark:text-amber-100">
          <span className="min-w-0 flex-1">{capitalized(note.text)}</span>
          <button type="button" onClick={() => setClosedNote(noteKey)} title="Dismiss this note (the session log keeps it)" aria-label={`Dismiss the note about ${label}`} className="shrink-0 rounded px-1 leading-none hover:bg-amber-100 dark:hover:bg-amber-900">
            ×
          </button>
        </p>
      )}
      <div className="flex min-h-0 flex-1 flex-col gap-1 p-1.5">
        <TerminalPane hub={hub} host={label} pane="upper" title="Application" />
        <TerminalPane hub={hub} host={label} pane="lower" title="State and firewall" />
      </div>
      <footer className="flex h-[104px] shrink-0 flex-col border-t border-slate-200 dark:border-slate-700">
        <div className="flex items-center gap-2 px-2 pt-1 text-[10.5px] font-semibold uppercase tracking-wide text-slate-500 dark:text-slate-400">
          <span>Sockets on port {port ?? '…'}</span>
          {view.rules.length > 0 && (
            <span className="rounded bg-red-100 px-1.5 normal-case tracking-normal text-red-800 dark:bg-red-900/60 dark:text-red-100" data-testid={`rules-${label}`}>
              {view.rules.length} firewall rule{view.rules.length > 1 ? 's' : ''} active
            </span>
          )}
          {isCarried(view) && (
            <span
              className="normal-case tracking-normal text-slate-500 italic dark:text-slate-400"
              data-testid={`sockets-carried-${label}`}
              title="What TCP Lab last saw before the connection to the host was made again; the table is renewed at the first new look (a fraction of a second once connected)"
            >
              last seen, reconnecting…
            </span>
          )}
          {view.capability && !view.capability.ok && (
            <span className="normal-case tracking-normal text-amber-700 dark:text-amber-300" title={view.capability.detail}>
              polling only: short states may be missed
            </span>
          )}
        </div>
        <SocketTable host={view} port={port} at={at} />
      </footer>
    </article>
  );
});
