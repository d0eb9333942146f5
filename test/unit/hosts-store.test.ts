/**
 * The Hosts view's storage, with real files: the hosts file written from the view's input is a
 * valid hosts file, secrets never appear in it (nor in clear anywhere on disk), they come back
 * when the hosts are resolved, and a secret kept only in memory is reported missing after a
 * restart. The cipher is real AES-256-GCM (Electron's safeStorage takes its place in the app).
 */
import { execFileSync } from 'node:child_process';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import type { HostsSetupInput } from '../../shared/src/hosts-api';
import { parseHostsFile } from '../../shared/src/hosts-file';
import { EncryptedSecretStore, HostsError, HostsStore, MemorySecretStore, type SecretCipher } from '../../electron/lab/hosts-store';

function aesCipher(key = randomBytes(32)): SecretCipher {
  return {
    available: () => true,
    backend: () => 'test AES-256-GCM',
    encrypt: (plain) => {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
      return Buffer.concat([iv, c.getAuthTag(), body]);
    },
    decrypt: (data) => {
      const d = createDecipheriv('aes-256-gcm', key, data.subarray(0, 12));
      d.setAuthTag(data.subarray(12, 28));
      return Buffer.concat([d.update(data.subarray(28)), d.final()]).toString('utf8');
    },
  };
}

const PASSWORD = 'h1-Login-Secret-4711';
const SUDO = 'h2-Sudo-Secret-0815';
const PASSPHRASE = 'key-Passphrase-1234';

