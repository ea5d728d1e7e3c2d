/**
 * protoc-gen-validate rules read from a field's options. protobufjs flattens the option
 * `(validate.rules) = { string: { min_len: 1 } }` into keys such as
 * `"(validate.rules).string.min_len": 1`; they are folded back into a tree here and checked
 * against a JSON value. Only the rules a flattened option can state faithfully are enforced:
 * `in` / `not_in` lists (flattening keeps one element) are not.
 */

import { parseJsonDuration } from './proto-json-scalars.ts';

/** A folded rule tree, e.g. `{ repeated: { min_items: 1, items: { string: { min_len: 1 } } } }`. */
export type RuleTree = { [key: string]: RuleTree | string | number | boolean };

const prefix = '(validate.rules).';
const cache = new WeakMap<object, RuleTree | undefined>();

/** The rule tree of a field, or `undefined` when it has none. */
export function rulesOf(field: { options?: Record<string, unknown> | undefined }): RuleTree | undefined {
  if (cache.has(field)) return cache.get(field);
  let tree: RuleTree | undefined;
  for (const [key, value] of Object.entries(field.options ?? {})) {
    if (!key.startsWith(prefix)) continue;
    tree ??= {};
    let node = tree;
    const parts = key.slice(prefix.length).split('.');
    for (const [i, part] of parts.entries()) {
      if (i === parts.length - 1) {
        node[part] = value as RuleTree | string | number | boolean;
      } else {
        let next = node[part];
        if (typeof next !== 'object') {
          next = {};
          node[part] = next;
        }
        node = next;
      }
    }
  }
  cache.set(field, tree);
  return tree;
}

/** A sub-tree of `tree` (`rules.repeated.items`), or `undefined`. */
export function sub(tree: RuleTree | undefined, key: string): RuleTree | undefined {
  const node = tree?.[key];
  return typeof node === 'object' ? node : undefined;
}

const numericKinds = [
  'double',
  'float',
  'int32',
  'int64',
  'uint32',
  'uint64',
  'sint32',
  'sint64',
  'fixed32',
  'fixed64',
  'sfixed32',
  'sfixed64',
];

/**
 * Checks the value rules (everything but `repeated` and `map`) of one value. `present` is false
 * for a field left out: then only `required` applies to a message field (`scalar` false), while
 * a scalar is checked at its default, as PGV does.
 */
export function checkValueRules(rules: RuleTree, value: unknown, present: boolean, scalar: boolean): string[] {
  const problems: string[] = [];
  for (const kind of ['message', 'duration', 'any', 'timestamp']) {
    if (sub(rules, kind)?.required === true && !present) problems.push('required');
  }
  // A message field left out (wrappers such as UInt32Value included) has no value to check.
  if (!present && !scalar) return problems;
  const string = sub(rules, 'string');
  if (string !== undefined && (typeof value === 'string' || !present)) {
    problems.push(...checkString(string, typeof value === 'string' ? value : ''));
  }
  for (const kind of numericKinds) {
    const numeric = sub(rules, kind);
    if (numeric === undefined) continue;
    const n = present ? Number(value) : 0;
    if (Number.isFinite(n)) problems.push(...checkRange(numeric, n, String(present ? value : 0)));
  }
  const duration = sub(rules, 'duration');
  if (duration !== undefined && present) {
    const parsed = parseJsonDuration(value);
    if (parsed.ok) problems.push(...checkRange(durationBounds(duration), parsed.seconds, String(value), 's'));
  }
  const bytes = sub(rules, 'bytes');
  if (bytes !== undefined && typeof value === 'string') {
    const length = Buffer.from(value, 'base64').length;
    if (typeof bytes.min_len === 'number' && length < bytes.min_len) {
      problems.push(`expected at least ${bytes.min_len} bytes, got ${length}`);
    }
    if (typeof bytes.max_len === 'number' && length > bytes.max_len) {
      problems.push(`expected at most ${bytes.max_len} bytes, got ${length}`);
    }
  }
  return problems;
}

