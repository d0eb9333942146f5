/**
 * The timeline in the app, on a recorded run opened with `tcplab web --replay` (no hosts, no
 * virtual lab): lanes, transitions in order, and the cursor: at an instant after H1's FIN was
 * dropped, H1's pane, socket table and diagram show FIN_WAIT1 and H2's ESTABLISHED; before it,
 * both ESTABLISHED. Debian's Chromium through playwright-core; skipped, saying why, without it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { LabEvent } from '../shared/src/events';
import { buildTimeline } from '../shared/src/timeline';
import { CHROMIUM, launchBrowser, screenshot } from './support/browser';
import { startWebApp, type RunningWebApp } from './support/web-app';

const FIXTURE = join(import.meta.dirname, '..', 'test', 'fixtures', 'sessions', 'lost-fin');
const missing = existsSync(CHROMIUM) ? undefined : `no Chromium at ${CHROMIUM} (set TCPLAB_CHROMIUM)`;
if (missing) console.warn(`timeline e2e skipped: ${missing}`);

function recordedEvents(dir: string): LabEvent[] {
  return readFileSync(join(dir, 'session.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LabEvent);
}
const events = recordedEvents(FIXTURE);
type Transition = Extract<LabEvent, { type: 'transition' }>;
const transitions = events.filter((e): e is Transition => e.type === 'transition');
const offsetOf = (host: string): number => (events.find((e) => e.type === 'clock' && e.host === host) as Extract<LabEvent, { type: 'clock' }>).offsetMs;
const axis = (t: Transition): number => t.hostTimeUs / 1000 - offsetOf(t.host);
const finWait1 = transitions.find((t) => t.host === 'H1' && t.state === 'FIN_WAIT1')!;
const h1Established = transitions.find((t) => t.host === 'H1' && t.state === 'ESTABLISHED')!;

/** window.tcplabTimeline (renderer/src/components/Timeline.tsx), the part this test reads. */
interface Hooks {
  transitions(): Array<{ host: string; state: string; atMs: number; hostTimeUs: number }>;
  packets(): Array<{ from: string; to: string | undefined; number: number; flags: string; dropped: boolean }>;
  view(): { startMs: number; spanMs: number; width: number };
  setCursor(ms: number | undefined): void;
  pastPaneText(host: 'H1' | 'H2', pane: 'upper' | 'lower'): Promise<string>;
  eventCount(): number;
}
type WithHooks = { tcplabTimeline: Hooks };

/** Opens `dir` with `tcplab web --replay` in Chromium for the enclosing describe, once every event is in the view. */
function openReplay(dir: string, eventCount: number, opened: (page: Page) => void): void {
  let app: RunningWebApp | undefined;
  let close: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    app = await startWebApp(['--replay', dir]);
    const context = await launchBrowser();
    close = () => context.close();
    const page = await context.newPage();
    opened(page);
    await page.goto(app.url);
    await page.getByTestId('timeline-canvas').waitFor();
    await page.waitForFunction((n) => (globalThis as unknown as Partial<WithHooks>).tcplabTimeline?.eventCount() === n, eventCount);
  }, 120_000);
  afterAll(async () => {
    await close?.();
    expect(await app?.stop()).toBe(0);
  });
}

