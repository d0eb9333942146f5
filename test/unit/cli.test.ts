import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tcplab } from '../cli-runner';

function tempFile(name: string, text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'tcplab-cli-')), name);
  writeFileSync(file, text);
  return file;
}

describe('tcplab command line', () => {
  it('lists every command with one line each', () => {
    const { code, stdout } = tcplab(['help']);
    expect(code).toBe(0);
    for (const command of ['lab', 'demo', 'experiments', 'run', 'validate', 'help']) {
      expect(stdout).toMatch(new RegExp(`^  ${command} +\\S`, 'm'));
    }
  });

  it('lists the built-in experiments', () => {
    const { code, stdout } = tcplab(['experiments']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^normal-teardown +\S/m);
    expect(stdout).toMatch(/^lost-fin +\S/m);
  });

  it('refuses an unknown command with a hint', () => {
    const { code, stderr } = tcplab(['frobnicate']);
    expect(code).toBe(64);
    expect(stderr).toContain('unknown command "frobnicate"');
    expect(stderr).toContain('tcplab help');
  });

  it.each(['7777;reboot', '$(reboot)', '0', '70000', '12ab'])('refuses the port %j before touching any host', (port) => {
    const { code, stderr } = tcplab(['run', 'lost-fin', '--hosts', '/nonexistent.yaml', '--port', port]);
    expect(code).toBe(64);
    expect(stderr).toContain('--port must be a whole number from 1 to 65535');
  });

  it('names the file, line and field of a bad hosts file', () => {
    const file = tempFile(
      'hosts.yaml',
      ['hosts:', '  H1:', '    address: "h1;rm -rf /"', '    user: root', '    auth: { type: agent }', '    sudo: none', '  H2:', '    address: 10.0.0.2', '    user: "$(reboot)"', '    auth: { type: agent }', '    sudo: passwordless', ''].join('\n'),
    );
    const { code, stderr } = tcplab(['run', 'lost-fin', '--hosts', file]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/hosts\.yaml:3:\d+: hosts\.H1\.address/);
    expect(stderr).toMatch(/hosts\.yaml:9:\d+: hosts\.H2\.user/);
  });

  it('reports every error of a bad experiment file with its line', () => {
    const file = tempFile(
      'broken.yaml',
      ['id: Broken Experiment', 'title: t', 'summary: s', 'explanation: e', 'steps:', '  - host: H3', '    pane: upper', '    run: nc -l {port}', '  - wait: { host: H1, state: FIN_WAIT_1 }', 'expect: {}', ''].join('\n'),
    );
    const { code, stderr } = tcplab(['validate', file]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/broken\.yaml:1:\d+: id/);
    expect(stderr).toMatch(/broken\.yaml:9:\d+: .*state/);
  });

  it('says which experiments exist when the name is unknown', () => {
    const { code, stderr } = tcplab(['run', 'no-such-experiment', '--hosts', '/x.yaml']);
    expect(code).toBe(2);
    expect(stderr).toContain('known: ');
    expect(stderr).toContain('lost-fin');
  });

  it('validates the built-in experiments', () => {
    for (const id of ['normal-teardown', 'lost-fin']) {
      const { code, stdout } = tcplab(['validate', join(__dirname, '../../resources/experiments', `${id}.yaml`)]);
      expect(code).toBe(0);
      expect(stdout).toContain(`(${id},`);
    }
  });
});