function checkString(rules: RuleTree, value: string): string[] {
  if (rules.ignore_empty === true && value === '') return [];
  const problems: string[] = [];
  const chars = [...value].length;
  const bytes = Buffer.byteLength(value);
  const shown = JSON.stringify(value);
  if (typeof rules.min_len === 'number' && chars < rules.min_len) {
    problems.push(
      rules.min_len === 1 ? 'must not be empty' : `expected at least ${rules.min_len} characters, got ${shown}`,
    );
  }
  if (typeof rules.max_len === 'number' && chars > rules.max_len) {
    problems.push(`expected at most ${rules.max_len} characters, got ${chars}`);
  }
  if (typeof rules.min_bytes === 'number' && bytes < rules.min_bytes) {
    problems.push(rules.min_bytes === 1 ? 'must not be empty' : `expected at least ${rules.min_bytes} bytes`);
  }
  if (typeof rules.max_bytes === 'number' && bytes > rules.max_bytes) {
    problems.push(`expected at most ${rules.max_bytes} bytes, got ${bytes}`);
  }
  if (typeof rules.const === 'string' && value !== rules.const) {
    problems.push(`must be ${JSON.stringify(rules.const)}, got ${shown}`);
  }
  if (typeof rules.prefix === 'string' && !value.startsWith(rules.prefix)) {
    problems.push(`must start with ${JSON.stringify(rules.prefix)}, got ${shown}`);
  }
  if (typeof rules.pattern === 'string') {
    const pattern = jsRegExp(rules.pattern);
    if (pattern !== undefined && !pattern.test(value)) problems.push(`must match ${rules.pattern}, got ${shown}`);
  }
  if (rules.well_known_regex === 'HTTP_HEADER_NAME' && value !== '') {
    const ok = rules.strict === false ? !hasControl(value, true) : /^:?[0-9a-zA-Z!#$%&'*+\-.^_|~`]+$/.test(value);
    if (!ok) problems.push(`must be a valid HTTP header name, got ${shown}`);
  }
  if (rules.well_known_regex === 'HTTP_HEADER_VALUE') {
    const ok = !hasControl(value, rules.strict === false);
    if (!ok) problems.push(`must be a valid HTTP header value, got ${shown}`);
  }
  return problems;
}

/**
 * Whether `value` holds characters a header may not: NUL, CR and LF when `loose` (PGV's
 * `strict: false`), otherwise any control character but tab (RFC 9110 field-value).
 */
function hasControl(value: string, loose: boolean): boolean {
  for (const char of value) {
    const code = char.charCodeAt(0);
    if (loose ? code === 0 || code === 10 || code === 13 : (code < 32 && code !== 9) || code === 127) return true;
  }
  return false;
}

/** RE2 patterns as JavaScript regular expressions; a pattern JavaScript cannot compile is not checked. */
function jsRegExp(pattern: string): RegExp | undefined {
  try {
    return new RegExp(pattern, 'u');
  } catch {
    return undefined;
  }
}

function checkRange(rules: RuleTree, n: number, shown: string, unit = ''): string[] {
  const problems: string[] = [];
  const bound = (key: string) => (typeof rules[key] === 'number' ? (rules[key] as number) : undefined);
  const gt = bound('gt');
  const gte = bound('gte');
  const lt = bound('lt');
  const lte = bound('lte');
  const constant = bound('const');
  if (constant !== undefined && n !== constant) problems.push(`must be ${constant}${unit}, got ${shown}`);
  if (gt !== undefined && !(n > gt)) problems.push(`must be greater than ${gt}${unit}, got ${shown}`);
  if (gte !== undefined && !(n >= gte)) problems.push(`must be at least ${gte}${unit}, got ${shown}`);
  if (lt !== undefined && !(n < lt)) problems.push(`must be less than ${lt}${unit}, got ${shown}`);
  if (lte !== undefined && !(n <= lte)) problems.push(`must be at most ${lte}${unit}, got ${shown}`);
  return problems;
}

/** Duration bounds are `{ seconds, nanos }` messages (`gt: {}` is zero); converted to seconds. */
function durationBounds(rules: RuleTree): RuleTree {
  const out: RuleTree = {};
  for (const key of ['gt', 'gte', 'lt', 'lte', 'const']) {
    const bound = rules[key];
    if (bound === undefined) continue;
    const b = typeof bound === 'object' ? bound : {};
    out[key] = Number(b.seconds ?? 0) + Number(b.nanos ?? 0) / 1e9;
  }
  return out;
}

/** Checks `repeated` rules (item count, uniqueness) of a list. */
export function checkRepeatedRules(rules: RuleTree, items: readonly unknown[]): string[] {
  const problems: string[] = [];
  if (typeof rules.min_items === 'number' && items.length < rules.min_items) {
    problems.push(`expected at least ${rules.min_items} item${rules.min_items === 1 ? '' : 's'}, got ${items.length}`);
  }
  if (typeof rules.max_items === 'number' && items.length > rules.max_items) {
    problems.push(`expected at most ${rules.max_items} items, got ${items.length}`);
  }
  if (rules.unique === true) {
    const seen = new Set(items.map((i) => JSON.stringify(i)));
    if (seen.size !== items.length) problems.push('items must be unique');
  }
  return problems;
}

/** Checks `map` rules (pair count) of a map. */
export function checkMapRules(rules: RuleTree, size: number): string[] {
  const problems: string[] = [];
  if (typeof rules.min_pairs === 'number' && size < rules.min_pairs) {
    problems.push(`expected at least ${rules.min_pairs} entries, got ${size}`);
  }
  if (typeof rules.max_pairs === 'number' && size > rules.max_pairs) {
    problems.push(`expected at most ${rules.max_pairs} entries, got ${size}`);
  }
  return problems;
}
