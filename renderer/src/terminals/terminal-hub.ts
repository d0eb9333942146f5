/**
 * The four xterm.js terminals, one per host and pane, kept for the whole page: a run's shells
 * and the workspace's shells write into the same terminal, one after the other, so the
 * scrollback reads as one story.
 *
 * Keys: Ctrl+Shift+F searches, Ctrl+Shift+C copies the selection, Ctrl+Shift+V pastes (the
 * browser's own paste, which xterm turns into input); plain Ctrl+C always goes to the host (SIGINT).
 * A paste larger than MAX_PANE_INPUT is not sent: the pane says so instead.
 *
 * Connection trouble (`connection` events) is written into the host's panes, locally: it is
 * never sent to the host.
 *
 * Back-pressure: each `pane-output` event goes through the pane's write queue (write-queue.ts,
 * which also fast-forwards floods) into xterm. While that queue is short, output is
 * acknowledged to the engine as it arrives; past ACK_ON_RECEIPT_BELOW, only once xterm's write
 * callback says it was processed (cumulatively, "up to event seq", coalesced per task), so a
 * slow pane makes the engine pause the SSH channel (above its high watermark) until it catches up.
 */
import { FitAddon } from '@xterm/addon-fit';
import { SearchAddon, type ISearchOptions } from '@xterm/addon-search';
import { WebglAddon } from '@xterm/addon-webgl';
import { Terminal, type ITheme } from '@xterm/xterm';
import type { PaneName } from '../../../shared/src/events';
import { MAX_PANE_INPUT, PANE_SIZE_LIMITS, type ApiHostLabel, type SessionEventMessage } from '../../../shared/src/lab-api';
import type { LabClient } from '../api/lab-client';
import { bufferText } from './buffer-text';
import { PANE_SCROLLBACK_LINES } from '../../../shared/src/terminal-flood';
import { PaneWriteQueue } from './write-queue';
import { PastPanes } from '../timeline/past-panes';
import { Recording } from '../timeline/recording';

/** See PaneTerminal.output: how much a pane queues before xterm, acknowledging on receipt. */
const ACK_ON_RECEIPT_BELOW = 2 * 1024 * 1024;

export const TERMINAL_FONT = '"JetBrains Mono", ui-monospace, monospace';

const DARK: ITheme = {
  background: '#0b1220',
  foreground: '#dbe4f0',
  cursor: '#7dd3fc',
  selectionBackground: '#334155',
  black: '#1e293b',
  brightBlack: '#64748b',
};
const LIGHT: ITheme = {
  background: '#fbfcfe',
  foreground: '#1e293b',
  cursor: '#0369a1',
  selectionBackground: '#bfdbfe',
  black: '#1e293b',
  brightBlack: '#64748b',
  white: '#94a3b8',
  brightWhite: '#475569',
  yellow: '#a16207',
  brightYellow: '#854d0e',
};


const searchDecorations = (dark: boolean): NonNullable<ISearchOptions['decorations']> => ({
  matchBackground: dark ? '#854d0e' : '#fde68a',
  matchOverviewRuler: '#d97706',
  activeMatchBackground: dark ? '#c2410c' : '#fb923c',
  activeMatchColorOverviewRuler: '#ea580c',
});

let software: boolean | undefined;

/**
 * Whether this page's WebGL is rendered by the CPU. Asked once, of a throwaway context (released
 * at once). WEBGL_debug_renderer_info names the real renderer; browsers that hide it report it in
 * RENDERER itself. No WebGL at all counts as not software: the addon then fails and DOM is used.
 */
export function softwareWebgl(): boolean {
  if (software !== undefined) return software;
  software = false;
  try {
    const gl = document.createElement('canvas').getContext('webgl2');
    if (gl) {
      const info = gl.getExtension('WEBGL_debug_renderer_info');
      const name = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
      software = /swiftshader|llvmpipe|softpipe|software|basic render driver/i.test(name);
      gl.getExtension('WEBGL_lose_context')?.loseContext();
    }
  } catch {
    // No WebGL: the addon will say so itself.
  }
  return software;
}

export interface SearchResult {
  /** 0-based index of the active match; -1 when there are more matches than are highlighted. */
  index: number;
  count: number;
}

