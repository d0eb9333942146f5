/**
 * Loading a YAML (or JSON: JSON is YAML) file against a zod schema, with every problem reported
 * the way a compiler would: `file:line:column: path: message`, all of them at once, each at the
 * line of the offending node, in words that say what to do.
 *
 * - YAML syntax errors (tabs, bad indentation, duplicate keys...) are reported with their line;
 *   when there are any, schema errors are not (they would describe a half-parsed file).
 * - A schema issue is placed at the key of the offending value (`port:` for a bad port); a missing
 *   key at the key of the mapping that should hold it; an unknown key at that key itself.
 * - zod's default messages are replaced by ones that name the allowed values, suggest the known
 *   key for a misspelled one ("did you mean ...?"), and say "missing" for a missing key. A schema's
 *   own messages (`z.string().regex(re, 'must be ...')`) are kept as they are.
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node, type YAMLError } from 'yaml';
import type { core, ZodType } from 'zod';

export interface FileError {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  /** Dotted path of the offending value (`hosts.H2.port`, `steps[3].command`), '' for syntax errors. */
  path: string;
  message: string;
}

export type LoadResult<T> = { ok: true; value: T } | { ok: false; errors: FileError[] };

/** One error per line: `hosts.yaml:7:5: hosts.H2.port: must be a number from 1 to 65535`. */
export function formatFileErrors(errors: readonly FileError[]): string {
  return errors
    .map((e) => `${e.file}:${e.line}:${e.column}: ${e.path === '' ? '' : `${e.path}: `}${e.message}`)
    .join('\n');
}

/** `['hosts', 'H2', 'port']` → `hosts.H2.port`; `['steps', 3, 'run']` → `steps[3].run`. */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else {
      const key = String(segment);
      if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)) out += out === '' ? key : `.${key}`;
      else out += `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Finding nodes

interface Position {
  line: number;
  column: number;
}

/** A parsed document plus the means to turn an issue path into a line and column. */
class SourceMap {
  private readonly lineCounter: LineCounter;
  readonly doc: Document.Parsed;

  constructor(text: string) {
    this.lineCounter = new LineCounter();
    this.doc = parseDocument(text, { lineCounter: this.lineCounter, prettyErrors: false, uniqueKeys: true });
  }

  position(offset: number): Position {
    const { line, col } = this.lineCounter.linePos(offset);
    return line === 0 ? { line: 1, column: offset + 1 } : { line, column: col };
  }

  /**
   * The position to report for `path`: the key of the deepest pair on the path that exists (so a
   * missing key reports the key of the mapping that lacks it), or the list item, or the start of
   * the document.
   */
  locate(path: readonly PropertyKey[]): Position {
    let node: unknown = this.doc.contents;
    let anchor: number | undefined = rangeStart(node);
    for (const segment of path) {
      if (isAlias(node)) node = node.resolve(this.doc);
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
        if (pair === undefined) break;
        anchor = rangeStart(pair.key) ?? rangeStart(pair.value) ?? anchor;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number') {
        const item: unknown = node.items[segment];
        if (item === undefined) break;
        anchor = rangeStart(item) ?? anchor;
        node = item;
      } else {
        break;
      }
    }
    return anchor === undefined ? { line: 1, column: 1 } : this.position(anchor);
  }
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return range ? range[0] : undefined;
}

/**
 * For errors found after loading (a key file that does not exist...): returns a function that
 * places a message at the node for `path` in `text`, like the loader's own errors.
 */
export function yamlLocator(text: string, fileName: string): (path: readonly PropertyKey[], message: string) => FileError {
  const source = new SourceMap(text);
  return (path, message) => ({ file: fileName, ...source.locate(path), path: formatIssuePath(path), message });
}

// ---------------------------------------------------------------------------------------------
// Syntax errors

function syntaxError(source: SourceMap, fileName: string, text: string, error: YAMLError): FileError {
  const at = source.position(error.pos[0]);
  return { file: fileName, ...at, path: '', message: explainSyntaxError(error, text, at) };
}

function explainSyntaxError(error: YAMLError, text: string, at: Position): string {
  const lineText = text.split(/\r?\n/)[at.line - 1] ?? '';
  switch (error.code) {
    case 'TAB_AS_INDENT':
      return 'tabs are not allowed for indentation in YAML: indent with spaces';
    case 'DUPLICATE_KEY': {
      const key = /^\s*(?:-\s+)?["']?([^"':#]+?)["']?\s*:/.exec(lineText.slice(at.column - 1))?.[1];
      return `${key === undefined ? 'this key' : `"${key}"`} appears twice in the same mapping: keep only one`;
    }
    case 'MULTIPLE_DOCS':
      return 'the file must hold a single YAML document: remove the "---" line and what follows, or merge them';
    case 'BAD_INDENT':
      return `${lowerFirst(error.message)}: check the indentation of this line (spaces only; keys of one mapping line up)`;
    default:
      return lowerFirst(error.message.replace(/ at line \d+, column \d+:?[\s\S]*$/, ''));
  }
}

function lowerFirst(s: string): string {
  return s.length > 1 && /^[A-Z][a-z]/.test(s) ? s[0]!.toLowerCase() + s.slice(1) : s;
}

// ---------------------------------------------------------------------------------------------
// Messages

type RawIssue = core.$ZodRawIssue;
type Issue = core.$ZodIssue;

const MISSING = 'required, but missing';

function expectedName(expected: string): string {
  switch (expected) {
    case 'string':
      return 'text';
    case 'number':
      return 'a number';
    case 'int':
      return 'a whole number';
    case 'boolean':
      return 'true or false';
    case 'object':
    case 'record':
    case 'map':
      return 'a mapping (key: value)';
    case 'array':
    case 'tuple':
    case 'set':
      return 'a list';
    case 'null':
      return 'an empty value';
    default:
      return expected;
  }
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'an empty value';
  if (typeof value === 'string') return `the text ${quote(value)}`;
  if (typeof value === 'number' || typeof value === 'bigint') return `the number ${String(value)}`;
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

function quote(s: string): string {
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 37)}...` : s);
}

