/**
 * Debian's Chromium driven by playwright-core (no browser download): headless, no sandbox (CI
 * runs as root), no GPU, nothing that phones home, and a fresh profile per run.
 */
import { mkdtempSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.TCPLAB_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOTS = join(import.meta.dirname, '..', '..', 'test-results', 'e2e');

/** A new page of the browser whose uncaught errors are collected in `pageErrors` (tests expect none). */
export async function watchedPage(browser: BrowserContext, pageErrors: string[]): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.stack ?? error.message));
  return page;
}

/**
 * `timeline: 'open'` (the default) is a user who opened the timeline before (the app remembers
 * it), so tests and benches of the timeline see it at 1280x720, where the app starts it collapsed;
 * 'app-default' leaves the app's own choice.
 */
export async function launchBrowser(options: { timeline?: 'open' | 'app-default' } = {}): Promise<BrowserContext> {
  const profile = mkdtempSync(join(tmpdir(), 'tcplab-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 720 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  // Playwright waits forever by default; a stuck action must fail the test, saying what it waited for.
  context.setDefaultTimeout(60_000);
  if ((options.timeline ?? 'open') === 'open') await context.addInitScript("localStorage.getItem('tcplab.timeline.open') ?? localStorage.setItem('tcplab.timeline.open', 'open')");
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

/** Characters of host output a pane's xterm has processed (see renderer/src/main.tsx). */
export function paneChars(page: Page, host: 'H1' | 'H2', pane: 'upper' | 'lower'): Promise<number> {
  return page.evaluate(
    ([h, p]) => (globalThis as unknown as { tcplab: { paneChars: (host: 'H1' | 'H2', pane: 'upper' | 'lower') => number } }).tcplab.paneChars(h, p),
    [host, pane] as const,
  );
}

/** Of paneChars, the characters the pane's fast-forward passed over (see renderer/src/terminals/write-queue.ts). */
export function paneSkippedChars(page: Page, host: 'H1' | 'H2', pane: 'upper' | 'lower'): Promise<number> {
  return page.evaluate(
    ([h, p]) => (globalThis as unknown as { tcplab: { paneSkippedChars: (host: 'H1' | 'H2', pane: 'upper' | 'lower') => number } }).tcplab.paneSkippedChars(h, p),
    [host, pane] as const,
  );
}

/** The smallest n whose `seq 1 n` output (as a terminal shows it) is at least `chars` long. */
export function seqCountFor(chars: number): number {
  let low = 1;
  let high = chars;
  while (low < high) {
    const mid = Math.floor((low + high) / 2);
    if (seqOutputChars(mid) >= chars) high = mid;
    else low = mid + 1;
  }
  return low;
}

/** `seq 1 n` as a terminal shows it: every line ends in CR LF (the PTY's onlcr). */
export function seqOutputChars(n: number): number {
  let total = 0;
  for (let digits = 1, low = 1; low <= n; digits++, low *= 10) {
    const high = Math.min(n, low * 10 - 1);
    total += (high - low + 1) * (digits + 2);
  }
  return total;
}

/** The process's peak resident memory (VmHWM), in MiB. */
export function peakRssMiB(pid: number): number {
  const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmHWM for process ${pid}`);
  return Number(match[1]) / 1024;
}