describe.skipIf(missing !== undefined)('timeline (tcplab web --replay, Chromium)', () => {
  let page: Page;
  openReplay(FIXTURE, events.length, (opened) => (page = opened));

  test('says it is a replay, with the clock offsets and both lanes', async () => {
    await expect.poll(() => page.getByTestId('backend-phase').textContent()).toContain('Replay of');
    expect(await page.getByTestId('connect-button').count()).toBe(0);
    const offsets = await page.getByTestId('timeline-offsets').textContent();
    expect(offsets).toContain(`H1 −${Math.abs(offsetOf('H1')).toFixed(3)} ms`);
    expect(offsets).toContain(`H2 −${Math.abs(offsetOf('H2')).toFixed(3)} ms`);
    const lanes = await page.getByTestId('timeline-transitions').locator('li').evaluateAll((items) => [...new Set(items.map((li) => li.getAttribute('data-host')))]);
    expect(lanes.sort()).toEqual(['H1', 'H2']);
    await screenshot(page, 'timeline-replay-lost-fin');
  });

  test('transitions are in the order of their corrected host times', async () => {
    const shown = await page.evaluate(() => (globalThis as unknown as WithHooks).tcplabTimeline.transitions());
    const expected = [...transitions].sort((a, b) => axis(a) - axis(b)).map((t) => `${t.host} ${t.state}`);
    expect(shown.map((t) => `${t.host} ${t.state}`)).toEqual(expected);
    // The DOM list (screen readers) says the same, in the same order.
    const items = await page.getByTestId('timeline-transitions').locator('li').evaluateAll((list) => list.map((li) => `${li.getAttribute('data-host')} ${li.getAttribute('data-state')}`));
    expect(items).toEqual(expected);
    expect(expected.indexOf('H1 SYN_SENT')).toBeLessThan(expected.indexOf('H2 SYN_RECV'));
  });

  test('the cursor after the dropped FIN: H1 FIN_WAIT1, H2 ESTABLISHED, panes as they were', async () => {
    const at = axis(finWait1) + 1500; // after `ss -tano` on H1 ran (step 13), before cleanup
    await setCursor(page, at);
    await expect.poll(() => page.getByTestId('timeline-viewing').textContent()).toContain('Viewing');
    await expect.poll(() => page.getByTestId('diagram-host-H1').getAttribute('data-state')).toBe('FIN_WAIT1');
    expect(await page.getByTestId('diagram-host-H2').getAttribute('data-state')).toBe('ESTABLISHED');
    await expect.poll(() => page.getByTestId('sockets-H1').locator('tr[data-state]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-state')))).toContain('FIN_WAIT1');
    const h2States = await page.getByTestId('sockets-H2').locator('tr[data-state]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-state')));
    expect(h2States).toContain('ESTABLISHED');
    expect(h2States).not.toContain('CLOSE_WAIT');
    const h1Lower = await pastText(page, 'H1', 'lower');
    expect(h1Lower).toMatch(/FIN-WAIT-1/);
    // The Ctrl-C is in H1's application pane by then; the past pane replaced the live one.
    expect(await page.getByTestId('past-pane-H1-lower').isVisible()).toBe(true);
    expect(await page.locator('[data-testid="pane-H1-lower"] > .xterm').isVisible()).toBe(false);
    await screenshot(page, 'timeline-cursor-after-fin');
  });

  test('the cursor before the FIN: both ESTABLISHED, and the pane has not seen FIN-WAIT-1 yet', async () => {
    const at = (axis(h1Established) + axis(finWait1)) / 2;
    await setCursor(page, at);
    await expect.poll(() => page.getByTestId('diagram-host-H1').getAttribute('data-state')).toBe('ESTABLISHED');
    expect(await page.getByTestId('diagram-host-H2').getAttribute('data-state')).toBe('ESTABLISHED');
    const h1Lower = await pastText(page, 'H1', 'lower');
    expect(h1Lower).toContain('ESTAB');
    expect(h1Lower).not.toMatch(/FIN-WAIT-1/);
    await screenshot(page, 'timeline-cursor-before-fin');
  });

  test('a click on the canvas sets the cursor there; Back to live restores the panes', async () => {
    const box = (await page.getByTestId('timeline-canvas').boundingBox())!;
    const view = await page.evaluate(() => (globalThis as unknown as WithHooks).tcplabTimeline.view());
    // Click where FIN_WAIT1 began plus a little (the plot starts after the 92 px gutter).
    const x = 92 + ((axis(finWait1) + 300 - view.startMs) / view.spanMs) * view.width;
    await page.mouse.click(box.x + x, box.y + 10);
    await expect.poll(() => page.getByTestId('diagram-host-H1').getAttribute('data-state')).toBe('FIN_WAIT1');
    await page.getByTestId('timeline-live').click();
    await expect.poll(() => page.getByTestId('timeline-viewing').count()).toBe(0);
    expect(await page.locator('[data-testid="pane-H1-lower"] > .xterm').isVisible()).toBe(true);
    expect(await page.getByTestId('past-pane-H1-lower').isVisible()).toBe(false);
    // Live (the end of the recording): H1 is still in FIN_WAIT1 in the recorded last snapshot's fold.
    const zoomBefore = (await page.evaluate(() => (globalThis as unknown as WithHooks).tcplabTimeline.view())).spanMs;
    await page.getByTestId('timeline-zoom-in').click();
    const zoomAfter = (await page.evaluate(() => (globalThis as unknown as WithHooks).tcplabTimeline.view())).spanMs;
    expect(zoomAfter).toBeCloseTo(zoomBefore / 1.5, 3);
  });
});

