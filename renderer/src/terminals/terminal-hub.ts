/**
 * The four xterm.js terminals, one per host and pane, kept for the whole page: a run's shells
 * and the workspace's shells write into the same terminal, one after the other, so the
 * scrollback reads as one story.
 *
 * Back-pressure: each `pane-output` event is written with xterm's write callback, which fires
 * once xterm has processed the data; only then is it acknowledged to the engine (cumulatively,
 * "up to event seq", coalesced per task), which resumes the SSH channel below its low watermark.
 */
import { FitAddon } from '@xterm/addon-fit';
import { WebglAddon } from '@xterm/addon-webgl';
import { Terminal, type ITheme } from '@xterm/xterm';
import type { PaneName } from '../../../shared/src/events';
import type { ApiHostLabel, SessionEventMessage } from '../../../shared/src/lab-api';
import type { LabClient } from '../api/lab-client';

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

export class PaneTerminal {
  readonly term: Terminal;
  private readonly fitAddon = new FitAddon();
  renderer: 'webgl' | 'dom' = 'dom';
  private opened = false;
  private ackTimer: ReturnType<typeof setTimeout> | undefined;
  private drawn: { session: string; seq: number } | undefined;
  /** The session whose shell last wrote here; a new one gets a separator line. */
  private shownSession: string | undefined;
  private written = false;

  constructor(
    private readonly client: LabClient,
    readonly host: ApiHostLabel,
    readonly pane: PaneName,
    dark: boolean,
  ) {
    this.term = new Terminal({
      fontFamily: TERMINAL_FONT,
      fontSize: 13,
      lineHeight: 1.1,
      scrollback: 5000,
      cursorBlink: false,
      allowProposedApi: false,
      theme: dark ? DARK : LIGHT,
    });
    this.term.loadAddon(this.fitAddon);
    this.term.onData((data) => this.client.input(this.host, this.pane, data));
    this.term.onResize(({ cols, rows }) => this.client.resize(this.host, this.pane, cols, rows));
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

  /** WebGL draws faster under floods; where there is no GPU context (or it is lost), the DOM renderer takes over. */
  private loadWebgl(): void {
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

  fit(): void {
    if (!this.opened || !this.term.element?.isConnected) return;
    const before = { cols: this.term.cols, rows: this.term.rows };
    try {
      this.fitAddon.fit();
    } catch {
      return; // not laid out yet (zero size): the next resize fits it
    }
    // onResize only fires on change; the engine still needs the size once per connection.
    if (before.cols === this.term.cols && before.rows === this.term.rows) this.client.resize(this.host, this.pane, this.term.cols, this.term.rows);
  }

  setDark(dark: boolean): void {
    this.term.options.theme = dark ? DARK : LIGHT;
  }

  fontSize(delta: number): void {
    const size = Math.min(28, Math.max(9, (this.term.options.fontSize ?? 13) + delta));
    this.term.options.fontSize = size;
    this.fit();
  }

  output(session: string, seq: number, data: string): void {
    this.startSession(session);
    this.written = true;
    this.term.write(data, () => this.drawnUpTo(session, seq));
  }

  note(session: string, text: string): void {
    this.startSession(session);
    this.term.write(`\r\n\x1b[90m${text}\x1b[0m\r\n`);
  }

  private startSession(session: string): void {
    if (this.shownSession === session) return;
    if (this.written) this.term.write('\r\n\x1b[90m──────── new shell ────────\x1b[0m\r\n');
    this.shownSession = session;
  }

  private drawnUpTo(session: string, seq: number): void {
    this.drawn = { session, seq };
    this.ackTimer ??= setTimeout(() => {
      this.ackTimer = undefined;
      if (this.drawn) this.client.acknowledge(this.drawn.session, this.host, this.pane, this.drawn.seq);
    }, 0);
  }

  /** The terminal's text (scrollback and screen), for tests and copy-out. */
  text(): string {
    const buffer = this.term.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i)?.translateToString(true) ?? '');
    return lines.join('\n').replace(/\n+$/, '');
  }
}

export class TerminalHub {
  private readonly terminals = new Map<string, PaneTerminal>();

  constructor(
    private readonly client: LabClient,
    private dark: boolean,
  ) {}

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
    const { event, session } = message;
    if (event.type !== 'pane-output' && event.type !== 'pane-close') return;
    if (event.host !== 'H1' && event.host !== 'H2') return; // a log may name other hosts; this workspace has two
    if (event.type === 'pane-output') this.get(event.host, event.pane).output(session, event.seq, event.data);
    else this.get(event.host, event.pane).note(session, `[${event.host} ${event.pane} shell closed: ${event.reason}]`);
  }

  setDark(dark: boolean): void {
    this.dark = dark;
    for (const t of this.terminals.values()) t.setDark(dark);
  }

  fontSize(delta: number): void {
    for (const t of this.terminals.values()) t.fontSize(delta);
  }

  renderers(): string {
    return [...new Set([...this.terminals.values()].map((t) => t.renderer))].join('/');
  }
}
