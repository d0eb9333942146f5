/** Pick a built-in experiment, run or abort it, follow its steps, and read expected against observed. */
import { useEffect, useRef } from 'react';
import type { HostResult } from '../../../shared/src/events';
import type { BackendState, ExperimentSummary } from '../../../shared/src/lab-api';
import type { RunView, StepPhase } from '../state/workspace';
import { StateBadge } from './states';

export interface RunPanelProps {
  experiments: ExperimentSummary[];
  selected: string | undefined;
  onSelect: (id: string) => void;
  backend: BackendState;
  run: RunView | undefined;
  onRun: () => void;
  onAbort: () => void;
  busy: boolean;
}

const STEP_ICON: Record<StepPhase, string> = { pending: '○', running: '▶', done: '✓', failed: '✗' };
const STEP_CLASS: Record<StepPhase, string> = {
  pending: 'text-slate-400',
  running: 'text-sky-600 dark:text-sky-400',
  done: 'text-emerald-600 dark:text-emerald-400',
  failed: 'text-red-600 dark:text-red-400',
};

export function RunPanel({ experiments, selected, onSelect, backend, run, onRun, onAbort, busy }: RunPanelProps) {
  const experiment = experiments.find((e) => e.id === selected);
  const running = backend.phase === 'running';
  const thisRun = run && run.experiment === selected ? run : undefined;
  const current = useRef<HTMLLIElement>(null);
  useEffect(() => {
    // Braces matter: Chromium's scrollIntoView now returns a promise, which React would take for a cleanup function.
    void current.current?.scrollIntoView({ block: 'nearest' });
  }, [thisRun?.currentStep]);

  return (
    <aside className="flex min-h-0 flex-col overflow-hidden rounded-lg border border-slate-300 bg-white shadow-sm dark:border-slate-700 dark:bg-slate-900" aria-label="experiment">
      <div className="border-b border-slate-200 p-3 dark:border-slate-700">
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
          {experiments.map((e) => (
            <option key={e.id} value={e.id}>
              {e.title}
            </option>
          ))}
        </select>
        {experiment && <p className="mt-1.5 text-[12.5px] leading-snug text-slate-600 dark:text-slate-300">{experiment.summary}</p>}
        <div className="mt-2 flex gap-2">
          {running ? (
            <button type="button" data-testid="abort-button" onClick={onAbort} className="flex-1 rounded-md bg-red-600 px-3 py-1.5 text-sm font-semibold text-white hover:bg-red-700">
              ■ Abort
            </button>
          ) : (
            <button
              type="button"
              data-testid="run-button"
              onClick={onRun}
              disabled={backend.phase !== 'connected' || !experiment || busy}
              title={backend.phase !== 'connected' ? 'Connect to H1 and H2 first' : undefined}
              className="flex-1 rounded-md bg-sky-700 px-3 py-1.5 text-sm font-semibold text-white enabled:hover:bg-sky-800 disabled:opacity-40"
            >
              ▶ Run
            </button>
          )}
        </div>
      </div>

      <div className="min-h-0 flex-1 overflow-auto px-3 py-2">
        {thisRun?.result && <ResultCard result={thisRun.result} ended={thisRun.ended} />}
        {/* After a run, what the engine did (its cleanup above all) comes right under the verdict. */}
        {thisRun?.result && <EngineLog run={thisRun} />}
        {experiment && (
          <ol className="space-y-0.5" data-testid="steps">
            {experiment.steps.map((step, index) => {
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
}

function ResultCard({ result, ended }: { result: { passed: boolean; hosts: Record<string, HostResult> }; ended: string | undefined }) {
  const aborted = ended?.startsWith('aborted');
  return (
    <section
      data-testid="run-result"
      data-passed={result.passed}
      className={`mb-3 rounded-lg border p-2.5 ${result.passed ? 'border-emerald-300 bg-emerald-50 dark:border-emerald-800 dark:bg-emerald-950/50' : 'border-red-300 bg-red-50 dark:border-red-800 dark:bg-red-950/50'}`}
    >
      <h3 className="mb-1.5 text-sm font-bold">{result.passed ? '✓ Observed what the experiment promises' : aborted ? '■ Aborted' : '✗ Not what the experiment promises'}</h3>
      {Object.entries(result.hosts).map(([label, host]) => (
        <div key={label} className="mb-1.5 text-[12px]" data-testid={`result-${label}`}>
          <div className="flex items-center gap-1.5 font-semibold">
            <span>{label}</span>
            {host.role && <span className="font-normal text-slate-500">{host.role}</span>}
            <span className={`ml-auto text-[11px] ${host.passed ? 'text-emerald-700 dark:text-emerald-300' : 'text-red-700 dark:text-red-300'}`}>{host.passed ? 'as expected' : 'differs'}</span>
          </div>
          {host.expected && (
            <div className="mt-0.5 flex flex-wrap items-center gap-1">
              <span className="w-16 text-slate-500">expected</span>
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
          {host.reason && !host.passed && <p className="mt-0.5 text-[11px] text-red-800 dark:text-red-200">{host.reason}</p>}
        </div>
      ))}
    </section>
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
