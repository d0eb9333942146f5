/**
 * Pick an experiment (built in, from the user's folder, or a file opened here), run it all or
 * step by step, abort it, follow its steps, and read expected against observed.
 */
import { memo, useEffect, useRef, useState, type ReactNode } from 'react';
import type { ConnectionResult, HostResult } from '../../../shared/src/events';
import type { TcpState } from '../../../shared/src/tcp-states';
import type { BackendState, ExperimentSummary } from '../../../shared/src/lab-api';
import type { RunView, StepPhase } from '../state/workspace';
import { StateBadge } from './states';
import { ReportButton, type RequestReport } from './ReportButton';

export interface RunPanelProps {
  experiments: ExperimentSummary[];
  selected: string | undefined;
  onSelect: (id: string) => void;
  backend: BackendState;
  run: RunView | undefined;
  onRun: (how: RunHow) => void;
  /** A file the user opened: its name and text, for the engine to validate and run. */
  onRunFile: (file: { name: string; text: string }, how: RunHow) => void;
  onProceed: (how: 'step' | 'all') => void;
  onAbort: () => void;
  busy: boolean;
  /** Writes the run's HTML report (the `report` request); absent: no report button. */
  requestReport?: RequestReport;
}

export interface RunHow {
  pace: 'all' | 'step';
  swapRoles: boolean;
}

const STEP_ICON: Record<StepPhase, string> = { pending: '○', ready: '⏸', running: '▶', done: '✓', failed: '✗' };
const STEP_CLASS: Record<StepPhase, string> = {
  pending: 'text-slate-400',
  ready: 'text-amber-600 dark:text-amber-400',
  running: 'text-sky-600 dark:text-sky-400',
  done: 'text-emerald-600 dark:text-emerald-400',
  failed: 'text-red-600 dark:text-red-400',
};

