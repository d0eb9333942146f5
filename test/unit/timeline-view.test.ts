/**
 * The timeline view's pure parts (renderer/src/timeline/): the scale, the model it draws from
 * (fed the recorded lost-fin session and synthetic packets), hit-testing, the level of detail
 * (drawn into a counting 2D context), and the fold at an instant behind the cursor.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { LabEvent, NewLabEvent } from '../../shared/src/events';
import { drawTimeline, palette, type Ctx2D } from '../../renderer/src/timeline/draw';
import { arrowEnds, GUTTER, hitTest, layout, ROW_H } from '../../renderer/src/timeline/layout';
import { TimelineModel } from '../../renderer/src/timeline/model';
import { CHECKPOINT_EVERY, Recording } from '../../renderer/src/timeline/recording';
import { clampToData, fit, lowerBound, msAt, pan, tickStep, ticks, upperBound, xOf, zoom } from '../../renderer/src/timeline/scale';
import { initialWorkspace, reduce } from '../../renderer/src/state/workspace';
import { buildTimeline } from '../../shared/src/timeline';
import { timelineFromModel } from '../../shared/src/figures/timeline-figure';

const fixture = (name: string): LabEvent[] =>
  readFileSync(join(import.meta.dirname, '..', 'fixtures', 'sessions', name, 'session.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LabEvent);
const lostFin = fixture('lost-fin');

let seq = 0;
const ev = (t: number, e: NewLabEvent): LabEvent => ({ seq: seq++, t, ...e }) as LabEvent;

describe('scale', () => {
  const view = { startMs: 1000, spanMs: 500, width: 1000 };

  it('maps time to pixels and back', () => {
    expect(xOf(view, 1250)).toBe(500);
    expect(msAt(view, 500)).toBe(1250);
  });

  it('zooms around the anchor: the time under the pointer stays under it', () => {
    for (const [factor, anchor] of [[2, 100], [0.25, 900], [1.7, 0]] as const) {
      const z = zoom(view, factor, anchor);
      expect(msAt(z, anchor)).toBeCloseTo(msAt(view, anchor), 9);
      expect(z.spanMs).toBeCloseTo(view.spanMs / factor, 9);
    }
    expect(zoom(view, 1e12, 0).spanMs).toBe(0.02); // 20 µs at most
  });

  it('pans by pixels and keeps some data in view', () => {
    expect(pan(view, 100).startMs).toBe(1050);
    const far = clampToData(pan(view, 1e6), 0, 2000);
    expect(far.startMs).toBeLessThanOrEqual(2000 - 50);
    expect(clampToData(view, 0, 2000)).toBe(view);
  });

  it('ticks: a step that leaves room for labels, on round times in the hosts zone', () => {
    const v = fit(0, 60_000, 1000);
    const step = tickStep(v);
    expect(step / (v.spanMs / v.width)).toBeGreaterThanOrEqual(90);
    const ts = ticks({ startMs: 1_000_100, spanMs: 10_000, width: 1000 }, 1000, 60);
    expect(ts[0]).toBe(1_001_000);
    expect(ts.every((t, i) => i === 0 || t - ts[i - 1]! === 1000)).toBe(true);
  });

  it('binary searches', () => {
    const a = [1, 2, 2, 2, 5];
    expect(lowerBound(a, 2)).toBe(1);
    expect(upperBound(a, 2)).toBe(4);
    expect(lowerBound(a, 6)).toBe(5);
    expect(upperBound(a, 0)).toBe(0);
  });
});

describe('model from the recorded lost-fin session', () => {
  const model = new TimelineModel();
  for (const e of lostFin) model.add(e);
  const offset = (h: string) => (lostFin.find((e) => e.type === 'clock' && e.host === h) as Extract<LabEvent, { type: 'clock' }>).offsetMs;

  it('places each transition at its host time corrected by the host clock offset', () => {
    const bands = model.allBands();
    const transitions = lostFin.filter((e): e is Extract<LabEvent, { type: 'transition' }> => e.type === 'transition');
    expect(bands).toHaveLength(transitions.length);
    for (const t of transitions) {
      const band = bands.find((b) => b.host === t.host && b.hostTimeUs === t.hostTimeUs)!;
      // The shared model places in whole microseconds (epoch µs in a double): equal to the µs.
      expect(band.startMs).toBeCloseTo(t.hostTimeUs / 1000 - offset(t.host), 3);
    }
    expect(bands.map((b) => `${b.host} ${b.state}`)).toEqual(['H2 LISTEN', 'H1 SYN_SENT', 'H1 ESTABLISHED', 'H2 SYN_RECV', 'H2 ESTABLISHED', 'H1 FIN_WAIT1']);
  });

  it('gives the listener and the connection their own rows; a state ends where the next begins', () => {
    const bands = model.allBands();
    const listen = bands.find((b) => b.state === 'LISTEN')!;
    const synRecv = bands.find((b) => b.state === 'SYN_RECV')!;
    expect(listen.row).not.toBe(synRecv.row);
    const h1 = bands.filter((b) => b.host === 'H1');
    expect(h1[0]!.endMs).toBe(h1[1]!.startMs);
    expect(h1[2]!.endMs).toBe(Infinity); // FIN_WAIT1 until the end
  });

  it('markers: commands, the Ctrl-C at its step, the firewall rule', () => {
    const kinds = model.allMarkers().map((m) => `${m.host} ${m.kind}`);
    expect(kinds).toContain('H1 ctrl-c');
    expect(kinds.filter((k) => k === 'H1 firewall')).toHaveLength(2); // added, removed
    const ctrlC = model.allMarkers().find((m) => m.kind === 'ctrl-c')!;
    const step10 = lostFin.find((e) => e.type === 'step' && e.index === 10 && e.phase === 'start')!;
    expect(ctrlC.atMs).toBe(step10.t);
    // The firewall step's iptables command is one mark, the firewall's, as in the exported figure (timelineFromModel).
    expect(model.allMarkers().some((m) => m.kind === 'command' && m.text.startsWith('iptables'))).toBe(false);
    expect(model.allMarkers().some((m) => m.kind === 'command' && m.text.startsWith('nc '))).toBe(true);
  });

  it('range queries return exactly the bands that overlap the window', () => {
    const all = model.allBands();
    const fin = all.find((b) => b.state === 'FIN_WAIT1')!;
    for (const [from, to] of [[fin.startMs - 1, fin.startMs + 1], [0, 1], [all[0]!.startMs, all[3]!.startMs]] as const) {
      const got: string[] = [];
      for (const host of model.hosts) for (let row = 0; row < model.rowsPerLane; row++) model.bands(host, row, from, to, (b) => void got.push(`${b.host} ${b.state}`));
      const expected = all.filter((b) => b.startMs <= to && Math.min(b.endMs, Infinity) >= from).map((b) => `${b.host} ${b.state}`);
      expect(got.sort()).toEqual(expected.sort());
    }
  });
});

describe('the view draws the shared model (what the exported figures are drawn from)', () => {
  for (const name of ['lost-fin', 'lost-fin-packets', 'normal-teardown-packets', 'normal-teardown-figure']) {
    it(`${name}: the same bands, packets, markers and clock offsets`, () => {
      const events = fixture(name);
      const view = new TimelineModel();
      for (const e of events) view.add(e);
      const shared = buildTimeline(events);
      const key = (host: string, state: string, startMs: number, endMs: number): string => `${host} ${state} ${startMs.toFixed(3)} ${endMs === Infinity ? 'open' : endMs.toFixed(3)}`;
      const drawn = view.allBands().filter((b) => b.state !== 'CLOSED');
      expect(drawn.map((b) => key(b.host, b.state, b.startMs, b.endMs)).sort()).toEqual(shared.bands.map((b) => key(b.host, b.state, b.startUs / 1000, b.open ? Infinity : b.endUs / 1000)).sort());
      // A CLOSED mark for each CLOSED transition.
      expect(view.allBands().filter((b) => b.state === 'CLOSED').map((b) => `${b.host} ${b.startMs}`)).toEqual(shared.transitions.filter((t) => t.state === 'CLOSED').map((t) => `${t.host} ${t.atUs / 1000}`));
      expect(view.allPackets().map((p) => [p.number, p.flags, p.sentMs, p.recvMs, p.dropped?.atMs])).toEqual(
        shared.packets.map((p) => [p.number, p.flags.join(','), p.from && p.from.atUs / 1000, p.to && p.to.atUs / 1000, p.dropped && p.dropped.atUs / 1000]),
      );
      const figure = timelineFromModel(shared, events, { hosts: ['H1', 'H2'], fromMs: shared.startUs / 1000 - 1, toMs: shared.endUs / 1000 + 1, utcOffsetMin: 0 });
      // The offsets the view shows (lane headers, the strip's header) are those the figure corrects by: SSH estimate and packets.
      for (const clock of figure.clocks) expect(view.offsets.get(clock.host)?.offsetMs).toBeCloseTo(clock.offsetMs, 9);
      const marks = figure.rows.flatMap((r) => (r.kind === 'command' || r.kind === 'ctrl-c' || r.kind === 'firewall' || r.kind === 'connection' ? [`${r.host} ${r.kind} ${r.atMs} ${r.text}`] : []));
      expect(view.allMarkers().map((m) => `${m.host} ${m.kind} ${m.atMs} ${m.text}`).sort()).toEqual(marks.sort());
    });
  }

  it('lost-fin-packets: the packets move the clock offsets, and the header shows the moved ones', () => {
    const events = fixture('lost-fin-packets');
    const view = new TimelineModel();
    for (const e of events) view.add(e);
    const lanes = buildTimeline(events).lanes;
    expect(lanes.some((lane) => lane.correctionUs !== 0)).toBe(true);
    for (const lane of lanes) {
      expect(view.offsets.get(lane.host)).toEqual({ offsetMs: lane.offsetMs - lane.correctionUs / 1000, rttMs: lane.offsets.at(-1)!.rttMs });
    }
  });

  it('builds the shared model once for a burst, not per event; pane output alone does not rebuild it', () => {
    const view = new TimelineModel();
    for (const e of lostFin) view.add(e);
    const first = view.shared;
    expect(view.shared).toBe(first);
    const version = view.version;
    view.add({ seq: 100_000, t: lostFin.at(-1)!.t + 1, type: 'pane-output', host: 'H1', pane: 'upper', data: 'x' });
    expect(view.version).toBe(version);
    expect(view.shared).toBe(first);
    view.add({ seq: 100_001, t: lostFin.at(-1)!.t + 2, type: 'command', host: 'H1', pane: 'upper', text: 'ss -tan' });
    expect(view.version).not.toBe(version);
    expect(view.shared).not.toBe(first);
    expect(view.allMarkers().at(-1)!.text).toBe('ss -tan');
  });
});

describe('packets', () => {
  const start = (): LabEvent[] => [
    ev(0, { type: 'session-start', sessionId: 'abcd1234', tool: 't', hosts: [{ label: 'H1', address: 'a', experimentAddress: '10.0.0.1', user: 'u' }, { label: 'H2', address: 'b', experimentAddress: '10.0.0.2', user: 'u' }] }),
    ev(0, { type: 'clock', host: 'H1', offsetMs: 2, rttMs: 0.3 }),
    ev(0, { type: 'clock', host: 'H2', offsetMs: -1, rttMs: 0.3 }),
  ];
  const c = '10.0.0.1:40000';
  const s = '10.0.0.2:7777';
  const pkt = (host: 'H1' | 'H2', hostMs: number, direction: 'in' | 'out', flags: Array<'FIN' | 'ACK' | 'SYN'>, seqNo: number, dropped = false): LabEvent => {
    const mine = host === 'H1' ? c : s;
    const theirs = host === 'H1' ? s : c;
    return ev(hostMs, { type: 'packet', host, hostTimeUs: hostMs * 1000, direction, local: mine, remote: theirs, flags, tcpSeq: seqNo, tcpAck: 1, length: 0, ...(dropped ? { dropped } : {}) });
  };

  it('matches a segment across hosts (either arrives first), numbers them in order of sending, and marks the dropped one', () => {
    const model = new TimelineModel();
    const events = [
      ...start(),
      pkt('H2', 99, 'in', ['SYN'], 1), // logged before its send was
      pkt('H1', 102, 'out', ['SYN'], 1),
      pkt('H2', 100, 'out', ['SYN', 'ACK'], 9),
      pkt('H1', 103.2, 'in', ['SYN', 'ACK'], 9),
      pkt('H1', 200, 'out', ['FIN', 'ACK'], 2, true), // eaten by H1's OUTPUT DROP
      pkt('H1', 400, 'out', ['FIN', 'ACK'], 2, true), // the retransmission, eaten too
    ];
    for (const e of events) model.add(e);
    const packets = model.allPackets();
    expect(packets.map((p) => [p.number, p.from, p.to, p.flags, p.dropped?.where])).toEqual([
      [1, 'H1', 'H2', 'SYN', undefined],
      [2, 'H2', 'H1', 'SYN,ACK', undefined],
      [3, 'H1', 'H2', 'FIN,ACK', 'sender'],
      [4, 'H1', 'H2', 'FIN,ACK', 'sender'],
    ]);
    // Corrected: H1 sent at 102 - 2 = 100, H2 received at 99 + 1 = 100.
    expect(packets[0]!.sentMs).toBe(100);
    expect(packets[0]!.recvMs).toBe(100);
  });

  it('hit-tests an arrow, a band and a marker; a dropped arrow ends at its cross', () => {
    const model = new TimelineModel();
    for (const e of [...start(), pkt('H1', 102, 'out', ['SYN'], 1), pkt('H2', 99.5, 'in', ['SYN'], 1), pkt('H1', 152, 'out', ['FIN'], 2, true)]) model.add(e);
    model.add(ev(120, { type: 'transition', host: 'H1', hostTimeUs: 122_000, local: c, remote: s, state: 'ESTABLISHED', seen: 'trace' }));
    model.add(ev(130, { type: 'command', host: 'H1', pane: 'lower', text: 'ss -tan' }));
    const l = layout(model.hosts, model.rowsPerLane);
    const view = { startMs: 90, spanMs: 80, width: 800 };
    const syn = model.allPackets()[0]!;
    const ends = arrowEnds(l, view, syn)!;
    const mid = { x: (ends.x0 + ends.x1) / 2, y: (ends.y0 + ends.y1) / 2 };
    expect(hitTest(model, l, view, mid.x, mid.y)).toEqual({ kind: 'packet', packet: syn });
    const lane = l.lanes[0]!;
    const hit = hitTest(model, l, view, xOf(view, 140), lane.rowsY + ROW_H / 2);
    expect(hit?.kind === 'band' && hit.band.state).toBe('ESTABLISHED');
    const marker = hitTest(model, l, view, xOf(view, 130) + 2, lane.markerY + 5);
    expect(marker?.kind === 'marker' && marker.marker.text).toBe('ss -tan');
    // Far from everything: nothing.
    expect(hitTest(model, l, view, xOf(view, 95), lane.rowsY + ROW_H / 2)).toBeUndefined();
    // The dropped FIN: hit near the sender, not near the receiver (it never got there).
    const fin = model.allPackets()[1]!;
    const finEnds = arrowEnds(l, view, fin)!;
    expect(hitTest(model, l, view, finEnds.x0, finEnds.y0 + 8)).toEqual({ kind: 'packet', packet: fin });
    expect(hitTest(model, l, view, finEnds.x1, finEnds.y1 - 2)).toBeUndefined();
  });
});

/**
 * A 2D context that records what is drawn (the canvas is the browser's; the code under test is
 * drawTimeline). Paths as a canvas has them: `rect` adds to the current path, `beginPath` empties
 * it, `fill` fills each of its rectangles with the fillStyle of that moment.
 */
