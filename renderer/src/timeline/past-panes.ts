/**
 * Panes as they looked at an instant: for each of the four panes, a separate read-only xterm
 * fed the pane's recorded output up to that instant, shown in the pane's place while the
 * timeline's cursor is set. The live terminals are never touched (only hidden), so their
 * scrollback, search and back-pressure carry on; "Back to live" shows them again.
 *
 * Moving the cursor later writes only the output in between; moving it earlier resets the
 * terminal and writes again from the oldest output the recording keeps (each pane's last 8 MiB,
 * pane-tape.ts); a line over the pane says so when older output was let go.
 */
import { Terminal, type ITheme } from '@xterm/xterm';
import type { PaneName } from '../../../shared/src/events';
import type { ApiHostLabel } from '../../../shared/src/lab-api';
import { bufferText } from '../terminals/buffer-text';
import { timeOfDay } from '../../../shared/src/figures/instant';
import { PANE_TAPE_CHARS } from './pane-tape';
import type { Recording } from './recording';

const THEME_DARK: ITheme = { background: '#111a2b', foreground: '#dbe4f0', cursor: '#111a2b', black: '#1e293b', brightBlack: '#64748b' };
const THEME_LIGHT: ITheme = { background: '#f7f5ee', foreground: '#1e293b', cursor: '#f7f5ee', black: '#1e293b', brightBlack: '#64748b', yellow: '#a16207' };

interface PastPane {
  term: Terminal;
  element: HTMLDivElement;
  /** Chunks written so far (absolute indices, pane-tape.ts), and the session of the last one (a new session gets a separator). */
  written: number;
  /** The chunk the terminal started from (above 0: older output was let go) and its time. */
  startedAt: number;
  startedTime: number | undefined;
  /** Says what the pane lacks, over it (see sayWhatIsMissing). */
  note: HTMLDivElement;
  session: string | undefined;
  pending: Promise<void>;
}

export interface LivePane {
  /** The live terminal's element (hidden while the past is shown), or undefined before it is mounted. */
  element: HTMLElement | undefined;
  fontSize: number;
  fontFamily: string;
  cols: number;
  rows: number;
}

export class PastPanes {
  private readonly panes = new Map<string, PastPane>();
  private shownAt: number | undefined;
  private dark: boolean;

  constructor(
    private readonly recording: Recording,
    private readonly live: (host: ApiHostLabel, pane: PaneName) => LivePane,
    dark: boolean,
  ) {
    this.dark = dark;
  }

  get instant(): number | undefined {
    return this.shownAt;
  }

  /** Shows every pane as it was at controller time `t`. */
  show(t: number): void {
    this.shownAt = t;
    for (const host of ['H1', 'H2'] as const) for (const pane of ['upper', 'lower'] as const) this.showPane(host, pane, t);
  }

  /** Back to the live terminals. */
  hide(): void {
    this.shownAt = undefined;
    for (const [key, past] of this.panes) {
      past.element.style.display = 'none';
      const [host, pane] = key.split('/') as [ApiHostLabel, PaneName];
      const live = this.live(host, pane).element;
      if (live) live.style.display = '';
    }
  }

  setDark(dark: boolean): void {
    this.dark = dark;
    for (const p of this.panes.values()) {
      p.term.options.theme = dark ? THEME_DARK : THEME_LIGHT;
      paintNote(p.note, dark);
    }
  }

  /** The text a past pane shows (scrollback and screen), once everything written is drawn. */
  async text(host: ApiHostLabel, pane: PaneName): Promise<string> {
    const past = this.panes.get(`${host}/${pane}`);
    if (!past) return '';
    await past.pending;
    return bufferText(past.term.buffer.active);
  }

