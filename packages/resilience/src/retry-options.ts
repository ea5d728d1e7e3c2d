import { configIssues, invalidConfig, isSwitchyardError, zDuration } from '@switchyard/core';
import * as z from 'zod';
import { isRetryBudget, type RetryBudget } from './retry-budget.ts';

/** How the delay between attempts grows. */
export interface BackoffInput {
  /** Delay before the first retry: `"100ms"`, `"1s"` or milliseconds. @default "100ms" */
  initial?: string | number;
  /** Upper bound for any delay. @default "10s" */
  max?: string | number;
  /** Growth factor per retry, >= 1. @default 2 */
  factor?: number;
  /**
   * `"full"`: uniform in [0, initial × factor^(n-1)] capped at `max` (spreads a crowd of
   * clients best); `"decorrelated"`: uniform in [initial, 3 × the previous delay] capped at
   * `max`; `"none"`: the capped exponential itself. @default "full"
   */
  jitter?: 'full' | 'decorrelated' | 'none';
}

/** Which outcomes deserve another attempt. `attempt` is the attempt that just ended (1-based). */
export interface RetryOn {
  /** True to retry after this error. @default {@link defaultRetryOnError} */
  error?: (error: unknown, attempt: number) => boolean;
  /** True to retry after this returned value (an HTTP 503, say). @default never */
  result?: (value: unknown, attempt: number) => boolean;
}

/** User input for {@link createRetry}. */
export interface RetryOptions {
  /** Attempts in all, the first call included; 1 disables retrying. @default 3 */
  maxAttempts?: number;
  /** Delay between attempts. @default { initial: "100ms", max: "10s", factor: 2, jitter: "full" } */
  backoff?: BackoffInput;
  /** Which errors and results are retried. */
  retryOn?: RetryOn;
  /**
   * Milliseconds the server asked to wait (its `Retry-After`), read from the failed error or the
   * retryable result, or `undefined`. @default {@link defaultRetryAfter}
   */
  retryAfter?: (outcome: unknown) => number | undefined;
  /**
   * The longest `Retry-After` worth waiting for; a server asking for more is not waited for:
   * the retry gives up at once with the last outcome. @default "30s"
   */
  maxRetryAfter?: string | number;
  /** A budget shared with other retry policies, capping retries to a share of recent calls. */
  budget?: RetryBudget;
}

/** {@link BackoffInput} after validation; times in milliseconds. */
export interface ResolvedBackoff {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor: number;
  readonly jitter: 'full' | 'decorrelated' | 'none';
}

/** {@link RetryOptions} after validation: complete, frozen, times in milliseconds. */
export interface ResolvedRetryOptions {
  readonly maxAttempts: number;
  readonly backoff: ResolvedBackoff;
  readonly retryOn: {
    readonly error: (error: unknown, attempt: number) => boolean;
    readonly result: ((value: unknown, attempt: number) => boolean) | undefined;
  };
  readonly retryAfter: (outcome: unknown) => number | undefined;
  readonly maxRetryAfterMs: number;
  readonly budget: RetryBudget | undefined;
}

/** Codes that say "trying again now cannot help": the caller left, or a policy refused on purpose. */
const neverRetried = new Set<string>([
  'SY_CANCELLED',
  'SY_RESILIENCE_CIRCUIT_OPEN',
  'SY_RESILIENCE_CIRCUIT_ISOLATED',
  'SY_RESILIENCE_BULKHEAD_FULL',
  'SY_RESILIENCE_DEADLINE_EXCEEDED',
  'SY_RESILIENCE_RETRY_BUDGET_EXHAUSTED',
]);

/**
 * The default error predicate: retry any error except a `SwitchyardError` whose `retryable` is
 * false, or whose code is `SY_CANCELLED`, `SY_RESILIENCE_CIRCUIT_OPEN`,
 * `SY_RESILIENCE_CIRCUIT_ISOLATED`, `SY_RESILIENCE_BULKHEAD_FULL`,
 * `SY_RESILIENCE_DEADLINE_EXCEEDED` or `SY_RESILIENCE_RETRY_BUDGET_EXHAUSTED` (an open breaker or
 * a full bulkhead refused on purpose, and hammering them defeats them). Foreign errors are retried.
 *
 * @example
 * ```ts
 * // Retry the defaults, but never a validation error of your own.
 * createRetry({ retryOn: { error: (err, n) => !(err instanceof ValidationError) && defaultRetryOnError(err, n) } });
 * ```
 */
export function defaultRetryOnError(error: unknown, _attempt?: number): boolean {
  if (!isSwitchyardError(error)) return true;
  return error.retryable && !neverRetried.has(error.code);
}

