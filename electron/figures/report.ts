/**
 * `tcplab report`: one self-contained HTML file for a recorded run: what the experiment shows
 * (its explanation and steps), the figures inline (SVG, with the figure font embedded), each
 * host's states, and the panes' transcripts. It makes no request of any kind (a CSP forbids
 * them), so it opens offline, and its print styles give a clean PDF (white pages, figures kept
 * whole, sections starting where they should).
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Experiment } from '../../shared/src/experiment-schema';
import { escapeXml } from '../../shared/src/figures/svg';
import { timeOfDay } from '../../shared/src/figures/instant';
import { findExperiment } from '../lab/builtin-experiments';
import { paneTranscript } from './pane-screens';
import { FONTS_DIR } from './png';
import { buildFigures, resolveTimes, type FigureRequest } from './run-figures';
import { readRun, type RunRecord } from './run-record';

const esc = escapeXml;

function fontFaces(): string {
  return [['Regular-latin', 400], ['Bold-latin', 700]]
    .map(([file, weight]) => {
      const data = readFileSync(join(FONTS_DIR, `JetBrainsMono-${file}.ttf`)).toString('base64');
      return `@font-face{font-family:'JetBrains Mono';font-weight:${weight};src:url(data:font/ttf;base64,${data}) format('truetype')}`;
    })
    .join('\n');
}

const STYLE = `
:root{color-scheme:light}
body{font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;color:#1f2328;background:#fff;max-width:60rem;margin:2rem auto;padding:0 1.5rem}
h1{font-size:1.7rem;margin:0 0 .25rem}h2{font-size:1.25rem;margin:2rem 0 .6rem;border-bottom:1px solid #d0d7de;padding-bottom:.2rem}
h3{font-size:1.05rem;margin:1.2rem 0 .4rem}
.meta{color:#656d76;margin:0 0 1rem}.pass{color:#1a7f37;font-weight:700}.fail{color:#c62828;font-weight:700}
figure{margin:1.2rem 0;break-inside:avoid;page-break-inside:avoid}figure svg{max-width:100%;height:auto;display:block}
figcaption{color:#656d76;font-size:.9rem;margin-top:.4rem}
table{border-collapse:collapse;font-size:.9rem;margin:.4rem 0 1rem}th,td{border:1px solid #d0d7de;padding:.2rem .6rem;text-align:left}th{background:#f6f8fa}
code,pre,td.mono{font-family:'JetBrains Mono',monospace;font-size:.85rem}
pre{background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;padding:.6rem .8rem;white-space:pre-wrap;word-break:break-all}
ol.steps li{margin:.2rem 0}.explain{color:#444}
@page{size:A4;margin:14mm}
@media print{body{margin:0;max-width:none;padding:0;font-size:11pt}h2{break-after:avoid;page-break-after:avoid}
 section.figures,section.transcripts{break-before:page;page-break-before:always}pre{break-inside:auto}
 a{color:inherit;text-decoration:none}}
`;

/** The experiment the log names, if the library has it (a user experiment file may be elsewhere). */
function experimentOf(run: RunRecord): Experiment | undefined {
  const id = run.start.experiment ?? run.result?.experiment;
  if (!id) return undefined;
  try {
    return findExperiment(id);
  } catch {
    return undefined;
  }
}

/** A step's text with the run's values: `{port}`, `{client.address}`, `{server.address}`. */
function filler(run: RunRecord): (text: string) => string {
  const port = run.start.port;
  const addressOf = (role: string): string | undefined => {
    const label = Object.entries(run.result?.hosts ?? {}).find(([, host]) => host.role === role)?.[0];
    return run.start.hosts.find((h) => h.label === label)?.experimentAddress;
  };
  return (text) =>
    text
      .replaceAll('{port}', port === undefined ? '{port}' : String(port))
      .replace(/\{(client|server)\.address\}/g, (whole, role: string) => addressOf(role) ?? whole);
}