function formatValue(v: unknown): string {
  return typeof v === 'string' ? v : String(v);
}

/** Edit distance counting a swap of neighbours as one edit (optimal string alignment), case-insensitive. */
function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  const d: number[][] = Array.from({ length: s.length + 1 }, (_, i) => Array.from({ length: t.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= s.length; i++) {
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[s.length]![t.length]!;
}

/** The candidate `word` most likely meant, if it is close enough to be a typo. */
export function closestMatch(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  if (best === undefined) return undefined;
  // Numbered names are different things, not typos of each other: H3 is not H1.
  const letters = (s: string): string => s.toLowerCase().replace(/\d+/g, '#');
  if (word.toLowerCase() !== best.toLowerCase() && (letters(word) === letters(best) || word.length < 2)) return undefined;
  const limit = Math.max(1, Math.floor(Math.min(word.length, best.length) / 3));
  const prefix = word.length >= 3 && best.toLowerCase().startsWith(word.toLowerCase());
  return bestDistance <= limit || prefix ? best : undefined;
}

function oneOf(values: readonly unknown[]): string {
  const names = values.map(formatValue);
  return names.length === 1 ? names[0]! : `one of ${names.slice(0, -1).join(', ')} or ${names[names.length - 1]!}`;
}

function badChoice(values: readonly unknown[], input: unknown): string {
  if (input === undefined) return `${MISSING}: give ${oneOf(values)}`;
  const suggestion = typeof input === 'string' ? closestMatch(input, values.map(formatValue)) : undefined;
  const got = `got ${describeValue(input)}`;
  if (values.length === 1) return `must be ${formatValue(values[0])} (${got})`;
  return `must be ${oneOf(values)} (${got})${suggestion !== undefined ? `; did you mean ${suggestion}?` : ''}`;
}

/** Keys an object schema accepts, except those it lists only to refuse them (`z.never()`). */
function knownKeys(inst: unknown): string[] {
  // zod's internals are typed for its own use; read only what is documented as stable: def.shape.
  const shape = (inst as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined)?._zod?.def?.shape;
  if (shape === undefined) return [];
  return Object.entries(shape)
    .filter(([, schema]) => !isRefusedKey(schema))
    .map(([key]) => key);
}

function isRefusedKey(schema: unknown): boolean {
  let def = (schema as { _zod?: { def?: { type?: string; innerType?: unknown } } } | undefined)?._zod?.def;
  while (def?.type === 'optional') def = (def.innerType as { _zod?: { def?: { type?: string; innerType?: unknown } } })._zod?.def;
  return def?.type === 'never';
}

function unknownKeyMessage(key: string, known: readonly string[]): string {
  const suggestion = closestMatch(key, known);
  if (suggestion !== undefined) return `unknown key "${key}"; did you mean "${suggestion}"?`;
  if (known.length === 0) return `unknown key "${key}": remove it`;
  return `unknown key "${key}": the keys allowed here are ${known.join(', ')}`;
}

function sizeMessage(issue: { origin: string; inclusive?: boolean; exact?: boolean }, bound: number | bigint, small: boolean): string {
  const n = Number(bound);
  switch (issue.origin) {
    case 'string':
      if (small && n === 1 && issue.inclusive !== false) return 'must not be empty';
      return `must be ${issue.exact ? 'exactly' : small ? 'at least' : 'at most'} ${n} characters long`;
    case 'array':
    case 'set':
      if (small && n === 1 && issue.inclusive !== false) return 'must not be an empty list';
      return `must have ${issue.exact ? 'exactly' : small ? 'at least' : 'at most'} ${n} item${n === 1 ? '' : 's'}`;
    default:
      if (issue.inclusive === false) return `must be ${small ? 'greater' : 'less'} than ${n}`;
      return `must be ${small ? 'at least' : 'at most'} ${n}`;
  }
}

/**
 * The error map used for every parse: zod calls it only for issues whose schema has no message of
 * its own. Unknown keys get one message per key, kept in `unknownKeys` for the caller to split.
 */
function makeErrorMap(unknownKeys: Map<string, { joined: string; perKey: Map<string, string> }>): core.$ZodErrorMap {
  return (issue: RawIssue) => {
    switch (issue.code) {
      case 'invalid_type': {
        if (issue.input === undefined) return MISSING;
        if (issue.expected === 'never') return 'is not allowed here: remove it';
        const hint =
          (issue.expected === 'number' || issue.expected === 'int') && typeof issue.input === 'string' && /^-?\d+(\.\d+)?$/.test(issue.input.trim())
            ? ' (write the number without quotes)'
            : '';
        return `expected ${expectedName(issue.expected)}, got ${describeValue(issue.input)}${hint}`;
      }
      case 'invalid_value':
        return badChoice(issue.values, issue.input);
      case 'unrecognized_keys': {
        const known = knownKeys(issue.inst);
        const perKey = new Map(issue.keys.map((k) => [k, unknownKeyMessage(k, known)] as const));
        const joined = [...perKey.values()].join('; ');
        unknownKeys.set(unknownKeysId(issue.path ?? [], issue.keys), { joined, perKey });
        return joined;
      }
      case 'too_small':
        return sizeMessage(issue, issue.minimum, true);
      case 'too_big':
        return sizeMessage(issue, issue.maximum, false);
      case 'not_multiple_of':
        return `must be a multiple of ${String(issue.divisor)}`;
      case 'invalid_format':
        return issue.format === 'regex' ? 'is not in the expected form' : `must be a valid ${issue.format}`;
      case 'invalid_union':
        if ('discriminator' in issue && issue.discriminator !== undefined && 'options' in issue && Array.isArray(issue.options)) {
          return badChoice(issue.options, discriminatorValue(issue.input, issue.discriminator));
        }
        return undefined;
      default:
        return undefined;
    }
  };
}

/** Identifies an unrecognized_keys issue between the error map and placeIssues (paths are relative inside unions). */
function unknownKeysId(path: readonly PropertyKey[], keys: readonly string[]): string {
  return JSON.stringify([path.map(String), keys]);
}

function discriminatorValue(input: unknown, key: string): unknown {
  return input !== null && typeof input === 'object' ? (input as Record<string, unknown>)[key] : undefined;
}

// ---------------------------------------------------------------------------------------------
// From issues to file errors

interface PlacedIssue {
  path: PropertyKey[];
  message: string;
}

function placeIssues(issues: readonly Issue[], prefix: PropertyKey[], unknownKeys: Map<string, { joined: string; perKey: Map<string, string> }>): PlacedIssue[] {
  const out: PlacedIssue[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    switch (issue.code) {
      case 'unrecognized_keys': {
        const ours = unknownKeys.get(unknownKeysId(issue.path, issue.keys));
        for (const key of issue.keys) {
          const message = ours !== undefined && ours.joined === issue.message ? ours.perKey.get(key) : undefined;
          out.push({ path: [...path, key], message: message ?? (issue.keys.length === 1 ? issue.message : `${issue.message} (${key})`) });
        }
        break;
      }
      case 'invalid_union':
        out.push(...placeUnion(issue, path, unknownKeys));
        break;
      case 'invalid_key':
      case 'invalid_element':
        out.push(...placeIssues(issue.issues, path, unknownKeys));
        break;
      default:
        out.push({ path, message: issue.message });
    }
  }
  return out;
}

/**
 * A plain union that nothing matched: if some alternatives had the right shape and failed only
 * inside, report the inner issues of the closest one; otherwise say which kinds were expected.
 */
function placeUnion(issue: Extract<Issue, { code: 'invalid_union' }>, path: PropertyKey[], unknownKeys: Map<string, { joined: string; perKey: Map<string, string> }>): PlacedIssue[] {
  const branches = issue.errors;
  if (branches.length === 0 || ('discriminator' in issue && issue.discriminator !== undefined)) return [{ path, message: issue.message }];
  // An alternative whose issues are all inside the value (or about its keys) had the right type.
  const isTypeMismatch = (i: Issue): boolean => i.path.length === 0 && (i.code === 'invalid_type' || i.code === 'invalid_value' || i.code === 'invalid_union');
  const shaped = branches.filter((b) => b.length > 0 && !b.some(isTypeMismatch));
  if (shaped.length > 0) {
    const closest = shaped.reduce((a, b) => (b.length < a.length ? b : a));
    return placeIssues(closest, path, unknownKeys);
  }
  const expected = new Set<string>();
  for (const branch of branches) {
    for (const i of branch) {
      if (!isTypeMismatch(i)) continue;
      if (i.code === 'invalid_type') expected.add(expectedName(i.expected));
      else if (i.code === 'invalid_value') for (const v of i.values) expected.add(formatValue(v));
      else expected.add(i.message);
    }
  }
  if (issue.input === undefined && branches.some((b) => b.some((i) => i.code === 'invalid_type' && i.input === undefined))) {
    return [{ path, message: MISSING }];
  }
  const list = [...expected];
  const wanted = list.length <= 1 ? (list[0] ?? 'another value') : `${list.slice(0, -1).join(', ')} or ${list[list.length - 1]!}`;
  return [{ path, message: `expected ${wanted}${issue.input === undefined ? '' : `, got ${describeValue(issue.input)}`}` }];
}

// ---------------------------------------------------------------------------------------------
// The loader

/**
 * Parses `text` as one YAML document (JSON included) and validates it with `schema`.
 * On failure, returns every problem found, each with its line, in file order.
 */
export function loadYamlDocument<T>(text: string, schema: ZodType<T>, fileName: string): LoadResult<T> {
  const source = new SourceMap(text);
  const syntax = source.doc.errors.map((e) => syntaxError(source, fileName, text, e));
  if (syntax.length > 0) return { ok: false, errors: sortErrors(syntax) };

  const aliasErrors: FileError[] = [];
  visit(source.doc, {
    Alias(_key, node) {
      if (node.resolve(source.doc) === undefined) {
        const at = source.position(node.range?.[0] ?? 0);
        aliasErrors.push({ file: fileName, ...at, path: '', message: `*${node.source} refers to an anchor &${node.source} that is not defined above it` });
      }
    },
  });
  if (aliasErrors.length > 0) return { ok: false, errors: sortErrors(aliasErrors) };

  let data: unknown;
  try {
    data = source.doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    return { ok: false, errors: [{ file: fileName, line: 1, column: 1, path: '', message: lowerFirst((error as Error).message) }] };
  }
  if (data === null || data === undefined) {
    return { ok: false, errors: [{ file: fileName, ...source.locate([]), path: '', message: 'the file is empty' }] };
  }

  const unknownKeys = new Map<string, { joined: string; perKey: Map<string, string> }>();
  const result = schema.safeParse(data, { error: makeErrorMap(unknownKeys), reportInput: true });
  if (result.success) return { ok: true, value: result.data };

  const placed = placeIssues(result.error.issues, [], unknownKeys);
  const errors = placed.map((p) => ({ file: fileName, ...source.locate(p.path), path: formatIssuePath(p.path), message: p.message }));
  return { ok: false, errors: sortErrors(errors) };
}

function sortErrors(errors: FileError[]): FileError[] {
  const seen = new Set<string>();
  return errors
    .filter((e) => {
      const key = `${e.line}:${e.column}:${e.path}:${e.message}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .sort((a, b) => a.line - b.line || a.column - b.column);
}
