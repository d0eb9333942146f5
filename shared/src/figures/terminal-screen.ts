/**
 * A terminal screen as plain data: what a pane showed at one instant, row by row, as runs of
 * equally styled text. Built from a terminal emulator's buffer (electron/figures/pane-screens.ts
 * feeds the session log to @xterm/headless; the app could read its live xterm the same way) and
 * drawn by window-figure.ts. Pure: no Node, no DOM.
 */

/** A palette index (0-15 ANSI, 16-255 xterm's cube and greys) or a `#rrggbb` true colour. */
export type TermColor = number | string;

export interface TextRun {
  /** First cell of the run (0-based column). */
  col: number;
  text: string;
  /** Cells the run covers (wide characters take two). */
  cells: number;
  fg?: TermColor;
  bg?: TermColor;
  bold?: boolean;
  italic?: boolean;
  underline?: boolean;
  dim?: boolean;
  inverse?: boolean;
}

export interface TerminalScreen {
  cols: number;
  rows: number;
  /** Exactly `rows` entries; an empty array is an empty row. */
  lines: TextRun[][];
  cursor: { col: number; row: number; visible: boolean };
}

/** The screen as text, one line per row, trailing blanks removed (for tests and transcripts). */
export function screenText(screen: TerminalScreen): string {
  return screen.lines
    .map((runs) => {
      let line = '';
      for (const run of runs) line = line.padEnd(run.col, ' ') + run.text;
      return line.trimEnd();
    })
    .join('\n');
}

/** Whether a run shows anything: visible characters, or a background colour. */
function inked(run: TextRun): boolean {
  return run.text.trim() !== '' || run.bg !== undefined || run.inverse === true;
}

/**
 * The rows and columns in use: from the first row with ink to the last (or the cursor's row, if
 * the cursor is visible and lower), and the columns up to the last inked cell.
 */
export function usedExtent(screen: TerminalScreen): { firstRow: number; lastRow: number; cols: number } {
  let firstRow = -1;
  let lastRow = -1;
  let cols = 0;
  screen.lines.forEach((runs, row) => {
    for (const run of runs) {
      if (!inked(run)) continue;
      if (firstRow < 0) firstRow = row;
      lastRow = row;
      const trimmed = run.text.trimEnd();
      cols = Math.max(cols, run.col + (run.bg !== undefined || run.inverse ? run.cells : [...trimmed].length));
    }
  });
  if (screen.cursor.visible) {
    if (firstRow < 0) firstRow = screen.cursor.row;
    lastRow = Math.max(lastRow, screen.cursor.row);
    cols = Math.max(cols, screen.cursor.col + 1);
  }
  if (firstRow < 0) return { firstRow: 0, lastRow: -1, cols: 0 };
  return { firstRow, lastRow, cols };
}

/** An empty screen, as a pane shows before any output. */
export function blankScreen(cols: number, rows: number): TerminalScreen {
  return { cols, rows, lines: Array.from({ length: rows }, () => []), cursor: { col: 0, row: 0, visible: true } };
}
