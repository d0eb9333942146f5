/**
 * Pane contents at an instant, rebuilt from the session log: a host's pane-open, pane-resize and
 * pane-output events up to the instant are fed to a headless terminal emulator (@xterm/headless,
 * the same parser and buffer as the app's xterm.js), and its screen is read back cell by cell
 * into the plain TerminalScreen model of shared/src/figures/terminal-screen.ts.
 */
import xtermHeadless from '@xterm/headless';
import type { IBufferCell, Terminal as HeadlessTerminal } from '@xterm/headless';
import type { HostLabel, LabEvent, PaneName } from '../../shared/src/events';
import { blankScreen, type TerminalScreen, type TermColor, type TextRun } from '../../shared/src/figures/terminal-screen';

// @xterm/headless is CommonJS: under Node's ESM loader only its default export is visible.
const { Terminal } = xtermHeadless;

/** Write and wait until the emulator has parsed it (xterm parses asynchronously). */
function write(term: HeadlessTerminal, data: string): Promise<void> {
  return new Promise((resolve) => term.write(data, resolve));
}

/**
 * The screen of one pane after every event with `t <= atMs` (all events when `atMs` is
 * undefined). Null when the pane was never opened by then.
 */
export async function paneScreenAt(events: readonly LabEvent[], host: HostLabel, pane: PaneName, atMs?: number): Promise<TerminalScreen | null> {
  let term: HeadlessTerminal | undefined;
  let pending = '';
  let cursorVisible = true;
  const flush = async (): Promise<void> => {
    if (term && pending) await write(term, pending);
    pending = '';
  };
  for (const event of events) {
    if (atMs !== undefined && event.t > atMs) break;
    if (!('host' in event) || event.host !== host || !('pane' in event) || event.pane !== pane) continue;
    if (event.type === 'pane-open') {
      await flush();
      term?.dispose();
      // A reopened pane (after a reconnect) starts a fresh shell: a fresh screen.
      cursorVisible = true;
      term = new Terminal({ cols: event.cols, rows: event.rows, scrollback: 0, allowProposedApi: true });
    } else if (event.type === 'pane-resize' && term) {
      await flush();
      term.resize(event.cols, event.rows);
    } else if (event.type === 'pane-output' && term) {
      pending += event.data;
      // DECTCEM (cursor shown/hidden) is not in xterm's public API: follow it in the stream.
      const hide = event.data.lastIndexOf('\x1b[?25l');
      const show = event.data.lastIndexOf('\x1b[?25h');
      if (hide !== show) cursorVisible = show > hide;
    }
  }
  if (!term) return null;
  await flush();
  const screen = readScreen(term);
  screen.cursor.visible = cursorVisible;
  term.dispose();
  return screen;
}

function color(mode: 'fg' | 'bg', cell: IBufferCell): TermColor | undefined {
  if (mode === 'fg') {
    if (cell.isFgDefault()) return undefined;
    const value = cell.getFgColor();
    return cell.isFgRGB() ? `#${value.toString(16).padStart(6, '0')}` : value;
  }
  if (cell.isBgDefault()) return undefined;
  const value = cell.getBgColor();
  return cell.isBgRGB() ? `#${value.toString(16).padStart(6, '0')}` : value;
}

type Style = Omit<TextRun, 'col' | 'text' | 'cells'>;

function styleOf(cell: IBufferCell): Style {
  const style: Style = {};
  const fg = color('fg', cell);
  const bg = color('bg', cell);
  if (fg !== undefined) style.fg = fg;
  if (bg !== undefined) style.bg = bg;
  if (cell.isBold()) style.bold = true;
  if (cell.isItalic()) style.italic = true;
  if (cell.isUnderline()) style.underline = true;
  if (cell.isDim()) style.dim = true;
  if (cell.isInverse()) style.inverse = true;
  return style;
}

function sameStyle(a: Style, b: Style): boolean {
  return a.fg === b.fg && a.bg === b.bg && a.bold === b.bold && a.italic === b.italic && a.underline === b.underline && a.dim === b.dim && a.inverse === b.inverse;
}

/** The visible screen (not the scrollback) as runs of equally styled cells. */
export function readScreen(term: HeadlessTerminal): TerminalScreen {
  const buffer = term.buffer.active;
  const screen = blankScreen(term.cols, term.rows);
  const cell = buffer.getNullCell();
  for (let row = 0; row < term.rows; row++) {
    const line = buffer.getLine(buffer.baseY + row);
    if (!line) continue;
    const runs: TextRun[] = [];
    let current: TextRun | undefined;
    for (let col = 0; col < term.cols; col++) {
      line.getCell(col, cell);
      const width = cell.getWidth();
      if (width === 0) continue; // the second half of a wide character
      const chars = cell.getChars() || ' ';
      const style = styleOf(cell);
      // Wide characters get runs of their own, so every run's text is one cell per character.
      if (current && width === 1 && current.cells === [...current.text].length && sameStyle(current, style)) {
        current.text += chars;
        current.cells += 1;
      } else {
        current = { col, text: chars, cells: width, ...style };
        runs.push(current);
      }
    }
    // Drop trailing runs that are only default-styled blanks.
    while (runs.length > 0) {
      const last = runs[runs.length - 1]!;
      if (last.text.trim() !== '' || last.bg !== undefined || last.inverse) break;
      runs.pop();
    }
    screen.lines[row] = runs;
  }
  screen.cursor = { col: buffer.cursorX, row: buffer.cursorY, visible: true };
  return screen;
}

/**
 * Everything a pane showed over the whole run (or up to `atMs`), as text: the output fed to a
 * terminal with a deep scrollback, read back line by line, wrapped lines joined. Unlike the raw
 * transcript files, no escape sequences or carriage returns are left.
 */
export async function paneTranscript(events: readonly LabEvent[], host: HostLabel, pane: PaneName, atMs?: number): Promise<string | null> {
  let term: HeadlessTerminal | undefined;
  const chunks: string[] = [];
  for (const event of events) {
    if (atMs !== undefined && event.t > atMs) break;
    if (!('host' in event) || event.host !== host || !('pane' in event) || event.pane !== pane) continue;
    if (event.type === 'pane-open' && !term) term = new Terminal({ cols: event.cols, rows: event.rows, scrollback: 100_000, allowProposedApi: true });
    else if (event.type === 'pane-resize' && term) {
      await write(term, chunks.splice(0).join(''));
      term.resize(event.cols, event.rows);
    } else if (event.type === 'pane-output' && term) chunks.push(event.data);
  }
  if (!term) return null;
  await write(term, chunks.join(''));
  const buffer = term.buffer.active;
  const lines: string[] = [];
  for (let y = 0; y < buffer.length; y++) {
    const line = buffer.getLine(y);
    if (!line) continue;
    const text = line.translateToString(false);
    if (line.isWrapped && lines.length > 0) lines[lines.length - 1] += text;
    else lines.push(text);
  }
  term.dispose();
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  return lines.map((l) => l.trimEnd()).join('\n');
}
