/**
 * The Hosts view end to end: `tcplab web --hosts FILE` with no hosts file yet and an empty
 * known_hosts; the view sets H1 and H2 up as the local virtual lab in one click, the first
 * connection shows both keys, accepting writes them to known_hosts (ssh-keygen -F finds them),
 * and a changed key is refused with both fingerprints and the fix, which the app can apply.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintSha256 } from '../electron/lab/known-hosts';
import { labDir } from '../electron/lab/virtual-lab';
import { skipReason } from '../test/lab/lab-env';
import { launchBrowser, paneText, screenshot, watchedPage } from './support/browser';
import { closeWebApp, startWebApp, type RunningWebApp } from './support/web-app';

const CONNECT_TIMEOUT = 90_000;

/** The lab's own record of its keys: what the dialog must show. */
function labKeys(): Record<'H1' | 'H2', { address: string; fingerprint: string }> {
  const [h1, h2] = readFileSync(join(labDir(), 'known_hosts'), 'utf8').trim().split('\n');
  const parse = (line: string | undefined) => {
    const [address, , key] = line!.trim().split(/\s+/);
    return { address: address!, fingerprint: fingerprintSha256(Buffer.from(key!, 'base64')) };
  };
  return { H1: parse(h1), H2: parse(h2) };
}

/** `ssh-keygen -l -F host -f file`: the fingerprints OpenSSH itself finds for the host ('' when none). */
function sshKeygenFind(host: string, file: string): string {
  try {
    return execFileSync('ssh-keygen', ['-l', '-F', host, '-f', file], { encoding: 'utf8' });
  } catch {
    return ''; // exit 1: not found
  }
}

