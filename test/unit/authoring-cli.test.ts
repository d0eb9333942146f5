/**
 * Authoring from the command line: `tcplab validate` over several files and folders, and user
 * experiments from a folder (`experiments --dir`, `run --experiments`, TCPLAB_EXPERIMENTS).
 * Nothing here touches a host: runs stop at the (missing) hosts file, after finding the experiment.
 */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILTIN_EXPERIMENTS_DIR, experimentLibrary, ExperimentFileError, findExperiment } from '../../electron/lab/builtin-experiments';
import { tcplab } from '../cli-runner';

const EXAMPLE = resolve(__dirname, '../fixtures/authoring/client-closes-first.yaml');
const EXAMPLE_TEXT = readFileSync(EXAMPLE, 'utf8');

function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tcplab-authoring-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** One good file and two bad ones (two errors in the first, one in the second). */
function mixedFolder(): string {
  return folder({
    'good.yaml': EXAMPLE_TEXT,
    'bad-keys.yaml': EXAMPLE_TEXT.replace('id: client-closes-first', 'id: Bad Id').replace('port: 7777 ', 'port: 99999'),
    'bad-step.yml': EXAMPLE_TEXT.replace('id: client-closes-first', 'id: bad-step').replace('key: ctrl-d', 'key: ctrl-z'),
    'notes.txt': 'not an experiment',
  });
}

describe('tcplab validate FILE|DIR...', () => {
  it('reports every error of every file in a folder with file:line:column, and exits 2', () => {
    const dir = mixedFolder();
    const { code, stdout, stderr } = tcplab(['validate', dir]);
    expect(code).toBe(2);
    expect(stdout).toContain(`${join(dir, 'good.yaml')}: ok (client-closes-first, 11 steps)`);
    expect(stderr).toMatch(new RegExp(`${join(dir, 'bad-keys.yaml')}:3:1: id: `));
    expect(stderr).toMatch(new RegExp(`${join(dir, 'bad-keys.yaml')}:12:1: port: `));
    expect(stderr).toMatch(new RegExp(`${join(dir, 'bad-step.yml')}:30:5: steps\\[8\\]\\.key: .*ctrl-c`));
    expect(stderr).not.toContain('notes.txt');
    expect(stderr).toContain('1 valid, 2 not valid');
  });

  it('takes several files and folders and exits 0 only if all are valid', () => {
    const { code, stdout, stderr } = tcplab(['validate', EXAMPLE, BUILTIN_EXPERIMENTS_DIR]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('client-closes-first');
    expect(stdout).toContain('normal-teardown');
    const bad = join(mixedFolder(), 'bad-step.yml');
    expect(tcplab(['validate', EXAMPLE, bad]).code).toBe(2);
  });

  it('reports a path that does not exist and a folder with no experiments', () => {
    const empty = folder({ 'readme.md': '# nothing' });
    const { code, stderr } = tcplab(['validate', '/nonexistent/x.yaml', empty]);
    expect(code).toBe(2);
    expect(stderr).toContain('/nonexistent/x.yaml: cannot read');
    expect(stderr).toContain(`${empty}: no experiment files`);
  });

  it('refuses no arguments as a usage error', () => {
    expect(tcplab(['validate']).code).toBe(64);
  });
});

describe('user experiments from a folder', () => {
  it('are listed after the built-ins, marked as user ones', () => {
    const dir = folder({ 'mine.yaml': EXAMPLE_TEXT });
    const { code, stdout } = tcplab(['experiments', '--dir', dir]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^normal-teardown +(?!\[user\])\S/m);
    expect(stdout).toMatch(new RegExp(`^client-closes-first +\\[user\\] .*\\(${join(dir, 'mine.yaml')}\\)$`, 'm'));
    expect(tcplab(['experiments']).stdout).not.toContain('client-closes-first');
  });

  it('honour TCPLAB_EXPERIMENTS', () => {
    const dir = folder({ 'mine.yaml': EXAMPLE_TEXT });
    expect(tcplab(['experiments'], { env: { TCPLAB_EXPERIMENTS: dir } }).stdout).toContain('[user]');
  });

  it('refuse an id that clashes with a built-in, naming both files', () => {
    const dir = folder({ 'mine.yaml': EXAMPLE_TEXT.replace('id: client-closes-first', 'id: lost-fin') });
    const { code, stderr } = tcplab(['experiments', '--dir', dir]);
    expect(code).toBe(2);
    expect(stderr).toContain(join(dir, 'mine.yaml'));
    expect(stderr).toContain(join(BUILTIN_EXPERIMENTS_DIR, 'lost-fin.yaml'));
  });

  it('refuse an id given by two user files, and report bad files with their lines', () => {
    const dir = folder({ 'a.yaml': EXAMPLE_TEXT, 'b.yaml': EXAMPLE_TEXT, 'c.yaml': 'id: c\n' });
    expect(() => experimentLibrary(dir)).toThrow(ExperimentFileError);
    try {
      experimentLibrary(dir);
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toContain(`${join(dir, 'b.yaml')}: the id "client-closes-first" is already used by the user experiment ${join(dir, 'a.yaml')}`);
      expect(message).toMatch(new RegExp(`${join(dir, 'c.yaml')}:\\d+:\\d+: `));
    }
  });

  it('are found by id for a run, from the option or the variable', () => {
    const dir = folder({ 'mine.yaml': EXAMPLE_TEXT });
    expect(findExperiment('client-closes-first', dir).title).toBe('The client closes first');
    expect(findExperiment('lost-fin', dir).id).toBe('lost-fin');
    expect(() => findExperiment('client-closes-first')).toThrow(/no built-in experiment named "client-closes-first"/);
    // The run gets past finding the experiment and stops at the hosts file, before any host.
    const viaOption = tcplab(['run', 'client-closes-first', '--experiments', dir, '--hosts', '/nonexistent/hosts.yaml']);
    const viaEnv = tcplab(['run', 'client-closes-first', '--hosts', '/nonexistent/hosts.yaml'], { env: { TCPLAB_EXPERIMENTS: dir } });
    const without = tcplab(['run', 'client-closes-first', '--hosts', '/nonexistent/hosts.yaml'], { env: { TCPLAB_EXPERIMENTS: '' } });
    for (const result of [viaOption, viaEnv]) {
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('/nonexistent/hosts.yaml');
      expect(result.stderr).not.toContain('no built-in experiment');
    }
    expect(without.stderr).toContain('no built-in experiment named "client-closes-first"');
  });

  it('name the folder and the known ids when the id is unknown', () => {
    const dir = folder({ 'mine.yaml': EXAMPLE_TEXT });
    const copy = join(dir, 'copy.json');
    copyFileSync(EXAMPLE, join(dir, 'ignored.yaml.bak'));
    writeFileSync(copy, JSON.stringify({ id: 'json-one', title: 't', summary: 's', explanation: 'e', steps: [{ note: 'hi' }], expect: {} }));
    const { code, stderr } = tcplab(['run', 'nope', '--experiments', dir, '--hosts', '/nonexistent/hosts.yaml']);
    expect(code).toBe(2);
    expect(stderr).toContain(`no built-in experiment or experiment in ${dir} named "nope"`);
    expect(stderr).toMatch(/known: .*client-closes-first.*json-one|known: .*json-one.*client-closes-first/);
  });
});
