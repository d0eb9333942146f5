/**
 * A host whose key differs from the one known_hosts records: refused, with both fingerprints,
 * what it can mean, the exact command that removes the old key, and a button that does it after
 * the user confirmed (the engine keeps a copy of the file, as ssh-keygen -R does).
 */
import { useState } from 'react';
import type { HostProblem } from '../../../../shared/src/lab-api';

export function ChangedKeyPanel({ problem, onRemoveKey }: { problem: HostProblem; onRemoveKey?: (host: 'H1' | 'H2') => Promise<string> }) {
  const [confirming, setConfirming] = useState(false);
  const [done, setDone] = useState<string>();
  const [error, setError] = useState<string>();
  const host = problem.host as 'H1' | 'H2';
  /** Whose key it is: the host's, or its jump host's (ProxyJump). */
  const whose = problem.jumpHost !== undefined ? `${host}'s jump host ${problem.jumpHost}` : host;
  const remove = async () => {
    setError(undefined);
    try {
      setDone(await onRemoveKey!(host));
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setConfirming(false);
    }
  };
  return (
    <li className="rounded-lg border-2 border-red-400 bg-red-50 p-3 text-sm text-red-950 dark:border-red-800 dark:bg-red-950 dark:text-red-50" data-testid={`changed-key-${host}`}>
      <div className="mb-1 font-semibold" data-testid={`changed-title-${host}`}>
        {whose}: the host key has changed. Connection refused.
      </div>
      {problem.jumpHost !== undefined && (
        <p className="mb-1 text-[12.5px]">
          This is the key of the jump host {host} is reached through, not {host}&apos;s own; nothing was sent to {host}.
        </p>
      )}
      <dl className="mb-2 grid grid-cols-[11rem_1fr] gap-x-2 gap-y-1 font-mono text-[12.5px]">
        <dt className="font-sans">Presented now</dt>
        <dd className="break-all" data-testid={`changed-now-${host}`}>
          {problem.fingerprint}
        </dd>
        <dt className="font-sans">Recorded in known_hosts</dt>
        <dd className="break-all" data-testid={`changed-known-${host}`}>
          {problem.knownFingerprints?.join(', ')}
        </dd>
      </dl>
      <p className="mb-2 text-[12.5px]">
        Either the host was reinstalled (or its keys regenerated), or someone is intercepting the connection. Check with whoever runs the host. Only if
        it was reinstalled, remove the old key and connect again; the new key will then be shown for you to accept:
      </p>
      {problem.fix && (
        <code className="mb-2 block rounded bg-white px-2 py-1 font-mono text-[12.5px] break-all text-slate-900 dark:bg-slate-900 dark:text-slate-100" data-testid={`changed-fix-${host}`}>
          {problem.fix}
        </code>
      )}
      {done ? (
        <p className="font-medium text-emerald-800 dark:text-emerald-300" data-testid={`changed-removed-${host}`}>
          {done}
        </p>
      ) : onRemoveKey && !confirming ? (
        <button type="button" data-testid={`remove-key-${host}`} onClick={() => setConfirming(true)} className="rounded-md border border-red-400 bg-white px-3 py-1 text-sm font-medium hover:bg-red-100 dark:bg-slate-900 dark:hover:bg-red-900">
          Remove the old key…
        </button>
      ) : onRemoveKey ? (
        <div className="flex flex-wrap items-center gap-2" data-testid={`remove-key-confirm-${host}`}>
          <span>
            Remove {whose}&apos;s old key from {problem.knownHostsFile ?? 'known_hosts'}? Do this only if you know the host was reinstalled.
          </span>
          <button type="button" data-testid={`remove-key-yes-${host}`} onClick={() => void remove()} className="rounded-md bg-red-700 px-3 py-1 text-sm font-semibold text-white hover:bg-red-800">
            Yes, remove it
          </button>
          <button type="button" onClick={() => setConfirming(false)} className="rounded-md border border-slate-300 bg-white px-3 py-1 text-sm hover:bg-slate-100 dark:bg-slate-900">
            Keep it
          </button>
        </div>
      ) : null}
      {error && <p className="mt-1 text-red-700 dark:text-red-300">{error}</p>}
    </li>
  );
}
