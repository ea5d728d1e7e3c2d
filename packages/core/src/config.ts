import * as z from 'zod';
import { coreError } from './codes.ts';
import { isDurationString, parseDuration } from './duration.ts';

/** One validation problem: where (`gateway.routes[2].service`) and what. */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
}

/** Formats a key path as `a.b[2].c`, prefixed by `root` when given. */
export function formatPath(path: readonly PropertyKey[], root?: string): string {
  let out = root ?? '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out.length === 0 ? String(key) : `.${String(key)}`;
  }
  return out.length === 0 ? '(root)' : out;
}

/**
 * Converts zod issues into {@link ConfigIssue}s with full paths and readable messages:
 * unknown keys get a "did you mean" when a known key is close.
 */
export function configIssues(schema: z.ZodType, error: z.ZodError, root?: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeys(schema, issue.path);
      for (const key of issue.keys) {
        const hint = closest(key, known);
        issues.push({
          path: formatPath([...issue.path, key], root),
          message: `unknown field${hint ? ` (did you mean "${hint}"?)` : ''}`,
        });
      }
      continue;
    }
    issues.push({ path: formatPath(issue.path, root), message: describeIssue(issue) });
  }
  return issues;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const received = (issue as { input?: unknown }).input;
  if ((issue.code === 'invalid_type' || issue.code === 'invalid_union') && received === undefined) return 'required';
  if (issue.code === 'invalid_type') return `expected ${issue.expected}, got ${describeValue(received)}`;
  return issue.message;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/**
 * Validates `input` against `schema`, returning the parsed, deep-frozen value.
 *
 * @param root - path prefix for messages, e.g. `gateway`
 * @throws SwitchyardError `SY_CONFIG_INVALID`; `details.issues` lists every problem by path
 * @example
 * ```ts
 * const options = resolveOptions(z.strictObject({ port: z.number() }), { port: 8080 }, 'gateway');
 * ```
 */
export function resolveOptions<S extends z.ZodType>(schema: S, input: unknown, root?: string): Readonly<z.output<S>> {
  const result = schema.safeParse(input, { reportInput: true });
  if (!result.success) throw invalidConfig(configIssues(schema, result.error, root));
  return deepFreeze(result.data);
}

/** Builds the `SY_CONFIG_INVALID` error listing `issues`, one per line. */
export function invalidConfig(issues: readonly ConfigIssue[], source?: string): Error {
  const lines = issues.map((i) => `${i.path}: ${i.message}`);
  const head = `invalid configuration${source ? ` in ${source}` : ''}`;
  return coreError('SY_CONFIG_INVALID', `${head}:\n  ${lines.join('\n  ')}`, {
    details: { issues: issues.map((i) => ({ path: i.path, message: i.message })) },
  });
}

/** Recursively freezes plain objects and arrays. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * A zod schema for durations: `"250ms"`, `"5s"`, `"1m30s"` or milliseconds; outputs milliseconds.
 *
 * @example
 * ```ts
 * z.strictObject({ timeout: zDuration().default(30_000) }).parse({ timeout: '2s' }); // { timeout: 2000 }
 * ```
 */
export function zDuration() {
  return z
    .union([z.number().nonnegative(), z.string()])
    .refine((v) => typeof v === 'number' || isDurationString(v.trim()), {
      message: 'expected a duration such as "250ms", "5s" or a number of milliseconds',
    })
    .transform((v) => parseDuration(v));
}

/** A TCP port: an integer 0..65535 (0 picks a free port). */
export function zPort() {
  return z.number().int().min(0).max(65_535);
}

function knownKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  const target = schemaAt(schema, path);
  const shape = target ? objectShape(target) : undefined;
  return shape ? Object.keys(shape) : [];
}

type Def = { type: string; [key: string]: unknown };

function defOf(schema: unknown): Def | undefined {
  return (schema as { _zod?: { def?: Def } })?._zod?.def;
}

function unwrap(schema: unknown): unknown {
  let current = schema;
  for (let i = 0; i < 16; i++) {
    const def = defOf(current);
    if (!def) return current;
    if (['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional'].includes(def.type)) {
      current = def.innerType;
    } else if (def.type === 'pipe') {
      current = def.in;
    } else if (def.type === 'lazy') {
      current = (def.getter as () => unknown)();
    } else {
      return current;
    }
  }
  return current;
}

function objectShape(schema: unknown): Record<string, unknown> | undefined {
  const def = defOf(unwrap(schema));
  return def?.type === 'object' ? (def.shape as Record<string, unknown>) : undefined;
}

function schemaAt(schema: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = schema;
  for (const key of path) {
    const def = defOf(unwrap(current));
    if (!def) return undefined;
    if (def.type === 'object') current = (def.shape as Record<string, unknown>)[String(key)];
    else if (def.type === 'array') current = def.element;
    else if (def.type === 'record') current = def.valueType;
    else if (def.type === 'union') {
      const options = def.options as unknown[];
      current = options.find((o) => objectShape(o)?.[String(key)] !== undefined) ?? options[0];
      current = objectShape(current)?.[String(key)];
    } else return undefined;
  }
  return current;
}

/** The candidate within edit distance 2 (or a third of the word) of `word`, if any. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min((previous[j] as number) + 1, (row[j - 1] as number) + 1, (previous[j - 1] as number) + cost);
    }
    previous = row;
  }
  return previous[b.length] as number;
}