/**
 * A run recorded with packets: the view draws the shared timeline model (shared/src/timeline.ts),
 * so the clock offsets it shows are the ones the packets refined, and its arrows are the model's,
 * numbered as the exported figure numbers them.
 */
describe.skipIf(missing !== undefined)('timeline with packets (tcplab web --replay, Chromium)', () => {
  const dir = join(import.meta.dirname, '..', 'test', 'fixtures', 'sessions', 'lost-fin-packets');
  const recorded = recordedEvents(dir);
  const model = buildTimeline(recorded);
  let page: Page;
  openReplay(dir, recorded.length, (opened) => (page = opened));

  test('the header shows the clock offsets refined by the packets, the ones the axis uses', async () => {
    expect(model.lanes.some((lane) => lane.correctionUs !== 0)).toBe(true);
    const text = (ms: number): string => `${ms >= 0 ? '+' : '−'}${Math.abs(ms).toFixed(3)} ms`;
    await expect.poll(() => page.getByTestId('timeline-offsets').textContent()).toContain(`${model.lanes[0]!.host} ${text(model.lanes[0]!.offsetMs - model.lanes[0]!.correctionUs / 1000)}`);
    const offsets = await page.getByTestId('timeline-offsets').textContent();
    for (const lane of model.lanes) expect(offsets).toContain(`${lane.host} ${text(lane.offsetMs - lane.correctionUs / 1000)}`);
  });

  test('the arrows are the packets of the shared model, numbered as it numbers them, the dropped FINs among them', async () => {
    const shown = await page.evaluate(() => (globalThis as unknown as WithHooks).tcplabTimeline.packets());
    expect(shown.map((p) => `${p.number} ${p.flags} ${p.dropped}`)).toEqual(model.packets.map((p) => `${p.number} ${p.flags.join(',')} ${p.dropped !== undefined}`));
    expect(shown.some((p) => p.dropped && p.flags.includes('FIN'))).toBe(true);
    const transitions = await page.evaluate(() => (globalThis as unknown as WithHooks).tcplabTimeline.transitions());
    expect(transitions.map((t) => `${t.host} ${t.state} ${t.atMs.toFixed(3)}`)).toEqual(
      model.transitions.map((t) => `${t.host} ${t.state} ${(t.atUs / 1000).toFixed(3)}`),
    );
  });
});

async function setCursor(page: Page, ms: number): Promise<void> {
  await page.evaluate((at) => (globalThis as unknown as WithHooks).tcplabTimeline.setCursor(at), ms);
}

function pastText(page: Page, host: 'H1' | 'H2', pane: 'upper' | 'lower'): Promise<string> {
  return page.evaluate(([h, p]) => (globalThis as unknown as WithHooks).tcplabTimeline.pastPaneText(h, p), [host, pane] as const);
}
