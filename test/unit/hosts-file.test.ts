import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, readHostsFile } from '../../electron/lab/hosts-config';
import { parseHostsFile, parseProxyJump } from '../../shared/src/hosts-file';
import { formatFileErrors } from '../../shared/src/yaml-load';

function errorsOf(text: string, fileName = 'hosts.yaml'): string {
  const result = parseHostsFile(text, fileName);
  if (result.ok) throw new Error(`expected errors, got ${JSON.stringify(result.value)}`);
  return formatFileErrors(result.errors);
}

const GOOD = `# TCP Lab hosts file
knownHosts: ~/.ssh/known_hosts
hosts:
  H1:
    address: 192.168.56.11
    port: 22
    experimentAddress: 10.0.0.1
    user: lab
    auth: { type: key, keyFile: ~/.ssh/id_ed25519 }
    sudo: password
    sudoPasswordFile: ./h1.sudo
  H2:
    address: h2.lab.example
    user: root
    auth: { type: agent }
    sudo: none
`;

describe('parseHostsFile', () => {
  it('reads the documented example, with defaults', () => {
    const result = parseHostsFile(GOOD, 'hosts.yaml');
    expect(result).toEqual({
      ok: true,
      value: {
        knownHosts: '~/.ssh/known_hosts',
        hosts: {
          H1: {
            address: '192.168.56.11',
            port: 22,
            experimentAddress: '10.0.0.1',
            user: 'lab',
            auth: { type: 'key', keyFile: '~/.ssh/id_ed25519' },
            sudo: 'password',
            sudoPasswordFile: './h1.sudo',
          },
          H2: { address: 'h2.lab.example', port: 22, user: 'root', auth: { type: 'agent' }, sudo: 'none' },
        },
      },
    });
  });

  it('reads the file resources/virtual-lab.sh writes', () => {
    const script = readFileSync(join(__dirname, '../../resources/virtual-lab.sh'), 'utf8');
    const template = /cat >"\$LAB_DIR\/hosts\.yaml" <<EOF\n([\s\S]*?)\nEOF/.exec(script)?.[1];
    expect(template).toBeDefined();
    const text = template!
      .replace(/\$H1_MGMT/g, '10.199.0.1')
      .replace(/\$H2_MGMT/g, '10.199.0.2')
      .replace(/\$H1_EXP/g, '10.200.0.1')
      .replace(/\$H2_EXP/g, '10.200.0.2')
      .replace(/\$LAB_USER/g, 'tcplab');
    const result = parseHostsFile(text, 'hosts.yaml');
    expect(result.ok ? [] : formatFileErrors(result.errors)).toEqual([]);
  });

  it('reads the same thing written as JSON', () => {
    const json = JSON.stringify({
      hosts: {
        H1: { address: '10.0.0.1', user: 'root', auth: { type: 'agent' }, sudo: 'none' },
        H2: { address: '10.0.0.2', user: 'lab', auth: { type: 'password', passwordEnv: 'H2_PASS' }, sudo: 'passwordless' },
      },
    }, null, 2);
    const result = parseHostsFile(json, 'hosts.json');
    expect(result.ok && result.value.hosts.H2.auth).toEqual({ type: 'password', passwordEnv: 'H2_PASS' });
  });

  it('reports a bad port, shell metacharacters, an unknown key and a missing H2, all at once with their lines', () => {
    const text = [
      'hosts:', // 1
      '  H1:', // 2
      '    address: h1;rm -rf /', // 3
      '    port: 70000', // 4
      '    user: $(reboot)', // 5
      '    auth: { type: key, keyFile: ~/.ssh/id_ed25519 }', // 6
      '    sudo: passwordless', // 7
      '    adress: 10.0.0.1', // 8
      '',
    ].join('\n');
    expect(errorsOf(text)).toBe(
      [
        'hosts.yaml:1:1: hosts.H2: required, but missing',
        'hosts.yaml:3:5: hosts.H1.address: contains ";", which is not allowed in an address; give an IPv4 address (192.168.56.11), an IPv6 address (fd00::11) or a host name (h1.lab.example)',
        'hosts.yaml:4:5: hosts.H1.port: must be a number from 1 to 65535',
        'hosts.yaml:5:5: hosts.H1.user: contains "$", which is not allowed in a user name; use letters, digits, ".", "_" and "-" only',
        'hosts.yaml:8:5: hosts.H1.adress: unknown key "adress"; did you mean "address"?',
      ].join('\n'),
    );
  });

  it('explains the mistakes people make', () => {
    const text = [
      'knownHost: ~/.ssh/known_hosts', // 1
      'hosts:', // 2
      '  H1:', // 3
      '    address: "-oProxyCommand=reboot"', // 4
      '    port: "22"', // 5
      '    user: lab', // 6
      '    auth: { type: pasword, passwordFile: ./p }', // 7
      '    sudo: none', // 8
      '  h2:', // 9
      '    address: 010.0.0.2', // 10
      '  H3: {}', // 11
      '',
    ].join('\n');
    expect(errorsOf(text)).toBe(
      [
        'hosts.yaml:1:1: knownHost: unknown key "knownHost"; did you mean "knownHosts"?',
        'hosts.yaml:2:1: hosts.H2: required, but missing',
        'hosts.yaml:4:5: hosts.H1.address: must not start with "-" (it would be read as an option); give an IPv4 address, an IPv6 address or a host name',
        'hosts.yaml:5:5: hosts.H1.port: must be a number from 1 to 65535 (write it without quotes)',
        'hosts.yaml:7:13: hosts.H1.auth.type: must be one of key, agent or password (got the text "pasword"); did you mean password?',
        'hosts.yaml:8:5: hosts.H1.sudo: sudo: none means the login is root; use passwordless or password (user is "lab", not root)',
        'hosts.yaml:9:3: hosts.h2: unknown key "h2"; did you mean "H2"?',
        'hosts.yaml:11:3: hosts.H3: unknown key "H3": the keys allowed here are H1, H2',
      ].join('\n'),
    );
  });

  it('refuses secrets in the file, pointing to passwordFile/passwordEnv', () => {
    const text = [
      'hosts:', // 1
      '  H1:', // 2
      '    address: 192.168.56.11', // 3
      '    user: lab', // 4
      '    password: hunter2', // 5
      '    auth:', // 6
      '      type: password', // 7
      '      password: hunter2', // 8
      '    sudo: password', // 9
      '    sudoPassword: hunter3', // 10
      '  H2:', // 11
      '    address: 192.168.56.12', // 12
      '    user: lab', // 13
      '    auth: { type: key, keyFile: "" }', // 14
      '    sudo: passwordless', // 15
      '    keyFile: x', // 16
      '',
    ].join('\n');
    const errors = errorsOf(text);
    expect(errors).not.toContain('hunter');
    expect(errors.split('\n')).toEqual([
      'hosts.yaml:5:5: hosts.H1.password: passwords are never written in the hosts file: put the password in a file readable only by you and write auth: { type: password, passwordFile: <path> }, or in an environment variable and write auth: { type: password, passwordEnv: <NAME> }',
      'hosts.yaml:8:7: hosts.H1.auth.password: passwords are never written in the hosts file: put it in a file readable only by you and write passwordFile: <path>, or in an environment variable and write passwordEnv: <NAME>',
      'hosts.yaml:10:5: hosts.H1.sudoPassword: passwords are never written in the hosts file: put it in a file readable only by you and write sudoPasswordFile: <path>, or in an environment variable and write sudoPasswordEnv: <NAME>',
      'hosts.yaml:14:24: hosts.H2.auth.keyFile: must not be empty: give a file path',
      'hosts.yaml:16:5: hosts.H2.keyFile: keyFile belongs inside auth: auth: { type: key, keyFile: <path> }',
    ]);
  });

  it('checks that the sudo settings and secret references fit together', () => {
    const text = [
      'hosts:', // 1
      '  H1:', // 2
      '    address: 192.168.56.11', // 3
      '    user: lab', // 4
      '    auth: { type: password, passwordFile: ./p, passwordEnv: P }', // 5
      '    sudo: passwordless', // 6
      '    sudoPasswordFile: ./s', // 7
      '  H2:', // 8
      '    address: 192.168.56.12', // 9
      '    user: lab', // 10
      '    auth: { type: password, passwordEnv: $H2_PASS }', // 11
      '    sudo: password', // 12
      '    sudoPasswordFile: ~lab/s', // 13
      '    sudoPasswordEnv: S', // 14
      '',
    ].join('\n');
    expect(errorsOf(text).split('\n')).toEqual([
      'hosts.yaml:5:48: hosts.H1.auth.passwordEnv: give either passwordFile or passwordEnv, not both',
      'hosts.yaml:7:5: hosts.H1.sudoPasswordFile: is only used with sudo: password (sudo is passwordless); remove it or set sudo: password',
      'hosts.yaml:11:29: hosts.H2.auth.passwordEnv: must be the name of an environment variable (letters, digits and "_", such as H1_PASS), not its value',
      'hosts.yaml:13:5: hosts.H2.sudoPasswordFile: only "~/" (your own home directory) is understood; write the full path for other users\' homes',
      'hosts.yaml:14:5: hosts.H2.sudoPasswordEnv: give either sudoPasswordFile or sudoPasswordEnv, not both',
    ]);
    const missing = GOOD.replace('    sudoPasswordFile: ./h1.sudo\n', '').replace('auth: { type: agent }', 'auth: { type: password }');
    expect(errorsOf(missing).split('\n')).toEqual([
      'hosts.yaml:10:5: hosts.H1.sudo: sudo: password needs sudoPasswordFile: <path> or sudoPasswordEnv: <NAME> next to it',
      'hosts.yaml:14:5: hosts.H2.auth: type: password needs passwordFile: <path> or passwordEnv: <NAME>',
    ]);
  });

  it('reads a jump host (ProxyJump) and its own login, and explains what it cannot use', () => {
    const withJump = (h2: string[]): string =>
      ['hosts:', '  H1: { address: 10.0.0.1, user: root, auth: { type: agent }, sudo: none }', '  H2:', ...h2.map((l) => `    ${l}`), ''].join('\n');
    const good = parseHostsFile(
      withJump(['address: 10.0.0.2', 'user: lab', 'auth: { type: key, keyFile: lab.key }', 'sudo: passwordless', 'proxyJump: gw@[fd00::1]:2200', 'proxyJumpAuth: { type: agent }']),
      'hosts.yaml',
    );
    expect(good.ok && good.value.hosts.H2).toMatchObject({ proxyJump: 'gw@[fd00::1]:2200', proxyJumpAuth: { type: 'agent' } });
    // Without proxyJumpAuth the host's own key is used: valid as it is.
    expect(parseHostsFile(withJump(['address: 10.0.0.2', 'user: lab', 'auth: { type: agent }', 'sudo: passwordless', 'proxyJump: bastion.example.org']), 'h.yaml').ok).toBe(true);

    expect(errorsOf(withJump(['address: 10.0.0.2', 'user: lab', 'auth: { type: agent }', 'sudo: passwordless', 'proxyJump: a.example.org,b.example.org'])).split('\n')).toEqual([
      'hosts.yaml:8:5: hosts.H2.proxyJump: is a chain of several jump hosts, which TCP Lab does not support: give one jump host, [user@]host[:port]',
    ]);
    expect(errorsOf(withJump(['address: 10.0.0.2', 'user: lab', 'auth: { type: agent }', 'sudo: passwordless', 'proxyJump: ssh://gw@bastion'])).split('\n')).toEqual([
      'hosts.yaml:8:5: hosts.H2.proxyJump: must be written as [user@]host[:port], without a scheme such as ssh://',
    ]);
    expect(errorsOf(withJump(['address: 10.0.0.2', 'user: lab', 'auth: { type: agent }', 'sudo: passwordless', 'proxyJump: bastion:70000'])).split('\n')).toEqual([
      'hosts.yaml:8:5: hosts.H2.proxyJump: must be one jump host written as [user@]host[:port] (chains of several jump hosts are not supported)',
    ]);
    // The host's password is never sent to the jump host; the jump host may have a password of its own.
    expect(errorsOf(withJump(['address: 10.0.0.2', 'user: lab', 'auth: { type: password, passwordEnv: P }', 'sudo: passwordless', 'proxyJump: bastion'])).split('\n')).toEqual([
      'hosts.yaml:8:5: hosts.H2.proxyJump: this host logs in with a password, which is never sent to another machine: give the jump host its own login, proxyJumpAuth: { type: key, keyFile: <path> }, { type: agent } or { type: password, passwordFile: <path> }',
    ]);
    for (const own of ['{ type: password, passwordEnv: P }', '{ type: password, passwordStored: true }', '{ type: key, keyFile: j.key, passphraseStored: true }']) {
      const parsed = parseHostsFile(withJump(['address: 10.0.0.2', 'user: lab', 'auth: { type: password, passwordEnv: Q }', 'sudo: passwordless', 'proxyJump: bastion', `proxyJumpAuth: ${own}`]), 'h.yaml');
      expect(parsed.ok, own).toBe(true);
    }
    expect(errorsOf(withJump(['address: 10.0.0.2', 'user: lab', 'auth: { type: agent }', 'sudo: passwordless', 'proxyJump: bastion', 'proxyJumpAuth: { type: password, password: hunter2 }']))).toMatch(
      /^hosts\.yaml:9:\d+: hosts\.H2\.proxyJumpAuth\.password: passwords are never written in the hosts file/,
    );
    expect(
      errorsOf(withJump(['address: 10.0.0.2', 'user: lab', 'auth: { type: agent }', 'sudo: passwordless', 'proxyJumpAuth: { type: key, keyFile: j.key, passphraseStored: true }'])).split('\n'),
    ).toEqual(['hosts.yaml:8:5: hosts.H2.proxyJumpAuth: is the login for the jump host, and there is no proxyJump: add proxyJump: [user@]host[:port] or remove it']);
  });

  it('takes a ProxyJump value apart as ssh does', () => {
    expect(parseProxyJump('bastion')).toEqual({ address: 'bastion', port: 22 });
    expect(parseProxyJump('gw@10.1.2.3:2200')).toEqual({ user: 'gw', address: '10.1.2.3', port: 2200 });
    expect(parseProxyJump('gw@[fd00::1]:22')).toEqual({ user: 'gw', address: 'fd00::1', port: 22 });
    for (const bad of ['a,b', 'gw@', '-oProxyCommand=x', 'h:0', 'h:65536', 'ssh://h', 'a b']) expect(parseProxyJump(bad)).toBeUndefined();
  });

  it('catches H2 copied from H1 without changing the address', () => {
    const text = GOOD.replace('address: h2.lab.example', 'address: 192.168.56.12\n    experimentAddress: 10.0.0.1');
    expect(errorsOf(text)).toBe(
      'hosts.yaml:14:5: hosts.H2.experimentAddress: H1 and H2 have the same experiment address (10.0.0.1); the experiments need two different hosts',
    );
  });

  it('reports YAML syntax errors and wrong shapes with their lines', () => {
    expect(errorsOf('hosts:\n\tH1:\n\t\taddress: 10.0.0.1\n')).toBe(
      [
        'hosts.yaml:2:1: tabs are not allowed for indentation in YAML: indent with spaces',
        'hosts.yaml:3:1: tabs are not allowed for indentation in YAML: indent with spaces',
      ].join('\n'),
    );
    expect(errorsOf('hosts:\n  H1: x\n  H2:\n')).toBe(
      ['hosts.yaml:2:3: hosts.H1: expected a mapping (key: value), got the text "x"', 'hosts.yaml:3:3: hosts.H2: expected a mapping (key: value), got an empty value'].join(
        '\n',
      ),
    );
    expect(errorsOf('knownHosts: 5\nhosts: []\n')).toBe(
      ['hosts.yaml:1:1: knownHosts: must be a file path, written as text', 'hosts.yaml:2:1: hosts: expected a mapping (key: value), got a list'].join('\n'),
    );
    expect(errorsOf('')).toBe('hosts.yaml:1:1: the file is empty');
  });
});