export async function buildReport(runDir: string, request: Pick<FigureRequest, 'at'> = {}): Promise<string> {
  const run = readRun(runDir);
  const times = resolveTimes(run, request);
  const figures = await buildFigures(run, request);
  const experiment = experimentOf(run);
  const port = run.start.port;
  const fill = filler(run);
  const id = run.start.experiment ?? run.result?.experiment ?? 'session';
  const title = experiment ? experiment.title : id;
  const date = new Date(run.start.t).toISOString().slice(0, 10);
  const passed = run.result?.passed;

  const html: string[] = [];
  html.push('<!doctype html><html lang="en"><head><meta charset="utf-8">');
  html.push(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; font-src data:; img-src data:">`);
  html.push('<meta name="viewport" content="width=device-width, initial-scale=1">');
  html.push(`<title>${esc(`TCP Lab — ${title}`)}</title><style>${fontFaces()}${STYLE}</style></head><body>`);
  html.push(`<header><h1>${esc(title)}</h1>`);
  html.push(`<p class="meta">TCP Lab session ${esc(run.start.sessionId)}, ${date}, ${timeOfDay(run.start.t, run.utcOffsetMin, 0)} (hosts' time)${port !== undefined ? `, port ${port}` : ''}. `);
  html.push(run.start.hosts.map((h) => `${esc(h.label)}: ${esc(`${h.user}@${h.address}`)} (experiment address ${esc(h.experimentAddress)})`).join('; '));
  if (passed !== undefined) html.push(`. Result: <span class="${passed ? 'pass' : 'fail'}">${passed ? 'passed' : 'FAILED'}</span>.`);
  html.push('</p></header>');

  html.push('<section class="explanation"><h2>What the experiment shows</h2>');
  if (experiment) {
    for (const paragraph of fill(experiment.explanation).split(/\n\s*\n/)) html.push(`<p>${esc(paragraph.trim().replace(/\s*\n\s*/g, ' '))}</p>`);
  } else {
    html.push(`<p>The experiment "${esc(id)}" is not in this installation's library; its explanation is not available.</p>`);
  }
  const steps = run.events.filter((e) => e.type === 'step' && e.phase !== 'end').map((e) => e as Extract<typeof e, { type: 'step' }>);
  if (steps.length > 0) {
    html.push('<h3>Steps, as run</h3><ol class="steps">');
    for (const step of steps.filter((s) => s.phase === 'start')) {
      const failed = steps.find((s) => s.phase === 'failed' && s.index === step.index);
      html.push(`<li><code>${esc(fill(step.summary))}</code>${step.explain ? ` <span class="explain">— ${esc(fill(step.explain))}</span>` : ''}${failed ? ` <span class="fail">failed: ${esc(failed.detail ?? '')}</span>` : ''}</li>`);
    }
    html.push('</ol>');
  }
  html.push('</section>');

  html.push('<section class="states"><h2>States per host</h2>');
  if (run.result) {
    for (const [label, host] of Object.entries(run.result.hosts)) {
      const expected = host.expected?.noConnection ? 'expected no connection on the port' : host.expected ? `expected ${host.expected.passes.join(' → ')}${host.expected.endsIn ? `, ending in ${host.expected.endsIn}` : ''}` : 'nothing promised';
      html.push(`<h3>${esc(label)}${host.role ? ` (${host.role})` : ''}: <span class="${host.passed ? 'pass' : 'fail'}">${host.passed ? 'as expected' : 'not as expected'}</span> <small>(${esc(expected)})</small></h3>`);
      if (host.reason) html.push(`<p class="fail">${esc(host.reason)}</p>`);
      const earlier = new Set(host.earlier ?? []);
      for (const c of [...host.connections, ...earlier]) {
        const note = earlier.has(c) ? ' <small>(on the port before the run; not judged)</small>' : '';
        html.push(`<table><caption><span class="mono">${esc(`${c.local} → ${c.remote}`)}</span>${note}</caption><tr><th>state</th><th>host time</th><th>seen by</th></tr>`);
        for (const s of c.states) html.push(`<tr><td class="mono">${esc(s.state)}</td><td class="mono">${esc(s.hostTime)}</td><td>${esc(s.seen)}</td></tr>`);
        html.push('</table>');
      }
    }
  } else {
    html.push('<p>This run has no result.json (it did not finish); the figures and transcripts show what was recorded.</p>');
  }
  html.push('</section>');

  html.push(`<section class="figures"><h2>Figures</h2><p class="meta">Windows and state diagram at ${timeOfDay(times.atMs, run.utcOffsetMin)}; timeline from ${timeOfDay(times.fromMs, run.utcOffsetMin)} to ${timeOfDay(times.toMs, run.utcOffsetMin)}.</p>`);
  figures.forEach((figure, i) => {
    // Inline SVG: vector in print. The XML prolog-free documents embed as they are.
    html.push(`<figure id="${esc(figure.name)}">${figure.svg}<figcaption>Figure ${i + 1}. ${esc(figure.caption)}</figcaption></figure>`);
  });
  html.push('</section>');

  html.push('<section class="transcripts"><h2>Transcripts</h2>');
  for (const { label } of run.start.hosts) {
    for (const pane of ['upper', 'lower'] as const) {
      const text = await paneTranscript(run.events, label, pane);
      if (text === null) continue;
      html.push(`<h3>${esc(label)}, ${pane} pane (${pane === 'upper' ? 'application' : 'state and firewall'})</h3><pre>${esc(text)}</pre>`);
    }
  }
  html.push('</section>');
  html.push(`<footer class="meta"><p>Made by TCP Lab from the session log (${esc(join(runDir, 'session.jsonl'))}).</p></footer>`);
  html.push('</body></html>');
  return `${html.join('\n')}\n`;
}

export async function writeReport(runDir: string, outFile: string, request: Pick<FigureRequest, 'at'> = {}): Promise<string> {
  const html = await buildReport(runDir, request);
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, html);
  return outFile;
}
