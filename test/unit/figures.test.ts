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
import type { LabEvent } from '../../shared/src/events';
import type { TcpFlag } from '../../shared/src/pcap';
import { buildTimeline } from '../../shared/src/timeline';
import { firewallSummary, renderTimelineSvg, timelineFromEvents } from '../../shared/src/figures/timeline-figure';
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
    const marks = input.rows.flatMap((r) => ('text' in r ? [r.text] : []));
    expect(marks.filter((m) => m.includes('iptables') || m.includes('firewall'))).toEqual(['firewall + DROP OUTPUT dport 7777 [FIN]']);
    // The recorded run with packets adds TCP Lab's own NFLOG rule before the DROP: not the experiment's, not shown.
    const withPackets = readRun(join(SESSIONS, 'lost-fin-figure'));
    expect(withPackets.events.some((e) => e.type === 'firewall' && e.command.includes('-j NFLOG'))).toBe(true);
    const packetMarks = timelineFromEvents(withPackets.events, { hosts: ['H1', 'H2'], fromMs: withPackets.experimentStartMs, toMs: withPackets.experimentEndMs, utcOffsetMin: 0 })
      .rows.flatMap((r) => (r.kind === 'firewall' ? [r.text] : []));
    expect(packetMarks).toEqual(['firewall + DROP OUTPUT dport 7777 [FIN]']);
  });
});

