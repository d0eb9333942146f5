/**
 * The window's size and position, remembered between runs (a JSON file in userData). Pure Node:
 * the main process passes Electron's displays in, so a position on a monitor that is no longer
 * attached is never restored off screen.
 */
import { readFileSync, writeFileSync } from 'node:fs';

export interface WindowState {
  x?: number;
  y?: number;
  width: number;
  height: number;
  maximized: boolean;
}

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export const DEFAULT_WINDOW: WindowState = { width: 1280, height: 800, maximized: false };
const MIN = { width: 900, height: 600 };

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && Math.abs(v) < 100_000;
}

/** The saved state if it is one, else the default (a broken file is not an error). */
export function parseWindowState(text: string | undefined): WindowState {
  if (text === undefined) return DEFAULT_WINDOW;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return DEFAULT_WINDOW;
  }
  if (typeof raw !== 'object' || raw === null) return DEFAULT_WINDOW;
  const r = raw as Record<string, unknown>;
  if (!isInt(r.width) || !isInt(r.height)) return DEFAULT_WINDOW;
  const state: WindowState = { width: Math.max(MIN.width, r.width), height: Math.max(MIN.height, r.height), maximized: r.maximized === true };
  if (isInt(r.x) && isInt(r.y)) {
    state.x = r.x;
    state.y = r.y;
  }
  return state;
}

/** Drops the position unless the window's title bar area lands on one of the displays' work areas. */
export function fitToDisplays(state: WindowState, workAreas: readonly Rect[]): WindowState {
  if (state.x === undefined || state.y === undefined) return state;
  const { x, y } = state;
  const visible = workAreas.some((a) => x + 100 > a.x && x < a.x + a.width - 100 && y >= a.y && y < a.y + a.height - 50);
  if (visible) return state;
  return { width: state.width, height: state.height, maximized: state.maximized };
}

export function loadWindowState(file: string): WindowState {
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    text = undefined;
  }
  return parseWindowState(text);
}

export function saveWindowState(file: string, state: WindowState): void {
  try {
    writeFileSync(file, `${JSON.stringify(state)}\n`, { mode: 0o600 });
  } catch {
    // Not remembering the window's place is no reason to fail quitting.
  }
}