/**
 * The default `retryAfter`: `details.retryAfterMs` of a `SwitchyardError`, else a numeric
 * `retryAfterMs` property of the error (or result) object; `undefined` when neither is a
 * finite number >= 0.
 */
export function defaultRetryAfter(outcome: unknown): number | undefined {
  if (typeof outcome !== 'object' || outcome === null) return undefined;
  const value = isSwitchyardError(outcome)
    ? (outcome.details.retryAfterMs ?? (outcome as { retryAfterMs?: unknown }).retryAfterMs)
    : (outcome as { retryAfterMs?: unknown }).retryAfterMs;
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

const isFunction = (value: unknown): value is (...args: never[]) => unknown => typeof value === 'function';

/**
 * Schema for a {@link BackoffInput}: strict, durations as `"100ms"`/`"5s"` or milliseconds,
 * `max` at least `initial`; a missing field (or the whole object) takes `defaults`.
 *
 * @example
 * ```ts
 * backoffSchema({ initial: 100, max: 30_000, factor: 2, jitter: 'full' }).parse({ initial: '1s' });
 * // { initial: 1000, max: 30000, factor: 2, jitter: 'full' }
 * ```
 */
export function backoffSchema(defaults: {
  initial: number;
  max: number;
  factor: number;
  jitter: 'full' | 'decorrelated' | 'none';
}) {
  return z
    .strictObject({
      initial: zDuration().default(defaults.initial),
      max: zDuration().default(defaults.max),
      factor: z.number().min(1).default(defaults.factor),
      jitter: z.enum(['full', 'decorrelated', 'none']).default(defaults.jitter),
    })
    .superRefine((value, ctx) => {
      if (value.max < value.initial) {
        ctx.addIssue({
          code: 'custom',
          path: ['max'],
          message: `expected at least initial (${value.initial}ms), got ${value.max}ms`,
        });
      }
    })
    .default(defaults);
}

/**
 * Schema for {@link RetryOptions}: strict, defaults included; functions and the budget are
 * checked for shape and kept by reference.
 */
export const retryOptionsSchema = z.strictObject({
  maxAttempts: z.number().int().min(1).default(3),
  backoff: backoffSchema({ initial: 100, max: 10_000, factor: 2, jitter: 'full' }),
  retryOn: z
    .strictObject({
      error: z
        .custom<(error: unknown, attempt: number) => boolean>(isFunction, { message: 'expected a function' })
        .optional(),
      result: z
        .custom<(value: unknown, attempt: number) => boolean>(isFunction, { message: 'expected a function' })
        .optional(),
    })
    .optional(),
  retryAfter: z
    .custom<(outcome: unknown) => number | undefined>(isFunction, { message: 'expected a function' })
    .optional(),
  maxRetryAfter: zDuration().default(30_000),
  budget: z
    .custom<RetryBudget>(isRetryBudget, { message: 'expected a RetryBudget (see createRetryBudget)' })
    .optional(),
});

/**
 * Validates retry options and fills in the defaults.
 *
 * @param root - path prefix for messages
 * @returns complete options, frozen (the functions and the budget are kept by reference)
 * @throws SwitchyardError `SY_CONFIG_INVALID`; `details.issues` names each field
 *   (`resilience.retry.maxAttempts: Too small: expected number to be >=1`)
 * @example
 * ```ts
 * resolveRetryOptions({ maxAttempts: 5, backoff: { initial: '50ms' } }).backoff;
 * // { initialMs: 50, maxMs: 10000, factor: 2, jitter: 'full' }
 * ```
 */
export function resolveRetryOptions(input: RetryOptions = {}, root = 'resilience.retry'): ResolvedRetryOptions {
  const value = parse(retryOptionsSchema, input, root);
  return Object.freeze({
    maxAttempts: value.maxAttempts,
    backoff: Object.freeze({
      initialMs: value.backoff.initial,
      maxMs: value.backoff.max,
      factor: value.backoff.factor,
      jitter: value.backoff.jitter,
    }),
    retryOn: Object.freeze({ error: value.retryOn?.error ?? defaultRetryOnError, result: value.retryOn?.result }),
    retryAfter: value.retryAfter ?? defaultRetryAfter,
    maxRetryAfterMs: value.maxRetryAfter,
    budget: value.budget,
  });
}

/** Like core's `resolveOptions`, without the deep freeze: the budget is a live object of the caller's. */
function parse<S extends z.ZodType>(schema: S, input: unknown, root: string): z.output<S> {
  const result = schema.safeParse(input, { reportInput: true });
  if (!result.success) throw invalidConfig(configIssues(schema, result.error, root));
  return result.data;
}