export class PaneTerminal {
  readonly term: Terminal;
  private readonly fitAddon = new FitAddon();
  private readonly searchAddon = new SearchAddon({ highlightLimit: 2000 });
  private dark: boolean;
  /** Called when the user asks to search (Ctrl+Shift+F); the pane's React part shows its box. */
  onSearchRequest: (() => void) | undefined;
  /** The latest search's result count, for the search box. */
  onSearchResults: ((result: SearchResult) => void) | undefined;
  /** Set while the host's connection is down, so reconnecting is reported once it is back. */
  private connectionLost = false;
  /** Which xterm renderer draws this pane ('dom' where WebGL is software or lost). */
  renderer: 'webgl' | 'dom' = 'dom';
  private opened = false;
  private ackTimer: ReturnType<typeof setTimeout> | undefined;
  private drawn: { session: string; seq: number } | undefined;
  /** The session whose shell last wrote here; a new one gets a separator line. */
  private shownSession: string | undefined;
  private written = false;
  /**
   * Characters of host output the pane has taken: processed by xterm (its write callback ran) or
   * passed over by fast-forward (see `skippedChars`), for flood checks.
   */
  drawnChars = 0;
  private passedOverByEngine = 0;
  /** Every write to the terminal goes through here, so host output and the app's notes keep their order. */
  private readonly writes: PaneWriteQueue;

  constructor(
    private readonly client: LabClient,
    readonly host: ApiHostLabel,
    readonly pane: PaneName,
    dark: boolean,
  ) {
    this.dark = dark;
    this.term = new Terminal({
      fontFamily: TERMINAL_FONT,
      fontSize: 13,
      lineHeight: 1.1,
      scrollback: PANE_SCROLLBACK_LINES,
      cursorBlink: false,
      // The search addon highlights every match with decorations, which xterm still calls proposed API.
      allowProposedApi: true,
      theme: dark ? DARK : LIGHT,
    });
    this.term.loadAddon(this.fitAddon);
    this.term.loadAddon(this.searchAddon);
    this.searchAddon.onDidChangeResults(({ resultIndex, resultCount }) => this.onSearchResults?.({ index: resultIndex, count: resultCount }));
    this.term.attachCustomKeyEventHandler((event) => this.onKey(event));
    this.term.onData((data) => this.send(data));
    this.term.onResize(({ cols, rows }) => this.client.resize(this.host, this.pane, cols, rows));
    this.writes = new PaneWriteQueue(this.term);
  }

  /**
   * Characters of host output fast-forward passed over (lines that scrolled past the scrollback
   * unseen): by the engine before sending them, or by this pane's write queue.
   */
  get skippedChars(): number {
    return this.passedOverByEngine + this.writes.skippedChars;
  }

  /** Puts the terminal into `element` (once; a later mount moves it). */
  mount(element: HTMLElement): void {
    if (!this.opened) {
      this.term.open(element);
      this.opened = true;
      this.loadWebgl();
    } else if (this.term.element && this.term.element.parentElement !== element) {
      element.appendChild(this.term.element);
    }
    this.fit();
  }

  /**
   * WebGL draws faster under floods on a GPU; where there is no GPU context (or it is lost), the
   * DOM renderer takes over. Where the context is a software one (SwiftShader, llvmpipe: no GPU,
   * as in headless Chromium on a server or a VM without acceleration), the DOM renderer is used
   * from the start: rasterising WebGL on the CPU made a `seq` flood about 2.5x slower than DOM
   * rows here (xterm 6, Chromium's SwiftShader, 5 MB: 16.4 s against 6.3 s, same machine).
   */
  private loadWebgl(): void {
    if (softwareWebgl()) {
      this.renderer = 'dom';
      return;
    }
    try {
      const webgl = new WebglAddon();
      webgl.onContextLoss(() => {
        webgl.dispose();
        this.renderer = 'dom';
      });
      this.term.loadAddon(webgl);
      this.renderer = 'webgl';
    } catch {
      this.renderer = 'dom';
    }
  }

