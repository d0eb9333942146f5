/**
 * Figure export time per figure kind (median of N), on the recorded lost-fin session:
 *   npm run bench:figures            (BENCH_RUNS=N for another count; default 7)
 * Each figure is built from the session log (for windows: the headless terminal replays the
 * panes) and rendered to PNG at 2x. The baseline, measured in the same run, is resvg alone
 * rasterising an SVG of the same size holding the same text with no layout (one <text> per
 * line of the figure's SVG, at the same positions): so the ratio says what the figure code adds
 * on top of the unavoidable rasterisation. Goal: under 1 s per figure.
 */
import { join } from 'node:path';
import { svgToPng } from '../electron/figures/png';
import { stateDiagramFigure, timelineFigure, windowFigure } from '../electron/figures/run-figures';
import { readRun } from '../electron/figures/run-record';

const runs = Number(process.env.BENCH_RUNS ?? 7);
const run = readRun(join(import.meta.dirname, '../test/fixtures/sessions/lost-fin'));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function time(body: () => Promise<unknown> | unknown): Promise<number> {
  const t0 = performance.now();
  await body();
  return performance.now() - t0;
}

/** The same canvas and the same strings, no layout: width/height and every <text> element kept. */
function baselineSvg(svg: string): string {
  const head = /<svg [^>]*>/.exec(svg)![0];
  const texts = svg.match(/<text [^>]*>[^<]*<\/text>/g) ?? [];
  return `${head}\n<rect width="100%" height="100%" fill="#fff"/>\n${texts.join('\n')}\n</svg>\n`;
}

const kinds: Array<[string, () => Promise<string>]> = [
  ['h1-window', async () => (await windowFigure(run, 'H1', run.experimentEndMs)).svg],
  ['h2-window', async () => (await windowFigure(run, 'H2', run.experimentEndMs)).svg],
  ['timeline', async () => timelineFigure(run, run.experimentStartMs, run.experimentEndMs).svg],
  ['state-diagram', async () => stateDiagramFigure(run, run.experimentEndMs).svg],
];

console.log(`figure export, median of ${runs} runs (session: lost-fin, ${run.events.length} events; PNG at 2x)`);
console.log(`${'figure'.padEnd(14)} ${'svg'.padStart(8)} ${'svg+png'.padStart(9)} ${'baseline'.padStart(9)}  ratio`);
await kinds[0]![1](); // warm-up: module loading, the font files, the terminal emulator's JIT
for (const [name, build] of kinds) {
  const svgTimes: number[] = [];
  const totalTimes: number[] = [];
  const baseTimes: number[] = [];
  for (let i = 0; i < runs; i++) {
    let svg = '';
    svgTimes.push(await time(async () => (svg = await build())));
    totalTimes.push(await time(async () => svgToPng(await build(), 2)));
    const base = baselineSvg(svg);
    baseTimes.push(await time(() => svgToPng(base, 2)));
  }
  const [s, t, b] = [median(svgTimes), median(totalTimes), median(baseTimes)];
  console.log(`${name.padEnd(14)} ${`${s.toFixed(0)} ms`.padStart(8)} ${`${t.toFixed(0)} ms`.padStart(9)} ${`${b.toFixed(0)} ms`.padStart(9)}  ${(t / b).toFixed(2)}x${t < 1000 ? '' : '  (over the 1 s goal)'}`);
}