describe.skipIf(skipReason)('the Hosts view, on the virtual lab', () => {
  let app: RunningWebApp;
  let browser: BrowserContext;
  let page: Page;
  const work = mkdtempSync(join(tmpdir(), 'tcplab-hosts-e2e-'));
  const hostsFile = join(work, 'hosts.yaml');
  const knownHosts = join(work, 'known_hosts');
  const pageErrors: string[] = [];

  afterEach(() => {
    expect(pageErrors.splice(0)).toEqual([]);
  });

  beforeAll(async () => {
    writeFileSync(knownHosts, '');
    app = await startWebApp(['--hosts', hostsFile, '--known-hosts', knownHosts, '--out', join(work, 'runs')]);
    browser = await launchBrowser();
    page = await watchedPage(browser, pageErrors);
  });

  afterAll(async () => {
    expect(await closeWebApp(app, browser)).toBe(0);
  });

  it('starts with no hosts, says so on connect, and sets up the local virtual lab in one click', async () => {
    expect(app.output()).toContain(`No hosts file yet at ${hostsFile}`);
    await page.goto(app.url);
    await page.getByTestId('connect-button').click();
    await expect.poll(() => page.getByRole('alert').allTextContents()).toEqual(expect.arrayContaining([expect.stringMatching(/not set up yet: open Hosts/)]));

    await page.getByTestId('hosts-button').click();
    const note = page.getByTestId('hosts-secrets-note');
    await note.waitFor();
    expect(await note.getAttribute('data-kind')).toBe('memory');
    expect(await note.textContent()).toMatch(/in memory only/);
    await screenshot(page, 'hosts-01-empty');

    await page.getByTestId('hosts-local-lab').click();
    await expect.poll(() => page.getByTestId('hosts-status').textContent().catch(() => ''), { timeout: 60_000 }).toMatch(/local virtual lab/);
    const keys = labKeys();
    expect(await page.getByTestId('hosts-H1-address').inputValue()).toBe(keys.H1.address);
    expect(await page.getByTestId('hosts-H2-address').inputValue()).toBe(keys.H2.address);
    expect(await page.getByTestId('hosts-H2-sudo').inputValue()).toBe('password');
    await screenshot(page, 'hosts-02-local-lab');

    // The file the view wrote: the lab's hosts, secrets only by reference.
    const written = readFileSync(hostsFile, 'utf8');
    expect(written).toMatch(new RegExp(`address: ${keys.H1.address.replace(/\./g, '\\.')}`));
    expect(written).toMatch(/sudoPasswordFile: \/.*sudo-password/);
    const sudoPassword = readFileSync(join(labDir(), 'sudo-password'), 'utf8').trim();
    expect(written).not.toContain(sudoPassword);

    await page.getByTestId('hosts-close').click();
    await page.getByTestId('hosts-view').waitFor({ state: 'detached' });
  });

  it('shows both new keys, and writes the accepted ones to known_hosts, where ssh-keygen -F finds them', async () => {
    const keys = labKeys();
    for (const label of ['H1', 'H2'] as const) expect(sshKeygenFind(keys[label].address, knownHosts)).toBe('');
    await page.getByTestId('connect-button').click();
    await page.getByTestId('hostkey-dialog').waitFor({ timeout: CONNECT_TIMEOUT });
    expect(await page.getByTestId('fingerprint-H1').textContent()).toBe(keys.H1.fingerprint);
    expect(await page.getByTestId('fingerprint-H2').textContent()).toBe(keys.H2.fingerprint);
    expect(await page.getByTestId('hostkey-dialog').textContent()).toContain(`Accepted keys are added to ${knownHosts}`);
    await screenshot(page, 'hosts-03-new-keys');
    await page.getByTestId('hostkey-accept-H1').click();
    await page.getByTestId('hostkey-accept-H2').click();
    await page.getByTestId('hostkey-connect').click();
    await page.locator('[data-testid="backend-phase"][data-phase="connected"]').waitFor({ timeout: CONNECT_TIMEOUT });

    // OpenSSH's own lookup finds each key, with the fingerprint the dialog showed.
    for (const label of ['H1', 'H2'] as const) expect(sshKeygenFind(keys[label].address, knownHosts)).toContain(keys[label].fingerprint);
    expect(readFileSync(knownHosts, 'utf8').trim().split('\n')).toHaveLength(2);

    await page.getByTestId('disconnect-button').click();
    await page.locator('[data-testid="backend-phase"][data-phase="idle"]').waitFor({ timeout: 30_000 });
  });

  it('refuses a changed key, shows both fingerprints and the fix, and removes the old key only after confirmation', async () => {
    const keys = labKeys();
    // known_hosts now records another key for H1: what a reinstalled host (or an attacker) looks like.
    const impostor = join(work, 'impostor');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', impostor]);
    const impostorBlob = readFileSync(`${impostor}.pub`, 'utf8').split(/\s+/)[1]!;
    const impostorFingerprint = fingerprintSha256(Buffer.from(impostorBlob, 'base64'));
    const lines = readFileSync(knownHosts, 'utf8').trim().split('\n');
    const h1Line = lines.findIndex((l) => l.startsWith(`${keys.H1.address} `));
    expect(h1Line).toBeGreaterThanOrEqual(0);
    lines[h1Line] = `${keys.H1.address} ssh-ed25519 ${impostorBlob}`;
    writeFileSync(knownHosts, `${lines.join('\n')}\n`);

    await page.getByTestId('connect-button').click();
    const panel = page.getByTestId('changed-key-H1');
    await panel.waitFor({ timeout: CONNECT_TIMEOUT });
    expect(await page.getByTestId('changed-now-H1').textContent()).toBe(keys.H1.fingerprint);
    expect(await page.getByTestId('changed-known-H1').textContent()).toBe(impostorFingerprint);
    const fix = await page.getByTestId('changed-fix-H1').textContent();
    expect(fix).toBe(`ssh-keygen -R ${keys.H1.address} -f ${knownHosts}`);
    // Nothing to accept: a changed key is never accepted from the dialog.
    expect(await page.getByTestId('hostkey-accept-H1').count()).toBe(0);
    await screenshot(page, 'hosts-04-changed-key');

    await page.getByTestId('remove-key-H1').click();
    await page.getByTestId('remove-key-confirm-H1').waitFor();
    expect(readFileSync(knownHosts, 'utf8')).toContain(impostorBlob); // not before "Yes"
    await screenshot(page, 'hosts-05-confirm-remove');
    await page.getByTestId('remove-key-yes-H1').click();
    await page.getByTestId('changed-removed-H1').waitFor();
    expect(readFileSync(knownHosts, 'utf8')).not.toContain(impostorBlob);
    expect(existsSync(`${knownHosts}.old`)).toBe(true);
    expect(sshKeygenFind(keys.H1.address, knownHosts)).toBe('');
    expect(sshKeygenFind(keys.H2.address, knownHosts)).toContain(keys.H2.fingerprint); // H2 untouched
    await screenshot(page, 'hosts-06-removed');

    // Connect again: H1's real key is new now, shown to accept; H2 is trusted.
    await page.getByTestId('hostkey-dialog').getByRole('button', { name: 'Close', exact: true }).click();
    await page.getByTestId('connect-button').click();
    await page.getByTestId('hostkey-H1').waitFor({ timeout: CONNECT_TIMEOUT });
    expect(await page.getByTestId('hostkey-H2').count()).toBe(0);
    expect(await page.getByTestId('fingerprint-H1').textContent()).toBe(keys.H1.fingerprint);
    await page.getByTestId('hostkey-accept-H1').click();
    await page.getByTestId('hostkey-connect').click();
    await page.locator('[data-testid="backend-phase"][data-phase="connected"]').waitFor({ timeout: CONNECT_TIMEOUT });
    expect(sshKeygenFind(keys.H1.address, knownHosts)).toContain(keys.H1.fingerprint);
    await page.getByTestId('disconnect-button').click();
    await page.locator('[data-testid="backend-phase"][data-phase="idle"]').waitFor({ timeout: 30_000 });
  });
  it('gives a jump host its own login (a key with a passphrase, kept in memory), keeps it across a reload, and asks for the jump host\'s key naming it', async () => {
    const keys = labKeys();
    // The jump host is H1 itself (root@H1, then a channel from H1 to its own sshd): what the lab
    // can offer without a second sshd (test/lab/proxy-jump.test.ts has H2 behind H1). Its login
    // is a passphrase-protected copy of the lab key, so the passphrase has to be kept and used.
    const PASSPHRASE = 'jump-Passphrase-e2e-9137';
    const jumpKey = join(work, 'jump_key');
    writeFileSync(jumpKey, readFileSync(join(labDir(), 'id_ed25519')), { mode: 0o600 });
    execFileSync('ssh-keygen', ['-q', '-p', '-P', '', '-N', PASSPHRASE, '-f', jumpKey]);
    const jumpSpec = `root@${keys.H1.address}`;

    await page.getByTestId('hosts-button').click();
    await page.getByTestId('host-form-H1').waitFor();
    expect(await page.getByTestId('hosts-H1-jump-auth-fields').count()).toBe(0); // shown only with a jump host
    await page.getByTestId('hosts-H1-proxy-jump').fill(jumpSpec);
    await page.getByTestId('hosts-H1-jump-auth').selectOption('key');
    await page.getByTestId('hosts-H1-jump-key-file').fill(jumpKey);
    await page.getByTestId('hosts-H1-jump-passphrase').fill(PASSPHRASE);
    await screenshot(page, 'hosts-07-jump-login');
    await page.getByTestId('hosts-save').click();
    await expect.poll(() => page.getByTestId('hosts-status').textContent().catch(() => '')).toBe('Saved.');
    expect(await page.getByTestId('hosts-problem').count()).toBe(0);
    const written = readFileSync(hostsFile, 'utf8');
    expect(written).toMatch(new RegExp(`proxyJump: ${jumpSpec.replace(/\./g, '\\.')}\\n\\s+proxyJumpAuth:\\n\\s+type: key\\n\\s+keyFile: ${jumpKey}\\n\\s+passphraseStored: true`));
    expect(written).not.toContain(PASSPHRASE);

    // Reloaded: the view reads it back; the passphrase is kept (browser mode: in memory, and it says so).
    await page.reload();
    await page.getByTestId('hosts-button').click();
    await page.getByTestId('host-form-H1').waitFor();
    await expect.poll(() => page.getByTestId('hosts-H1-proxy-jump').inputValue()).toBe(jumpSpec);
    expect(await page.getByTestId('hosts-H1-jump-auth').inputValue()).toBe('key');
    expect(await page.getByTestId('hosts-H1-jump-key-file').inputValue()).toBe(jumpKey);
    expect(await page.getByTestId('hosts-H1-jump-passphrase').inputValue()).toBe(''); // never shown back
    expect(await page.getByTestId('host-form-H1').textContent()).toContain('kept by TCP Lab: leave empty to keep it');
    expect(await page.getByTestId('hosts-secrets-note').textContent()).toMatch(/in memory only/);
    expect(await page.getByTestId('hosts-H2-jump-auth-fields').count()).toBe(0);
    await screenshot(page, 'hosts-08-jump-login-reloaded');
    await page.getByTestId('hosts-close').click();

    // The jump host's key is not in known_hosts: the dialog says the key is the jump host's, and
    // accepting it writes the jump host's entry (here H1's address, where ssh -J would look it up).
    execFileSync('ssh-keygen', ['-R', keys.H1.address, '-f', knownHosts], { stdio: 'ignore' });
    expect(sshKeygenFind(keys.H1.address, knownHosts)).toBe('');
    await page.getByTestId('connect-button').click();
    await page.getByTestId('hostkey-H1').waitFor({ timeout: CONNECT_TIMEOUT });
    expect(await page.getByTestId('hostkey-H1').textContent()).toContain(`H1's jump host${jumpSpec}`);
    expect(await page.getByTestId('hostkey-jump-H1').textContent()).toContain(`This key is the jump host's (${jumpSpec})`);
    expect(await page.getByTestId('fingerprint-H1').textContent()).toBe(keys.H1.fingerprint);
    await screenshot(page, 'hosts-09-jump-host-key');
    await page.getByTestId('hostkey-accept-H1').click();
    await page.getByTestId('hostkey-connect').click();
    await page.locator('[data-testid="backend-phase"][data-phase="connected"]').waitFor({ timeout: CONNECT_TIMEOUT });
    expect(sshKeygenFind(keys.H1.address, knownHosts)).toContain(keys.H1.fingerprint);

    // H1's shell came through the jump host: sshd saw the connection come from H1 itself, not from this machine.
    await page.getByTestId('pane-H1-upper').click();
    await page.keyboard.type('echo "via:${SSH_CONNECTION%% *}"');
    await page.keyboard.press('Enter');
    await expect.poll(() => paneText(page, 'H1', 'upper'), { timeout: 20_000 }).toContain(`via:${keys.H1.address}`);
    await page.getByTestId('disconnect-button').click();
    await page.locator('[data-testid="backend-phase"][data-phase="idle"]').waitFor({ timeout: 30_000 });
  });
});