/** Memoized: it changes with the run and the engine's phase, not with every snapshot. */
export const RunPanel = memo(function RunPanel({ experiments, selected, onSelect, backend, run, onRun, onRunFile, onProceed, onAbort, busy, requestReport }: RunPanelProps) {
  const experiment = experiments.find((e) => e.id === selected);
  const running = backend.phase === 'running';
  const thisRun = run && run.experiment === selected ? run : undefined;
  const [pace, setPace] = useState<'all' | 'step'>('all');
  const [swapRoles, setSwapRoles] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);
  // A file run's steps are known from its events only (it is not in the library).
  const steps: Array<{ summary: string; explain?: string | undefined }> = experiment
    ? experiment.steps
    : thisRun
      ? Object.entries(thisRun.steps)
          .sort(([a], [b]) => Number(a) - Number(b))
          .map(([, s]) => ({ summary: s.summary, explain: s.explain }))
      : [];
  const waiting = running && thisRun?.currentStep !== undefined && thisRun.steps[thisRun.currentStep]?.phase === 'ready' ? thisRun.currentStep : undefined;
  const builtin = experiments.filter((e) => e.source !== 'user');
  const user = experiments.filter((e) => e.source === 'user');
  const canStart = backend.phase === 'connected' && !busy;

  const openFile = async (file: File | undefined) => {
    if (!file) return;
    onRunFile({ name: file.name, text: await file.text() }, { pace, swapRoles });
    if (fileInput.current) fileInput.current.value = ''; // the same file again is a new choice
  };
  const current = useRef<HTMLLIElement>(null);
  const waitingBox = useRef<HTMLDivElement>(null);
  useEffect(() => {
    // Braces matter: Chromium's scrollIntoView now returns a promise, which React would take for a cleanup function.
    void current.current?.scrollIntoView({ block: 'nearest' });
    // A step waiting for the user: its explanation and buttons (above the list) come whole into
    // view after the list's scroll; on a short window that scroll had left the box's top, the
    // step's name and explanation, cut off above the panel.
    void waitingBox.current?.scrollIntoView({ block: 'nearest' });
  }, [thisRun?.currentStep, waiting]);
  // The panel may have scrolled down with the steps (short windows): bring the verdict back into
  // view when it appears, and again whenever it grows (the report's "written to" lines, an error),
  // or the card's new lines end up below the panel's clipping edge.
  const resultRef = useRef<HTMLDivElement>(null);
  const hasResult = thisRun?.result !== undefined;
  useEffect(() => {
    const card = resultRef.current;
    if (!hasResult || !card) return undefined;
    let height = -1;
    // A ResizeObserver reports the card's first size too, so this also covers its appearing.
    const observer = new ResizeObserver(([entry]) => {
      const grown = (entry?.contentRect.height ?? 0) > height;
      height = entry?.contentRect.height ?? 0;
      if (grown) void card.scrollIntoView({ block: 'nearest' });
    });
    observer.observe(card);
    return () => observer.disconnect();
  }, [hasResult]);

  return (
    // On short windows (projectors, under 800 px) the panel scrolls as a whole and the result comes
    // first, so it is seen whole beside the diagram; the experiment's choices follow it.
    <aside className="flex min-h-[20rem] flex-1 flex-col overflow-hidden rounded-lg [@media(max-height:800px)]:overflow-y-auto border border-slate-300 bg-white shadow-sm dark:border-slate-700 dark:bg-slate-900" aria-label="experiment">
      <div className="shrink-0 border-b border-slate-200 p-3 dark:border-slate-700 [@media(max-height:800px)]:order-2">
        <label className="mb-1 block text-[10.5px] font-semibold uppercase tracking-wide text-slate-500 dark:text-slate-400" htmlFor="experiment-select">
          Experiment
        </label>
        <select
          id="experiment-select"
          data-testid="experiment-select"
          value={selected ?? ''}
          disabled={running}
          onChange={(e) => onSelect(e.target.value)}
          className="w-full rounded-md border border-slate-300 bg-white px-2 py-1 text-sm dark:border-slate-600 dark:bg-slate-800"
        >
          {!experiment && selected && <option value={selected}>{selected} (opened file)</option>}
          <optgroup label="Built in">
            {builtin.map((e) => (
              <option key={e.id} value={e.id}>
                {e.title}
              </option>
            ))}
          </optgroup>
          {user.length > 0 && (
            <optgroup label="Your experiments">
              {user.map((e) => (
                <option key={e.id} value={e.id} title={e.file}>
                  {e.title}
                </option>
              ))}
            </optgroup>
          )}
        </select>
        {experiment && <p className="mt-1.5 text-[12.5px] leading-snug text-slate-600 dark:text-slate-300">{experiment.summary}</p>}
        {experiment && (
          <p className="mt-1 text-[11.5px] text-slate-500 dark:text-slate-400" data-testid="roles">
            client {swapRoles ? experiment.roles.server : experiment.roles.client}, server {swapRoles ? experiment.roles.client : experiment.roles.server}, port {experiment.port}
          </p>
        )}
        <div className="mt-2 flex flex-wrap gap-x-3 gap-y-1 text-[12px] text-slate-600 dark:text-slate-300">
          <label className="flex items-center gap-1">
            <input type="checkbox" data-testid="step-mode" checked={pace === 'step'} disabled={running} onChange={(e) => setPace(e.target.checked ? 'step' : 'all')} />
            Step by step
          </label>
          <label className="flex items-center gap-1" title="Run it with H1 and H2 exchanged (client and server)">
            <input type="checkbox" data-testid="swap-roles" checked={swapRoles} disabled={running} onChange={(e) => setSwapRoles(e.target.checked)} />
            Swap roles
          </label>
        </div>
        <div className="mt-2 flex gap-2">
          {running ? (
            <button type="button" data-testid="abort-button" onClick={onAbort} className="flex-1 rounded-md bg-red-600 px-3 py-1.5 text-sm font-semibold text-white hover:bg-red-700">
              ■ Abort
            </button>
          ) : (
            <button
              type="button"
              data-testid="run-button"
              onClick={() => onRun({ pace, swapRoles })}
              disabled={!canStart || !experiment}
              title={backend.phase !== 'connected' ? 'Connect to H1 and H2 first' : undefined}
              className="flex-1 rounded-md bg-sky-700 px-3 py-1.5 text-sm font-semibold text-white enabled:hover:bg-sky-800 disabled:opacity-40"
            >
              ▶ Run
            </button>
          )}
          <button
            type="button"
            data-testid="open-file-button"
            disabled={!canStart}
            onClick={() => fileInput.current?.click()}
            title={canStart ? 'Run an experiment file (YAML or JSON) from this computer' : 'Connect to H1 and H2 first'}
            className="rounded-md border border-slate-300 px-2.5 py-1.5 text-[12.5px] enabled:hover:bg-slate-100 disabled:opacity-40 dark:border-slate-600 dark:enabled:hover:bg-slate-800"
          >
            Open file…
          </button>
          <input ref={fileInput} type="file" accept=".yaml,.yml,.json" className="hidden" data-testid="open-file-input" onChange={(e) => void openFile(e.target.files?.[0])} />
        </div>
        {waiting !== undefined && (
          <div ref={waitingBox} className="mt-2 rounded-md border border-amber-300 bg-amber-50 p-2 dark:border-amber-700 dark:bg-amber-950/40" data-testid="step-waiting">
            <p className="text-[12px] font-semibold">Next: step {waiting + 1}</p>
            <p className="font-mono text-[11px] text-slate-700 dark:text-slate-200">{thisRun?.steps[waiting]?.summary}</p>
            {thisRun?.steps[waiting]?.explain && <p className="mt-1 text-[12.5px] leading-snug text-slate-700 dark:text-slate-200">{thisRun.steps[waiting].explain}</p>}
            <div className="mt-2 flex gap-2">
              <button type="button" data-testid="next-step-button" autoFocus onClick={() => onProceed('step')} className="flex-1 rounded-md bg-amber-600 px-3 py-1 text-[12.5px] font-semibold text-white hover:bg-amber-700">
                Run this step ▶
              </button>
              <button type="button" data-testid="run-rest-button" onClick={() => onProceed('all')} className="rounded-md border border-amber-400 px-2.5 py-1 text-[12.5px] hover:bg-amber-100 dark:hover:bg-amber-900/40">
                Run the rest
              </button>
            </div>
          </div>
        )}
      </div>

      {thisRun?.result && (
        <div ref={resultRef} className="shrink-0 px-3 pt-1 [@media(max-height:800px)]:order-1">
          <ResultCard result={thisRun.result} ended={thisRun.ended} report={requestReport && <ReportButton session={thisRun.session} requestReport={requestReport} />} />
        </div>
      )}
      <div className="min-h-0 flex-1 overflow-auto px-3 py-2 [@media(max-height:800px)]:order-3 [@media(max-height:800px)]:flex-none [@media(max-height:800px)]:overflow-visible">
        {/* After a run, what the engine did (its cleanup above all) comes right under the verdict. */}
        {thisRun?.result && <EngineLog run={thisRun} />}
        {steps.length > 0 && (
          <ol className="space-y-0.5" data-testid="steps">
            {steps.map((step, index) => {
              const live = thisRun?.steps[index];
              const phase: StepPhase = live?.phase ?? 'pending';
              const isCurrent = thisRun?.currentStep === index && !thisRun.result;
              return (
                <li key={index} ref={isCurrent ? current : undefined} className={`rounded px-1.5 py-0.5 ${isCurrent ? 'bg-sky-50 dark:bg-sky-950/60' : ''}`} data-phase={phase}>
                  <div className="flex gap-1.5 text-[12px] leading-snug">
                    <span className={`w-3 shrink-0 text-center ${STEP_CLASS[phase]}`}>{STEP_ICON[phase]}</span>
                    <span className="min-w-0 font-mono text-[11px] break-words text-slate-700 dark:text-slate-200">{step.summary}</span>
                  </div>
                  {step.explain && (isCurrent || !thisRun) && <p className="ml-4.5 text-[11.5px] leading-snug text-slate-500 dark:text-slate-400">{step.explain}</p>}
                  {live?.detail && <p className="ml-4.5 text-[11.5px] text-red-700 dark:text-red-300">{live.detail}</p>}
                </li>
              );
            })}
          </ol>
        )}
        {thisRun && !thisRun.result && <EngineLog run={thisRun} />}
      </div>
    </aside>
  );
});