describe('HostsStore', () => {
  let dir: string;
  let keyFile: string;
  let setup: HostsSetupInput;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tcplab-hosts-store-'));
    keyFile = join(dir, 'id_ed25519');
    // A real key protected by a passphrase: resolving must open it with the kept passphrase.
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', PASSPHRASE, '-f', keyFile]);
    setup = {
      H1: { name: 'bench 3 left', address: '192.0.2.11', port: 22, user: 'lab', auth: { type: 'password', password: PASSWORD }, sudo: 'passwordless' },
      H2: {
        name: 'bench 3 right',
        address: '192.0.2.12',
        port: 2222,
        experimentAddress: '10.0.0.2',
        user: 'lab',
        auth: { type: 'key', keyFile, passphrase: PASSPHRASE },
        sudo: 'password',
        sudoPassword: SUDO,
        proxyJump: 'gw@bastion.example.org:2200',
      },
    };
  });

  /** Every file the store wrote, as text: no secret may appear in any of them. */
  const everything = (): string =>
    readdirSync(dir)
      .filter((f) => !f.startsWith('id_ed25519'))
      .map((f) => readFileSync(join(dir, f), 'utf8'))
      .join('\n');

  it('round-trips through an encrypted secrets file: the hosts file is valid and holds no secret, the secrets file none in clear', async () => {
    const cipher = aesCipher();
    const secretsFile = join(dir, 'secrets.json');
    const store = new HostsStore({ file: join(dir, 'hosts.yaml'), secrets: await EncryptedSecretStore.open(secretsFile, cipher), knownHostsFile: join(dir, 'known_hosts') });
    await store.save(setup);

    const text = readFileSync(join(dir, 'hosts.yaml'), 'utf8');
    expect(parseHostsFile(text, 'hosts.yaml').ok).toBe(true);
    expect(text).toMatch(/passwordStored: true/);
    expect(text).toMatch(/sudoPasswordStored: true/);
    expect(text).toMatch(/passphraseStored: true/);
    expect(text).toMatch(/proxyJump: gw@bastion.example.org:2200/);
    for (const secret of [PASSWORD, SUDO, PASSPHRASE]) expect(everything()).not.toContain(secret);
    expect(statSync(join(dir, 'hosts.yaml')).mode & 0o777).toBe(0o600);
    expect(statSync(secretsFile).mode & 0o777).toBe(0o600);
    expect(Object.keys(JSON.parse(readFileSync(secretsFile, 'utf8')) as object).sort()).toEqual(['H1.password', 'H2.passphrase', 'H2.sudoPassword']);

    // A new process: the same files, the same keyring.
    const again = new HostsStore({ file: join(dir, 'hosts.yaml'), secrets: await EncryptedSecretStore.open(secretsFile, cipher), knownHostsFile: join(dir, 'known_hosts') });
    const resolved = await again.resolve();
    const h1 = resolved.hosts.H1;
    const h2 = resolved.hosts.H2;
    expect(h1.auth.type === 'password' && h1.auth.password).toBe(PASSWORD);
    expect(h2.sudoPassword).toBe(SUDO);
    expect(h2.auth.type === 'key' && h2.auth.passphrase).toBe(PASSPHRASE);
    expect(h2).toMatchObject({ name: 'bench 3 right', port: 2222, experimentAddress: '10.0.0.2', proxyJump: 'gw@bastion.example.org:2200' });
    // Secrets stay invisible to JSON (what could reach the renderer or a log).
    expect(JSON.stringify(resolved)).not.toContain(PASSWORD);

    const view = await again.view({ available: false, reason: 'test' });
    expect(view.problem).toBeUndefined();
    expect(view.secrets.kind).toBe('encrypted');
    expect(view.hosts?.H1.auth).toEqual({ type: 'password', password: { kind: 'stored' } });
    expect(view.hosts?.H2.sudoPassword).toEqual({ kind: 'stored' });
    expect(JSON.stringify(view)).not.toMatch(new RegExp(`${PASSWORD}|${SUDO}|${PASSPHRASE}`));

    // Saving again without the secrets keeps them.
    const withoutSecrets: HostsSetupInput = { H1: { ...setup.H1, auth: { type: 'password' } }, H2: { ...setup.H2, auth: { type: 'key', keyFile } } };
    delete withoutSecrets.H2.sudoPassword;
    await again.save(withoutSecrets);
    const kept = await again.resolve();
    expect(kept.hosts.H1.auth.type === 'password' && kept.hosts.H1.auth.password).toBe(PASSWORD);
    expect(kept.hosts.H2.sudoPassword).toBe(SUDO);
  });

  it('a secrets file from another keyring cannot be read', async () => {
    const secretsFile = join(dir, 'secrets.json');
    const store = new HostsStore({ file: join(dir, 'hosts.yaml'), secrets: await EncryptedSecretStore.open(secretsFile, aesCipher()) });
    await store.save(setup);
    await expect(EncryptedSecretStore.open(secretsFile, aesCipher())).rejects.toThrow();
  });

  it('browser mode keeps secrets in memory only: nothing on disk, and after a restart the view asks for them again', async () => {
    const store = new HostsStore({ file: join(dir, 'hosts.yaml'), secrets: new MemorySecretStore() });
    await store.save(setup);
    expect(readdirSync(dir).sort()).toEqual(['hosts.yaml', 'id_ed25519', 'id_ed25519.pub']);
    for (const secret of [PASSWORD, SUDO, PASSPHRASE]) expect(everything()).not.toContain(secret);
    expect((await store.resolve()).hosts.H2.sudoPassword).toBe(SUDO);
    expect((await store.view({ available: true })).secrets.description).toMatch(/in memory only/);

    const restarted = new HostsStore({ file: join(dir, 'hosts.yaml'), secrets: new MemorySecretStore() });
    await expect(restarted.resolve()).rejects.toThrow(/H1: the password is kept by TCP Lab \(in memory in browser mode, forgotten when it restarts\) and is not there: enter it in the Hosts view/);
    const view = await restarted.view({ available: true });
    expect(view.hosts?.H1.auth).toEqual({ type: 'password', password: { kind: 'missing' } });
    expect(view.problem).toMatch(/H2: the key passphrase is kept/);
  });

  it('shows a jump host login written by hand (proxyJumpAuth), and keeps it when the view saves it back', async () => {
    const file = join(dir, 'hosts.yaml');
    const store = new HostsStore({ file, secrets: new MemorySecretStore() });
    await store.save(setup);
    writeFileSync(file, readFileSync(file, 'utf8').replace(/^(\s+)proxyJump: (.*)$/m, '$1proxyJump: $2\n$1proxyJumpAuth:\n$1  type: password\n$1  passwordEnv: JUMP_PASS'));
    expect(parseHostsFile(readFileSync(file, 'utf8'), file)).toMatchObject({ ok: true, value: { hosts: { H2: { proxyJumpAuth: { type: 'password', passwordEnv: 'JUMP_PASS' } } } } });
    const view = await store.view({ available: true });
    expect(view.hosts?.H2.proxyJumpAuth).toEqual({ type: 'password', password: { kind: 'env', name: 'JUMP_PASS' } });
    // The view sends back what it showed, the password left out: the reference stays.
    await store.save({ ...setup, H2: { ...setup.H2, proxyJumpAuth: { type: 'password' } } });
    expect(readFileSync(file, 'utf8')).toMatch(/proxyJumpAuth:\n\s+type: password\n\s+passwordEnv: JUMP_PASS/);
    // "Same as this host": no proxyJumpAuth.
    await store.save(setup);
    expect(readFileSync(file, 'utf8')).not.toContain('proxyJumpAuth');
  });

  for (const mode of ['encrypted', 'memory'] as const) {
    it(`keeps the jump host's own password and key passphrase as the other secrets (${mode}), never in the hosts file`, async () => {
      const JUMP_PASSWORD = 'jump-Login-Secret-2718';
      const JUMP_PASSPHRASE = 'jump-Passphrase-3141';
      const jumpKey = join(dir, 'id_ed25519_jump');
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', JUMP_PASSPHRASE, '-f', jumpKey]);
      const file = join(dir, 'hosts.yaml');
      const secretsFile = join(dir, 'secrets.json');
      const cipher = aesCipher();
      const open = async () => new HostsStore({ file, secrets: mode === 'encrypted' ? await EncryptedSecretStore.open(secretsFile, cipher) : memory });
      const memory = new MemorySecretStore();
      const store = await open();
      // H1 logs in with a password: its jump host needs a login of its own, here a password.
      const withJumps: HostsSetupInput = {
        H1: { ...setup.H1, proxyJump: 'gw@bastion.example.org', proxyJumpAuth: { type: 'password', password: JUMP_PASSWORD } },
        H2: { ...setup.H2, proxyJumpAuth: { type: 'key', keyFile: jumpKey, passphrase: JUMP_PASSPHRASE } },
      };
      await store.save(withJumps);
      const text = readFileSync(file, 'utf8');
      expect(parseHostsFile(text, file)).toMatchObject({
        ok: true,
        value: { hosts: { H1: { proxyJumpAuth: { type: 'password', passwordStored: true } }, H2: { proxyJumpAuth: { type: 'key', keyFile: jumpKey, passphraseStored: true } } } },
      });
      for (const secret of [JUMP_PASSWORD, JUMP_PASSPHRASE]) expect(everything()).not.toContain(secret);
      if (mode === 'encrypted') expect(Object.keys(JSON.parse(readFileSync(secretsFile, 'utf8')) as object).sort()).toEqual(['H1.jumpPassword', 'H1.password', 'H2.jumpPassphrase', 'H2.passphrase', 'H2.sudoPassword']);
      else expect(readdirSync(dir)).not.toContain('secrets.json');

      // Reloaded (a new store on the same files and keyring, or the same memory): the view says they are kept, resolving reads them.
      const again = await open();
      const view = await again.view({ available: true });
      expect(view.problem).toBeUndefined();
      expect(view.hosts?.H1.proxyJumpAuth).toEqual({ type: 'password', password: { kind: 'stored' } });
      expect(view.hosts?.H2.proxyJumpAuth).toEqual({ type: 'key', keyFile: jumpKey, passphrase: { kind: 'stored' } });
      const resolved = await again.resolve();
      const j1 = resolved.hosts.H1.jump?.auth;
      const j2 = resolved.hosts.H2.jump?.auth;
      expect(j1?.type === 'password' && j1.password).toBe(JUMP_PASSWORD);
      expect(j2?.type === 'key' && j2.passphrase).toBe(JUMP_PASSPHRASE);
      expect(resolved.hosts.H1.auth.type === 'password' && resolved.hosts.H1.auth.password).toBe(PASSWORD); // the host's own, apart
      expect(JSON.stringify(resolved)).not.toMatch(new RegExp(`${JUMP_PASSWORD}|${JUMP_PASSPHRASE}`));

      // Saved back without the secrets (as the view does): kept. Switched to agent: the jump secret is forgotten.
      await again.save({ H1: { ...withJumps.H1, proxyJumpAuth: { type: 'password' } }, H2: { ...withJumps.H2, proxyJumpAuth: { type: 'key', keyFile: jumpKey } } });
      const kept = await again.resolve();
      expect(kept.hosts.H1.jump?.auth.type === 'password' && kept.hosts.H1.jump.auth.password).toBe(JUMP_PASSWORD);
      expect(kept.hosts.H2.jump?.auth.type === 'key' && kept.hosts.H2.jump.auth.passphrase).toBe(JUMP_PASSPHRASE);
      await again.save({ ...withJumps, H2: { ...withJumps.H2, proxyJumpAuth: { type: 'agent' } } });
      expect((await again.view({ available: true })).hosts?.H2.proxyJumpAuth).toEqual({ type: 'agent' });
      if (mode === 'encrypted') expect(Object.keys(JSON.parse(readFileSync(secretsFile, 'utf8')) as object)).not.toContain('H2.jumpPassphrase');

      // A jump password needed and nowhere: refused, naming it.
      const fresh = new HostsStore({ file: join(dir, 'other.yaml'), secrets: new MemorySecretStore() });
      await expect(fresh.save({ ...withJumps, H1: { ...withJumps.H1, proxyJumpAuth: { type: 'password' } } })).rejects.toThrow(/H1: enter the jump host's password/);
    });
  }

  it('browser mode after a restart: a jump host secret kept in memory is reported missing, by name', async () => {
    const file = join(dir, 'hosts.yaml');
    await new HostsStore({ file, secrets: new MemorySecretStore() }).save({ ...setup, H2: { ...setup.H2, proxyJumpAuth: { type: 'password', password: 'x-jump-pw' } } });
    const restarted = new HostsStore({ file, secrets: new MemorySecretStore() });
    const view = await restarted.view({ available: true });
    expect(view.hosts?.H2.proxyJumpAuth).toEqual({ type: 'password', password: { kind: 'missing' } });
    expect(view.problem).toMatch(/H2: the jump host's password is kept by TCP Lab \(in memory in browser mode, forgotten when it restarts\)/);
  });

  it('refuses input that is not a host, and a password that is needed and nowhere, writing nothing', async () => {
    const store = new HostsStore({ file: join(dir, 'hosts.yaml'), secrets: new MemorySecretStore() });
    await expect(store.save({ ...setup, H1: { ...setup.H1, address: 'evil; rm -rf /' } })).rejects.toThrow(HostsError);
    await expect(store.save({ ...setup, H1: { ...setup.H1, auth: { type: 'password' } } })).rejects.toThrow(/H1: enter the password/);
    await expect(store.save({ ...setup, H2: { ...setup.H2, proxyJump: 'a.example.org,b.example.org' } })).rejects.toThrow(/one jump host/);
    expect(readdirSync(dir)).not.toContain('hosts.yaml');
  });
});
