/**
 * Figure (a): one host's terminal window at an instant, like the article's screenshots: a title
 * bar naming the host, the upper pane (the application) above the lower pane (state and
 * firewall), monospace text in the terminal's colours. Pure: screens in, SVG text out, so the
 * app can draw the same figure from its live terminals.
 */
import { type TerminalScreen, type TermColor, type TextRun, usedExtent } from './terminal-screen';
import { type FigureTheme, figureTheme } from './theme';
import { CHAR_WIDTH_EM, escapeXml, num, svgDocument, textWidth } from './svg';

export interface WindowFigureInput {
  /** Title bar text, e.g. `H1 — root@198.18.78.2`. */
  title: string;
  /** Right side of the title bar, e.g. the instant shown (`00:54:06.120`). */
  subtitle?: string;
  upper: TerminalScreen;
  lower: TerminalScreen;
}

export interface WindowFigureOptions {
  theme?: FigureTheme;
  /** Font size of the terminal text in px (default 13). */
  fontSize?: number;
  /**
   * Show only the rows and columns in use (default true): a pane of 24 rows with four lines of
   * output takes four lines on the handout. `false` draws the whole terminal.
   */
  trim?: boolean;
  /** Draw each pane's cursor (default true). */
  cursor?: boolean;
  /** Captions of the two panes (default "application" and "state and firewall"); null: none. */
  captions?: { upper: string; lower: string } | null;
}

/** xterm's 256-colour table: 16 from the theme, then the 6x6x6 cube, then 24 greys. */
export function paletteColor(index: number, theme: FigureTheme): string {
  if (index < 16) return theme.ansi[index]!;
  const hex = (v: number): string => v.toString(16).padStart(2, '0');
  if (index < 232) {
    const i = index - 16;
    const level = (v: number): number => (v === 0 ? 0 : 55 + v * 40);
    return `#${hex(level(Math.floor(i / 36)))}${hex(level(Math.floor(i / 6) % 6))}${hex(level(i % 6))}`;
  }
  const grey = 8 + (index - 232) * 10;
  return `#${hex(grey)}${hex(grey)}${hex(grey)}`;
}

function resolve(color: TermColor | undefined, fallback: string, theme: FigureTheme, bold = false): string {
  if (color === undefined) return fallback;
  if (typeof color === 'string') return color;
  // As terminals do: bold text in one of the 8 normal colours is shown in its bright variant.
  return paletteColor(bold && color < 8 ? color + 8 : color, theme);
}

interface PaneBox {
  screen: TerminalScreen;
  firstRow: number;
  rowCount: number;
  caption?: string;
}

const TITLE_HEIGHT = 30;
const CAPTION_HEIGHT = 18;
const PAD_X = 12;
const PAD_Y = 8;

