/**
 * The renderer's entry: fonts first (xterm measures glyphs once), then the link to the engine,
 * then the app. The desktop app reaches the engine over IPC (window.lab from the preload),
 * browser mode over the WebSocket of `tcplab web`.
 */
import '@fontsource-variable/inter/index.css';
import '@fontsource/jetbrains-mono/400.css';
import '@fontsource/jetbrains-mono/700.css';
import '@xterm/xterm/css/xterm.css';
import './styles.css';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { LabClient } from './api/lab-client';
import { eachSessionEvent } from '../../shared/src/lab-api';
import { connectWebSocket } from './api/websocket-transport';
import { connectIpc, desktopLabApi } from './api/ipc-transport';
import { App } from './components/App';
import { ErrorBoundary } from './components/ErrorBoundary';
import { AppStore } from './state/app-store';
import { initialDark } from './components/theme';
import { TerminalHub } from './terminals/terminal-hub';
import { TERMINAL_FONT } from './terminals/terminal-hub';

declare global {
  interface Window {
    /** Read-only views for end-to-end tests and for copying a pane's text out. */
    tcplab?: {
      paneText(host: 'H1' | 'H2', pane: 'upper' | 'lower'): string;
      renderers(): string;
      /** Characters of host output the pane has taken so far: processed by xterm or fast-forwarded (floods: nothing dropped). */
      paneChars(host: 'H1' | 'H2', pane: 'upper' | 'lower'): number;
      /** Of those, the characters fast-forward passed over (lines that scrolled past the scrollback unseen). */
      paneSkippedChars(host: 'H1' | 'H2', pane: 'upper' | 'lower'): number;
    };
  }
}

async function start(): Promise<void> {
  const root = createRoot(document.getElementById('root')!);
  await Promise.all([document.fonts.load(`13px ${TERMINAL_FONT}`), document.fonts.load(`700 13px ${TERMINAL_FONT}`)]).catch(() => undefined);
  let client: LabClient;
  try {
    // The desktop app's preload exposes window.lab; browser mode has the WebSocket of `tcplab web`.
    const desktop = desktopLabApi();
    client = new LabClient(desktop ? connectIpc(desktop) : await connectWebSocket());
  } catch (error) {
    root.render(
      <div className="m-10 max-w-xl rounded-lg border border-red-300 bg-white p-6 dark:bg-slate-900">
        <h1 className="mb-2 text-lg font-semibold">TCP Lab</h1>
        <p>{(error as Error).message}</p>
      </div>,
    );
    return;
  }
  const store = new AppStore();
  const dark = initialDark();
  const hub = new TerminalHub(client, dark);
  client.onMessage((message) => {
    // The store first: its fold is then the first thing the next frame runs, so a new state
    // reaches the socket tables and the diagram before the timeline rebuilds for it.
    // Pane output is the terminals' alone (the fold passes it by); queuing it asked for an
    // animation frame per message, which kept a flood's page drawing 60 frames a second.
    if (message.type !== 'event' || message.event.type !== 'pane-output') store.apply(message);
    if (message.type === 'event' || message.type === 'events') eachSessionEvent(message, (m) => hub.onEvent(m));
  });
  client.onClose((why) => store.lose(why));
  window.tcplab = {
    paneText: (host, pane) => hub.get(host, pane).text(),
    renderers: () => hub.renderers(),
    paneChars: (host, pane) => hub.get(host, pane).drawnChars,
    paneSkippedChars: (host, pane) => hub.get(host, pane).skippedChars,
  };
  root.render(
    <StrictMode>
      <ErrorBoundary>
        <App client={client} store={store} hub={hub} />
      </ErrorBoundary>
    </StrictMode>,
  );
}

void start();
