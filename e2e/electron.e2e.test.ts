/**
 * The desktop app itself (Playwright's `_electron.launch`), under Xvfb: the same connect-and-run
 * flow as the browser test, through the preload and IPC instead of the WebSocket. Needs the
 * Electron runtime (node_modules/electron/dist, downloaded by electron's install script) and the
 * built shell (`npm run build:electron`); where either is missing the tests are reported
 * skipped, with the reason printed, never passed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { _electron, type ElectronApplication, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDir } from '../electron/lab/virtual-lab';
import { skipReason as labSkipReason } from '../test/lab/lab-env';
import { screenshot } from './support/browser';

const REPO = join(import.meta.dirname, '..');

/** The Electron binary, or why it cannot be used here. */
function electronRuntime(): { path: string } | { why: string } {
  try {
    // electron's index.js throws when its install script never downloaded the runtime.
    const path = createRequire(import.meta.url)('electron') as unknown;
    if (typeof path !== 'string' || !existsSync(path)) return { why: `the electron package names no runtime binary (${String(path)})` };
    return { path };
  } catch (error) {
    return { why: `the Electron runtime is not installed (${(error as Error).message.split('\n')[0]}); it is downloaded by electron's install script, which needs github.com` };
  }
}

function skipReason(): string | undefined {
  const runtime = electronRuntime();
  if ('why' in runtime) return runtime.why;
  if (!existsSync(join(REPO, 'dist-electron', 'main', 'index.js'))) return 'the shell is not built: npm run build:electron';
  if (!existsSync(join(REPO, 'renderer', 'dist', 'index.html'))) return 'the renderer is not built: npm run build:renderer';
  if (!process.env.DISPLAY && spawnSync('which', ['Xvfb']).status !== 0) return 'no display: set DISPLAY or install Xvfb';
  return labSkipReason;
}

const why = skipReason();
if (why) console.warn(`\n*** SKIPPING the Electron tests (e2e/electron.e2e.test.ts): ${why} ***\n`);

describe.skipIf(why)('the desktop app (Electron), on the virtual lab', () => {
  let app: ElectronApplication;
  let page: Page;
  let xvfb: ChildProcess | undefined;
  const userData = mkdtempSync(join(tmpdir(), 'tcplab-electron-'));

  beforeAll(async () => {
    const env: Record<string, string> = { ...(process.env as Record<string, string>) };
    if (!env.DISPLAY) {
      xvfb = spawn('Xvfb', [':87', '-screen', '0', '1280x800x24', '-nolisten', 'tcp'], { stdio: 'ignore' });
      env.DISPLAY = ':87';
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    // An empty known_hosts instead of the lab's own (which trusts its keys): the dialog must show.
    writeFileSync(join(userData, 'known_hosts'), '');
    env.TCPLAB_KNOWN_HOSTS = join(userData, 'known_hosts');
    env.TCPLAB_USER_DATA = userData;
    const runtime = electronRuntime() as { path: string };
    app = await _electron.launch({ executablePath: runtime.path, args: [REPO], env, cwd: REPO });
    page = await app.firstWindow();
  });

  afterAll(async () => {
    await app?.close();
    xvfb?.kill('SIGTERM');
  });

  it('is locked down: isolated, sandboxed, no Node in the page, only window.lab exposed', async () => {
    expect(await page.evaluate(() => typeof (globalThis as { require?: unknown }).require)).toBe('undefined');
    expect(await page.evaluate(() => typeof (globalThis as { process?: unknown }).process)).toBe('undefined');
    expect(await page.evaluate(() => Object.keys((globalThis as unknown as { lab: object }).lab).sort())).toEqual(['onMessage', 'send', 'start']);
    expect(page.url()).toMatch(/^tcplab:\/\/app\//);
  });

  it('sets up the local virtual lab, accepts both host keys, connects and runs lost-fin', async () => {
    await page.getByTestId('hosts-button').click();
    await page.getByTestId('hosts-local-lab').click();
    await page.getByTestId('hosts-status').waitFor({ timeout: 60_000 });
    await page.getByTestId('hosts-close').click();
    await page.getByTestId('connect-button').click();
    await page.getByTestId('hostkey-dialog').waitFor({ timeout: 90_000 });
    await page.getByTestId('hostkey-accept-H1').click();
    await page.getByTestId('hostkey-accept-H2').click();
    await page.getByTestId('hostkey-connect').click();
    await page.locator('[data-testid="backend-phase"][data-phase="connected"]').waitFor({ timeout: 90_000 });
    await page.getByTestId('experiment-select').selectOption('lost-fin');
    await page.getByTestId('run-button').click();
    const result = page.getByTestId('run-result');
    await result.waitFor({ timeout: 120_000 });
    expect(await result.getAttribute('data-passed')).toBe('true');
    await screenshot(page, 'electron-01-lost-fin');
    // Accepted keys were written to known_hosts; the hosts file went to userData.
    expect(readFileSync(join(userData, 'known_hosts'), 'utf8').trim().split('\n')).toHaveLength(2);
    expect(readFileSync(join(userData, 'hosts.yaml'), 'utf8')).toContain(readFileSync(join(labDir(), 'hosts.yaml'), 'utf8').match(/address: (\S+)/)![1]!);
  });
});
