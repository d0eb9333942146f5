/**
 * The figures' two colour schemes. `light` is the default: handouts are printed, and a white page
 * with dark text prints cleanly in black and white too. `dark` looks like the app's panes.
 */
export type FigureThemeName = 'light' | 'dark';

export interface FigureTheme {
  name: FigureThemeName;
  /** Page (figure) background. */
  page: string;
  /** Ordinary text, secondary text, and hairlines. */
  text: string;
  muted: string;
  rule: string;
  /** Terminal window: frame, title bar, pane background, default foreground, cursor. */
  frame: string;
  titleBar: string;
  titleText: string;
  paneBg: string;
  paneFg: string;
  cursor: string;
  /** The 16 ANSI colours (0-7 normal, 8-15 bright). */
  ansi: readonly string[];
  /** The article's two paths in its Figure 2: active close purple, passive close orange. */
  active: string;
  passive: string;
  /** One colour per host in timelines and state-diagram paths (H1, H2, then others). */
  hosts: readonly string[];
  /** Dropped packets, connection loss. */
  danger: string;
}

export const LIGHT_THEME: FigureTheme = {
  name: 'light',
  page: '#ffffff',
  text: '#1f2328',
  muted: '#656d76',
  rule: '#d0d7de',
  frame: '#8c959f',
  titleBar: '#eaeef2',
  titleText: '#1f2328',
  paneBg: '#ffffff',
  paneFg: '#1f2328',
  cursor: '#8c959f',
  // Darkened where the usual values are unreadable on white (yellow, cyan, white).
  ansi: ['#1f2328', '#c62828', '#2e7d32', '#8d6e00', '#1565c0', '#8e24aa', '#00838f', '#6e7781',
    '#57606a', '#e53935', '#43a047', '#a07d00', '#1e88e5', '#ab47bc', '#0097a7', '#424a53'],
  active: '#7b3fb3',
  passive: '#e07b00',
  hosts: ['#1565c0', '#c2185b', '#2e7d32', '#6d4c41'],
  danger: '#c62828',
};

export const DARK_THEME: FigureTheme = {
  name: 'dark',
  page: '#0d1117',
  text: '#e6edf3',
  muted: '#8d96a0',
  rule: '#30363d',
  frame: '#30363d',
  titleBar: '#161b22',
  titleText: '#e6edf3',
  paneBg: '#0d1117',
  paneFg: '#e6edf3',
  cursor: '#8d96a0',
  ansi: ['#484f58', '#ff7b72', '#3fb950', '#d29922', '#58a6ff', '#bc8cff', '#39c5cf', '#b1bac4',
    '#6e7681', '#ffa198', '#56d364', '#e3b341', '#79c0ff', '#d2a8ff', '#56d4dd', '#ffffff'],
  active: '#bc8cff',
  passive: '#f0883e',
  hosts: ['#58a6ff', '#f778ba', '#56d364', '#d2a8ff'],
  danger: '#ff7b72',
};

export function figureTheme(name: FigureThemeName = 'light'): FigureTheme {
  return name === 'dark' ? DARK_THEME : LIGHT_THEME;
}

export function hostColor(theme: FigureTheme, index: number): string {
  return theme.hosts[index % theme.hosts.length]!;
}
