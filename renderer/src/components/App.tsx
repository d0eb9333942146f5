/** The workspace: toolbar, one column per host, the experiment panel, dialogs and notices. */
import { useCallback, useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import type { ApiHostLabel, ExperimentSummary, HostProblem } from '../../../shared/src/lab-api';
import { LabApiError, type LabClient } from '../api/lab-client';
import type { AppStore } from '../state/app-store';
import type { TerminalHub } from '../terminals/terminal-hub';
import { HostColumn } from './HostColumn';
import { HostKeyDialog } from './HostKeyDialog';
import { HostsView } from './hosts/HostsView';
import { PreflightPanel } from './PreflightPanel';
import { RunPanel, type RunHow } from './RunPanel';
import { StateDiagram } from './StateDiagram';
import { Timeline } from './Timeline';
import { useTheme } from './theme';

const LABELS: ApiHostLabel[] = ['H1', 'H2'];
const NO_EXPERIMENTS: ExperimentSummary[] = [];

/**
 * Below this window height (projectors: 1280x720, 1024x768) the timeline starts collapsed unless
 * the user opened it before, so the terminals, the diagram and the run's result keep their room.
 */
const SHORT_WINDOW_PX = 800;

const PHASE_TEXT: Record<string, string> = {
  idle: 'Not connected',
  connecting: 'Connecting to H1 and H2…',
  connected: 'Connected',
  running: 'Running',
  closing: 'Disconnecting…',
};

export function App({ client, store, hub }: { client: LabClient; store: AppStore; hub: TerminalHub }) {
  const state = useSyncExternalStore(store.subscribe, store.get);
  const { hello, backend, workspace, notices, lost } = state;
  const [keyProblems, setKeyProblems] = useState<HostProblem[]>();
  const [selected, setSelected] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [showHosts, setShowHosts] = useState(false);
  const [showCheck, setShowCheck] = useState(false);
  const [dark, toggleTheme] = useTheme(useCallback((d: boolean) => hub.setDark(d), [hub]));
  // The timeline's cursor: while set, the columns and the diagram show the run as it was then.
  const [cursor, setCursor] = useState<number>();
  const recording = hub.recording;
  const shown = useMemo(() => (cursor === undefined ? workspace : recording.foldAt(cursor)), [cursor, workspace, recording]);
  useEffect(() => {
    if (cursor === undefined) hub.past.hide();
    else hub.past.show(cursor);
  }, [cursor, hub, workspace]);
  // The hosts' zone, from their prompts (times of day on the timeline read like the panes').
  const utcOffsetMin = useMemo(() => recording.utcOffsetMin() ?? -new Date().getTimezoneOffset(), [recording, workspace]);
  const pastPaneText = useCallback((host: 'H1' | 'H2', pane: 'upper' | 'lower') => hub.past.text(host, pane), [hub]);
  const replay = hello?.replay;

  useEffect(() => {
    if (!selected && hello?.experiments[0]) setSelected(hello.experiments[0].id);
  }, [hello, selected]);
  // A run started elsewhere (another tab) or before a reload: show that experiment.
  useEffect(() => {
    if (backend.phase === 'running') setSelected(backend.experiment);
  }, [backend]);

  const act = useCallback(
    async (what: () => Promise<unknown>) => {
      setBusy(true);
      try {
        await what();
      } catch (error) {
        if (error instanceof LabApiError && error.error.hosts?.length) setKeyProblems(error.error.hosts);
        else store.notify('error', (error as Error).message);
      } finally {
        setBusy(false);
      }
    },
    [store],
  );

  const connect = (acceptFingerprints: string[] = []) =>
    act(async () => {
      setKeyProblems(undefined);
      await client.request({ method: 'connect', acceptFingerprints });
    });
  const disconnect = () => act(() => client.request({ method: 'disconnect' }));
  // Stable callbacks: the run panel is memoized, and each snapshot (several a second) would
  // otherwise re-render it through new functions.
  const onRun = useCallback((how: RunHow) => void (selected && act(() => client.request({ method: 'run', experiment: selected, ...how }))), [act, client, selected]);
  const onRunFile = useCallback(
    (file: { name: string; text: string }, how: RunHow) =>
      void act(async () => {
        await client.request({ method: 'run-file', name: file.name, text: file.text, ...how });
      }),
    [act, client],
  );
  const onProceed = useCallback((how: 'step' | 'all') => void act(() => client.request({ method: 'proceed', how })), [act, client]);
  const onAbort = useCallback(() => void act(() => client.request({ method: 'abort', reason: 'stopped from the app' })), [act, client]);
  const requestReport = useCallback((session: string) => client.request({ method: 'report', session }), [client]);

  const experiment = hello?.experiments.find((e) => e.id === selected);
  const roleOf = (label: string): string | undefined => {
    if (!experiment) return undefined;
    return experiment.roles.client === label ? 'client' : experiment.roles.server === label ? 'server' : undefined;
  };
  const canConnect = backend.phase === 'idle';

  return (
    <div className="flex h-full flex-col">
      <header className="flex h-11 shrink-0 items-center gap-3 border-b border-slate-300 bg-white px-3 dark:border-slate-800 dark:bg-slate-900">
        <h1 className="text-[15px] font-bold tracking-tight">
          TCP&nbsp;Lab
        </h1>
        <span className="text-[12.5px] text-slate-500 dark:text-slate-400" data-testid="backend-phase" data-phase={backend.phase}>
          {replay ? `Replay of ${replay.dir} (no hosts)` : PHASE_TEXT[backend.phase]}
          {backend.phase === 'running' ? `: ${experiment?.title ?? backend.experiment}` : ''}
          {workspace.port !== undefined && backend.phase !== 'idle' ? ` · port ${workspace.port}` : ''}
        </span>
        <div className="ml-auto flex items-center gap-2">
          <button type="button" title="Smaller terminal text" onClick={() => hub.fontSize(-1)} className="rounded px-2 py-1 text-[12px] hover:bg-slate-100 dark:hover:bg-slate-800">
            A−
          </button>
          <button type="button" title="Larger terminal text (projectors)" onClick={() => hub.fontSize(1)} className="rounded px-2 py-1 text-[13px] hover:bg-slate-100 dark:hover:bg-slate-800">
            A+
          </button>
          <button type="button" data-testid="check-button" onClick={() => setShowCheck(true)} title="Check that H1 and H2 have what experiments need (tcplab check)" className="rounded px-2 py-1 text-[12px] hover:bg-slate-100 dark:hover:bg-slate-800">
            Check
          </button>
          <button type="button" data-testid="hosts-button" onClick={() => setShowHosts(true)} title="Set up H1 and H2" className="rounded px-2 py-1 text-[12px] hover:bg-slate-100 dark:hover:bg-slate-800">
            Hosts
          </button>
          <button type="button" onClick={toggleTheme} title="Light or dark" className="rounded px-2 py-1 text-[12px] hover:bg-slate-100 dark:hover:bg-slate-800">
            {dark ? '☀ Light' : '☾ Dark'}
          </button>
          {replay ? null : canConnect ? (
            <button
              type="button"
              data-testid="connect-button"
              disabled={busy || !!lost}
              onClick={() => void connect()}
              className="rounded-md bg-sky-700 px-3 py-1 text-sm font-semibold text-white enabled:hover:bg-sky-800 disabled:opacity-40"
            >
              Connect to H1 and H2
            </button>
          ) : (
            <button
              type="button"
              data-testid="disconnect-button"
              disabled={backend.phase === 'closing' || backend.phase === 'connecting'}
              onClick={() => void disconnect()}
              className="rounded-md border border-slate-300 px-3 py-1 text-sm hover:bg-slate-100 disabled:opacity-40 dark:border-slate-600 dark:hover:bg-slate-800"
            >
              Disconnect
            </button>
          )}
        </div>
      </header>

      {lost && (
        <div className="bg-red-600 px-3 py-1.5 text-sm text-white" role="alert">
          {lost}
        </div>
      )}

      <main className="grid min-h-0 flex-1 grid-cols-[minmax(0,1fr)_minmax(0,1fr)_minmax(300px,26vw)] gap-2 p-2">
        {LABELS.map((label) => (
          <HostColumn
            key={label}
            label={label}
            info={hello?.hosts.find((h) => h.label === label)}
            view={shown.hosts[label]!}
            at={cursor}
            role={roleOf(label)}
            port={workspace.port ?? experiment?.port}
            hub={hub}
          />
        ))}
        {/* The right column scrolls rather than cutting the run panel short when the window is short; the diagram keeps its size (⤢ Enlarge for more). */}
        <div className="flex min-h-0 flex-col gap-2 overflow-y-auto" data-testid="side-column">
          {/* Natural size, but on short windows the drawing is at most a quarter of the height, so the
              run's result fits whole below it. The panel as a whole is capped too (the drawing, its
              title and one line of legend): when the legend wraps (long state names), the drawing
              gives up those pixels rather than the run's result below. */}
          <div
            className="shrink-0 [@media(max-height:800px)]:[&_[data-testid=state-diagram]]:max-h-[25vh] [@media(max-height:800px)]:[&>section]:max-h-[calc(25vh+3.25rem)]"
            data-testid="side-diagram"
          >
            <StateDiagram hosts={shown.hosts} labels={LABELS} dark={dark} />
          </div>
        <RunPanel
          experiments={hello?.experiments ?? NO_EXPERIMENTS}
          selected={selected}
          onSelect={setSelected}
          backend={backend}
          run={workspace.run}
          onRun={onRun}
          onRunFile={onRunFile}
          onProceed={onProceed}
          onAbort={onAbort}
          busy={busy}
          requestReport={requestReport}
        />
        </div>
      </main>
      <Timeline
        recording={recording}
        dark={dark}
        cursor={cursor}
        onCursor={setCursor}
        live={!replay}
        utcOffsetMin={utcOffsetMin}
        pastPaneText={pastPaneText}
        collapsedByDefault={window.innerHeight < SHORT_WINDOW_PX}
      />

      {notices.length > 0 && (
        <div className="fixed right-3 bottom-3 z-10 flex w-96 flex-col gap-2" aria-live="polite">
          {notices.map((n) => (
            <div
              key={n.id}
              role={n.level === 'error' ? 'alert' : 'status'}
              className={`flex gap-2 rounded-lg border p-2.5 text-[12.5px] shadow-lg ${n.level === 'error' ? 'border-red-300 bg-red-50 text-red-900 dark:border-red-800 dark:bg-red-950 dark:text-red-100' : 'border-slate-300 bg-white dark:border-slate-700 dark:bg-slate-900'}`}
            >
              <p className="min-w-0 flex-1 break-words whitespace-pre-line">{n.text}</p>
              <button type="button" aria-label="Dismiss" onClick={() => store.dismiss(n.id)} className="self-start px-1 text-slate-500 hover:text-slate-900">
                ×
              </button>
            </div>
          ))}
        </div>
      )}

      {keyProblems && hello && (
        <HostKeyDialog
          problems={keyProblems}
          hosts={hello.hosts}
          onCancel={() => setKeyProblems(undefined)}
          onConnect={(fingerprints) => void connect(fingerprints)}
          onRemoveKey={async (host) => {
            const r = await client.request({ method: 'hosts-remove-key', host });
            return `Removed ${r.removed} line${r.removed === 1 ? '' : 's'} from ${r.file} (the previous file is ${r.backup}). Connect again to check and accept the new key.`;
          }}
        />
      )}
      {showHosts && <HostsView client={client} editable={backend.phase === 'idle'} onClose={() => setShowHosts(false)} />}
      {showCheck && <PreflightPanel check={() => client.request({ method: 'check' })} onClose={() => setShowCheck(false)} />}
    </div>
  );
}