export function renderWindowSvg(input: WindowFigureInput, options: WindowFigureOptions = {}): string {
  const theme = options.theme ?? figureTheme();
  const fontSize = options.fontSize ?? 13;
  const cellW = fontSize * CHAR_WIDTH_EM;
  const lineH = Math.round(fontSize * 1.35);
  const trim = options.trim ?? true;
  const showCursor = options.cursor ?? true;
  const captions = options.captions === undefined ? { upper: 'application', lower: 'state and firewall' } : options.captions;

  const boxes: PaneBox[] = [];
  let cols = 0;
  for (const [which, screen] of [['upper', input.upper], ['lower', input.lower]] as const) {
    const shown = trim ? usedExtent({ ...screen, cursor: { ...screen.cursor, visible: screen.cursor.visible && showCursor } }) : { firstRow: 0, lastRow: screen.rows - 1, cols: screen.cols };
    const rowCount = Math.max(1, shown.lastRow - shown.firstRow + 1);
    cols = Math.max(cols, trim ? shown.cols : screen.cols);
    boxes.push({ screen, firstRow: Math.max(0, shown.firstRow), rowCount, ...(captions ? { caption: captions[which] } : {}) });
  }
  // Wide enough for the text, the title, and a readable minimum (40 columns).
  const titleText = input.title;
  const subtitle = input.subtitle ?? '';
  const titleW = textWidth(titleText, 13) + (subtitle ? textWidth(subtitle, 12) + 40 : 0) + 2 * PAD_X;
  const width = Math.ceil(Math.max(Math.max(cols, 40) * cellW + 2 * PAD_X, titleW));

  const parts: string[] = [];
  let y = TITLE_HEIGHT;
  const paneParts: string[] = [];
  boxes.forEach((box, index) => {
    if (index > 0) {
      paneParts.push(`<line x1="0" y1="${num(y)}" x2="${num(width)}" y2="${num(y)}" stroke="${theme.frame}" stroke-width="1.5"/>`);
    }
    let top = y;
    if (box.caption) {
      paneParts.push(`<text x="${num(width - PAD_X)}" y="${num(top + 13)}" font-size="10" fill="${theme.muted}" text-anchor="end">${escapeXml(box.caption)}</text>`);
      top += CAPTION_HEIGHT - PAD_Y + 2;
    }
    top += PAD_Y;
    paneParts.push(paneSvg(box, { x: PAD_X, y: top, cellW, lineH, fontSize, theme, showCursor, maxCols: Math.floor((width - 2 * PAD_X) / cellW) }));
    y = top + box.rowCount * lineH + PAD_Y;
  });
  const height = Math.ceil(y);

  parts.push(`<rect x="0.75" y="0.75" width="${num(width - 1.5)}" height="${num(height - 1.5)}" rx="7" fill="${theme.paneBg}" stroke="${theme.frame}" stroke-width="1.5"/>`);
  parts.push(`<path d="M0.75 ${TITLE_HEIGHT} V7.75 a7 7 0 0 1 7 -7 H${num(width - 7.75)} a7 7 0 0 1 7 7 V${TITLE_HEIGHT} Z" fill="${theme.titleBar}" stroke="${theme.frame}" stroke-width="1.5"/>`);
  parts.push(`<text x="${PAD_X}" y="${TITLE_HEIGHT / 2 + 4.5}" font-size="13" font-weight="700" fill="${theme.titleText}">${escapeXml(titleText)}</text>`);
  if (subtitle) parts.push(`<text x="${num(width - PAD_X)}" y="${TITLE_HEIGHT / 2 + 4}" font-size="12" fill="${theme.muted}" text-anchor="end">${escapeXml(subtitle)}</text>`);
  parts.push(...paneParts);
  return svgDocument(width, height, parts.join('\n'), `${titleText}${subtitle ? ` ${subtitle}` : ''}`);
}

interface PaneLayout {
  x: number;
  y: number;
  cellW: number;
  lineH: number;
  fontSize: number;
  theme: FigureTheme;
  showCursor: boolean;
  maxCols: number;
}

function paneSvg(box: PaneBox, layout: PaneLayout): string {
  const { x, y, cellW, lineH, fontSize, theme, maxCols } = layout;
  const out: string[] = [];
  const texts: string[] = [];
  const baseline = (row: number): number => y + row * lineH + lineH / 2 + fontSize * 0.36;
  for (let r = 0; r < box.rowCount; r++) {
    const runs: TextRun[] = box.screen.lines[box.firstRow + r] ?? [];
    for (const run of runs) {
      if (run.col >= maxCols) continue;
      const inverse = run.inverse === true;
      let fg = resolve(run.fg, theme.paneFg, theme, run.bold);
      let bg = run.bg === undefined ? undefined : resolve(run.bg, theme.paneBg, theme);
      if (inverse) [fg, bg] = [bg ?? theme.paneBg, fg];
      const cells = Math.min(run.cells, maxCols - run.col);
      const rx = x + run.col * cellW;
      if (bg !== undefined) out.push(`<rect x="${num(rx)}" y="${num(y + r * lineH)}" width="${num(cells * cellW)}" height="${lineH}" fill="${bg}"/>`);
      const text = run.text.trimEnd();
      if (text === '') continue;
      const attrs = [`x="${num(rx)}"`, `y="${num(baseline(r))}"`];
      if (fg !== theme.paneFg) attrs.push(`fill="${fg}"`);
      if (run.bold) attrs.push('font-weight="700"');
      if (run.italic) attrs.push('font-style="italic"');
      if (run.underline) attrs.push('text-decoration="underline"');
      if (run.dim) attrs.push('opacity="0.6"');
      texts.push(`<text ${attrs.join(' ')}>${escapeXml(text)}</text>`);
    }
  }
  const cursor = box.screen.cursor;
  if (layout.showCursor && cursor.visible && cursor.row >= box.firstRow && cursor.row < box.firstRow + box.rowCount && cursor.col < maxCols) {
    out.push(`<rect x="${num(x + cursor.col * cellW)}" y="${num(y + (cursor.row - box.firstRow) * lineH + 1)}" width="${num(cellW)}" height="${lineH - 2}" fill="${theme.cursor}" opacity="0.55"/>`);
  }
  return [...out, // Runs of spaces are the terminal's layout: xml:space for SVG renderers, white-space for
  // browsers (HTML's parser ignores xml:space in inline SVG).
  `<g font-size="${fontSize}" fill="${theme.paneFg}" xml:space="preserve" style="white-space:pre">`, ...texts, '</g>'].join('\n');
}
