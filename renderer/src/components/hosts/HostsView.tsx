/**
 * The Hosts view: H1 and H2 set up by hand, from ~/.ssh/config, or as the local virtual lab;
 * saved by the engine (hosts file + secrets kept apart). Says how secrets are kept: encrypted in
 * the desktop app, in memory only in browser mode.
 */
import { useEffect, useState } from 'react';
import { LOCAL_LAB_PROGRESS, type HostsView as HostsViewData, type ImportedHost, type SshConfigImport } from '../../../../shared/src/hosts-api';
import type { LabClient } from '../../api/lab-client';
import { emptyForm, formFromView, formToInput, HostForm, type HostFormState } from './HostForm';

type Label = 'H1' | 'H2';

export function HostsView({ client, editable, onClose }: { client: LabClient; /** False while connected. */ editable: boolean; onClose: () => void }) {
  const [view, setView] = useState<HostsViewData>();
  const [forms, setForms] = useState<Record<Label, HostFormState>>({ H1: emptyForm(), H2: emptyForm() });
  const [error, setError] = useState<string>();
  const [status, setStatus] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [imported, setImported] = useState<SshConfigImport>();
  /** While "Local virtual lab" works: when it started, and the engine's latest line of progress. */
  const [labProgress, setLabProgress] = useState<{ since: number; line: string }>();
  const [, setTick] = useState(0);

  useEffect(
    () =>
      client.onMessage((message) => {
        if (message.type === 'notice' && message.level === 'info' && message.text.startsWith(LOCAL_LAB_PROGRESS)) {
          const line = message.text.slice(LOCAL_LAB_PROGRESS.length);
          setLabProgress((p) => (p ? { ...p, line } : p));
        }
      }),
    [client],
  );
  useEffect(() => {
    if (!labProgress) return;
    // The elapsed seconds tick, so a slow first build visibly is not a hang.
    const timer = setInterval(() => setTick((t) => t + 1), 1000);
    return () => clearInterval(timer);
  }, [labProgress]);

  const show = (next: HostsViewData) => {
    setView(next);
    if (next.hosts) setForms({ H1: formFromView(next.hosts.H1), H2: formFromView(next.hosts.H2) });
  };

  useEffect(() => {
    client.request({ method: 'hosts-get' }).then(show, (e: Error) => setError(e.message));
  }, [client]);

  const act = async (what: string, action: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    setStatus(undefined);
    try {
      await action();
      setStatus(what);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const save = () =>
    act('Saved.', async () => {
      show(await client.request({ method: 'hosts-save', hosts: { H1: formToInput(forms.H1), H2: formToInput(forms.H2) } }));
    });
  const useLocalLab = () =>
    act('H1 and H2 are now the local virtual lab. Saved.', async () => {
      setLabProgress({ since: Date.now(), line: 'starting…' });
      try {
        show(await client.request({ method: 'hosts-use-local-lab' }));
      } finally {
        setLabProgress(undefined);
      }
    });
  const importConfig = () =>
    act('', async () => {
      setImported(await client.request({ method: 'hosts-import-ssh-config' }));
    });
  const useImported = (label: Label, host: ImportedHost) => {
    setForms({
      ...forms,
      [label]: {
        ...forms[label],
        name: forms[label].name || host.alias,
        address: host.address,
        port: String(host.port),
        user: host.user ?? forms[label].user,
        ...(host.keyFile ? { authType: 'key' as const, keyFile: host.keyFile } : {}),
        proxyJump: host.proxyJump ?? '',
        // The jump host's IdentityFile is its own login; without one, the host's own login (as a
        // host without IdentityFile keeps the form's), unless the jump host is the one already set.
        ...(host.proxyJumpAuth
          ? { jumpAuthType: 'key' as const, jumpKeyFile: host.proxyJumpAuth.keyFile }
          : host.proxyJump !== forms[label].proxyJump.trim()
            ? { jumpAuthType: 'host' as const }
            : {}),
      },
    });
    setStatus(`${host.alias} copied into ${label}: check it and save.`);
  };

  const readOnly = view?.problem === 'read-only';
  const canEdit = editable && !readOnly && !busy;
  const secretsTone =
    view?.secrets.kind === 'encrypted'
      ? 'border-emerald-300 bg-emerald-50 text-emerald-900 dark:border-emerald-800 dark:bg-emerald-950 dark:text-emerald-100'
      : 'border-amber-300 bg-amber-50 text-amber-900 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-100';

  return (
    <div className="fixed inset-0 z-20 flex items-start justify-center overflow-auto bg-slate-950/50 p-3" role="dialog" aria-modal="true" aria-labelledby="hosts-title" data-testid="hosts-view">
      <div className="w-full max-w-5xl rounded-xl border border-slate-300 bg-white p-4 shadow-2xl dark:border-slate-700 dark:bg-slate-900">
        <div className="mb-2 flex items-baseline gap-3">
          <h2 id="hosts-title" className="text-lg font-semibold">
            Hosts
          </h2>
          <span className="min-w-0 flex-1 truncate font-mono text-[11.5px] text-slate-500" title={view?.file}>
            {view ? `${view.file} · known_hosts: ${view.knownHostsFile}` : 'loading…'}
          </span>
          <button type="button" data-testid="hosts-close" onClick={onClose} className="rounded px-2 text-xl leading-none text-slate-500 hover:text-slate-900 dark:hover:text-white" aria-label="Close">
            ×
          </button>
        </div>

        <div className="mb-3 flex flex-wrap items-center gap-2">
          <button
            type="button"
            data-testid="hosts-local-lab"
            disabled={!canEdit || !view?.localLab.available}
            title={view?.localLab.reason ?? 'Two network namespaces on this machine, each with its own sshd'}
            onClick={() => void useLocalLab()}
            className="rounded-md bg-sky-700 px-3 py-1 text-sm font-semibold text-white enabled:hover:bg-sky-800 disabled:opacity-40"
          >
            Local virtual lab
          </button>
          <button
            type="button"
            data-testid="hosts-import"
            disabled={busy}
            onClick={() => void importConfig()}
            className="rounded-md border border-slate-300 px-3 py-1 text-sm hover:bg-slate-100 disabled:opacity-40 dark:border-slate-600 dark:hover:bg-slate-800"
          >
            Import from ~/.ssh/config
          </button>
          {view && !view.localLab.available && <span className="text-[12px] text-slate-500">Local virtual lab: {view.localLab.reason}</span>}
          {labProgress && (
            <span className="flex min-w-0 items-center gap-1.5 text-[12px] text-sky-800 dark:text-sky-300" role="status" data-testid="hosts-local-lab-progress">
              <span className="inline-block h-3 w-3 animate-spin rounded-full border-2 border-current border-t-transparent" aria-hidden="true" />
              <span className="truncate">
                Local virtual lab ({Math.floor((Date.now() - labProgress.since) / 1000)} s): {labProgress.line}
              </span>
            </span>
          )}
          {!editable && <span className="text-[12px] text-amber-700 dark:text-amber-300">Disconnect to change the hosts.</span>}
        </div>

        {view && (
          <p className={`mb-3 rounded-md border px-3 py-1.5 text-[12.5px] ${secretsTone}`} data-testid="hosts-secrets-note" data-kind={view.secrets.kind}>
            {view.secrets.description}
          </p>
        )}
        {view?.problem && !readOnly && (
          <p className="mb-3 rounded-md border border-red-300 bg-red-50 px-3 py-1.5 text-[12.5px] whitespace-pre-line text-red-900 dark:border-red-800 dark:bg-red-950 dark:text-red-100" data-testid="hosts-problem">
            {view.problem}
          </p>
        )}

        {imported && (
          <div className="mb-3 rounded-md border border-slate-300 p-2 dark:border-slate-700" data-testid="hosts-imported">
            <div className="mb-1 text-[12.5px] font-medium">
              {imported.file}: {imported.hosts.length} host{imported.hosts.length === 1 ? '' : 's'}
            </div>
            {imported.problems.map((p) => (
              <p key={p} className="text-[12px] text-amber-700 dark:text-amber-300">
                {p}
              </p>
            ))}
            <ul className="max-h-40 space-y-1 overflow-auto">
              {imported.hosts.map((h) => (
                <li key={h.alias} className="flex flex-wrap items-baseline gap-2 text-[12.5px]" data-testid={`import-${h.alias}`}>
                  <strong>{h.alias}</strong>
                  <span className="font-mono text-[12px] text-slate-500">
                    {h.user ? `${h.user}@` : ''}
                    {h.address}:{h.port}
                    {h.proxyJump ? ` via ${h.proxyJump}` : ''}
                    {h.proxyJumpAuth ? ` (jump key ${h.proxyJumpAuth.keyFile})` : ''}
                  </span>
                  {h.notes.map((n) => (
                    <span key={n} className="text-[11.5px] text-amber-700 dark:text-amber-300">
                      {n}
                    </span>
                  ))}
                  <span className="ml-auto flex gap-1">
                    {(['H1', 'H2'] as const).map((label) => (
                      <button key={label} type="button" disabled={!canEdit} onClick={() => useImported(label, h)} className="rounded border border-slate-300 px-2 text-[12px] hover:bg-slate-100 disabled:opacity-40 dark:border-slate-600 dark:hover:bg-slate-800">
                        Use for {label}
                      </button>
                    ))}
                  </span>
                </li>
              ))}
            </ul>
          </div>
        )}

        <div className="grid grid-cols-2 gap-3">
          {(['H1', 'H2'] as const).map((label) => (
            <HostForm key={label} label={label} form={forms[label]} onChange={(next) => setForms({ ...forms, [label]: next })} />
          ))}
        </div>

        <div className="mt-3 flex items-center justify-end gap-2">
          {error && (
            <p className="mr-auto text-[12.5px] whitespace-pre-line text-red-700 dark:text-red-300" role="alert" data-testid="hosts-error">
              {error}
            </p>
          )}
          {status && !error && (
            <p className="mr-auto text-[12.5px] text-emerald-700 dark:text-emerald-300" data-testid="hosts-status">
              {status}
            </p>
          )}
          <button type="button" onClick={onClose} className="rounded-md border border-slate-300 px-4 py-1.5 text-sm hover:bg-slate-100 dark:border-slate-600 dark:hover:bg-slate-800">
            Close
          </button>
          <button
            type="button"
            data-testid="hosts-save"
            disabled={!canEdit}
            onClick={() => void save()}
            className="rounded-md bg-sky-700 px-4 py-1.5 text-sm font-medium text-white enabled:hover:bg-sky-800 disabled:opacity-40"
          >
            Save
          </button>
        </div>
      </div>
    </div>
  );
}
