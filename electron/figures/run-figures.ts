/**
 * The figures of a recorded run, built from its session log alone (no hosts, no display, no
 * Electron): (a) each host's window at an instant, (b) the timeline, (c) the state diagram with
 * each host's path. `tcplab figures`, `tcplab run --out`, the report and the app use this.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TcpState } from '../../shared/src/tcp-states';
import { parseInstant, timeOfDay } from '../../shared/src/figures/instant';
import { renderWindowSvg } from '../../shared/src/figures/window-figure';
import { figureTheme, type FigureThemeName } from '../../shared/src/figures/theme';
import { FONT_FAMILY } from '../../shared/src/figures/svg';
import { blankScreen } from '../../shared/src/figures/terminal-screen';
import { renderTimelineSvg, timelineFromEvents } from '../../shared/src/figures/timeline-figure';
import { connectionStates, renderStateDiagramSvg } from '../../shared/src/state-diagram';
import { paneScreenAt } from './pane-screens';
import { svgToPng, DEFAULT_SCALE } from './png';
import { readRun, type RunRecord } from './run-record';

export interface FigureRequest {
  /** Instant of the window figures and the state diagram (see shared/src/figures/instant.ts); default: the end of the experiment. */
  at?: string;
  /** Time range of the timeline; default: the experiment, first step to last. */
  from?: string;
  to?: string;
  theme?: FigureThemeName;
  /** PNG scale (default 2). */
  scale?: number;
}

export interface Figure {
  /** File name without extension: `h1-window`, `timeline`, `state-diagram`. */
  name: string;
  /** A caption for reports. */
  caption: string;
  svg: string;
}

export interface ResolvedTimes {
  atMs: number;
  fromMs: number;
  toMs: number;
}

/** The request's instants in epoch ms; InstantError (naming the value and the forms) on bad input. */
export function resolveTimes(run: RunRecord, request: FigureRequest): ResolvedTimes {
  const context = { startMs: run.start.t, utcOffsetMin: run.utcOffsetMin };
  const atMs = request.at !== undefined ? parseInstant(request.at, context, '--at') : run.experimentEndMs;
  const fromMs = request.from !== undefined ? parseInstant(request.from, context, '--from') : run.experimentStartMs;
  const toMs = request.to !== undefined ? parseInstant(request.to, context, '--to') : request.at !== undefined ? Math.max(atMs, fromMs) : run.experimentEndMs;
  if (toMs <= fromMs) throw new RangeError(`--to (${timeOfDay(toMs, run.utcOffsetMin)}) must be after --from (${timeOfDay(fromMs, run.utcOffsetMin)})`);
  return { atMs, fromMs, toMs };
}

export async function windowFigure(run: RunRecord, host: string, atMs: number, themeName: FigureThemeName = 'light'): Promise<Figure> {
  const info = run.start.hosts.find((h) => h.label === host);
  const upper = (await paneScreenAt(run.events, host, 'upper', atMs)) ?? blankScreen(80, 1);
  const lower = (await paneScreenAt(run.events, host, 'lower', atMs)) ?? blankScreen(80, 1);
  const at = timeOfDay(atMs, run.utcOffsetMin);
  const svg = renderWindowSvg(
    { title: `${host} — ${info ? `${info.user}@${info.address}` : host}`, subtitle: at, upper, lower },
    { theme: figureTheme(themeName) },
  );
  return { name: `${host.toLowerCase()}-window`, caption: `${host}'s window at ${at}: upper pane the application, lower pane state and firewall.`, svg };
}

/** Each host's states up to `atMs` (its latest connection, led in from CLOSED as the diagram draws it). */
export function hostPaths(run: RunRecord, atMs: number): Record<string, TcpState[]> {
  const paths: Record<string, TcpState[]> = {};
  for (const { label } of run.start.hosts) {
    const transitions = run.events.filter((e) => e.type === 'transition' && e.host === label && e.t <= atMs).map((e) => e as Extract<typeof e, { type: 'transition' }>);
    transitions.sort((a, b) => a.hostTimeUs - b.hostTimeUs);
    paths[label] = connectionStates(transitions);
  }
  return paths;
}

export function stateDiagramFigure(run: RunRecord, atMs: number, themeName: FigureThemeName = 'light'): Figure {
  const paths = hostPaths(run, atMs);
  const described = Object.entries(paths).map(([host, states]) => `${host}: ${states.length > 0 ? states.join(' → ') : 'no connection'}`);
  const svg = renderStateDiagramSvg({
    theme: themeName,
    paths,
    title: `TCP states at ${timeOfDay(atMs, run.utcOffsetMin)} — ${Object.keys(paths).join(' and ')}`,
    fontFamily: FONT_FAMILY,
  });
  return { name: 'state-diagram', caption: `The TCP state diagram with the path each host took (${described.join('; ')}).`, svg };
}

export function timelineFigure(run: RunRecord, fromMs: number, toMs: number, themeName: FigureThemeName = 'light'): Figure {
  const svg = renderTimelineSvg(timelineFromEvents(run.events, { hosts: run.start.hosts.map((h) => h.label), fromMs, toMs, utcOffsetMin: run.utcOffsetMin }), { theme: figureTheme(themeName) });
  return { name: 'timeline', caption: `Timeline from ${timeOfDay(fromMs, run.utcOffsetMin)} to ${timeOfDay(toMs, run.utcOffsetMin)}: each host's states, the packets between them numbered (n) where they leave and (n') where they arrive (a cross where one was dropped), commands and firewall changes; host times corrected by each host's clock offset (rows in order of time, not to scale).`, svg };
}

export async function buildFigures(run: RunRecord, request: FigureRequest = {}): Promise<Figure[]> {
  const { atMs, fromMs, toMs } = resolveTimes(run, request);
  const figures: Figure[] = [];
  for (const { label } of run.start.hosts) figures.push(await windowFigure(run, label, atMs, request.theme));
  figures.push(timelineFigure(run, fromMs, toMs, request.theme));
  figures.push(stateDiagramFigure(run, atMs, request.theme));
  return figures;
}

export interface WrittenFigure {
  name: string;
  files: string[];
  /** Time to build and write this figure's SVG and PNG, ms. */
  ms: number;
}

/** Writes `<name>.svg` and `<name>.png` for every figure of the run in `runDir` into `outDir`. */
export async function writeFigures(runDir: string, outDir: string, request: FigureRequest = {}): Promise<WrittenFigure[]> {
  const run = readRun(runDir);
  resolveTimes(run, request); // bad input fails before anything is written
  mkdirSync(outDir, { recursive: true });
  const written: WrittenFigure[] = [];
  for (const figure of await buildFigures(run, request)) {
    const t0 = performance.now();
    const svgFile = join(outDir, `${figure.name}.svg`);
    const pngFile = join(outDir, `${figure.name}.png`);
    writeFileSync(svgFile, figure.svg);
    writeFileSync(pngFile, svgToPng(figure.svg, request.scale ?? DEFAULT_SCALE));
    written.push({ name: figure.name, files: [svgFile, pngFile], ms: performance.now() - t0 });
  }
  return written;
}
