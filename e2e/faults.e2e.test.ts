/**
 * A host that drops mid-session, in the browser: the column shows it disconnected and
 * reconnecting, the panes say what happened, and once the host is back the panes are live shells
 * again. The drop is real: H1's sshd loses its TCP connections (`ss -K` inside H1's namespace).
 * Screenshots go to test-results/e2e/.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inHost, iptablesRules, skipReason } from '../test/lab/lab-env';
import { launchBrowser, paneText, screenshot, watchedPage } from './support/browser';
import { closeWebApp, startWebApp, type RunningWebApp } from './support/web-app';

const CONNECT_TIMEOUT = 90_000;

describe.skipIf(skipReason)('a host that drops, in the browser', () => {
  let app: RunningWebApp;
  let browser: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    const work = mkdtempSync(join(tmpdir(), 'tcplab-e2e-faults-'));
    // The lab's own known_hosts: no first-connection dialog here.
    app = await startWebApp(['--lab', 'local', '--out', join(work, 'runs')]);
    browser = await launchBrowser();
    page = await watchedPage(browser, pageErrors);
  });

  afterAll(async () => {
    expect(await closeWebApp(app, browser)).toBe(0);
    expect(pageErrors).toEqual([]);
  });

  it('shows H1 disconnected and reconnecting in its column and panes, then connected with live shells again', async () => {
    await page.goto(app.url);
    await page.getByTestId('connect-button').click();
    await page.locator('[data-testid="backend-phase"][data-phase="connected"]').waitFor({ timeout: CONNECT_TIMEOUT });
    for (const pane of ['upper', 'lower'] as const) {
      await expect.poll(() => paneText(page, 'H1', pane), { timeout: 20_000 }).toMatch(/\[\d\d:\d\d:\d\d\] H1[#$] /);
    }
    await page.getByTestId('pane-H1-upper').click();
    await page.keyboard.type('echo before-$((6*7))');
    await page.keyboard.press('Enter');
    await expect.poll(() => paneText(page, 'H1', 'upper')).toContain('\nbefore-42');

    // Every status each column shows, with the column's status text and problem banner, recorded
    // in the page as the DOM changes. The engine reports 'disconnected' and 'reconnecting' in one
    // tick, so the column shows them together ("disconnected · reconnecting…" and why).
    await page.evaluate(`(() => {
      window.__statuses = { H1: [], H2: [] };
      window.__shown = { H1: [], H2: [] };
      for (const host of ['H1', 'H2']) {
        const el = document.querySelector('[data-testid="host-status-' + host + '"]');
        const column = el.closest('article');
        window.__statuses[host].push(el.dataset.status);
        new MutationObserver(() => window.__statuses[host].push(el.dataset.status)).observe(el, { attributes: true, attributeFilter: ['data-status'] });
        new MutationObserver(() => {
          const problem = column.querySelector('[data-testid="host-problem-' + host + '"]');
          window.__shown[host].push(el.dataset.status + ' | ' + el.textContent + ' | ' + (problem ? problem.textContent : ''));
        }).observe(el, { childList: true, subtree: true, characterData: true, attributes: true, attributeFilter: ['data-status'] });
      }
    })()`);
    inHost('H1', "ss -K -tn 'sport = :22'");

    await expect.poll(() => paneText(page, 'H1', 'upper'), { timeout: 20_000 }).toMatch(/\*\*\* Connection to H1 lost: the SSH connection dropped\. \*\*\*/);
    await screenshot(page, '20-h1-dropped');
    await page.locator('[data-testid="host-status-H1"][data-status="connected"]').waitFor({ timeout: 60_000 });
    const statuses = await page.evaluate<{ H1: string[]; H2: string[] }>('window.__statuses');
    const shown = await page.evaluate<{ H1: string[] }>('window.__shown');
    expect(statuses.H1[0]).toBe('connected');
    expect(statuses.H1).toContain('reconnecting');
    // While it reconnects, the column says the host is disconnected, why, and what comes next.
    expect(shown.H1.find((s) => s.startsWith('reconnecting | '))).toMatch(
      /^reconnecting \| disconnected · reconnecting… \| Connection lost: the SSH connection dropped\. Reconnecting \(attempt 1\): retrying in 1 s$/,
    );
    expect(statuses.H1.at(-1)).toBe('connected');
    expect(statuses.H2).toEqual(['connected']); // the other host never noticed

    for (const pane of ['upper', 'lower'] as const) {
      const text = await paneText(page, 'H1', pane);
      expect(text, pane).toMatch(/\*\*\* Reconnecting to H1 \(attempt 1\): retrying in 1 s\.\.\. \*\*\*/);
      expect(text, pane).toContain('*** Connected to H1 again');
    }
    // The panes are shells again: a command typed now runs on H1.
    await expect.poll(() => paneText(page, 'H1', 'upper'), { timeout: 30_000 }).toMatch(/Connected to H1 again[^]*\[\d\d:\d\d:\d\d\] H1[#$] \s*$/);
    await page.getByTestId('pane-H1-upper').click();
    await page.keyboard.type('echo after-$((6*7)) $(hostname)');
    await page.keyboard.press('Enter');
    await expect.poll(() => paneText(page, 'H1', 'upper'), { timeout: 15_000 }).toContain('\nafter-42 H1');
    // The socket table is observed again (a fresh snapshot arrives).
    await expect.poll(() => page.getByTestId('sockets-H1').textContent(), { timeout: 15_000 }).toMatch(/no socket on port|LISTEN|ESTAB|TIME_WAIT|FIN_WAIT|CLOSE_WAIT|LAST_ACK|CLOSING|SYN_/);
    expect(await page.getByTestId('backend-phase').getAttribute('data-phase')).toBe('connected');
    await screenshot(page, '21-h1-reconnected');
  });

  it('a host that drops mid-run: the run stops and says why, and the rule it left on H1 is removed, and said so, once the workspace reconnects', async () => {
    const tcplabRules = (): string[] => iptablesRules('H1').filter((rule) => rule.includes('tcplab:'));
    await page.locator('[data-testid="backend-phase"][data-phase="connected"]').waitFor({ timeout: CONNECT_TIMEOUT });
    await page.getByTestId('experiment-select').selectOption('lost-fin');
    await page.getByTestId('step-mode').uncheck();
    await page.getByTestId('run-button').click();
    await page.locator('[data-testid="backend-phase"][data-phase="running"]').waitFor({ timeout: 30_000 });
    // Mid-run: H1's client is connected to H2's server, and the run is putting its FIN DROP (and
    // the NFLOG rule that records what it drops) in place on H1.
    await page.locator('[data-testid="sockets-H1"] tr[data-state="ESTABLISHED"]').first().waitFor({ timeout: CONNECT_TIMEOUT });
    await expect.poll(() => tcplabRules().length, { timeout: 60_000, interval: 50 }).toBeGreaterThan(0);
    await page.evaluate('window.__statuses = { H1: [], H2: [] }');
    inHost('H1', "ss -K -tn 'sport = :22'");

    // The run stops at the step it was on, and says why in words (not "the command channel closed").
    const result = page.getByTestId('run-result');
    await result.waitFor({ timeout: 60_000 });
    expect(await result.getAttribute('data-passed')).toBe('false');
    // Once, under the title: both hosts share it.
    expect(await page.getByTestId('run-reason').textContent()).toMatch(/^step \d+ \(.*\): the SSH connection to H1 dropped during this step, so the run stopped\b/);
    expect((await result.textContent())!.split('the SSH connection to H1 dropped').length - 1).toBe(1);
    // Its cleanup could not reach H1, and says what becomes of the rules it left there.
    expect(await page.getByTestId('run-log').textContent()).toMatch(/H1: could not remove the firewall rules this run added here, tagged tcplab:[0-9a-f]+ \(not connected\); the next run or Connect to H1 removes them/);
    expect(tcplabRules().length).toBeGreaterThan(0);
    await expect.poll(() => paneText(page, 'H1', 'upper'), { timeout: 10_000 }).toMatch(/\*\*\* Connection to H1 lost: the SSH connection dropped\. \*\*\*/);
    expect(await page.evaluate<string[]>('window.__statuses.H1')).toContain('disconnected');

    // The workspace reconnects by itself; connecting removes the leftovers, and H1's column says so.
    await page.locator('[data-testid="backend-phase"][data-phase="connected"]').waitFor({ timeout: CONNECT_TIMEOUT });
    expect(tcplabRules()).toEqual([]);
    const note = page.getByTestId('host-note-H1');
    await expect.poll(() => note.textContent(), { timeout: 10_000 }).toMatch(/^Cleaned up after an earlier session that did not end cleanly: removed [1-9]\d* firewall rules?\b/);
    expect(await page.getByTestId('host-note-H2').count()).toBe(0);
    await screenshot(page, '22-h1-dropped-mid-run');
    await page.getByRole('button', { name: 'Dismiss the note about H1' }).click();
    expect(await note.count()).toBe(0);
  });
});
