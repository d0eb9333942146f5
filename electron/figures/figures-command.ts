/**
 * `tcplab figures <run-dir>` and `tcplab report <run-dir>`: figures and the report of a recorded
 * run, from its folder alone (no hosts, no display, no Electron).
 */
import { parseArgs } from 'node:util';
import { resolve, join } from 'node:path';
import { InstantError } from '../../shared/src/figures/instant';
import { RunFolderError } from './run-record';
import { writeFigures, type FigureRequest } from './run-figures';
import { writeReport } from './report';

import { FIGURES_USAGE, REPORT_USAGE } from '../cli/usages';

export { FIGURES_USAGE, REPORT_USAGE };

/** Bad input: printed as `tcplab: <message>`, exit 64 like other usage errors. */
function fail(message: string, code = 64): number {
  console.error(`tcplab: ${message}`);
  return code;
}

function request(values: { at?: string; from?: string; to?: string; scale?: string; theme?: string }): FigureRequest | string {
  const req: FigureRequest = {};
  if (values.at !== undefined) req.at = values.at;
  if (values.from !== undefined) req.from = values.from;
  if (values.to !== undefined) req.to = values.to;
  if (values.scale !== undefined) {
    if (!/^[1-8](\.\d+)?$/.test(values.scale)) return `--scale must be a number from 1 to 8 (got "${values.scale}"); 2 is print resolution, 3 for large prints`;
    req.scale = Number(values.scale);
  }
  if (values.theme !== undefined) {
    if (values.theme !== 'light' && values.theme !== 'dark') return `--theme takes "light" or "dark" (got "${values.theme}")`;
    req.theme = values.theme;
  }
  return req;
}

async function guarded(body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof InstantError || error instanceof RangeError) return fail(error.message);
    if (error instanceof RunFolderError) return fail(error.message, 2);
    throw error;
  }
}

export async function figuresCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { at: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, out: { type: 'string' }, scale: { type: 'string' }, theme: { type: 'string' } },
  });
  if (positionals.length !== 1) return fail(`usage: tcplab ${FIGURES_USAGE}`);
  const req = request(values);
  if (typeof req === 'string') return fail(req);
  const runDir = resolve(positionals[0]!);
  const outDir = resolve(values.out ?? join(runDir, 'figures'));
  return guarded(async () => {
    for (const figure of await writeFigures(runDir, outDir, req)) {
      console.log(`${figure.name}: ${figure.files.join(', ')} (${figure.ms.toFixed(0)} ms)`);
    }
    return 0;
  });
}

export async function reportCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { out: { type: 'string' }, at: { type: 'string' } } });
  if (positionals.length !== 1) return fail(`usage: tcplab ${REPORT_USAGE}`);
  const runDir = resolve(positionals[0]!);
  const out = resolve(values.out ?? join(runDir, 'report.html'));
  return guarded(async () => {
    await writeReport(runDir, out, values.at !== undefined ? { at: values.at } : {});
    console.log(`report: ${out}`);
    return 0;
  });
}

/** After `tcplab run`: the run's figures in `<out>/figures/`. A failure here never fails the run. */
export async function runFigures(outDir: string, print: (line: string) => void): Promise<void> {
  try {
    const written = await writeFigures(outDir, join(outDir, 'figures'));
    print(`figures: ${written.map((f) => `${f.name}.svg/.png`).join(', ')} in ${join(outDir, 'figures')}`);
  } catch (error) {
    print(`figures: not written: ${(error as Error).message}`);
  }
}
