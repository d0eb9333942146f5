/**
 * Figures from real recorded runs (test/fixtures/sessions/, captured on the virtual lab with
 * `tcplab run lost-fin|normal-teardown --lab local --out DIR`): pane contents rebuilt with the
 * headless terminal, instants as users type them, and every figure's PNG compared with its
 * reference image (test/fixtures/figures/) pixel by pixel, tolerating anti-aliasing only.
 * UPDATE_FIGURES=1 rewrites the references (look at them before committing).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pixelmatch from 'pixelmatch';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { InstantError, parseInstant, promptUtcOffsetMinutes, timeOfDay } from '../../shared/src/figures/instant';
import { screenText } from '../../shared/src/figures/terminal-screen';
import { firewallSummary, timelineFromEvents } from '../../shared/src/figures/timeline-figure';
import { paneScreenAt, paneTranscript } from '../../electron/figures/pane-screens';
import { svgToPng } from '../../electron/figures/png';
import { buildFigures, hostPaths, windowFigure } from '../../electron/figures/run-figures';
import { readRun } from '../../electron/figures/run-record';
import { buildReport } from '../../electron/figures/report';
import { tcplab } from '../cli-runner';

const SESSIONS = resolve(__dirname, '../fixtures/sessions');
const REFERENCES = resolve(__dirname, '../fixtures/figures');
const UPDATE = process.env.UPDATE_FIGURES === '1';

/** Differing pixels beyond anti-aliasing, as a share of the image: a real change is far above. */
const MAX_DIFF_SHARE = 0.0005;

function comparePng(actual: Buffer, referenceFile: string): { differing: number; total: number; sizeMatches: boolean } {
  const a = PNG.sync.read(actual);
  const b = PNG.sync.read(readFileSync(referenceFile));
  if (a.width !== b.width || a.height !== b.height) return { differing: a.width * a.height, total: a.width * a.height, sizeMatches: false };
  // threshold: colour distance tolerated per pixel; includeAA false: anti-aliased pixels never count.
  const differing = pixelmatch(a.data, b.data, undefined, a.width, a.height, { threshold: 0.1, includeAA: false });
  return { differing, total: a.width * a.height, sizeMatches: true };
}