function ResultCard({ result, ended, report }: { result: { passed: boolean; hosts: Record<string, HostResult> }; ended: string | undefined; report?: ReactNode }) {
  const aborted = ended?.startsWith('aborted');
  // A reason every failing host shares (a run that stopped: aborted, a host dropped; or the same
  // promise broken the same way on both) is said once, under the title: on a projector's screen
  // that leaves room for the states.
  const reasons = Object.values(result.hosts).flatMap((h) => (!h.passed && h.reason ? [h.reason] : []));
  const sharedReason = reasons.length > 1 && reasons.every((r) => r === reasons[0]) ? reasons[0] : undefined;
  return (
    <section
      data-testid="run-result"
      data-passed={result.passed}
      className={`mb-3 rounded-lg border p-2.5 ${result.passed ? 'border-emerald-300 bg-emerald-50 dark:border-emerald-800 dark:bg-emerald-950/50' : 'border-red-300 bg-red-50 dark:border-red-800 dark:bg-red-950/50'}`}
    >
      <h3 className="mb-1.5 text-sm font-bold">{result.passed ? '✓ Observed what the experiment promises' : aborted ? '■ Aborted' : '✗ Not what the experiment promises'}</h3>
      {sharedReason && (
        <p className="mb-1.5 text-[11.5px] text-red-800 dark:text-red-200" data-testid="run-reason">
          {sharedReason}
        </p>
      )}
      {Object.entries(result.hosts).map(([label, host]) => (
        <div key={label} className="mb-1.5 text-[12px]" data-testid={`result-${label}`}>
          <div className="flex items-center gap-1.5 font-semibold">
            <span>{label}</span>
            {host.role && <span className="font-normal text-slate-500">{host.role}</span>}
            {host.earlier && host.earlier.length > 0 && <EarlierSockets label={label} sockets={host.earlier} />}
            <span className={`ml-auto text-[11px] ${host.passed ? 'text-emerald-700 dark:text-emerald-300' : 'text-red-700 dark:text-red-300'}`}>{host.passed ? 'as expected' : 'differs'}</span>
          </div>
          {host.expected && (
            <div className="mt-0.5 flex flex-wrap items-center gap-1">
              <span className="w-16 text-slate-500">expected</span>
              {host.expected.noConnection && <span data-testid={`expect-none-${label}`}>no connection on the port</span>}
              {host.expected.passes.map((s, i) => (
                <span key={i} className="flex items-center gap-1">
                  {i > 0 && <span className="text-slate-400">→</span>}
                  <StateBadge state={s} />
                </span>
              ))}
              {host.expected.endsIn && <span className="text-slate-500">(ends in {host.expected.endsIn})</span>}
            </div>
          )}
          {host.connections.map((c, ci) => (
            <div key={ci} className="mt-0.5 flex flex-wrap items-center gap-1">
              <span className="w-16 text-slate-500">observed</span>
              {c.states.map((s, i) => (
                <span key={i} className="flex items-center gap-1" title={`${s.hostTime} (${s.seen})`}>
                  {i > 0 && <span className="text-slate-400">→</span>}
                  <StateBadge state={s.state} />
                </span>
              ))}
            </div>
          ))}
          {host.connections.length === 0 && <div className="mt-0.5 text-slate-500">observed: no connection on the port</div>}
          {host.reason && !host.passed && host.reason !== sharedReason && <p className="mt-0.5 text-[11px] text-red-800 dark:text-red-200">{host.reason}</p>}
        </div>
      ))}
      {report}
    </section>
  );
}