const unescapeXml = (text: string): string => text.replace(/&(amp|lt|gt|quot|apos);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" })[e]!);

/** The parts of a timeline SVG the tests look at, read back from the SVG text. */
function timelineParts(svg: string): {
  arrows: Array<{ number: number; dropped: boolean; line: { x1: number; y1: number; x2: number; y2: number }; text: string }>;
  labels: Array<{ text: string; x: number; y: number }>;
  crosses: Array<{ x: number; y: number }>;
  states: Array<{ text: string; y: number }>;
  clocks: string[];
} {
  const arrows = [...svg.matchAll(/<g class="packet( dropped)?" data-number="(\d+)">([\s\S]*?)<\/g>/g)].map((m) => {
    const line = /<line x1="([\d.]+)" y1="([\d.]+)" x2="([\d.]+)" y2="([\d.]+)"/.exec(m[3]!)!;
    const text = unescapeXml(/<text [^>]*>([^<]*)<\/text>/.exec(m[3]!)![1]!);
    return { number: Number(m[2]), dropped: m[1] !== undefined, line: { x1: Number(line[1]), y1: Number(line[2]), x2: Number(line[3]), y2: Number(line[4]) }, text };
  });
  const labels = [...svg.matchAll(/<text class="packet-label" x="([\d.]+)" y="([\d.]+)"[^>]*>([^<]*)<\/text>/g)].map((m) => ({ text: unescapeXml(m[3]!), x: Number(m[1]), y: Number(m[2]) }));
  const crosses = [...svg.matchAll(/<path class="drop" d="M([\d.]+) ([\d.]+)L([\d.]+) ([\d.]+)/g)].map((m) => ({ x: (Number(m[1]) + Number(m[3])) / 2, y: (Number(m[2]) + Number(m[4])) / 2 }));
  const states = [...svg.matchAll(/<text class="state" x="[\d.]+" y="([\d.]+)"[^>]*>([^<]*)<\/text>/g)].map((m) => ({ text: unescapeXml(m[2]!), y: Number(m[1]) }));
  const clocks = [...svg.matchAll(/<text class="clock"[^>]*>([^<]*)<\/text>/g)].map((m) => unescapeXml(m[1]!));
  return { arrows, labels, crosses, states, clocks };
}

/** x of each lane's line (H1 first), from the SVG. */
function laneCenters(svg: string): number[] {
  return [...svg.matchAll(/<line x1="([\d.]+)" y1="\d+" x2="\1" y2="[\d.]+" stroke="#[0-9a-f]+" stroke-width="1"\/>/g)].map((m) => Number(m[1]));
}

describe('timeline with packets (runs recorded with tcpdump on both hosts)', () => {
  const figureOf = (session: string, options: { seqAck?: boolean } = {}): { svg: string; model: ReturnType<typeof buildTimeline>; run: ReturnType<typeof readRun> } => {
    const run = readRun(join(SESSIONS, session));
    const input = timelineFromEvents(run.events, { hosts: ['H1', 'H2'], fromMs: run.experimentStartMs, toMs: run.experimentEndMs, utcOffsetMin: run.utcOffsetMin });
    return { svg: renderTimelineSvg(input, options), model: buildTimeline(run.events), run };
  };

  it('lost-fin: an arrow per packet, (1)..(n) where each leaves, (n\') where each arrives, and a cross at H1 for every FIN it dropped', () => {
    const { svg, model, run } = figureOf('lost-fin-figure');
    const parts = timelineParts(svg);
    const [h1, h2] = laneCenters(svg);
    expect(h1).toBeLessThan(h2!);
    // The packets the figure should show: those the model has leaving within the experiment.
    const expected = model.packets.filter((p) => p.startUs >= run.experimentStartMs * 1000 && p.startUs <= run.experimentEndMs * 1000).sort((a, b) => a.number - b.number);
    expect(expected.length).toBeGreaterThanOrEqual(8);
    expect(parts.arrows.map((a) => a.number)).toEqual(expected.map((p) => p.number));
    // Numbered from (1), as the article does, with no gaps.
    expect(expected.map((p) => p.number)).toEqual(expected.map((_, i) => i + 1));
    const received = expected.filter((p) => p.to && !p.dropped);
    const dropped = expected.filter((p) => p.dropped);
    expect(parts.labels.map((l) => l.text).filter((t) => !t.includes("'")).sort()).toEqual(expected.map((p) => p.label).sort());
    expect(parts.labels.map((l) => l.text).filter((t) => t.includes("'")).sort()).toEqual(received.map((p) => p.receiptLabel).sort());
    // The handshake, then the FIN that H1's firewall eats: (n) FIN,ACK, never arriving at H2.
    expect(parts.arrows.slice(0, 3).map((a) => a.text.split(' ')[0])).toEqual(['SYN', 'SYN,ACK', 'ACK']);
    expect(dropped.length).toBeGreaterThanOrEqual(1);
    const firstFin = expected.find((p) => p.flags.includes('FIN'))!;
    expect(firstFin.dropped).toBeDefined();
    expect(parts.arrows.find((a) => a.number === firstFin.number)!.text).toMatch(/^FIN,ACK seq=7 ack=7 · dropped by H1$/);
    // One cross per dropped packet, every one a FIN from H1 that died at H1: beside H1's lane, not at H2.
    expect(parts.crosses).toHaveLength(dropped.length);
    for (const p of dropped) {
      expect(p.flags).toContain('FIN');
      expect(p).toMatchObject({ from: { host: 'H1' }, dropped: { host: 'H1' } });
      expect(p.to).toBeUndefined();
    }
    for (const c of parts.crosses) {
      expect(c.x).toBeGreaterThan(h1!);
      expect(c.x).toBeLessThan(h1! + (h2! - h1!) / 4);
    }
    // Arrows go from the sender's lane to the receiver's, slanting down to the row of receipt.
    for (const a of parts.arrows.filter((x) => !x.dropped)) {
      const p = expected.find((x) => x.number === a.number)!;
      const [fromX, toX] = p.from!.host === 'H1' ? [h1!, h2!] : [h2!, h1!];
      expect(Math.abs(a.line.x1 - fromX)).toBeLessThan(12);
      expect(Math.abs(a.line.x2 - toX)).toBeLessThan(20);
      expect(a.line.y2).toBeGreaterThan(a.line.y1);
    }
    // H2 never gets a FIN during the experiment: no (n') for any FIN.
    expect(parts.labels.filter((l) => l.text.includes("'")).map((l) => Number(l.text.slice(1, -2)))).not.toContain(firstFin.number);
  });

  it('shows each host\'s clock offset: the SSH estimate, refined by the packets', () => {
    const { svg, model } = figureOf('lost-fin-figure');
    const shown = timelineParts(svg).clocks;
    const expected = model.lanes.map((l) => {
      const ms = l.offsetMs - l.correctionUs / 1000;
      return `clock offset ${ms < 0 && Math.abs(ms).toFixed(3) !== '0.000' ? '−' : '+'}${Math.abs(ms).toFixed(3)} ms`;
    });
    expect(shown).toEqual(expected);
    for (const lane of model.lanes) expect(svg).toContain(`(SSH ${lane.offsetMs < 0 ? '−' : '+'}${Math.abs(lane.offsetMs).toFixed(3)} ms, packets`);
  });

  it('normal-teardown: the article\'s Experiment 1, each state drawn after the packet that caused it', () => {
    const { svg, model, run } = figureOf('normal-teardown-figure');
    const parts = timelineParts(svg);
    expect(parts.crosses).toEqual([]);
    const flagsOf = parts.arrows.map((a) => a.text.split(' ')[0]);
    // Handshake, "Hello" each way with its ACK, then H2 closes: FIN (n) to H1, ACK, H1's FIN, ACK.
    expect(flagsOf.slice(0, 3)).toEqual(['SYN', 'SYN,ACK', 'ACK']);
    expect(flagsOf.slice(-4)).toEqual(['FIN,ACK', 'ACK', 'FIN,ACK', 'ACK']);
    const byNumber = new Map(model.packets.map((p) => [p.number, p]));
    const teardown = parts.arrows.slice(-4).map((a) => byNumber.get(a.number)!);
    expect(teardown.map((p) => `${p.from!.host}>${p.to!.host}`)).toEqual(['H2>H1', 'H1>H2', 'H1>H2', 'H2>H1']);
    const y = (text: string): number => parts.labels.find((l) => l.text === text)!.y;
    const stateY = (state: string): number => parts.states.find((s) => s.text.replace('*', '') === state)!.y;
    // As the article tells it: H2 enters FIN_WAIT1 and sends FIN (1); H1 receives it (1') and enters CLOSE_WAIT; ...
    const [fin, ack, fin2, ack2] = teardown;
    expect(stateY('FIN_WAIT1')).toBeLessThan(y(fin!.label));
    expect(y(fin!.receiptLabel)).toBeLessThan(stateY('CLOSE_WAIT'));
    expect(y(ack!.receiptLabel)).toBeLessThan(stateY('FIN_WAIT2'));
    expect(stateY('LAST_ACK')).toBeLessThan(y(fin2!.label));
    expect(y(ack2!.receiptLabel)).toBeLessThan(stateY('CLOSED'));
    // The handshake: SYN_RECV after (1'), H1's ESTABLISHED after (2').
    const [syn, synAck] = parts.arrows.slice(0, 2).map((a) => byNumber.get(a.number)!);
    expect(y(syn!.receiptLabel)).toBeLessThan(stateY('SYN_RECV'));
    expect(y(synAck!.receiptLabel)).toBeLessThan(parts.states.filter((s) => s.text.startsWith('ESTABLISHED')).map((s) => s.y).sort((a, b) => a - b)[0]!);
    // Only states the tracer stamped just before their cause are moved, and they are marked.
    expect(svg).toContain('drawn after the packet that caused it');
    expect(run.result?.passed).toBe(true);
  });

  it('draws flags only when asked (as the article does)', () => {
    const { svg } = figureOf('normal-teardown-figure', { seqAck: false });
    expect(svg).not.toContain('seq=');
    expect(timelineParts(svg).arrows[0]!.text).toBe('SYN');
  });

  it('a packet dropped on the way in ends in a cross at the receiver, with no (n\')', () => {
    const t0 = 1_795_000_000_000;
    const hostUs = (ms: number): number => (t0 + ms) * 1000;
    const base = { local: '10.0.0.2:7777', remote: '10.0.0.1:40000', flags: ['SYN'] as TcpFlag[], tcpSeq: 100, tcpAck: 0, length: 0 };
    const events = [
      { type: 'session-start', sessionId: 's', tool: 'tcplab', hosts: [{ label: 'H1', address: 'a', experimentAddress: '10.0.0.1', user: 'u' }, { label: 'H2', address: 'b', experimentAddress: '10.0.0.2', user: 'u' }] },
      { type: 'clock', host: 'H1', offsetMs: 0, rttMs: 0.3 },
      { type: 'clock', host: 'H2', offsetMs: 0, rttMs: 0.3 },
      { type: 'packet', host: 'H1', hostTimeUs: hostUs(10), direction: 'out', local: base.remote, remote: base.local, flags: base.flags, tcpSeq: 100, tcpAck: 0, length: 0 },
      { type: 'packet', host: 'H2', hostTimeUs: hostUs(10.05), direction: 'in', ...base },
      { type: 'packet', host: 'H2', hostTimeUs: hostUs(10.06), direction: 'in', ...base, dropped: true },
    ].map((e, seq) => ({ seq, t: t0 + seq, ...e }) as LabEvent);
    const input = timelineFromEvents(events, { hosts: ['H1', 'H2'], fromMs: t0, toMs: t0 + 20, utcOffsetMin: 0 });
    const svg = renderTimelineSvg(input);
    const parts = timelineParts(svg);
    const [, h2] = laneCenters(svg);
    expect(parts.arrows).toHaveLength(1);
    expect(parts.arrows[0]!.text).toBe('SYN seq=0 · dropped by H2');
    expect(parts.labels.map((l) => l.text)).toEqual(['(1)', '(1) dropped']);
    expect(parts.crosses).toHaveLength(1);
    expect(Math.abs(parts.crosses[0]!.x - h2!)).toBeLessThan(12);
    expect(parts.crosses[0]!.y).toBeGreaterThan(parts.arrows[0]!.line.y1);
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