describe('pane screens rebuilt from the session log', () => {
  const run = readRun(join(SESSIONS, 'lost-fin'));
  const at = (clock: string): number => parseInstant(clock, { startMs: run.start.t, utcOffsetMin: run.utcOffsetMin });

  it('shows what H1 showed at the end: the ss line in FIN-WAIT-1 and the prompt', async () => {
    const lower = await paneScreenAt(run.events, 'H1', 'lower', run.experimentEndMs);
    const text = screenText(lower!);
    expect(text).toMatch(/^FIN-WAIT-1 +0 +1 +198\.18\.77\.1:57020 +198\.18\.77\.2:7777 +timer:\(persist/m);
    expect(text).toContain('[00:54:04] H1# date; ss -tano | grep 7777');
    // The 100-column pane wrapped the iptables command exactly as the terminal did.
    expect(text).toContain('--comment tc\nplab:76e328a9 -j DROP');
    expect(text).not.toContain('\x1b');
    expect(text).not.toContain('\r');
    expect(lower!.cursor).toEqual({ col: 15, row: text.trimEnd().split('\n').length - 1, visible: true });
  });

  it('shows an earlier instant without what came later', async () => {
    const before = screenText((await paneScreenAt(run.events, 'H1', 'upper', at('00:54:03')))!);
    expect(before).toContain('Hello');
    expect(before).not.toContain('^C');
    const after = screenText((await paneScreenAt(run.events, 'H1', 'upper', at('00:54:06')))!);
    expect(after).toContain('^C');
  });

  it('has no screen for a pane not yet opened, and a transcript of everything', async () => {
    expect(await paneScreenAt(run.events, 'H1', 'upper', run.start.t)).toBeNull();
    const transcript = await paneTranscript(run.events, 'H2', 'lower');
    expect(transcript).toContain('ESTAB  0      0        198.18.77.2:7777  198.18.77.1:57020');
  });
});

describe('instants', () => {
  const context = { startMs: Date.parse('2026-11-24T00:53:52.000Z'), utcOffsetMin: 0 };

  it('reads ISO times, times of day on the run\'s day, and offsets from the start', () => {
    expect(parseInstant('2026-11-24T00:54:06.5Z', context)).toBe(Date.parse('2026-11-24T00:54:06.500Z'));
    expect(parseInstant('2026-11-24T01:54:06.000250+01:00', context)).toBeCloseTo(Date.parse('2026-11-24T00:54:06.000Z') + 0.25, 6);
    expect(parseInstant('00:54:06.120345', context)).toBeCloseTo(Date.parse('2026-11-24T00:54:06.120Z') + 0.345, 6);
    expect(parseInstant('01:54:06', { ...context, utcOffsetMin: 60 })).toBe(Date.parse('2026-11-24T00:54:06Z'));
    expect(parseInstant('+1.5s', context)).toBe(context.startMs + 1500);
    expect(parseInstant('+250ms', context)).toBe(context.startMs + 250);
    expect(parseInstant('+2min', context)).toBe(context.startMs + 120_000);
    // A run that started just before midnight: 00:00:10 is the next day.
    const late = { startMs: Date.parse('2026-11-24T23:59:50Z'), utcOffsetMin: 0 };
    expect(parseInstant('00:00:10', late)).toBe(Date.parse('2026-11-25T00:00:10Z'));
  });

  it('rejects anything else, naming the value and the accepted forms', () => {
    for (const bad of ['yesterday', '25:00:00', '1.5s', '+1.5 s', '2026-11-24 00:54:06', '2026-11-24T00:54:06', '']) {
      expect(() => parseInstant(bad, context, '--at')).toThrow(InstantError);
      expect(() => parseInstant(bad, context, '--at')).toThrow(new RegExp(`--at "${bad.replace(/[.+*]/g, '\\$&')}".*ISO time.*HH:MM:SS.*\\+1\\.5s`));
    }
  });

  it('finds the hosts\' zone from the prompts', () => {
    const run = readRun(join(SESSIONS, 'lost-fin'));
    expect(promptUtcOffsetMinutes(run.events)).toBe(0);
    const shifted = run.events.map((e) => (e.type === 'pane-output' ? { ...e, data: e.data.replace(/\[00:(\d\d):(\d\d)\]/g, '[05:$1:$2]') } : e));
    expect(promptUtcOffsetMinutes(shifted)).toBe(300);
    expect(timeOfDay(Date.parse('2026-11-24T00:54:06.120Z'), 330)).toBe('06:24:06.120');
  });
});

describe('timeline and state-diagram inputs', () => {
  it('follows each host through the experiment\'s connection (not an earlier run\'s TIME_WAIT socket)', () => {
    const run = readRun(join(SESSIONS, 'normal-teardown'));
    const input = timelineFromEvents(run.events, { hosts: ['H1', 'H2'], fromMs: run.experimentStartMs, toMs: run.experimentEndMs, utcOffsetMin: 0 });
    const states = (host: string): string[] => input.rows.flatMap((r) => (r.kind === 'state' && r.host === host ? [r.state] : []));
    expect(states('H1')).toEqual(['SYN_SENT', 'ESTABLISHED', 'CLOSE_WAIT', 'LAST_ACK', 'CLOSED']);
    expect(states('H2')).toEqual(['LISTEN', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT']);
    expect(input.initial).toEqual({});
    // Ctrl-C is placed before the FIN_WAIT1 it causes.
    const kinds = input.rows.filter((r) => r.host === 'H2').map((r) => (r.kind === 'state' ? r.state : r.kind));
    expect(kinds.indexOf('ctrl-c')).toBe(kinds.indexOf('FIN_WAIT1') - 1);
    expect(hostPaths(run, run.experimentEndMs)).toEqual({
      H1: ['CLOSED', 'SYN_SENT', 'ESTABLISHED', 'CLOSE_WAIT', 'LAST_ACK', 'CLOSED'],
      H2: ['CLOSED', 'LISTEN', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT'],
    });
  });

  it('shows firewall rules in a few words, once', () => {
    expect(firewallSummary('iptables -w -A OUTPUT -p tcp --dport 7777 --tcp-flags FIN FIN -m comment --comment tcplab:76e328a9 -j DROP')).toBe('DROP OUTPUT dport 7777 [FIN]');
    const run = readRun(join(SESSIONS, 'lost-fin'));
    const input = timelineFromEvents(run.events, { hosts: ['H1', 'H2'], fromMs: run.experimentStartMs, toMs: run.experimentEndMs, utcOffsetMin: 0 });
    const marks = input.rows.flatMap((r) => (r.kind === 'state' ? [] : [r.text]));
    expect(marks.filter((m) => m.includes('iptables') || m.includes('firewall'))).toEqual(['firewall + DROP OUTPUT dport 7777 [FIN]']);
  });
});

describe('figures match their reference images', () => {
  for (const session of readdirSync(SESSIONS)) {
    it(`${session}: every figure, as PNG at 2x`, async () => {
      const figures = await buildFigures(readRun(join(SESSIONS, session)));
      expect(figures.map((f) => f.name)).toEqual(['h1-window', 'h2-window', 'timeline', 'state-diagram']);
      for (const figure of figures) {
        const png = svgToPng(figure.svg, 2);
        const file = join(REFERENCES, `${session}-${figure.name}.png`);
        if (UPDATE || !existsSync(file)) {
          if (!UPDATE) throw new Error(`no reference image ${file}; run with UPDATE_FIGURES=1 and look at it`);
          mkdirSync(REFERENCES, { recursive: true });
          writeFileSync(file, png);
          continue;
        }
        const { differing, total, sizeMatches } = comparePng(png, file);
        expect(sizeMatches, `${file}: size changed`).toBe(true);
        expect(differing / total, `${file}: ${differing} pixels differ`).toBeLessThanOrEqual(MAX_DIFF_SHARE);
      }
    }, 30_000);
  }

  it('fails on a real difference: the same window one command earlier', async () => {
    const run = readRun(join(SESSIONS, 'lost-fin'));
    // Before H2's last `ss`: the same size, the last lines differ.
    const earlier = await windowFigure(run, 'H2', parseInstant('00:54:06.3', { startMs: run.start.t, utcOffsetMin: 0 }));
    const reference = join(REFERENCES, 'lost-fin-h2-window.png');
    const result = comparePng(svgToPng(earlier.svg, 2), reference);
    expect(result.sizeMatches ? result.differing / result.total : 1).toBeGreaterThan(MAX_DIFF_SHARE * 10);
  }, 20_000);

  it('draws at 3x for large prints', async () => {
    const [figure] = await buildFigures(readRun(join(SESSIONS, 'lost-fin')));
    const two = PNG.sync.read(svgToPng(figure!.svg, 2));
    const three = PNG.sync.read(svgToPng(figure!.svg, 3));
    expect(three.width).toBe(Math.round((two.width * 3) / 2));
  }, 20_000);
});

describe('report', () => {
  it('is one self-contained HTML file: CSP, no external references, figures, states, transcripts, explanation', async () => {
    const html = await buildReport(join(SESSIONS, 'lost-fin'));
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; font-src data:; img-src data:"`);
    // The only URL is the SVG namespace (an identifier, never fetched); fonts are data: URLs.
    expect(html.match(/https?:\/\/[\w.-]+/g)?.filter((u) => u !== 'http://www.w3.org')).toEqual([]);
    expect(html.match(/url\((?!data:|#)/g)).toBeNull();
    expect(html).not.toMatch(/<(script|link|iframe|img)\b/);
    expect(html.match(/<svg /g)).toHaveLength(4);
    expect(html).toContain('Experiment 2: lost FIN');
    expect(html).toContain('drops every packet with the FIN flag that H1 sends to port 7777');
    expect(html).toContain('client upper: nc 198.18.77.2 7777');
    expect(html).toMatch(/<td class="mono">FIN_WAIT1<\/td><td class="mono">2026-11-24T00:54:04\.937758Z<\/td>/);
    expect(html).toContain('FIN-WAIT-1 0      1        198.18.77.1:57020');
    expect(html).toMatch(/@media print\{[^}]*body\{[^}]*\}/);
  }, 20_000);
});

describe('tcplab figures and report (the real command)', () => {
  it('writes SVG and PNG of every figure, and the report', () => {
    const out = mkdtempSync(join(tmpdir(), 'tcplab-figures-'));
    const figures = tcplab(['figures', join(SESSIONS, 'lost-fin'), '--at', '+10s', '--out', out]);
    expect(figures.stderr).toBe('');
    expect(figures.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['h1-window.png', 'h1-window.svg', 'h2-window.png', 'h2-window.svg', 'state-diagram.png', 'state-diagram.svg', 'timeline.png', 'timeline.svg']);
    expect(readFileSync(join(out, 'h1-window.svg'), 'utf8')).toContain('00:54:02.886');
    const report = tcplab(['report', join(SESSIONS, 'lost-fin'), '--out', join(out, 'r.html')]);
    expect(report.code).toBe(0);
    expect(readFileSync(join(out, 'r.html'), 'utf8')).toContain('<!doctype html>');
  }, 60_000);

  it('refuses a bad time, naming it and the accepted forms, and writes nothing', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'tcplab-figures-')), 'none');
    const result = tcplab(['figures', join(SESSIONS, 'lost-fin'), '--at', '4pm', '--out', out]);
    expect(result.code).toBe(64);
    expect(result.stderr).toMatch(/--at "4pm" is not a time; use an ISO time .*HH:MM:SS.*\+1\.5s/);
    expect(existsSync(out)).toBe(false);
    const noRun = tcplab(['figures', out]);
    expect(noRun.code).toBe(2);
    expect(noRun.stderr).toContain('no session.jsonl');
  }, 60_000);
});
