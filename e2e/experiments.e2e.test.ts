/**
 * Experiments in the app beyond "pick and run": the host check panel, the user's own folder,
 * opening a file (a bad one refused with its line, a good one run), and a step-by-step run whose
 * explanations show before each step. `tcplab web` on the virtual lab, Debian's Chromium.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_EXPERIMENTS_DIR } from '../electron/lab/builtin-experiments';
import { iptablesRules, skipReason } from '../test/lab/lab-env';
import { launchBrowser, paneText, screenshot } from './support/browser';
import { startWebApp, type RunningWebApp } from './support/web-app';

const CONNECT_TIMEOUT = 90_000;
const RUN_TIMEOUT = 150_000;

/** A built-in experiment's file with another id and title: the user's own copy. */
function renamed(builtin: string, id: string, title: string): string {
  return readFileSync(join(BUILTIN_EXPERIMENTS_DIR, `${builtin}.yaml`), 'utf8')
    .replace(/^id: .*$/m, `id: ${id}`)
    .replace(/^title: .*$/m, `title: ${title}`);
}

describe.skipIf(skipReason)('experiments in the app: check, user folder, files, step by step', () => {
  let app: RunningWebApp;
  let browser: BrowserContext;
  let page: Page;
  const work = mkdtempSync(join(tmpdir(), 'tcplab-e2e-experiments-'));
  const pageErrors: string[] = [];
  /** Every request the page made: all must go to the app's own server (no CDN, fonts bundled). */
  const requests: string[] = [];

  afterEach(() => {
    expect(pageErrors.splice(0)).toEqual([]);
  });

  beforeAll(async () => {
    const mine = join(work, 'mine');
    mkdirSync(mine);
    writeFileSync(join(mine, 'my-teardown.yaml'), renamed('normal-teardown', 'my-teardown', 'My teardown (a copy of the normal teardown)'));
    app = await startWebApp(['--lab', 'local', '--out', join(work, 'runs'), '--experiments', mine]);
    browser = await launchBrowser();
    page = await browser.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.stack ?? error.message));
    page.on('request', (request) => requests.push(request.url()));
    await page.goto(app.url);
    await page.getByTestId('connect-button').click();
    await page.locator('[data-testid="backend-phase"][data-phase="connected"]').waitFor({ timeout: CONNECT_TIMEOUT });
  });

  afterAll(async () => {
    await browser?.close();
    // Offline classrooms: nothing the app loads comes from anywhere but TCP Lab itself.
    const origin = new URL(app.url).origin;
    expect(requests.length).toBeGreaterThan(3);
    expect(requests.filter((url) => !url.startsWith(origin) && !url.startsWith(origin.replace('http', 'ws')) && !url.startsWith('data:') && !url.startsWith('blob:'))).toEqual([]);
    const code = await app?.stop();
    if (code !== 0) console.error(app?.output());
    expect(code).toBe(0);
    expect(iptablesRules('H1').concat(iptablesRules('H2')).filter((r) => r.includes('tcplab:'))).toEqual([]);
  });

  it('checks both hosts from the app: every item, how sudo works on each', async () => {
    await page.getByTestId('check-button').click();
    const verdict = page.getByTestId('preflight-verdict');
    await verdict.waitFor({ timeout: 60_000 });
    expect(await verdict.getAttribute('data-ok')).toBe('true');
    for (const host of ['H1', 'H2']) {
      const items = await page.locator(`[data-testid^="preflight-${host}-"]`).evaluateAll((els) => els.map((e) => `${e.getAttribute('data-testid')}=${e.getAttribute('data-ok')}`));
      expect(items).toEqual(['ss', 'netcat', 'iptables', 'sudo', 'tracefs', 'tcpdump', 'python3', 'clock'].map((n) => `preflight-${host}-${n}=true`));
    }
    expect(await page.getByTestId('preflight-H1-sudo').textContent()).toMatch(/none needed: the login is root/);
    expect(await page.getByTestId('preflight-H2-sudo').textContent()).toMatch(/sudo with the configured password works/);
    expect(await page.getByTestId('preflight-H2-netcat').textContent()).toMatch(/openbsd netcat/);
    await screenshot(page, '20-check-hosts');
    await page.getByRole('button', { name: 'Close', exact: true }).click();
  });

  it('lists the user\'s folder under its own heading', async () => {
    const groups = await page.locator('[data-testid="experiment-select"] optgroup').evaluateAll((els) => els.map((g) => `${g.getAttribute('label')}: ${Array.from(g.querySelectorAll('option'), (o) => o.value).join(',')}`));
    expect(groups).toHaveLength(2);
    expect(groups[0]).toMatch(/^Built in: .*lost-fin/);
    expect(groups[1]).toBe('Your experiments: my-teardown');
  });

  it('refuses a bad experiment file with its line, and runs nothing', async () => {
    const bad = renamed('lost-fin', 'bad-file', 'A broken copy').replace(/^port: .*$/m, 'port: seventy');
    await page.getByTestId('open-file-input').setInputFiles({ name: 'broken.yaml', mimeType: 'application/yaml', buffer: Buffer.from(bad) });
    const alert = page.getByRole('alert').filter({ hasText: 'broken.yaml' });
    await alert.waitFor({ timeout: 10_000 });
    expect(await alert.textContent()).toMatch(/broken\.yaml is not a valid experiment file; nothing was run\.[\s\S]*broken\.yaml:\d+:\d+.*port/);
    expect(await page.getByTestId('backend-phase').getAttribute('data-phase')).toBe('connected');
    await screenshot(page, '21-bad-file-refused');
    await alert.getByRole('button', { name: 'Dismiss' }).click();
  });

  it('runs step by step: each step\'s explanation first, then the step when asked, then the rest', async () => {
    await page.getByTestId('experiment-select').selectOption('my-teardown');
    await page.getByTestId('step-mode').check();
    await page.getByTestId('run-button').click();
    const waiting = page.getByTestId('step-waiting');
    await waiting.waitFor({ timeout: CONNECT_TIMEOUT });
    expect(await waiting.textContent()).toMatch(/Next: step 1/);
    // Nothing has been typed by the run yet: the server's pane has no nc in it.
    expect(await paneText(page, 'H2', 'upper')).not.toMatch(/nc .*-l/);
    await screenshot(page, '22-step-by-step-waiting');
    const firstStepText = await waiting.textContent();
    await page.getByTestId('next-step-button').click();
    await expect.poll(async () => ((await waiting.count()) > 0 ? await waiting.textContent() : ''), { timeout: 60_000 }).toMatch(/Next: step 2/);
    expect(firstStepText).not.toBe(await waiting.textContent());
    expect(await page.locator('[data-testid="steps"] li[data-phase="done"]').count()).toBe(1);
    await page.getByTestId('run-rest-button').click();
    const result = page.getByTestId('run-result');
    await result.waitFor({ timeout: RUN_TIMEOUT });
    expect(await result.getAttribute('data-passed')).toBe('true');
    expect(await page.getByTestId('step-waiting').count()).toBe(0);
    await screenshot(page, '23-step-by-step-done');
  });

  it('runs an experiment file opened from this computer', async () => {
    await page.locator('[data-testid="backend-phase"][data-phase="connected"]').waitFor({ timeout: CONNECT_TIMEOUT });
    await page.getByTestId('step-mode').uncheck();
    const text = renamed('lost-fin', 'opened-lost-fin', 'Lost FIN, from a file');
    await page.getByTestId('open-file-input').setInputFiles({ name: 'opened-lost-fin.yaml', mimeType: 'application/yaml', buffer: Buffer.from(text) });
    await page.locator('[data-testid="backend-phase"][data-phase="running"]').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('experiment-select').inputValue()).toBe('opened-lost-fin');
    const result = page.getByTestId('run-result');
    await result.waitFor({ timeout: RUN_TIMEOUT });
    expect(await result.getAttribute('data-passed')).toBe('true');
    expect(await page.getByTestId('result-H1').textContent()).toMatch(/FIN_WAIT1/);
    // Its steps came from the run's own events (the file is not in the library).
    expect(await page.locator('[data-testid="steps"] li[data-phase="done"]').count()).toBeGreaterThan(3);
    await screenshot(page, '24-opened-file-result');
  });
});