  private showPane(host: ApiHostLabel, pane: PaneName, t: number): void {
    const live = this.live(host, pane);
    const parent = live.element?.parentElement;
    if (!live.element || !parent) return;
    const past = this.pane(host, pane, live, parent);
    live.element.style.display = 'none';
    past.element.style.display = '';
    // The live terminal's size (fitted to the pane): the past is laid out as the live pane showed it.
    const size = { cols: live.cols, rows: live.rows };
    const resized = past.term.cols !== size.cols || past.term.rows !== size.rows;
    if (resized) past.term.resize(size.cols, size.rows);
    const tape = this.recording.paneTape(host, pane);
    const count = tape.countAt(t);
    // Written again from the oldest output kept: at a new size, back in time, or when the tape
    // has let go of output this terminal has not written yet.
    if (resized || count < past.written || past.written < tape.first) this.restart(past, tape.first, tape.firstTime);
    let data = '';
    for (let i = past.written; i < count; i++) {
      const chunk = tape.chunk(i);
      if (past.session !== undefined && chunk.session !== past.session) data += '\r\n\x1b[90m──────── new shell ────────\x1b[0m\r\n';
      past.session = chunk.session;
      data += chunk.data;
    }
    past.written = count;
    if (data) past.pending = new Promise((resolve) => past.term.write(data, resolve));
    this.sayWhatIsMissing(past, count);
  }

  /**
   * A line over the past pane when it lacks output the tape let go of (a flood passed each pane's
   * budget). Over the terminal, not in it: written into it, the line scrolled away under the
   * megabytes replayed after it.
   */
  private sayWhatIsMissing(past: PastPane, count: number): void {
    const note = past.note;
    if (past.startedAt === 0) {
      note.style.display = 'none';
      return;
    }
    const zone = this.recording.utcOffsetMin() ?? -new Date().getTimezoneOffset();
    const missing = past.startedTime === undefined ? 'Earlier output' : `Before ${timeOfDay(past.startedTime, zone, 0)}`;
    // Short enough for a pane at 1280x720; the title says the rest.
    const kept = `(the page keeps ${PANE_TAPE_CHARS / 2 ** 20} MiB a pane)`;
    note.textContent = count <= past.startedAt ? `Output then: in the session log only ${kept}` : `${missing}: in the session log only ${kept}`;
    note.title = `For the timeline's cursor the page keeps each pane's newest ${PANE_TAPE_CHARS / 2 ** 20} MiB of output, and a flood went past that. The session log keeps every byte (tcplab figures draws from it).`;
    note.style.display = '';
  }

  /** Empties the terminal, to write again from chunk `first` (the oldest the tape keeps), logged at `firstTime`. */
  private restart(past: PastPane, first: number, firstTime: number | undefined): void {
    past.term.reset();
    past.written = first;
    past.startedAt = first;
    past.startedTime = firstTime;
    past.session = undefined;
  }

  private pane(host: ApiHostLabel, pane: PaneName, live: LivePane, parent: HTMLElement): PastPane {
    const key = `${host}/${pane}`;
    let past = this.panes.get(key);
    if (past) {
      if (past.element.parentElement !== parent) parent.appendChild(past.element);
      past.term.options.fontSize = live.fontSize;
      return past;
    }
    const element = document.createElement('div');
    element.className = 'past-pane';
    element.dataset.testid = `past-pane-${host}-${pane}`;
    element.style.height = '100%';
    element.style.overflow = 'hidden';
    element.style.position = 'relative';
    parent.appendChild(element);
    const term = new Terminal({
      fontFamily: live.fontFamily,
      fontSize: live.fontSize,
      lineHeight: 1.1,
      scrollback: 10_000,
      disableStdin: true,
      cursorBlink: false,
      cursorInactiveStyle: 'none',
      theme: this.dark ? THEME_DARK : THEME_LIGHT,
    });
    term.open(element);
    const note = document.createElement('div');
    note.dataset.testid = `past-pane-note-${host}-${pane}`;
    note.setAttribute('role', 'note');
    Object.assign(note.style, { position: 'absolute', top: '0', left: '0', right: '0', zIndex: '10', padding: '1px 8px', font: '11px system-ui, sans-serif', whiteSpace: 'nowrap', overflow: 'hidden', textOverflow: 'ellipsis', display: 'none' });
    paintNote(note, this.dark);
    element.appendChild(note);
    past = { term, element, note, written: 0, startedAt: 0, startedTime: undefined, session: undefined, pending: Promise.resolve() };
    this.panes.set(key, past);
    return past;
  }
}

function paintNote(note: HTMLDivElement, dark: boolean): void {
  note.style.background = dark ? 'rgba(120, 53, 15, 0.92)' : 'rgba(254, 243, 199, 0.95)';
  note.style.color = dark ? '#fde68a' : '#78350f';
}
