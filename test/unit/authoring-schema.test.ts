/**
 * Authoring: the JSON Schema for editors is generated from the zod schema and the published copy
 * is current; every built-in experiment (and the documented example) fits it; the example in
 * docs/experiment-format.md is the fixture, and valid.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { BUILTIN_EXPERIMENTS_DIR, experimentFilesIn } from '../../electron/lab/builtin-experiments';
import { parseExperiment } from '../../shared/src/experiment-file';
import { experimentJsonSchemaText } from '../../shared/src/experiment-json-schema';
import { tcplab } from '../cli-runner';

const ROOT = resolve(__dirname, '../..');
const PUBLISHED = join(ROOT, 'resources/experiment.schema.json');
const EXAMPLE = join(ROOT, 'test/fixtures/authoring/client-closes-first.yaml');

type Schema = Record<string, unknown>;

/**
 * A small structural JSON Schema check covering the keywords the generated schema uses; returns
 * the problems as `path: what`. Enough to prove a file fits, not a full validator.
 */
function check(schema: Schema, value: unknown, path = '$'): string[] {
  const problems: string[] = [];
  if (Array.isArray(schema.anyOf)) {
    const fits = (schema.anyOf as Schema[]).some((s) => check(s, value, path).length === 0);
    return fits ? [] : [`${path}: matches none of the ${schema.anyOf.length} alternatives`];
  }
  if ('const' in schema && value !== schema.const) problems.push(`${path}: must be ${JSON.stringify(schema.const)}`);
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) problems.push(`${path}: must be one of ${schema.enum.join(', ')}`);
  switch (schema.type) {
    case 'string':
      if (typeof value !== 'string') return [`${path}: expected a string`];
      if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern).test(value)) problems.push(`${path}: does not match ${schema.pattern}`);
      if (typeof schema.minLength === 'number' && value.length < schema.minLength) problems.push(`${path}: too short`);
      break;
    case 'number':
    case 'integer':
      if (typeof value !== 'number' || (schema.type === 'integer' && !Number.isInteger(value))) return [`${path}: expected a ${String(schema.type)}`];
      if (typeof schema.minimum === 'number' && value < schema.minimum) problems.push(`${path}: below ${schema.minimum}`);
      if (typeof schema.maximum === 'number' && value > schema.maximum) problems.push(`${path}: above ${schema.maximum}`);
      break;
    case 'boolean':
      if (typeof value !== 'boolean') return [`${path}: expected true or false`];
      break;
    case 'array':
      if (!Array.isArray(value)) return [`${path}: expected an array`];
      if (typeof schema.minItems === 'number' && value.length < schema.minItems) problems.push(`${path}: too few items`);
      if (typeof schema.maxItems === 'number' && value.length > schema.maxItems) problems.push(`${path}: too many items`);
      if (schema.items) value.forEach((item, i) => problems.push(...check(schema.items as Schema, item, `${path}[${i}]`)));
      break;
    case 'object': {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return [`${path}: expected an object`];
      const record = value as Record<string, unknown>;
      const properties = (schema.properties ?? {}) as Record<string, Schema>;
      for (const key of (schema.required ?? []) as string[]) if (!(key in record)) problems.push(`${path}: missing ${key}`);
      for (const [key, item] of Object.entries(record)) {
        if (schema.propertyNames) problems.push(...check(schema.propertyNames as Schema, key, `${path}.${key} (key)`));
        if (properties[key]) problems.push(...check(properties[key], item, `${path}.${key}`));
        else if (schema.additionalProperties === false) problems.push(`${path}: unknown key ${key}`);
        else if (typeof schema.additionalProperties === 'object') problems.push(...check(schema.additionalProperties as Schema, item, `${path}.${key}`));
      }
      break;
    }
    default:
      break;
  }
  return problems;
}

function publishedSchema(): Schema {
  return JSON.parse(readFileSync(PUBLISHED, 'utf8')) as Schema;
}

describe('the JSON Schema for editors', () => {
  it('is published as generated: regenerate with `npx tcplab schema > resources/experiment.schema.json`', () => {
    expect(readFileSync(PUBLISHED, 'utf8')).toBe(experimentJsonSchemaText());
  });

  it('is what `tcplab schema` prints', () => {
    const { code, stdout } = tcplab(['schema']);
    expect(code).toBe(0);
    expect(stdout).toBe(experimentJsonSchemaText());
  });

  it('describes an experiment object with every top-level key, closed to unknown keys', () => {
    const schema = publishedSchema();
    expect(schema.$schema).toMatch(/json-schema\.org/);
    expect(schema.type).toBe('object');
    expect(Object.keys(schema.properties as Schema).sort()).toEqual(['expect', 'explanation', 'id', 'port', 'roles', 'steps', 'summary', 'title']);
    expect([...(schema.required as string[])].sort()).toEqual(['expect', 'explanation', 'id', 'steps', 'summary', 'title']);
    expect(schema.additionalProperties).toBe(false);
    const steps = (schema.properties as Record<string, Schema>).steps!;
    // One alternative per step kind.
    const kinds = ((steps.items as Schema).anyOf as Schema[]).map((s) => Object.keys(s.properties as Schema).filter((k) => !['explain', 'host', 'pane', 'args'].includes(k))[0]);
    expect(kinds.sort()).toEqual(['delay', 'firewall', 'helper', 'key', 'nc', 'note', 'run', 'show', 'sleep', 'sysctl', 'type', 'wait']);
  });

  it.each([...experimentFilesIn(BUILTIN_EXPERIMENTS_DIR), EXAMPLE])('fits %s', (file) => {
    const data = parseYaml(readFileSync(file, 'utf8')) as unknown;
    expect(check(publishedSchema(), data)).toEqual([]);
  });

  it('catches what an editor should flag', () => {
    const data = parseYaml(readFileSync(EXAMPLE, 'utf8')) as Record<string, unknown>;
    const problems = check(publishedSchema(), { ...data, colour: 'red', port: 'x', steps: [{ host: 'H3', pane: 'upper', run: 'ls' }] });
    expect(problems).toEqual(expect.arrayContaining(['$: unknown key colour', '$.port: expected a integer', '$.steps[0]: matches none of the 12 alternatives']));
  });
});

describe('the documented example', () => {
  const fixture = readFileSync(EXAMPLE, 'utf8');

  it('is valid', () => {
    const result = parseExperiment(fixture, EXAMPLE);
    expect(result.ok ? '' : result.message).toBe('');
  });

  it('is the example in docs/experiment-format.md, word for word', () => {
    const docs = readFileSync(join(ROOT, 'docs/experiment-format.md'), 'utf8');
    const block = /<!-- example:begin -->\n```yaml\n([\s\S]*?)```\n<!-- example:end -->/.exec(docs);
    expect(block?.[1]).toBe(fixture);
  });

  it('documents every step kind and placeholder', () => {
    const docs = readFileSync(join(ROOT, 'docs/experiment-format.md'), 'utf8');
    for (const kind of ['nc', 'helper', 'sysctl', 'show', 'delay', 'firewall', 'wait', 'sleep', 'note', 'run', 'type', 'key']) expect(docs).toContain(`| \`${kind}\` |`);
    for (const p of ['{port}', '{sudo}', '{client.address}', '{server.address}', '{H1.address}', '{H2.address}']) expect(docs).toContain(p);
  });
});