/**
 * Sockets on the port from before the run, in the host's heading: a class repeating an experiment
 * within a minute finds the last one's TIME_WAIT there. Listed as "observed" they crowded the card
 * off a projector's screen and read as if this run had made them.
 */
function EarlierSockets({ label, sockets }: { label: string; sockets: ConnectionResult[] }) {
  const byState = new Map<TcpState, number>();
  for (const socket of sockets) {
    const last = socket.states.at(-1)?.state;
    if (last) byState.set(last, (byState.get(last) ?? 0) + 1);
  }
  const states = [...byState].map(([state, count]) => (count > 1 ? `${state} ×${count}` : state)).join(', ');
  const list = sockets.map((c) => `${c.local} → ${c.remote}: ${c.states.map((s) => s.state).join(' → ')}`).join('\n');
  return (
    <span className="min-w-0 truncate font-mono text-[10.5px] font-normal text-slate-500 dark:text-slate-400" data-testid={`earlier-${label}`} title={`On the port before this run began, so not judged:\n${list}`}>
      earlier: {states}
    </span>
  );
}

function EngineLog({ run }: { run: RunView }) {
  if (run.log.length === 0) return null;
  return (
    <div className="my-2 border-y border-slate-200 py-2 dark:border-slate-700" data-testid="run-log">
      <h3 className="mb-1 text-[10.5px] font-semibold uppercase tracking-wide text-slate-500 dark:text-slate-400">What the engine did</h3>
      <ul className="space-y-0.5 font-mono text-[10.5px] leading-snug text-slate-600 dark:text-slate-300">
        {run.log.map((entry, i) => (
          <li key={i} className="break-all">
            {entry.host ? <strong>{entry.host}: </strong> : null}
            {entry.text}
          </li>
        ))}
      </ul>
    </div>
  );
}
