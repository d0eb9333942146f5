/**
 * Debian's Chromium driven by playwright-core (no browser download): headless, no sandbox (CI
 * runs as root), no GPU, nothing that phones home, and a fresh profile per run.
 */
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.TCPLAB_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOTS = join(import.meta.dirname, '..', '..', 'test-results', 'e2e');

export async function launchBrowser(): Promise<BrowserContext> {
  const profile = mkdtempSync(join(tmpdir(), 'tcplab-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 720 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  // Playwright waits forever by default; a stuck action must fail the test, saying what it waited for.
  context.setDefaultTimeout(60_000);
  return context;
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

type PaneText = (host: 'H1' | 'H2', pane: 'upper' | 'lower') => string;

/** A pane's text as xterm holds it (the WebGL renderer draws to a canvas, so not from the DOM). */
export function paneText(page: Page, host: 'H1' | 'H2', pane: 'upper' | 'lower'): Promise<string> {
  return page.evaluate(
    ([h, p]) => (globalThis as unknown as { tcplab: { paneText: PaneText } }).tcplab.paneText(h, p),
    [host, pane] as const,
  );
}