// -----------------------------------------------------------------------------------------------
// readHostsFile (electron/lab/hosts-config.ts): real files in a temporary directory.

describe('readHostsFile', () => {
  let dir: string;
  let home: string;
  let agent: Server;
  let agentSocket: string;
  let privateKey: Buffer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tcplab-hosts-'));
    home = join(dir, 'home');
    mkdirSync(join(home, '.ssh'), { recursive: true });
    mkdirSync(join(dir, 'lab'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(home, '.ssh', 'id_ed25519')]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret phrase', '-f', join(dir, 'lab', 'encrypted')]);
    privateKey = readFileSync(join(home, '.ssh', 'id_ed25519'));
    writeFileSync(join(dir, 'lab', 'h1.sudo'), 'sudo pass word\n', { mode: 0o600 });
    writeFileSync(join(dir, 'lab', 'h2.pass'), 'h2-login\r\n', { mode: 0o600 });
    writeFileSync(join(dir, 'lab', 'empty.pass'), '\n', { mode: 0o600 });
    agentSocket = join(dir, 'agent.sock');
    agent = createServer();
    await new Promise<void>((resolve) => agent.listen(agentSocket, resolve));
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => agent.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  function write(name: string, text: string): string {
    const file = join(dir, 'lab', name);
    writeFileSync(file, text);
    return file;
  }

  const VALID = `knownHosts: ./known_hosts
hosts:
  H1:
    address: 192.168.56.11
    experimentAddress: 10.0.0.1
    user: lab
    auth: { type: key, keyFile: ~/.ssh/id_ed25519 }
    sudo: password
    sudoPasswordFile: h1.sudo
  H2:
    address: 192.168.56.12
    port: 2222
    user: lab
    auth: { type: password, passwordFile: ./h2.pass }
    sudo: password
    sudoPasswordEnv: H2_SUDO
`;

  it('resolves paths, reads secrets and fills in defaults', async () => {
    const file = write('hosts.yaml', VALID);
    const resolved = await readHostsFile(file, { env: { H2_SUDO: 'from-env' }, homeDir: home });
    expect(resolved.file).toBe(file);
    expect(resolved.knownHostsFile).toBe(join(dir, 'lab', 'known_hosts'));
    const { H1, H2 } = resolved.hosts;
    expect(H1).toMatchObject({ label: 'H1', address: '192.168.56.11', port: 22, experimentAddress: '10.0.0.1', user: 'lab', sudo: 'password' });
    expect(H1.auth.type === 'key' && H1.auth.keyFile).toBe(join(home, '.ssh', 'id_ed25519'));
    expect(H1.auth.type === 'key' && H1.auth.privateKey.equals(privateKey)).toBe(true);
    expect(H1.sudoPassword).toBe('sudo pass word');
    expect(H2).toMatchObject({ label: 'H2', port: 2222, experimentAddress: '192.168.56.12' });
    expect(H2.auth.type === 'password' && H2.auth.password).toBe('h2-login');
    expect(H2.sudoPassword).toBe('from-env');
  });

  it('uses ~/.ssh/known_hosts by default, and the agent socket from the environment', async () => {
    const file = write(
      'agent.yaml',
      VALID.replace('knownHosts: ./known_hosts\n', '').replace('auth: { type: key, keyFile: ~/.ssh/id_ed25519 }', 'auth: { type: agent }'),
    );
    const resolved = await readHostsFile(file, { env: { H2_SUDO: 'x', SSH_AUTH_SOCK: agentSocket }, homeDir: home });
    expect(resolved.knownHostsFile).toBe(join(home, '.ssh', 'known_hosts'));
    expect(resolved.hosts.H1.auth).toEqual({ type: 'agent', agentSocket });
  });

  it('never shows secrets in JSON, inspect or structured clones', async () => {
    const file = write('hosts.yaml', VALID);
    const resolved = await readHostsFile(file, { env: { H2_SUDO: 'from-env' }, homeDir: home });
    const keyText = privateKey.toString('utf8');
    const keyBase64 = privateKey.toString('base64');
    for (const shown of [JSON.stringify(resolved), inspect(resolved, { depth: 10 }), JSON.stringify(structuredClone(resolved))]) {
      for (const secret of ['sudo pass word', 'h2-login', 'from-env', keyText.slice(40, 80), keyBase64.slice(10, 50), 'OPENSSH PRIVATE KEY']) {
        expect(shown).not.toContain(secret);
      }
      expect(shown).toContain('192.168.56.11');
    }
    expect(JSON.parse(JSON.stringify(resolved.hosts.H1.auth))).toEqual({ type: 'key', keyFile: join(home, '.ssh', 'id_ed25519') });
  });

  it('throws one ConfigError listing every missing file and variable, with host, field, path and line', async () => {
    const file = write(
      'broken.yaml',
      `hosts:
  H1:
    address: 192.168.56.11
    user: lab
    auth: { type: key, keyFile: ./no-such-key }
    sudo: password
    sudoPasswordFile: ../lab/missing.sudo
  H2:
    address: 192.168.56.12
    user: lab
    auth: { type: password, passwordEnv: H2_PASS }
    sudo: password
    sudoPasswordFile: empty.pass
`,
    );
    const error = await readHostsFile(file, { env: {}, homeDir: home }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    const configError = error as ConfigError;
    expect(configError.name).toBe('ConfigError');
    expect(configError.message.split('\n')).toEqual([
      `${file}:5:24: hosts.H1.auth.keyFile: H1: cannot read the key file ${join(dir, 'lab', 'no-such-key')}: no such file`,
      `${file}:7:5: hosts.H1.sudoPasswordFile: H1: cannot read the sudo password file ${join(dir, 'lab', 'missing.sudo')}: no such file`,
      `${file}:11:29: hosts.H2.auth.passwordEnv: H2: the environment variable H2_PASS (the password) is not set`,
      `${file}:13:5: hosts.H2.sudoPasswordFile: H2: the sudo password file ${join(dir, 'lab', 'empty.pass')} is empty`,
    ]);
    expect(configError.errors).toHaveLength(4);
  });

  it('explains key files it cannot use and an agent that is not there', async () => {
    const file = write(
      'keys.yaml',
      `hosts:
  H1:
    address: 192.168.56.11
    user: root
    auth: { type: key, keyFile: encrypted }
    sudo: none
  H2:
    address: 192.168.56.12
    user: root
    auth: { type: key, keyFile: encrypted.pub }
    sudo: none
`,
    );
    const message = await readHostsFile(file, { env: {}, homeDir: home }).then(
      () => '',
      (e: Error) => e.message,
    );
    const lines = message.split('\n');
    expect(lines[0]).toMatch(/:5:24: hosts\.H1\.auth\.keyFile: H1: the key file .*encrypted is protected by a passphrase.*ssh-add/);
    expect(lines[1]).toMatch(/:10:24: hosts\.H2\.auth\.keyFile: H2: .*encrypted\.pub is a public key; keyFile must name the private key \(.*encrypted, without \.pub\)/);

    const agentFile = write('agent-missing.yaml', VALID.replace('auth: { type: key, keyFile: ~/.ssh/id_ed25519 }', 'auth: { type: agent }'));
    await expect(readHostsFile(agentFile, { env: { H2_SUDO: 'x' }, homeDir: home })).rejects.toThrow(
      /:7:13: hosts\.H1\.auth\.type: H1: auth type agent uses the ssh-agent named by \$SSH_AUTH_SOCK, which is not set/,
    );
    await expect(readHostsFile(agentFile, { env: { H2_SUDO: 'x', SSH_AUTH_SOCK: join(dir, 'gone.sock') }, homeDir: home })).rejects.toThrow(
      /H1: auth type agent uses \$SSH_AUTH_SOCK \(.*gone\.sock\), which cannot be used \(no such file\): is ssh-agent running\?/,
    );
  });

  it('resolves a jump host: its login from ProxyJump, the local user by default, the host\'s key unless it has its own', async () => {
    writeFileSync(join(dir, 'lab', 'jump.key'), readFileSync(join(home, '.ssh', 'id_ed25519')));
    const file = write(
      'jump.yaml',
      `hosts:
  H1:
    address: 10.0.0.1
    user: root
    auth: { type: key, keyFile: ~/.ssh/id_ed25519 }
    sudo: none
    proxyJump: bastion.example.org
  H2:
    address: 10.0.0.2
    user: lab
    auth: { type: password, passwordEnv: H2_PASS }
    sudo: passwordless
    proxyJump: gw@[fd00::1]:2200
    proxyJumpAuth: { type: agent }
`,
    );
    const resolved = await readHostsFile(file, { env: { H2_PASS: 'pw', SSH_AUTH_SOCK: agentSocket }, homeDir: home, localUser: 'alice' });
    const { H1, H2 } = resolved.hosts;
    expect(H1.proxyJump).toBe('bastion.example.org');
    expect(H1.jump).toMatchObject({ spec: 'bastion.example.org', address: 'bastion.example.org', port: 22, user: 'alice' });
    // The same auth object as the host's (the key is non-enumerable, so compare the object itself).
    expect(H1.jump?.auth).toBe(H1.auth);
    expect(H2.jump).toEqual({ spec: 'gw@[fd00::1]:2200', address: 'fd00::1', port: 2200, user: 'gw', auth: { type: 'agent', agentSocket } });
    expect(H2.auth.type === 'password' && H2.auth.password).toBe('pw');
    // Without the option, the local user is the one this process runs as.
    const defaulted = await readHostsFile(file, { env: { H2_PASS: 'pw', SSH_AUTH_SOCK: agentSocket }, homeDir: home });
    expect(defaulted.hosts.H1.jump?.user).toBe(userInfo().username);

    const missing = write('jump-missing.yaml', readFileSync(file, 'utf8').replace('proxyJumpAuth: { type: agent }', 'proxyJumpAuth: { type: key, keyFile: no-such.key }'));
    await expect(readHostsFile(missing, { env: { H2_PASS: 'pw' }, homeDir: home })).rejects.toThrow(
      `${missing}:14:33: hosts.H2.proxyJumpAuth.keyFile: H2: cannot read the key file ${join(dir, 'lab', 'no-such.key')}: no such file`,
    );
    const ownKey = write('jump-key.yaml', readFileSync(file, 'utf8').replace('proxyJumpAuth: { type: agent }', 'proxyJumpAuth: { type: key, keyFile: jump.key }'));
    const withKey = await readHostsFile(ownKey, { env: { H2_PASS: 'pw' }, homeDir: home });
    const jumpAuth = withKey.hosts.H2.jump?.auth;
    expect(jumpAuth?.type === 'key' && jumpAuth.keyFile).toBe(join(dir, 'lab', 'jump.key'));
    expect(jumpAuth?.type === 'key' && jumpAuth.privateKey.equals(privateKey)).toBe(true);
    expect(JSON.stringify(withKey)).not.toContain('OPENSSH PRIVATE KEY');
  });

  it('reports validation errors and a missing hosts file as ConfigErrors too', async () => {
    const file = write('invalid.yaml', VALID.replace('port: 2222', 'port: 0'));
    await expect(readHostsFile(file, { env: {}, homeDir: home })).rejects.toThrow(`${file}:12:5: hosts.H2.port: must be a number from 1 to 65535`);
    const missing = join(dir, 'nope.yaml');
    await expect(readHostsFile(missing)).rejects.toThrow(new ConfigError(`${missing}: cannot read the hosts file: no such file`));
  });
});
