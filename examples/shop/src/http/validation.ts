import { configIssues, formatPath } from '@switchyard/core';
import * as z from 'zod';
import { shopError } from '../errors.ts';

/*
 * Every schema here carries its own message ("expected an integer >= 1") because zod's issues
 * do not say whether a number had to be an integer; the value that was sent is appended from
 * the input itself, since zod drops it from issues by default.
 */

/**
 * A string field of `min..max` characters.
 *
 * @example
 * ```ts
 * z.strictObject({ customer: zText(1, 200) });
 * ```
 */
export function zText(min: number, max: number) {
  const error = `expected a string of ${min}..${max} characters`;
  return z.string({ error }).min(min, { error }).max(max, { error });
}

/**
 * An integer field `>= min` (and `<= max` when given).
 *
 * @example
 * ```ts
 * z.strictObject({ quantity: zInteger(1) });
 * ```
 */
export function zInteger(min: number, max?: number) {
  const error = max === undefined ? `expected an integer >= ${min}` : `expected an integer ${min}..${max}`;
  const schema = z.int({ error }).min(min, { error });
  return max === undefined ? schema : schema.max(max, { error });
}

/**
 * A finite number field, `>= min` or, with `exclusive`, `> min`.
 *
 * @example
 * ```ts
 * z.strictObject({ amount: zAmount(0, { exclusive: true }) });
 * ```
 */
export function zAmount(min: number, options: { exclusive?: boolean } = {}) {
  const error = `expected a number ${options.exclusive ? '>' : '>='} ${min}`;
  const schema = z.number({ error });
  return options.exclusive ? schema.gt(min, { error }) : schema.gte(min, { error });
}

/**
 * An array field of `min..max` elements.
 *
 * @example
 * ```ts
 * z.strictObject({ items: zList(z.strictObject({ sku: zText(1, 100) }), 1, 100) });
 * ```
 */
export function zList<T extends z.ZodType>(element: T, min: number, max: number) {
  const error = `expected an array of ${min}..${max} items`;
  return z.array(element, { error }).min(min, { error }).max(max, { error });
}

/**
 * A strict object: unknown keys are rejected with a "did you mean" hint.
 *
 * @example
 * ```ts
 * const item = zRecord({ sku: zText(1, 100), quantity: zInteger(1) });
 * ```
 */
export function zRecord<Shape extends z.ZodRawShape>(shape: Shape) {
  return z.strictObject(shape, { error: 'expected an object' });
}

/** One validation problem, located by a field path such as `items[0].quantity`. */
export interface FieldIssue {
  /** The field path, or `undefined` for the body itself. */
  readonly field: string | undefined;
  readonly message: string;
}

/**
 * Describes zod's issues against the `input` they came from, one per problem:
 * `items[0].quantity: expected an integer >= 1, got 0`. Unknown fields come first.
 *
 * @example
 * ```ts
 * const result = schema.safeParse(body);
 * if (!result.success) console.log(describeIssues(schema, result.error, body)[0]?.message);
 * ```
 */
export function describeIssues(schema: z.ZodType, error: z.ZodError, input: unknown): FieldIssue[] {
  // Unknown fields go first: a misspelt field also shows up as a missing one, and
  // "did you mean" is the more useful of the two messages.
  const unknownFields: FieldIssue[] = [];
  const issues: FieldIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      // core's helper knows the schema's keys and adds the "did you mean" hint.
      for (const unknown of configIssues(schema, new z.ZodError([issue]))) {
        unknownFields.push({ field: unknown.path, message: `${unknown.path}: ${unknown.message}` });
      }
      continue;
    }
    const field = issue.path.length === 0 ? undefined : formatPath(issue.path);
    const value = valueAt(input, issue.path);
    const what = field ?? 'request body';
    const message =
      value === undefined
        ? field === undefined
          ? `${what}: ${issue.message}, got no body`
          : `${what}: required`
        : `${what}: ${issue.message}, got ${describeValue(value)}`;
    issues.push({ field, message });
  }
  return [...unknownFields, ...issues];
}

/**
 * Parses `input` with `schema`, or throws `SY_SHOP_INVALID_REQUEST` naming the first field at
 * fault (in `details.field`) and saying what was expected and what was sent.
 *
 * @throws SwitchyardError `SY_SHOP_INVALID_REQUEST`
 * @example
 * ```ts
 * const order = parseRequest(orderSchema, req.body); // typed, or a 400 naming the field
 * ```
 */
export function parseRequest<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const [first] = describeIssues(schema, result.error, input);
  const message = first?.message ?? 'request body is invalid';
  throw invalidRequest(message, first?.field);
}

/**
 * Builds the `SY_SHOP_INVALID_REQUEST` error for `field` (omitted for the body as a whole).
 *
 * @example
 * ```ts
 * throw invalidRequest('total: expected 59.97 (the sum of quantity × price), got 60', 'total');
 * ```
 */
export function invalidRequest(message: string, field?: string): Error {
  return shopError('SY_SHOP_INVALID_REQUEST', message, field === undefined ? {} : { details: { field } });
}

/**
 * Describes a value for a message: numbers and short strings verbatim, containers by kind.
 *
 * @example
 * ```ts
 * describeValue('x'.repeat(100)); // '"xxxx…" (100 characters)'
 * ```
 */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length} item${value.length === 1 ? '' : 's'}`;
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') {
    return value.length <= 40
      ? JSON.stringify(value)
      : `${JSON.stringify(value.slice(0, 40))}… (${value.length} characters)`;
  }
  return String(value);
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current = input;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}