class CountingContext implements Ctx2D {
  fillStyle: unknown = '';
  strokeStyle: unknown = '';
  globalAlpha = 1;
  lineWidth = 1;
  font = '';
  textBaseline: unknown = '';
  rects: Array<{ x: number; w: number; fill: unknown }> = [];
  texts: string[] = [];
  private path: Array<{ x: number; w: number }> = [];
  fillRect(x: number, _y: number, w: number): void {
    this.rects.push({ x, w, fill: this.fillStyle });
  }
  fillText(text: string): void {
    this.texts.push(text);
  }
  measureText(text: string): { width: number } {
    return { width: text.length * 6 };
  }
  beginPath(): void {
    this.path = [];
  }
  closePath(): void {}
  moveTo(): void {}
  lineTo(): void {}
  rect(x: number, _y: number, w: number): void {
    this.path.push({ x, w });
  }
  stroke(): void {}
  fill(): void {
    for (const r of this.path) this.rects.push({ ...r, fill: this.fillStyle });
  }
  clip(): void {}
  save(): void {}
  restore(): void {}
  setLineDash(): void {}
}

describe('level of detail', () => {
  /** `n` short connections (SYN_SENT 0.1 ms, ESTABLISHED 0.5 ms, CLOSED), one every ms on H1. */
  function dense(n: number): TimelineModel {
    const model = new TimelineModel();
    model.add(ev(0, { type: 'clock', host: 'H1', offsetMs: 0, rttMs: 0.1 }));
    for (let i = 0; i < n; i++) {
      const local = `10.0.0.1:${10000 + i}`;
      for (const [dt, state] of [[0, 'SYN_SENT'], [0.1, 'ESTABLISHED'], [0.6, 'CLOSED']] as const) {
        model.add(ev(i + dt, { type: 'transition', host: 'H1', hostTimeUs: (i + dt) * 1000, local, remote: '10.0.0.2:7777', state, seen: 'trace' }));
      }
    }
    return model;
  }

  it('zoomed out, draws at most a pixel column per band row, not every band', () => {
    const model = dense(30_000);
    const l = layout(model.hosts, model.rowsPerLane);
    const view = { startMs: 0, spanMs: 30_000, width: 1000 };
    const ctx = new CountingContext();
    const stats = drawTimeline(ctx, { source: model, layout: l, view, dataEndMs: 30_000, cursorMs: undefined, utcOffsetMin: 0, palette: palette(false) }, 1000 + GUTTER);
    expect(stats.bands).toBeLessThanOrEqual(model.rowsPerLane * (view.width + 1));
    expect(stats.bands).toBeGreaterThan(view.width / 2); // still shows there is something everywhere
    const all = new CountingContext();
    const allStats = drawTimeline(all, { source: model, layout: l, view, dataEndMs: 30_000, cursorMs: undefined, utcOffsetMin: 0, palette: palette(false), mode: 'all' }, 1000 + GUTTER);
    expect(allStats.bands).toBe(90_000);
  });

  it('zoomed in, draws each band with its name where it fits, and only those in view', () => {
    const model = dense(1000);
    const l = layout(model.hosts, model.rowsPerLane);
    const view = { startMs: 499.9, spanMs: 1.5, width: 1000 }; // one or two connections in view
    const ctx = new CountingContext();
    const stats = drawTimeline(ctx, { source: model, layout: l, view, dataEndMs: 1000, cursorMs: undefined, utcOffsetMin: 0, palette: palette(false) }, 1000 + GUTTER);
    expect(stats.bands).toBeLessThanOrEqual(8);
    expect(ctx.texts.some((t) => t.startsWith('ESTABLISHED'))).toBe(true);
    expect(ctx.texts).toContain('SYN_SENT');
  });

  it('a long band that starts in the same pixel column as a short one is still drawn', () => {
    const model = new TimelineModel();
    const at = (ms: number, state: 'SYN_SENT' | 'ESTABLISHED') => ev(ms, { type: 'transition', host: 'H1', hostTimeUs: ms * 1000, local: 'a:1', remote: 'b:2', state, seen: 'trace' });
    model.add(at(1000, 'SYN_SENT'));
    model.add(at(1000.15, 'ESTABLISHED')); // 150 µs later: the same pixel at this zoom
    const l = layout(model.hosts, model.rowsPerLane);
    const view = { startMs: 0, spanMs: 10_000, width: 1000 };
    const ctx = new CountingContext();
    drawTimeline(ctx, { source: model, layout: l, view, dataEndMs: 9000, cursorMs: undefined, utcOffsetMin: 0, palette: palette(false) }, 1000 + GUTTER);
    const established = palette(false).state('ESTABLISHED').fill;
    const wide = ctx.rects.filter((r) => r.fill === established && r.w > 700);
    expect(wide).toHaveLength(1);
  });
});