  /** Keys the app takes before xterm: Ctrl+Shift+F/C/V. Everything else (Ctrl+C too) goes to the host. */
  private onKey(event: KeyboardEvent): boolean {
    if (!event.ctrlKey || !event.shiftKey || event.altKey || event.metaKey) return true;
    if (event.code === 'KeyF') {
      if (event.type === 'keydown') {
        event.preventDefault();
        this.onSearchRequest?.();
      }
      return false;
    }
    if (event.code === 'KeyC') {
      if (event.type === 'keydown') {
        event.preventDefault();
        void this.copySelection();
      }
      return false;
    }
    // The browser's paste (Ctrl+Shift+V is "paste as plain text") reaches xterm's textarea as a
    // paste event, which xterm turns into onData: only keep xterm from sending the key itself.
    if (event.code === 'KeyV') return false;
    return true;
  }

  /** Typing and pastes to the host; a paste too large for one message is refused, in the pane. */
  send(data: string): void {
    if (data.length > MAX_PANE_INPUT) {
      this.writes.write(
        `\r\n\x1b[1;33m*** Not pasted: ${data.length.toLocaleString('en')} characters is more than a pane takes at once ` +
          `(${MAX_PANE_INPUT.toLocaleString('en')}). Paste it in smaller parts, or copy the file to the host with scp. ***\x1b[0m\r\n`,
      );
      return;
    }
    this.client.input(this.host, this.pane, data);
  }

  /** Copies the selection to the clipboard; false when nothing is selected or the browser refuses. */
  async copySelection(): Promise<boolean> {
    const text = this.term.getSelection();
    if (!text) return false;
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      return false;
    }
  }

  find(term: string, direction: 'next' | 'previous'): boolean {
    if (!term) {
      this.searchAddon.clearDecorations();
      this.onSearchResults?.({ index: -1, count: 0 });
      return false;
    }
    const options: ISearchOptions = { decorations: searchDecorations(this.dark), incremental: direction === 'next' };
    return direction === 'next' ? this.searchAddon.findNext(term, options) : this.searchAddon.findPrevious(term, options);
  }

  /** Removes the highlights; the active match stays selected, ready to copy. */
  clearSearch(): void {
    this.searchAddon.clearDecorations();
  }

  /** A connection change of this pane's host, written into the pane (never sent to the host). */
  connection(status: string, detail: string | undefined, attempt: number | undefined): void {
    const why = detail ? `: ${detail}` : '';
    if (status === 'disconnected') {
      this.connectionLost = true;
      this.writes.write(`\r\n\x1b[1;31m*** Connection to ${this.host} lost${why}. ***\x1b[0m\r\n`);
    } else if (status === 'reconnecting') {
      this.connectionLost = true;
      this.writes.write(`\x1b[1;33m*** Reconnecting to ${this.host} (attempt ${attempt ?? 1})${why}... ***\x1b[0m\r\n`);
    } else if (status === 'failed' && this.connectionLost) {
      this.writes.write(`\x1b[1;31m*** Could not reconnect to ${this.host}${why}. Use Disconnect, then Connect. ***\x1b[0m\r\n`);
    } else if (status === 'connected' && this.connectionLost) {
      this.connectionLost = false;
      this.writes.write(`\x1b[1;32m*** Connected to ${this.host} again: a new shell follows. Commands running when the connection dropped were lost. ***\x1b[0m\r\n`);
    }
  }

  fit(): void {
    if (!this.opened || !this.term.element?.isConnected) return;
    const before = { cols: this.term.cols, rows: this.term.rows };
    // Not FitAddon.fit(): a pane squeezed below what a PTY takes (a short window) would send a
    // size the engine refuses. The terminal stays at the smallest accepted size and scrolls.
    const proposed = this.fitAddon.proposeDimensions();
    if (!proposed || !Number.isFinite(proposed.cols) || !Number.isFinite(proposed.rows)) return; // not laid out yet: the next resize fits it
    const cols = clamp(proposed.cols, PANE_SIZE_LIMITS.minCols, PANE_SIZE_LIMITS.maxCols);
    const rows = clamp(proposed.rows, PANE_SIZE_LIMITS.minRows, PANE_SIZE_LIMITS.maxRows);
    if (cols !== this.term.cols || rows !== this.term.rows) this.term.resize(cols, rows);
    // onResize only fires on change; the engine still needs the size once per connection.
    if (before.cols === this.term.cols && before.rows === this.term.rows) this.client.resize(this.host, this.pane, this.term.cols, this.term.rows);
  }

  setDark(dark: boolean): void {
    this.dark = dark;
    this.term.options.theme = dark ? DARK : LIGHT;
  }

  fontSize(delta: number): void {
    const size = Math.min(28, Math.max(9, (this.term.options.fontSize ?? 13) + delta));
    this.term.options.fontSize = size;
    this.fit();
  }

  /** `passedOver`: characters the engine passed over right before `data` (LabApi's `event` message). */
  output(session: string, seq: number, data: string, passedOver = 0): void {
    this.startSession(session);
    this.written = true;
    // Taken into a short queue, output is acknowledged at once: the engine keeps sending, and the
    // WebSocket stays short, so what other panes receive (an echo) is not stuck behind this one's
    // flood. Past ACK_ON_RECEIPT_BELOW the pane acknowledges only what xterm has processed, and
    // the engine pauses the channel: the queue's memory stays bounded.
    const early = this.writes.backlogChars < ACK_ON_RECEIPT_BELOW;
    if (early) this.drawnUpTo(session, seq);
    this.passedOverByEngine += passedOver;
    this.writes.write(data, () => {
      this.drawnChars += passedOver + data.length;
      if (!early) this.drawnUpTo(session, seq);
    });
  }

  note(session: string, text: string): void {
    this.startSession(session);
    this.writes.write(`\r\n\x1b[90m${text}\x1b[0m\r\n`);
  }

  private startSession(session: string): void {
    if (this.shownSession === session) return;
    if (this.written) this.writes.write('\r\n\x1b[90m──────── new shell ────────\x1b[0m\r\n');
    this.shownSession = session;
  }

  private drawnUpTo(session: string, seq: number): void {
    // Acknowledgements are cumulative: one acknowledged early covers the writes before it. The
    // same seq again is acknowledged again: the engine may send one event's text in parts.
    if (this.drawn?.session === session && this.drawn.seq > seq) return;
    this.drawn = { session, seq };
    this.ackTimer ??= setTimeout(() => {
      this.ackTimer = undefined;
      if (this.drawn) this.client.acknowledge(this.drawn.session, this.host, this.pane, this.drawn.seq);
    }, 0);
  }

  /** The terminal's text (scrollback and screen), for tests and copy-out. */
  text(): string {
    return bufferText(this.term.buffer.active);
  }
}

