/**
 * Import from ~/.ssh/config, end to end: `tcplab web` runs with HOME set to a home of the test's
 * own, whose ~/.ssh/config names the virtual lab's hosts as a lab assistant's would (an Include,
 * a pattern entry, `Host *`, a host behind a jump host named by its alias). The Hosts view imports
 * it, copies two entries into H1 and H2, the assistant adds what ssh's config has no place for
 * (experiment addresses, sudo), saves, connects, and both panes answer: H1's through the jump host.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { labDir } from '../electron/lab/virtual-lab';
import { labHosts, skipReason } from '../test/lab/lab-env';
import { launchBrowser, paneText, screenshot, watchedPage } from './support/browser';
import { closeWebApp, startWebApp, type RunningWebApp } from './support/web-app';

const CONNECT_TIMEOUT = 90_000;

describe.skipIf(skipReason)('Import from ~/.ssh/config, on the virtual lab', () => {
  let app: RunningWebApp;
  let browser: BrowserContext;
  let page: Page;
  const work = mkdtempSync(join(tmpdir(), 'tcplab-ssh-config-e2e-'));
  const home = join(work, 'home');
  const sshDir = join(home, '.ssh');
  const hostsFile = join(work, 'hosts.yaml');
  const knownHosts = join(work, 'known_hosts');
  const pageErrors: string[] = [];
  let lab: { H1: { address: string; experimentAddress: string }; H2: { address: string; experimentAddress: string } };

  afterEach(() => {
    expect(pageErrors.splice(0)).toEqual([]);
  });

  beforeAll(async () => {
    const { hosts } = await labHosts();
    lab = { H1: { address: hosts.H1.address, experimentAddress: hosts.H1.experimentAddress }, H2: { address: hosts.H2.address, experimentAddress: hosts.H2.experimentAddress } };
    mkdirSync(sshDir, { recursive: true, mode: 0o700 });
    copyFileSync(join(labDir(), 'id_ed25519'), join(sshDir, 'lab_key'));
    // ssh's rule, which the import follows: the first value obtained wins, so `Host *` comes last.
    writeFileSync(
      join(sshDir, 'config'),
      `# The networking lab's benches
Include lab.conf

Host lab-h1-jumped
    HostName ${lab.H1.address}
    User root
    IdentityFile ~/.ssh/lab_key
    ProxyJump lab-h1

Host lab-*
    Port 22

Host *
    ServerAliveInterval 30
`,
    );
    writeFileSync(
      join(sshDir, 'lab.conf'),
      `Host lab-h1
    HostName ${lab.H1.address}
    User root
    IdentityFile ~/.ssh/lab_key

Host lab-h2
    HostName ${lab.H2.address}
    User tcplab
    IdentityFile ~/.ssh/lab_key
`,
    );
    // The keys are known already (first connections are the Hosts e2e's subject).
    writeFileSync(knownHosts, readFileSync(join(labDir(), 'known_hosts')));
    app = await startWebApp(['--hosts', hostsFile, '--known-hosts', knownHosts, '--out', join(work, 'runs')], 60_000, { HOME: home });
    browser = await launchBrowser();
    page = await watchedPage(browser, pageErrors);
  });

  afterAll(async () => {
    expect(await closeWebApp(app, browser)).toBe(0);
  });

  it('lists the concrete hosts (patterns left out, Include followed, the jump host resolved from its alias)', async () => {
    await page.goto(app.url);
    await page.getByTestId('hosts-button').click();
    await page.getByTestId('host-form-H1').waitFor();
    await page.getByTestId('hosts-import').click();
    const imported = page.getByTestId('hosts-imported');
    await imported.waitFor();
    expect(await imported.textContent()).toContain(`${join(sshDir, 'config')}: 3 hosts`);
    const listed = await imported.locator('li').evaluateAll((items) => items.map((li) => (li as HTMLElement).dataset.testid));
    expect(listed.sort()).toEqual(['import-lab-h1', 'import-lab-h1-jumped', 'import-lab-h2']);
    expect(await page.getByTestId('import-lab-h2').textContent()).toContain(`tcplab@${lab.H2.address}:22`);
    const jumped = await page.getByTestId('import-lab-h1-jumped').textContent();
    expect(jumped).toContain(`root@${lab.H1.address}:22 via root@${lab.H1.address}`);
    // The alias's Host entry gave the jump host its HostName and User, as ssh -J does: said, not hidden.
    expect(jumped).toContain('resolved from its own Host entry');
    await screenshot(page, 'ssh-config-01-imported');
  });

  it('copies two entries into H1 and H2; with the experiment addresses and sudo added, they save and connect', async () => {
    await page.getByTestId('import-lab-h1-jumped').getByRole('button', { name: 'Use for H1' }).click();
    await page.getByTestId('import-lab-h2').getByRole('button', { name: 'Use for H2' }).click();
    expect(await page.getByTestId('hosts-status').textContent()).toBe('lab-h2 copied into H2: check it and save.');
    const key = join(sshDir, 'lab_key');
    expect(await page.getByTestId('hosts-H1-name').inputValue()).toBe('lab-h1-jumped');
    expect(await page.getByTestId('hosts-H1-address').inputValue()).toBe(lab.H1.address);
    expect(await page.getByTestId('hosts-H1-user').inputValue()).toBe('root');
    expect(await page.getByTestId('hosts-H1-key-file').inputValue()).toBe(key);
    expect(await page.getByTestId('hosts-H1-proxy-jump').inputValue()).toBe(`root@${lab.H1.address}`);
    expect(await page.getByTestId('hosts-H2-address').inputValue()).toBe(lab.H2.address);
    expect(await page.getByTestId('hosts-H2-user').inputValue()).toBe('tcplab');
    expect(await page.getByTestId('hosts-H2-key-file').inputValue()).toBe(key);
    expect(await page.getByTestId('hosts-H2-proxy-jump').inputValue()).toBe('');

    // What ~/.ssh/config has no place for.
    await page.getByTestId('hosts-H1-experiment-address').fill(lab.H1.experimentAddress);
    await page.getByTestId('hosts-H1-sudo').selectOption('none');
    await page.getByTestId('hosts-H2-experiment-address').fill(lab.H2.experimentAddress);
    await page.getByTestId('hosts-H2-sudo').selectOption('password');
    await page.getByTestId('hosts-H2-sudo-password').fill(readFileSync(join(labDir(), 'sudo-password'), 'utf8').trim());
    await screenshot(page, 'ssh-config-02-copied');
    await page.getByTestId('hosts-save').click();
    await expect.poll(() => page.getByTestId('hosts-status').textContent().catch(() => '')).toBe('Saved.');
    expect(await page.getByTestId('hosts-problem').count()).toBe(0);
    const saved = parseYaml(readFileSync(hostsFile, 'utf8')) as { hosts: Record<'H1' | 'H2', unknown> };
    expect(saved.hosts.H1).toMatchObject({ address: lab.H1.address, user: 'root', proxyJump: `root@${lab.H1.address}`, auth: { type: 'key', keyFile: key } });
    expect(saved.hosts.H2).toMatchObject({ address: lab.H2.address, user: 'tcplab', auth: { type: 'key', keyFile: key } });
    await page.getByTestId('hosts-close').click();

    await page.getByTestId('connect-button').click();
    await page.locator('[data-testid="backend-phase"][data-phase="connected"]').waitFor({ timeout: CONNECT_TIMEOUT });
    // H1's shell came through the jump host: its sshd saw the connection come from H1 itself.
    await page.getByTestId('pane-H1-upper').click();
    await page.keyboard.type('echo "via:${SSH_CONNECTION%% *}"');
    await page.keyboard.press('Enter');
    await expect.poll(() => paneText(page, 'H1', 'upper'), { timeout: 20_000 }).toContain(`via:${lab.H1.address}`);
    await page.getByTestId('pane-H2-upper').click();
    await page.keyboard.type('echo "$(id -un) answers $((6 * 7))"');
    await page.keyboard.press('Enter');
    await expect.poll(() => paneText(page, 'H2', 'upper'), { timeout: 20_000 }).toContain('tcplab answers 42');
    await screenshot(page, 'ssh-config-03-connected');
    await page.getByTestId('disconnect-button').click();
    await page.locator('[data-testid="backend-phase"][data-phase="idle"]').waitFor({ timeout: 30_000 });
  });
});