describe('the workspace at an instant (the cursor)', () => {
  it('equals the fold of every event up to that instant, across checkpoints and late transitions', () => {
    const recording = new Recording();
    for (const e of lostFin) recording.add({ type: 'event', session: '76e328a9', event: e });
    expect(recording.size).toBe(0); // shown once the model includes them (the next frame)
    recording.flush();
    expect(recording.size).toBe(lostFin.length);
    expect(recording.size).toBeGreaterThan(CHECKPOINT_EVERY);
    const fin = lostFin.find((e) => e.type === 'transition' && e.state === 'FIN_WAIT1') as Extract<LabEvent, { type: 'transition' }>;
    const offsetH1 = (lostFin.find((e) => e.type === 'clock' && e.host === 'H1') as Extract<LabEvent, { type: 'clock' }>).offsetMs;
    const finAxis = fin.hostTimeUs / 1000 - offsetH1;
    // A moment after FIN_WAIT1 began on H1, before its transition line reached the controller.
    expect(fin.t).toBeGreaterThan(finAxis + 1);
    const after = recording.foldAt(finAxis + 1);
    expect(after.hosts.H1!.transitions.at(-1)!.state).toBe('FIN_WAIT1');
    expect(after.hosts.H2!.transitions.at(-1)!.state).toBe('ESTABLISHED');
    const before = recording.foldAt(finAxis - 1);
    expect(before.hosts.H1!.transitions.at(-1)!.state).toBe('ESTABLISHED');
    // Against a plain fold over the same order, at several instants, going back and forth.
    const axis = (e: LabEvent): number => ('hostTimeUs' in e ? e.hostTimeUs / 1000 - ((lostFin.find((c) => c.type === 'clock' && c.host === e.host) as Extract<LabEvent, { type: 'clock' }>).offsetMs) : e.t);
    const ordered = [...lostFin].sort((a, b) => axis(a) - axis(b));
    for (const ms of [finAxis + 5000, lostFin[100]!.t, finAxis + 1, lostFin[10]!.t]) {
      const expected = ordered.filter((e) => axis(e) <= ms).reduce((s, e) => reduce(s, '76e328a9', e), initialWorkspace());
      expect(recording.foldAt(ms)).toEqual(expected);
    }
  });

  it('places events with the offsets the drawn model uses, the packet refinement included', () => {
    const events = fixture('lost-fin-packets');
    const recording = new Recording();
    for (const e of events) recording.add({ type: 'event', session: 'b9a12694', event: e });
    recording.flush();
    const shared = recording.model.shared;
    expect(shared.lanes.some((lane) => lane.correctionUs !== 0)).toBe(true);
    for (const t of shared.transitions) {
      const count = (ms: number): number => recording.foldAt(ms).hosts[t.host]!.transitions.length;
      const upTo = shared.transitions.filter((u) => u.host === t.host && u.atUs <= t.atUs).length;
      // The transition is in the fold at its drawn time and not a microsecond before.
      expect(count(t.atUs / 1000)).toBe(upTo);
      expect(count(t.atUs / 1000 - 0.001)).toBe(upTo - shared.transitions.filter((u) => u.host === t.host && u.atUs === t.atUs).length);
    }
  });

  it('listeners hear about a burst once, when the model includes all of it', async () => {
    const recording = new Recording();
    let heard = 0;
    let transitionsWhenHeard = -1;
    recording.subscribe(() => {
      heard++;
      transitionsWhenHeard = recording.model.shared.transitions.length;
    });
    for (const e of lostFin) recording.add({ type: 'event', session: '76e328a9', event: e });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(heard).toBe(1);
    expect(recording.rebuilds.count).toBe(1);
    expect(transitionsWhenHeard).toBe(lostFin.filter((e) => e.type === 'transition').length);
    expect(recording.size).toBe(lostFin.length);
  });

  it('snapshots and trace lines, which it draws nothing of, tell the listeners within 250 ms, not at once; a transition at once', () => {
    // performance too: the recording spaces its rebuilds by their measured length (4x), and on a
    // loaded machine (CI) a real 10 ms build put the transition's telling past the 20 ms advanced.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    try {
      const recording = new Recording();
      let heard = 0;
      recording.subscribe(() => heard++);
      const clock = lostFin.filter((e) => e.type === 'clock');
      for (const e of clock) recording.add({ type: 'event', session: '76e328a9', event: e });
      vi.advanceTimersByTime(20);
      heard = 0;
      for (const type of ['snapshot', 'trace'] as const) recording.add({ type: 'event', session: '76e328a9', event: lostFin.find((e) => e.type === type)! });
      vi.advanceTimersByTime(20);
      expect(heard).toBe(0);
      vi.advanceTimersByTime(300);
      expect(heard).toBe(1);
      expect(recording.size).toBe(clock.length + 2);
      recording.add({ type: 'event', session: '76e328a9', event: lostFin.find((e) => e.type === 'transition')! });
      vi.advanceTimersByTime(20);
      expect(heard).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it('pane output up to an instant', () => {
    const recording = new Recording();
    for (const e of lostFin) recording.add({ type: 'event', session: '76e328a9', event: e });
    const tape = recording.paneTape('H1', 'lower');
    expect(tape.first).toBe(0); // a lab session's output is far within the budget
    expect(tape.end).toBe(lostFin.filter((e) => e.type === 'pane-output' && e.host === 'H1' && e.pane === 'lower').length);
    const n = tape.countAt(tape.chunk(5).t);
    expect(n).toBe(6);
    expect(tape.countAt(0)).toBe(0);
  });
});
