import {
  type Clock,
  configIssues,
  deepFreeze,
  invalidConfig,
  type ServiceInstance,
  systemClock,
  zDuration,
} from '@switchyard/core';
import type { Balancer } from '@switchyard/discovery';
import { type BreakerRegistry, isRetryBudget, type RetryBudget } from '@switchyard/resilience';
import type { Dispatcher } from 'undici';
import * as z from 'zod';

/** A duration: `"250ms"`, `"5s"`, `"1m30s"` or milliseconds. */
export type DurationInput = string | number;

/**
 * Where the client learns the instances of a service. A `DiscoveryClient` from
 * `@switchyard/discovery` fits; so does any object with this method (a static list in tests).
 * It is called on every attempt, so it should answer from a cache. Instances whose `status`
 * is `critical` are skipped.
 *
 * @example
 * ```ts
 * const discovery: InstanceSource = {
 *   instances: async (service) => [
 *     { id: `${service}-1`, service, address: '127.0.0.1', port: 3001, tags: [], meta: {}, status: 'passing', weight: 1 },
 *   ],
 * };
 * ```
 */
export interface InstanceSource {
  /** The current instances of `service`; rejects with `SY_CANCELLED` when `signal` aborts. */
  instances(service: string, signal?: AbortSignal): Promise<readonly ServiceInstance[]>;
}

/** Backoff between attempts; see `exponentialBackoff` in `@switchyard/core`. */
export interface HttpBackoffOptions {
  /** Delay before the first retry. @default "100ms" */
  readonly initial?: DurationInput;
  /** The longest delay. @default "2s" */
  readonly max?: DurationInput;
  /** Growth per retry. @default 2 */
  readonly factor?: number;
  /** `"full"`, `"decorrelated"` or `"none"`. @default "full" */
  readonly jitter?: 'full' | 'decorrelated' | 'none';
}

/**
 * When and how the client repeats a request. Only idempotent requests are ever repeated (GET,
 * HEAD, OPTIONS, TRACE, PUT, DELETE, or any method with an `Idempotency-Key`); a request whose
 * body is a stream is repeated only when nothing of it was sent.
 *
 * @example
 * ```ts
 * const retry: HttpRetryOptions = { maxAttempts: 2, statuses: [503], afterSend: false };
 * ```
 */
export interface HttpRetryOptions {
  /** Attempts in all, the first included; `1` never retries. @default 3 */
  readonly maxAttempts?: number;
  /** Delay between attempts. @default { initial: '100ms', max: '2s', factor: 2, jitter: 'full' } */
  readonly backoff?: HttpBackoffOptions;
  /**
   * Response statuses that are retried. A 429 is retried only when it carries `Retry-After`
   * (without one, repeating at once would add load the server just refused).
   * @default [429, 502, 503, 504]
   */
  readonly statuses?: readonly number[];
  /**
   * Whether failures after the request may have reached the instance are retried: a timeout,
   * a connection reset before the response. Connection failures before sending (refused,
   * unreachable) and missing instances are always retried.
   * @default true
   */
  readonly afterSend?: boolean;
  /**
   * The longest `Retry-After` (on 429 and 503) the client waits for; a response asking for
   * longer is returned to the caller instead. @default "5s"
   */
  readonly maxRetryAfter?: DurationInput;
}

/**
 * Options of `createHttpClient`.
 *
 * @example
 * ```ts
 * const options: HttpClientOptions = { discovery, timeout: '2s', retry: { maxAttempts: 2 } };
 * ```
 */
export interface HttpClientOptions {
  /** Where instances come from: a `DiscoveryClient`, or any {@link InstanceSource}. */
  readonly discovery: InstanceSource;
  /** Builds the balancer of each service, once per service. @default round robin per service */
  readonly balancer?: (service: string) => Balancer;
  /**
   * Breakers, one per service name (`breakers.get(service)`). @default a registry with
   * {@link defaultBreakerOptions}
   */
  readonly breakers?: BreakerRegistry;
  /**
   * How long one attempt waits for the response headers once the request was sent (for a
   * streamed body: once the whole body was handed over), and the longest pause between two
   * chunks of the response body. `0` disables it. @default "10s"
   */
  readonly timeout?: DurationInput;
  /** Retry policy; `false` never retries. @default {@link HttpRetryOptions} defaults */
  readonly retry?: HttpRetryOptions | false;
  /**
   * Caps retries at a share of recent requests, across every service this client calls;
   * `false` for no cap. @default a budget of 20% of requests plus 10 retries a second, over 10 s
   */
  readonly budget?: RetryBudget | false;
  /**
   * Sends the requests. Not closed by `client.close()` when given. @default an undici `Agent`
   * with keep-alive, one pool per instance origin
   */
  readonly dispatcher?: Dispatcher;
  /** Time for timeouts, deadlines and backoff. @default systemClock */
  readonly clock?: Clock;
  /** Headers sent with every request; a request's own headers win. @default {} */
  readonly headers?: Readonly<Record<string, string | readonly string[]>>;
}

/** {@link HttpRetryOptions} after validation; durations in milliseconds. */
export interface ResolvedHttpRetryOptions {
  readonly maxAttempts: number;
  readonly backoff: {
    readonly initialMs: number;
    readonly maxMs: number;
    readonly factor: number;
    readonly jitter: 'full' | 'decorrelated' | 'none';
  };
  readonly statuses: readonly number[];
  readonly afterSend: boolean;
  readonly maxRetryAfterMs: number;
}

