/**
 * First connection: each host whose key is not in known_hosts shows its SHA256 fingerprint, to
 * accept or refuse before any credential is sent (the engine checks keys during key exchange).
 * Other problems of the same attempt (a changed key, a refused login) are shown, never acceptable.
 */
import { useState } from 'react';
import type { HostInfo, HostProblem } from '../../../shared/src/lab-api';
import { ChangedKeyPanel } from './hosts/ChangedKeyPanel';

export interface HostKeyDialogProps {
  problems: HostProblem[];
  hosts: HostInfo[];
  onConnect: (fingerprints: string[]) => void;
  onCancel: () => void;
  /** "Remove the old key" for a changed host key; resolves to what was done, in words. */
  onRemoveKey?: (host: 'H1' | 'H2') => Promise<string>;
}

export function HostKeyDialog({ problems, hosts, onConnect, onCancel, onRemoveKey }: HostKeyDialogProps) {
  const unknown = problems.filter((p) => p.kind === 'unknown-host-key' && p.fingerprint);
  const changed = problems.filter((p) => p.kind === 'changed-host-key');
  const others = problems.filter((p) => !(p.kind === 'unknown-host-key' && p.fingerprint) && p.kind !== 'changed-host-key');
  const [accepted, setAccepted] = useState<Record<string, boolean>>({});
  const allAccepted = unknown.every((p) => accepted[p.host]);
  return (
    <div className="fixed inset-0 z-20 flex items-center justify-center bg-slate-950/50 p-4" role="dialog" aria-modal="true" aria-labelledby="hostkey-title" data-testid="hostkey-dialog">
      <div className="w-full max-w-2xl rounded-xl border border-slate-300 bg-white p-5 shadow-2xl dark:border-slate-700 dark:bg-slate-900">
        <h2 id="hostkey-title" className="mb-1 text-lg font-semibold">
          {unknown.length > 0 ? 'New host keys: check them before connecting' : changed.length > 0 ? 'Host key changed: connection refused' : 'Could not connect'}
        </h2>
        {unknown.length > 0 && (
          <p className="mb-4 text-sm text-slate-600 dark:text-slate-300">
            TCP Lab has not seen {unknown.length === 1 ? 'this host' : 'these hosts'} before. Compare each fingerprint with the one the host itself reports
            (on the host: <code className="font-mono text-[12px]">ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub</code>). Accept only if they match. Nothing
            has been sent to the hosts yet.
          </p>
        )}
        <ul className="space-y-3">
          {unknown.map((p) => {
            const info = hosts.find((h) => h.label === p.host);
            return (
              <li key={p.host} className="rounded-lg border border-slate-200 p-3 dark:border-slate-700" data-testid={`hostkey-${p.host}`}>
                <div className="mb-1 flex flex-wrap items-baseline gap-2">
                  <strong>{p.jumpHost !== undefined ? `${p.host}'s jump host` : p.host}</strong>
                  <span className="font-mono text-[12px] text-slate-500">{p.jumpHost ?? (info ? `${info.user}@${info.address}:${info.port}` : '')}</span>
                </div>
                {p.jumpHost !== undefined && (
                  <p className="mb-1 text-[12.5px] text-slate-600 dark:text-slate-300" data-testid={`hostkey-jump-${p.host}`}>
                    This key is the jump host&apos;s ({p.jumpHost}), which {p.host} is reached through, not {p.host}&apos;s own. Accepting it records it for{' '}
                    {p.jumpHost}; {p.host}&apos;s own key is checked next, through it.
                  </p>
                )}
                <div className="mb-2 break-all rounded bg-slate-100 px-2 py-1.5 font-mono text-[13px] dark:bg-slate-800" data-testid={`fingerprint-${p.host}`}>
                  {p.fingerprint}
                </div>
                <div className="flex gap-2">
                  <button
                    type="button"
                    data-testid={`hostkey-accept-${p.host}`}
                    aria-pressed={accepted[p.host] === true}
                    onClick={() => setAccepted({ ...accepted, [p.host]: true })}
                    className={`rounded-md px-3 py-1 text-sm font-medium ${accepted[p.host] ? 'bg-emerald-600 text-white' : 'border border-slate-300 hover:bg-slate-100 dark:border-slate-600 dark:hover:bg-slate-800'}`}
                  >
                    {accepted[p.host] ? '✓ Accepted' : 'Accept this key'}
                  </button>
                  {accepted[p.host] && (
                    <button type="button" onClick={() => setAccepted({ ...accepted, [p.host]: false })} className="rounded-md px-3 py-1 text-sm text-slate-600 hover:underline dark:text-slate-300">
                      Undo
                    </button>
                  )}
                </div>
              </li>
            );
          })}
          {changed.map((p) => (
            <ChangedKeyPanel key={p.host} problem={p} {...(onRemoveKey ? { onRemoveKey } : {})} />
          ))}
          {others.map((p) => (
            <li key={p.host} className="rounded-lg border border-red-200 bg-red-50 p-3 text-sm text-red-900 dark:border-red-900 dark:bg-red-950 dark:text-red-100">
              <strong>{p.jumpHost !== undefined ? `${p.host}'s jump host ${p.jumpHost}: ` : `${p.host}: `}</strong>
              {p.message}
            </li>
          ))}
        </ul>
        {unknown.length > 0 && (
          <p className="mt-3 text-xs text-slate-500">
            Accepted keys are added to {unknown[0]?.knownHostsFile ?? 'known_hosts'} (hashed if that file is), so TCP Lab and ssh trust them from now on.
          </p>
        )}
        <div className="mt-4 flex justify-end gap-2">
          <button type="button" onClick={onCancel} className="rounded-md border border-slate-300 px-4 py-1.5 text-sm hover:bg-slate-100 dark:border-slate-600 dark:hover:bg-slate-800">
            {unknown.length > 0 ? 'Refuse' : 'Close'}
          </button>
          {unknown.length > 0 && (
            <button
              type="button"
              data-testid="hostkey-connect"
              disabled={!allAccepted || others.length > 0 || changed.length > 0}
              onClick={() => onConnect(unknown.map((p) => p.fingerprint!))}
              className="rounded-md bg-sky-700 px-4 py-1.5 text-sm font-medium text-white enabled:hover:bg-sky-800 disabled:opacity-40"
            >
              Connect
            </button>
          )}
        </div>
      </div>
    </div>
  );
}