export class TerminalHub {
  private readonly terminals = new Map<string, PaneTerminal>();
  /** Every session event received, for the timeline and for showing the panes at an instant. */
  readonly recording = new Recording();
  /** The panes as they were at the timeline's cursor (read-only terminals in the live ones' place). */
  readonly past: PastPanes;

  constructor(
    private readonly client: LabClient,
    private dark: boolean,
  ) {
    this.past = new PastPanes(this.recording, (host, pane) => {
      const term = this.get(host, pane).term;
      return { element: term.element, fontSize: term.options.fontSize ?? 13, fontFamily: TERMINAL_FONT, cols: term.cols, rows: term.rows };
    }, dark);
  }

  get(host: ApiHostLabel, pane: PaneName): PaneTerminal {
    const key = `${host}/${pane}`;
    let terminal = this.terminals.get(key);
    if (!terminal) {
      terminal = new PaneTerminal(this.client, host, pane, this.dark);
      this.terminals.set(key, terminal);
    }
    return terminal;
  }

  /** Pane traffic of any session goes to its terminal. */
  onEvent(message: SessionEventMessage): void {
    this.recording.add(message);
    const { event, session } = message;
    if (event.type !== 'pane-output' && event.type !== 'pane-close' && event.type !== 'connection') return;
    if (event.host !== 'H1' && event.host !== 'H2') return; // a log may name other hosts; this workspace has two
    if (event.type === 'connection') {
      for (const pane of ['upper', 'lower'] as const) this.get(event.host, pane).connection(event.status, event.detail, event.attempt);
      return;
    }
    if (event.type === 'pane-output') this.get(event.host, event.pane).output(session, event.seq, event.data, message.passedOver);
    else this.get(event.host, event.pane).note(session, `[${event.host} ${event.pane} shell closed: ${event.reason}]`);
  }

  setDark(dark: boolean): void {
    this.dark = dark;
    for (const t of this.terminals.values()) t.setDark(dark);
    this.past.setDark(dark);
  }

  fontSize(delta: number): void {
    for (const t of this.terminals.values()) t.fontSize(delta);
  }

  renderers(): string {
    return [...new Set([...this.terminals.values()].map((t) => t.renderer))].join('/');
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.floor(value)));
}
