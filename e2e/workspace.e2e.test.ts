/**
 * The app end to end, as a lab assistant uses it: `tcplab web` on the virtual lab, Debian's
 * Chromium at projector size (1280x720), the real engine, real SSH, real kernel states.
 * Screenshots go to test-results/e2e/ to be looked at.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintSha256 } from '../electron/lab/known-hosts';
import { labDir } from '../electron/lab/virtual-lab';
import { iptablesRules, skipReason } from '../test/lab/lab-env';
import { launchBrowser, paneText, screenshot } from './support/browser';
import { startWebApp, type RunningWebApp } from './support/web-app';

const CONNECT_TIMEOUT = 90_000; // H1's login shell runs pyenv on every channel: seconds each
const RUN_TIMEOUT = 120_000;

function labFingerprints(): Record<'H1' | 'H2', string> {
  const [h1, h2] = readFileSync(join(labDir(), 'known_hosts'), 'utf8').trim().split('\n');
  const blob = (line: string | undefined): Buffer => Buffer.from(line!.trim().split(/\s+/)[2]!, 'base64');
  return { H1: fingerprintSha256(blob(h1)), H2: fingerprintSha256(blob(h2)) };
}

const tcplabRules = (label: 'H1' | 'H2'): string[] => iptablesRules(label).filter((rule) => rule.includes('tcplab:'));

describe.skipIf(skipReason)('TCP Lab in the browser, on the virtual lab', () => {
  let app: RunningWebApp;
  let browser: BrowserContext;
  let page: Page;
  const work = mkdtempSync(join(tmpdir(), 'tcplab-e2e-'));
  /** Uncaught errors in the page: each test fails on any that happened during it. */
  const pageErrors: string[] = [];

  afterEach(() => {
    expect(pageErrors.splice(0)).toEqual([]);
  });

  beforeAll(async () => {
    // An empty known_hosts: the hosts are new to this app, so the first-connection dialog shows.
    writeFileSync(join(work, 'known_hosts'), '');
    app = await startWebApp(['--lab', 'local', '--known-hosts', join(work, 'known_hosts'), '--out', join(work, 'runs')]);
    browser = await launchBrowser();
    page = await browser.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.stack ?? error.message));
  });

  afterAll(async () => {
    await browser?.close();
    const code = await app?.stop();
    if (code !== 0) console.error(app?.output());
    expect(code).toBe(0);
    // Ctrl-C on the server cleans up: no rule of the app is left on either host.
    expect(tcplabRules('H1')).toEqual([]);
    expect(tcplabRules('H2')).toEqual([]);
  });

  it('shows each new host key with its SHA256 fingerprint, and connects once both are accepted', async () => {
    await page.goto(app.url);
    await expect.poll(() => page.url()).not.toContain('token='); // traded for a cookie
    await page.getByTestId('connect-button').click();
    const dialog = page.getByTestId('hostkey-dialog');
    await dialog.waitFor({ timeout: CONNECT_TIMEOUT });
    const expected = labFingerprints();
    expect(await page.getByTestId('fingerprint-H1').textContent()).toBe(expected.H1);
    expect(await page.getByTestId('fingerprint-H2').textContent()).toBe(expected.H2);
    expect(await page.getByTestId('hostkey-connect').isDisabled()).toBe(true);
    await screenshot(page, '01-host-keys');

    await page.getByTestId('hostkey-accept-H1').click();
    await page.getByTestId('hostkey-accept-H2').click();
    await page.getByTestId('hostkey-connect').click();
    await page.locator('[data-testid="backend-phase"][data-phase="connected"]').waitFor({ timeout: CONNECT_TIMEOUT });
    for (const label of ['H1', 'H2'] as const) {
      await page.locator(`[data-testid="host-status-${label}"][data-status="connected"]`).waitFor();
      for (const pane of ['upper', 'lower'] as const) {
        await expect.poll(() => paneText(page, label, pane), { timeout: 20_000 }).toMatch(new RegExp(`\\[\\d\\d:\\d\\d:\\d\\d\\] ${label}[#$] `));
      }
    }
    await screenshot(page, '02-connected');
  });

  it('types into each of the four panes and reads the shell\'s answer back', async () => {
    for (const label of ['H1', 'H2'] as const) {
      for (const pane of ['upper', 'lower'] as const) {
        await page.getByTestId(`pane-${label}-${pane}`).click();
        // The shell must compute the answer: an echo of the typed characters alone would not show 42.
        await page.keyboard.type(`echo ${label}-${pane}-$((6*7)) $(hostname)`);
        await page.keyboard.press('Enter');
        await expect.poll(() => paneText(page, label, pane), { timeout: 15_000 }).toContain(`${label}-${pane}-42 ${label}`);
      }
    }
    await screenshot(page, '03-typed');
  });

  it('shows a flood larger than the engine\'s pause threshold whole: xterm acknowledges what it drew, and the channel resumes', async () => {
    // ~2 MB: twice Pane's HIGH_WATERMARK. Without acknowledgements from the page the engine
    // would pause the channel at 1 MiB and the last number would never arrive.
    await page.getByTestId('pane-H2-lower').click();
    await page.keyboard.type('seq 1 300000');
    await page.keyboard.press('Enter');
    await expect.poll(() => paneText(page, 'H2', 'lower'), { timeout: 60_000, interval: 250 }).toMatch(/\n299999\n300000\n\[\d\d:\d\d:\d\d\] H2\$\s*$/);
  });

  it('runs lost-fin from the app: FIN_WAIT1 on H1 and ESTABLISHED on H2 in the socket tables, then expected against observed', async () => {
    await page.getByTestId('experiment-select').selectOption('lost-fin');
    await page.getByTestId('run-button').click();
    await page.locator('[data-testid="backend-phase"][data-phase="running"]').waitFor({ timeout: 30_000 });
    // Both at once: the two hosts disagree about the connection while the FIN is being dropped.
    await page.locator('[data-testid="sockets-H1"] tr[data-state="FIN_WAIT1"]').first().waitFor({ timeout: RUN_TIMEOUT });
    await page.locator('[data-testid="sockets-H2"] tr[data-state="ESTABLISHED"]').first().waitFor({ timeout: 10_000 });
    expect(await page.locator('[data-testid="sockets-H1"] tr[data-state="FIN_WAIT1"]').count()).toBeGreaterThan(0);
    // The FIN cannot get through, so a timer is running on H1's socket (its countdown is shown).
    expect(await page.locator('[data-testid="sockets-H1"] tr[data-state="FIN_WAIT1"] td').last().textContent()).toMatch(/\d s/);
    await screenshot(page, '04-lost-fin-running');

    const result = page.getByTestId('run-result');
    await result.waitFor({ timeout: RUN_TIMEOUT });
    expect(await result.getAttribute('data-passed')).toBe('true');
    expect(await page.getByTestId('result-H1').textContent()).toMatch(/expected.*ESTABLISHED.*FIN_WAIT1/);
    expect(await page.getByTestId('result-H2').textContent()).toMatch(/as expected/);
    // The run's cleanup removed its rule, and the panel says so.
    expect(await page.getByTestId('run-log').textContent()).toMatch(/H1: removed firewall rule: iptables -w -D OUTPUT/);
    await screenshot(page, '05-lost-fin-result');
  });

  it('aborts a run: the run stops, its cleanup is shown, and its firewall rules are gone from the host', async () => {
    // After a run the workspace reconnects by itself.
    await page.locator('[data-testid="backend-phase"][data-phase="connected"]').waitFor({ timeout: CONNECT_TIMEOUT });
    await page.getByTestId('run-button').click();
    await page.locator('[data-testid="backend-phase"][data-phase="running"]').waitFor({ timeout: 30_000 });
    // Abort while the experiment's DROP rule is in place on H1.
    await expect.poll(() => tcplabRules('H1').length, { timeout: RUN_TIMEOUT, interval: 100 }).toBeGreaterThan(0);
    await page.getByTestId('rules-H1').waitFor({ timeout: 10_000 });
    await page.getByTestId('abort-button').click();
    const result = page.getByTestId('run-result');
    await result.waitFor({ timeout: RUN_TIMEOUT });
    expect(await result.getAttribute('data-passed')).toBe('false');
    expect(await result.textContent()).toMatch(/Aborted/);
    expect(tcplabRules('H1')).toEqual([]);
    expect(await page.getByTestId('run-log').textContent()).toMatch(/H1: removed firewall rule/);
    expect(await page.getByTestId('rules-H1').count()).toBe(0);
    await screenshot(page, '06-aborted');
    await page.getByRole('button', { name: /Dark/ }).click();
    await screenshot(page, '07-aborted-dark');
  });
});
