/**
 * TimelineBuilder (events appended as they come) equals buildTimeline over the same events: on
 * every recorded session, after every batch, for batch sizes from one event to all of them, and
 * on a synthetic session whose log is not in time order (a connection's FIN is logged before the
 * next connections' handshakes), with packets on both hosts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LabEvent } from '../../shared/src/events';
import { buildTimeline, TimelineBuilder, type TimelineModel } from '../../shared/src/timeline';
import { synthesizeSession } from '../../shared/src/timeline-synthetic';
import { TimelineModel as ViewModel } from '../../renderer/src/timeline/model';

const SESSIONS = join(import.meta.dirname, '..', 'fixtures', 'sessions');
const fixture = (name: string): LabEvent[] =>
  readFileSync(join(SESSIONS, name, 'session.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LabEvent);

/** The model as data: every list, and what `visible` answers over a few windows. */
function plain(model: TimelineModel): unknown {
  const span = model.endUs - model.startUs;
  const windows = [0, 0.1, 0.45, 0.9].map((f) => [model.startUs + f * span, model.startUs + (f + 0.1) * span] as const);
  return {
    lanes: model.lanes,
    connections: model.connections,
    bands: model.bands,
    transitions: model.transitions,
    packets: model.packets,
    markers: model.markers,
    startUs: model.startUs,
    endUs: model.endUs,
    visible: windows.map(([t0, t1]) => model.visible(t0, t1)),
  };
}

function appendInBatches(events: readonly LabEvent[], size: number, check: (builder: TimelineBuilder, upTo: number) => void): TimelineBuilder {
  const builder = new TimelineBuilder();
  for (let i = 0; i < events.length; i += size) {
    builder.append(events.slice(i, i + size));
    check(builder, Math.min(events.length, i + size));
  }
  return builder;
}

describe('the timeline model built as events come equals the one built at once', () => {
  for (const name of readdirSync(SESSIONS).sort()) {
    it(`${name}: after every batch, batches of 1 to all events`, () => {
      const events = fixture(name);
      for (const size of [1, 3, 17, 100, events.length]) {
        const builder = appendInBatches(events, size, (b, upTo) => {
          expect(plain(b.model()), `${name}, batches of ${size}, after ${upTo} events`).toEqual(plain(buildTimeline(events.slice(0, upTo))));
        });
        // Building again from the start is the exception (the packets' correction moving, a first clock estimate late).
        expect(builder.fullBuilds, `${name}, batches of ${size}`).toBeLessThanOrEqual(name.includes('packets') || name.includes('figure') ? 6 : 0);
      }
    });
  }

  it('a synthetic session of 400 connections (log not in time order, packets matched across batches), in place', () => {
    const events = synthesizeSession(400);
    for (const size of [1, 50, 333, 2000]) {
      const builder = appendInBatches(events, size, (b, upTo) => {
        if (upTo % 997 < size || upTo === events.length) expect(plain(b.model()), `batches of ${size}, after ${upTo}`).toEqual(plain(buildTimeline(events.slice(0, upTo))));
      });
      expect(builder.fullBuilds).toBe(0);
    }
  });

  it('clock corrections by packets and a late first clock estimate build again, and still agree', () => {
    // Receipts stamped ever earlier (a host clock drifting): the packets keep contradicting the SSH
    // offsets by more, so the correction moves with each batch.
    let receipts = 0;
    const events = synthesizeSession(60).map((e) => (e.type === 'packet' && e.direction === 'in' ? { ...e, hostTimeUs: e.hostTimeUs - 3 * receipts++ } : e));
    const late = [...events.filter((e) => !(e.type === 'clock' && e.host === 'H1')), ...events.filter((e) => e.type === 'clock' && e.host === 'H1')];
    for (const log of [events, late]) {
      const builder = appendInBatches(log, 40, (b, upTo) => {
        expect(plain(b.model()), `after ${upTo}`).toEqual(plain(buildTimeline(log.slice(0, upTo))));
      });
      expect(builder.fullBuilds).toBeGreaterThan(0);
    }
  });

  it('the timeline view refreshed as events come draws what it draws when given them all at once', () => {
    const drawn = (view: ViewModel): unknown => ({ bands: view.allBands(), packets: view.allPackets(), markers: view.allMarkers(), offsets: view.offsets, extent: view.extent() });
    const logs: Array<[string, LabEvent[], number[]]> = [
      ...['lost-fin', 'lost-fin-packets', 'normal-teardown-figure', 'normal-teardown-packets'].map((name): [string, LabEvent[], number[]] => [name, fixture(name), [1, 13, 200]]),
      ['synthetic, 300 connections', synthesizeSession(300), [97, 1000]],
    ];
    for (const [name, events, sizes] of logs) {
      for (const size of sizes) {
        const view = new ViewModel();
        for (let i = 0; i < events.length; i += size) {
          for (const e of events.slice(i, i + size)) view.add(e);
          view.refresh();
          if (size < 50 && i % (size * 10) !== 0) continue;
          const once = new ViewModel();
          for (const e of events.slice(0, i + size)) once.add(e);
          expect(drawn(view), `${name}, batches of ${size}, after ${i + size}`).toEqual(drawn(once));
        }
        expect(plain(view.shared)).toEqual(plain(buildTimeline(events)));
      }
    }
  });
});
