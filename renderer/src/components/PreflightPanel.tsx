/** The host preflight (tcplab check) as a dialog: per host every item, and each failing item's fix. */
import { useEffect, useState } from 'react';
import type { CheckReply } from '../../../shared/src/run-api';

type HostEntry = CheckReply['hosts'][number];

const MARK = {
  ok: { text: '✓', className: 'text-emerald-600 dark:text-emerald-400', label: 'ok' },
  fail: { text: '✗', className: 'text-red-600 dark:text-red-400', label: 'fails' },
  warn: { text: '!', className: 'text-amber-600 dark:text-amber-400', label: 'warning' },
};

export function PreflightPanel({ check, onClose }: { check: () => Promise<CheckReply>; onClose: () => void }) {
  const [reply, setReply] = useState<CheckReply>();
  const [error, setError] = useState<string>();
  const [running, setRunning] = useState(false);

  const runCheck = () => {
    setRunning(true);
    setError(undefined);
    check()
      .then(setReply, (e: unknown) => setError((e as Error).message))
      .finally(() => setRunning(false));
  };
  // Checking is why the dialog opened.
  useEffect(runCheck, []);

  return (
    <div className="fixed inset-0 z-40 flex items-center justify-center bg-slate-900/40 p-4" role="dialog" aria-modal="true" aria-labelledby="preflight-title">
      <div className="flex max-h-full w-[min(980px,100%)] flex-col rounded-lg border border-slate-300 bg-white shadow-xl dark:border-slate-700 dark:bg-slate-900" data-testid="preflight">
        <div className="flex items-center gap-3 border-b border-slate-200 px-4 py-2.5 dark:border-slate-700">
          <h2 id="preflight-title" className="text-sm font-bold">
            Check the hosts
          </h2>
          {reply && (
            <span data-testid="preflight-verdict" data-ok={reply.ok} className={`text-[12.5px] font-semibold ${reply.ok ? 'text-emerald-700 dark:text-emerald-300' : 'text-red-700 dark:text-red-300'}`}>
              {reply.ok ? 'Ready: both hosts have what experiments need' : 'Not ready: fix the items marked ✗'}
            </span>
          )}
          <div className="ml-auto flex gap-2">
            <button type="button" data-testid="preflight-again" disabled={running} onClick={runCheck} className="rounded-md border border-slate-300 px-3 py-1 text-[12.5px] enabled:hover:bg-slate-100 disabled:opacity-50 dark:border-slate-600 dark:enabled:hover:bg-slate-800">
              {running ? 'Checking…' : 'Check again'}
            </button>
            <button type="button" onClick={onClose} className="rounded-md bg-slate-800 px-3 py-1 text-[12.5px] font-semibold text-white hover:bg-slate-900 dark:bg-slate-200 dark:text-slate-900">
              Close
            </button>
          </div>
        </div>
        <div className="min-h-0 overflow-auto p-4">
          {error && <p className="rounded border border-red-300 bg-red-50 p-2 text-[13px] text-red-800 dark:border-red-800 dark:bg-red-950/50 dark:text-red-200">{error}</p>}
          {!reply && !error && <p className="text-[13px] text-slate-500">Asking H1 and H2 what they have…</p>}
          {reply && (
            <div className="grid gap-4 md:grid-cols-2">
              {reply.hosts.map((host) => (
                <HostCard key={host.host} host={host} />
              ))}
            </div>
          )}
          <p className="mt-3 text-[11.5px] text-slate-500 dark:text-slate-400">
            The same check runs from a terminal: <code className="font-mono">tcplab check --hosts FILE</code>. Every experiment also runs it as it starts and refuses to start on a host that lacks what it needs.
          </p>
        </div>
      </div>
    </div>
  );
}

function HostCard({ host }: { host: HostEntry }) {
  return (
    <section className="rounded-md border border-slate-200 dark:border-slate-700" data-testid={`preflight-${host.host}`}>
      <h3 className="flex items-baseline gap-2 border-b border-slate-200 bg-slate-50 px-3 py-1.5 text-[13px] font-semibold dark:border-slate-700 dark:bg-slate-800/60">
        {host.host}
        <span className="font-mono text-[11.5px] font-normal text-slate-500">
          {host.user}@{host.address}
        </span>
        {'os' in host && <span className="ml-auto text-[11px] font-normal text-slate-500">{host.os}</span>}
      </h3>
      {'error' in host ? (
        <p className="p-3 text-[12.5px] text-red-800 dark:text-red-200">Could not check this host: {host.error}</p>
      ) : (
        <ul className="divide-y divide-slate-100 dark:divide-slate-800">
          {host.items.map((item) => {
            const mark = item.ok ? MARK.ok : item.severity === 'required' ? MARK.fail : MARK.warn;
            return (
              <li key={item.name} className="flex gap-2 px-3 py-1.5 text-[12.5px]" data-testid={`preflight-${host.host}-${item.name}`} data-ok={item.ok} data-severity={item.severity}>
                <span className={`w-3 shrink-0 text-center font-bold ${mark.className}`} aria-label={mark.label}>
                  {mark.text}
                </span>
                <span className="w-16 shrink-0 font-semibold">{item.name}</span>
                <span className="min-w-0 flex-1">
                  <span className="break-words text-slate-700 dark:text-slate-200">{item.detail}</span>
                  {!item.ok && item.fix && (
                    <span className="mt-0.5 block">
                      <span className="text-slate-500">fix: </span>
                      <code className="select-all rounded bg-slate-100 px-1 font-mono text-[11.5px] dark:bg-slate-800" data-testid="preflight-fix">
                        {item.fix}
                      </code>
                    </span>
                  )}
                </span>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