/** {@link HttpClientOptions} after validation: defaults applied, durations in milliseconds. */
export interface ResolvedHttpClientOptions {
  readonly discovery: InstanceSource;
  readonly balancer: ((service: string) => Balancer) | undefined;
  readonly breakers: BreakerRegistry | undefined;
  readonly timeoutMs: number;
  readonly retry: ResolvedHttpRetryOptions | false;
  readonly budget: RetryBudget | false | undefined;
  readonly dispatcher: Dispatcher | undefined;
  readonly clock: Clock;
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
}

const backoffSchema = z.strictObject({
  initial: zDuration().default(100),
  max: zDuration().default(2000),
  factor: z.number().min(1).default(2),
  jitter: z.enum(['full', 'decorrelated', 'none']).default('full'),
});

/**
 * Schema of {@link HttpRetryOptions}.
 *
 * @example
 * ```ts
 * httpRetryOptionsSchema.parse({}).maxAttempts; // 3
 * ```
 */
export const httpRetryOptionsSchema = z.strictObject({
  maxAttempts: z.number().int().min(1).max(10).default(3),
  backoff: backoffSchema.prefault({}),
  statuses: z
    .array(z.number().int().min(400, 'expected a 4xx or 5xx status').max(599, 'expected a 4xx or 5xx status'))
    .default([429, 502, 503, 504]),
  afterSend: z.boolean().default(true),
  maxRetryAfter: zDuration().default(5000),
});

const headerValue = z.union([z.string(), z.array(z.string())]);

const isObjectWith =
  (method: string) =>
  (value: unknown): boolean =>
    typeof value === 'object' && value !== null && typeof (value as Record<string, unknown>)[method] === 'function';

/**
 * Schema of {@link HttpClientOptions}. Objects (discovery, breakers, dispatcher, ...) are
 * checked for the methods the client calls and passed through untouched.
 */
export const httpClientOptionsSchema = z.strictObject({
  discovery: z.custom<InstanceSource>(isObjectWith('instances'), {
    message: 'expected an object with instances(service, signal), such as a DiscoveryClient',
  }),
  balancer: z
    .custom<(service: string) => Balancer>((v) => typeof v === 'function', {
      message: 'expected a function (service) => Balancer',
    })
    .optional(),
  breakers: z
    .custom<BreakerRegistry>(isObjectWith('get'), { message: 'expected a breaker registry with get(name)' })
    .optional(),
  timeout: zDuration().default(10_000),
  // `retry: false` is taken out before parsing: behind a union, a misspelt retry field would
  // lose its "did you mean" hint.
  retry: httpRetryOptionsSchema.prefault({}),
  budget: z
    .union([
      z.literal(false),
      z.custom<RetryBudget>(isRetryBudget, { message: 'expected a RetryBudget (createRetryBudget) or false' }),
    ])
    .optional(),
  dispatcher: z
    .custom<Dispatcher>(isObjectWith('request'), { message: 'expected an undici Dispatcher (an Agent, a Pool)' })
    .optional(),
  clock: z
    .custom<Clock>((v) => isObjectWith('now')(v) && isObjectWith('setTimeout')(v), {
      message: 'expected a Clock with now() and setTimeout()',
    })
    .optional(),
  headers: z.record(z.string(), headerValue).default({}),
});

/**
 * Validates client options and applies defaults.
 *
 * @param root - path prefix in messages
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming each field (`client.timeout: ...`)
 * @example
 * ```ts
 * resolveHttpClientOptions({ discovery, timeout: '2s' }).timeoutMs; // 2000
 * ```
 */
export function resolveHttpClientOptions(input: HttpClientOptions, root = 'client'): ResolvedHttpClientOptions {
  // Not `resolveOptions`: it deep-freezes its result, and the objects passed in (an undici
  // Agent, a discovery client) must stay as they are. Only the plain data is frozen.
  const noRetry = (input as { retry?: unknown } | undefined)?.retry === false;
  const checked = noRetry ? { ...input, retry: undefined } : input;
  const result = httpClientOptionsSchema.safeParse(checked, { reportInput: true });
  if (!result.success) throw invalidConfig(configIssues(httpClientOptionsSchema, result.error, root));
  const parsed = result.data;
  return Object.freeze({
    discovery: parsed.discovery,
    balancer: parsed.balancer,
    breakers: parsed.breakers,
    timeoutMs: parsed.timeout,
    retry: noRetry ? false : toResolvedRetry(parsed.retry),
    budget: parsed.budget,
    dispatcher: parsed.dispatcher,
    clock: parsed.clock ?? systemClock,
    headers: deepFreeze(lowerCaseKeys(parsed.headers)),
  });
}

/**
 * Validates retry options, the ones of a client or of one request.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming each field (`request.retry.maxAttempts: ...`)
 * @example
 * ```ts
 * resolveHttpRetryOptions({ maxAttempts: 2 }).backoff.initialMs; // 100
 * ```
 */
export function resolveHttpRetryOptions(input: HttpRetryOptions, root = 'client.retry'): ResolvedHttpRetryOptions {
  const result = httpRetryOptionsSchema.safeParse(input, { reportInput: true });
  if (!result.success) throw invalidConfig(configIssues(httpRetryOptionsSchema, result.error, root));
  return toResolvedRetry(result.data);
}

function toResolvedRetry(parsed: z.output<typeof httpRetryOptionsSchema>): ResolvedHttpRetryOptions {
  return deepFreeze({
    maxAttempts: parsed.maxAttempts,
    backoff: {
      initialMs: parsed.backoff.initial,
      maxMs: parsed.backoff.max,
      factor: parsed.backoff.factor,
      jitter: parsed.backoff.jitter,
    },
    statuses: [...parsed.statuses],
    afterSend: parsed.afterSend,
    maxRetryAfterMs: parsed.maxRetryAfter,
  });
}

function lowerCaseKeys<T>(record: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [name, value] of Object.entries(record)) out[name.toLowerCase()] = value;
  return out;
}
