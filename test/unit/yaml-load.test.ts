import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { closestMatch, formatFileErrors, formatIssuePath, loadYamlDocument, yamlLocator, type FileError } from '../../shared/src/yaml-load';

const Schema = z
  .object({
    name: z.string(),
    mode: z.enum(['fast', 'slow']),
    count: z.number().int().min(1).max(10).optional(),
    steps: z.array(z.object({ run: z.string(), wait: z.number().optional() }).strict()).min(1),
    target: z.union([z.string(), z.object({ host: z.string(), port: z.number() }).strict()]).optional(),
    kind: z
      .discriminatedUnion('type', [z.object({ type: z.literal('a'), a: z.string() }).strict(), z.object({ type: z.literal('b') }).strict()])
      .optional(),
    label: z.string().regex(/^x/, 'must start with x').optional(),
    tags: z.record(z.string().regex(/^[a-z]+$/), z.string()).optional(),
  })
  .strict();

function errorsOf(text: string, fileName = 'test.yaml'): string {
  const result = loadYamlDocument(text, Schema, fileName);
  if (result.ok) throw new Error(`expected errors, got ${JSON.stringify(result.value)}`);
  return formatFileErrors(result.errors);
}

describe('loadYamlDocument', () => {
  it('returns the validated value, defaults applied', () => {
    const result = loadYamlDocument('name: demo\nmode: fast\nsteps:\n  - run: ls\n', Schema, 'ok.yaml');
    expect(result).toEqual({ ok: true, value: { name: 'demo', mode: 'fast', steps: [{ run: 'ls' }] } });
  });

  it('reports every schema error at the line of the offending key, in file order, in plain words', () => {
    const text = [
      'name: demo', // 1
      'mode: fsat', // 2
      'count: 11', // 3
      'steps:', // 4
      '  - run: ls', // 5
      '  - rn: ls', // 6
      '    wait: soon', // 7
      '  - 3', // 8
      'target: { host: h1, port: "22" }', // 9
      'kind: { type: a }', // 10
      'label: y', // 11
      'extra: 1', // 12
      'tags: { ok: v, BAD: w }', // 13
      '',
    ].join('\n');
    expect(errorsOf(text)).toBe(
      [
        'test.yaml:2:1: mode: must be one of fast or slow (got the text "fsat"); did you mean fast?',
        'test.yaml:3:1: count: must be at most 10',
        'test.yaml:6:5: steps[1].run: required, but missing',
        'test.yaml:6:5: steps[1].rn: unknown key "rn"; did you mean "run"?',
        'test.yaml:7:5: steps[1].wait: expected a number, got the text "soon"',
        'test.yaml:8:5: steps[2]: expected a mapping (key: value), got the number 3',
        'test.yaml:9:21: target.port: expected a number, got the text "22" (write the number without quotes)',
        'test.yaml:10:1: kind.a: required, but missing',
        'test.yaml:11:1: label: must start with x',
        'test.yaml:12:1: extra: unknown key "extra": the keys allowed here are name, mode, count, steps, target, kind, label, tags',
        'test.yaml:13:16: tags.BAD: is not in the expected form',
      ].join('\n'),
    );
  });

  it('places a missing key at its parent, lists enum and discriminator values, explains unions', () => {
    expect(errorsOf('# comment\n\nmode: slow\nsteps: []\ntarget: 5\nkind: { type: c }\n')).toBe(
      [
        'test.yaml:3:1: name: required, but missing',
        'test.yaml:4:1: steps: must not be an empty list',
        'test.yaml:5:1: target: expected text or a mapping (key: value), got the number 5',
        'test.yaml:6:9: kind.type: must be one of a or b (got the text "c")',
      ].join('\n'),
    );
    expect(errorsOf('name: x\nmode: fast\nsteps: [{run: a}]\nkind:\n  a: x\n')).toBe('test.yaml:4:1: kind.type: required, but missing: give one of a or b');
    expect(errorsOf('name: x\nsteps: [{run: a}]\n')).toBe('test.yaml:1:1: mode: required, but missing: give one of fast or slow');
  });

  it('reports the inner errors of the union alternative that had the right shape', () => {
    expect(errorsOf('name: x\nmode: fast\nsteps: [{run: a}]\ntarget:\n  host: h1\n  prot: 22\n')).toBe(
      ['test.yaml:4:1: target.port: required, but missing', 'test.yaml:6:3: target.prot: unknown key "prot"; did you mean "port"?'].join('\n'),
    );
  });

  it('keeps the schema’s own messages', () => {
    expect(errorsOf('name: x\nmode: fast\nsteps: [{run: a}]\nlabel: nope\n')).toBe('test.yaml:4:1: label: must start with x');
  });

  it('reads JSON, with lines and columns', () => {
    const json = '{"name": "x", "mode": "fast", "steps": [{"run": 1}],\n "count": 2.5}';
    expect(errorsOf(json, 'test.json')).toBe(
      ['test.json:1:42: steps[0].run: expected text, got the number 1', 'test.json:2:2: count: expected a whole number, got the number 2.5'].join('\n'),
    );
    // JSON indented with tabs is fine (tabs are only an error as YAML block indentation).
    const tabbed = '{\n\t"name": "x",\n\t"mode": "fast",\n\t"steps": [\n\t\t{"run": "ls", "wait": "x"}\n\t]\n}\n';
    expect(errorsOf(tabbed, 'test.json')).toBe('test.json:5:17: steps[0].wait: expected a number, got the text "x"');
  });

  it('turns YAML syntax errors into file errors with their lines', () => {
    expect(errorsOf('name: x\nmode: fast\nsteps:\n\t- run: ls\n')).toBe('test.yaml:4:1: tabs are not allowed for indentation in YAML: indent with spaces');
    expect(errorsOf('name: x\nmode: fast\nname: y\nsteps: [{run: a}]\n')).toBe('test.yaml:3:1: "name" appears twice in the same mapping: keep only one');
    expect(errorsOf('name: x\nmode: fast\nkind:\n    type: a\n   a: 1\nsteps: [{run: a}]\n')).toMatch(/^test\.yaml:5:\d+: .*check the indentation of this line/);
    expect(errorsOf('name: x\nmode: fast\nsteps:\n  - run: a\n   wait: 1\n')).toMatch(/^test\.yaml:5:\d+: /);
    expect(errorsOf('name: x\n---\nname: y\n')).toMatch(/^test\.yaml:2:1: the file must hold a single YAML document/);
    expect(errorsOf('name: [x, y\nmode: fast\n')).toMatch(/^test\.yaml:\d+:\d+: /);
    expect(errorsOf('name: "x\n')).toMatch(/^test\.yaml:\d+:\d+: missing closing "quote/);
  });

  it('reports an empty file, a file that is not a mapping, an undefined alias and an alias bomb', () => {
    expect(errorsOf('')).toBe('test.yaml:1:1: the file is empty');
    expect(errorsOf('# nothing but a comment\n')).toBe('test.yaml:1:1: the file is empty');
    expect(errorsOf('- 1\n- 2\n')).toBe('test.yaml:1:1: expected a mapping (key: value), got a list');
    expect(errorsOf('name: &n x\nmode: fast\nsteps: [{ run: *n }]\nlabel: *nope\n')).toBe('test.yaml:4:8: *nope refers to an anchor &nope that is not defined above it');
    let bomb = 'a: &a [x, x, x, x, x, x, x, x, x, x]\n';
    for (let i = 0, prev = 'a'; i < 8; i++, prev = `b${i - 1}`) bomb += `b${i}: &b${i} [${Array<string>(10).fill(`*${prev}`).join(', ')}]\n`;
    expect(errorsOf(bomb)).toMatch(/^test\.yaml:1:1: excessive alias count/);
  });

  it('never throws, whatever the text', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'ab: -[]{}\n\t"\'#&*!|>%@,?0'.split('')), maxLength: 60 }), (text) => {
        const result = loadYamlDocument(text, Schema, 'fuzz.yaml');
        if (!result.ok) {
          expect(result.errors.length).toBeGreaterThan(0);
          for (const e of result.errors) {
            expect(e.line).toBeGreaterThanOrEqual(1);
            expect(e.line).toBeLessThanOrEqual(text.split('\n').length + 1);
            expect(e.column).toBeGreaterThanOrEqual(1);
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('formatting', () => {
  it('formats errors like a compiler', () => {
    const errors: FileError[] = [
      { file: 'hosts.yaml', line: 7, column: 5, path: 'hosts.H2.port', message: 'must be a number from 1 to 65535' },
      { file: 'hosts.yaml', line: 2, column: 1, path: '', message: 'tabs are not allowed' },
    ];
    expect(formatFileErrors(errors)).toBe('hosts.yaml:7:5: hosts.H2.port: must be a number from 1 to 65535\nhosts.yaml:2:1: tabs are not allowed');
  });

  it('formats issue paths', () => {
    expect(formatIssuePath(['hosts', 'H2', 'port'])).toBe('hosts.H2.port');
    expect(formatIssuePath(['steps', 3, 'run'])).toBe('steps[3].run');
    expect(formatIssuePath(['tags', 'a b'])).toBe('tags["a b"]');
    expect(formatIssuePath([])).toBe('');
  });

  it('suggests close keys, and only close ones', () => {
    expect(closestMatch('knownHost', ['knownHosts', 'hosts'])).toBe('knownHosts');
    expect(closestMatch('adress', ['address', 'port'])).toBe('address');
    expect(closestMatch('h2', ['H1', 'H2'])).toBe('H2');
    expect(closestMatch('H3', ['H1', 'H2'])).toBeUndefined();
    expect(closestMatch('colour', ['address', 'port'])).toBeUndefined();
  });

  it('locates paths for errors found after loading', () => {
    const at = yamlLocator('a:\n  b:\n    c: 1\n', 'f.yaml');
    expect(at(['a', 'b', 'c'], 'bad')).toEqual({ file: 'f.yaml', line: 3, column: 5, path: 'a.b.c', message: 'bad' });
    expect(at(['a', 'b', 'missing'], 'gone')).toMatchObject({ line: 2, column: 3 });
  });
});
