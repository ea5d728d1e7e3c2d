import { createHash } from 'node:crypto';
import type { SwitchyardError } from '@switchyard/core';
import { redisError } from './errors.ts';
import { connectStore } from './internal/connection.ts';
import { rateLimitScript } from './internal/rate-limit-lua.ts';
import { type RedisRateLimitStoreOptions, resolveRedisRateLimitStoreOptions } from './rate-limit-options.ts';

/**
 * One request to the limiter: `limit` units per `periodMs`, `burst` at once (default `limit`),
 * this request taking `cost` (default 1). The shape of `RateLimitRequest` in `@switchyard/gateway`.
 */
export interface RedisRateLimitRequest {
  readonly limit: number;
  readonly periodMs: number;
  readonly burst?: number;
  readonly cost?: number;
}

/** One decision; the shape of `RateLimitDecision` in `@switchyard/gateway`. */
export interface RedisRateLimitDecision {
  readonly allowed: boolean;
  readonly remaining: number;
  readonly resetMs: number;
  readonly retryAfterMs: number;
}

/**
 * The gateway's `RateLimitStore` port kept in Redis (it satisfies the port structurally, so
 * this package does not depend on the gateway), with `close`.
 */
export interface RedisRateLimitStore {
  /**
   * Decides one request against `key`'s quota: one EVALSHA, atomic across every gateway.
   *
   * @throws SwitchyardError `SY_REDIS_UNAVAILABLE`, `SY_REDIS_TIMEOUT`, `SY_REDIS_COMMAND_FAILED`, `SY_REDIS_CLOSED`
   * @throws RangeError when `cost` exceeds `burst`
   */
  consume(key: string, request: RedisRateLimitRequest): Promise<RedisRateLimitDecision>;
  /** Closes the connection the store opened (a `client` passed in is left open). Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const scriptSha = createHash('sha1').update(rateLimitScript).digest('hex');

/** The script's arguments and reply decoder for one request shape, built once per request object. */
interface Prepared {
  readonly costUs: string;
  readonly tolerance: string;
  readonly ttlMs: string;
  readonly decode: (ahead: number) => RedisRateLimitDecision;
}

/** Builds the arguments, and the decoder that turns the script's `ahead` into a decision as `gcra()` does. */
function prepare(request: RedisRateLimitRequest): Prepared | RangeError {
  const burst = request.burst ?? request.limit;
  const cost = request.cost ?? 1;
  if (cost > burst) return new RangeError(`rate limit: cost ${cost} exceeds burst ${burst}; it could never pass`);
  // The interval in whole microseconds, exactly as the gateway's `emissionIntervalUs`.
  const interval = Math.max(1, Math.round((request.periodMs * 1000) / request.limit));
  const tolerance = burst * interval;
  const costUs = cost * interval;
  return {
    costUs: String(costUs),
    tolerance: String(tolerance),
    ttlMs: String(Math.ceil(tolerance / 1000)),
    decode(reply) {
      if (reply > 0) {
        return {
          allowed: true,
          remaining: Math.floor((tolerance - reply) / interval),
          resetMs: Math.ceil(reply / 1000),
          retryAfterMs: 0,
        };
      }
      const ahead = -reply;
      const behind = ahead - costUs;
      return {
        allowed: false,
        remaining: Math.floor((tolerance - behind) / interval),
        resetMs: Math.ceil(behind / 1000),
        retryAfterMs: Math.ceil((ahead - tolerance) / 1000),
      };
    },
  };
}

const noop = (): void => {};

/**
 * Creates the gateway's `RateLimitStore` in Redis, so every gateway process shares each
 * quota: `rateLimit({ limit, period, store })` in each.
 *
 * Each decision is one GCRA step in a Lua script (one EVALSHA; EVAL once when Redis lacks it),
 * atomic across the fleet and timed by Redis's `TIME`, so N gateways admit exactly what one
 * would. A key is one string, `<keyPrefix><key>`, holding its theoretical arrival time; it
 * expires `burst × period / limit` (the period, by default) after its last admission.
 * Decisions fail fast rather than queue while Redis is away (`SY_REDIS_UNAVAILABLE`, or `SY_REDIS_TIMEOUT` after `commandTimeout`); the gateway's
 * `onStoreError` then admits or refuses.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` for bad options, naming the field (`redis.url: ...`)
 * @example
 * ```ts
 * import { createRedisRateLimitStore } from '@switchyard/adapter-redis';
 * import { rateLimit } from '@switchyard/gateway';
 *
 * const store = createRedisRateLimitStore({ url: 'redis://127.0.0.1:6379' });
 * const limiter = rateLimit({ limit: 100, period: '1m', key: 'api-key', store });
 * // ... at shutdown:
 * await store.close();
 * ```
 */
export function createRedisRateLimitStore(options: RedisRateLimitStoreOptions = {}): RedisRateLimitStore {
  const resolved = resolveRedisRateLimitStoreOptions(options);
  const { keyPrefix, commandTimeoutMs } = resolved;
  // No auto-pipelining: ioredis already writes each command at once and Redis answers in
  // order; measured with 50 decisions in flight (bench/ratelimit), its per-tick batching made
  // EVALSHA about a quarter slower, where it speeds up a plain SET.
  const { client, owned, where } = connectStore({
    url: resolved.url,
    client: resolved.client,
    commandTimeoutMs,
    connectionName: 'switchyard-rate-limit-store',
    autoPipelining: false,
  });
  // The middleware passes one request object for every decision: its arguments are built once.
  const prepared = new WeakMap<RedisRateLimitRequest, Prepared>();
  let closed = false;
  let closing: Promise<void> | undefined;

  function wrapError(err: unknown, key: string): SwitchyardError {
    const e = err as { name?: string; message?: string } | undefined;
    const message = e?.message ?? String(err);
    const details = { key, redis: where };
    if (e?.name === 'ReplyError') {
      return redisError('SY_REDIS_COMMAND_FAILED', `rate-limit store consume("${key}"): Redis answered: ${message}`, {
        cause: err,
        details,
      });
    }
    if (/timed out/i.test(message)) {
      return redisError(
        'SY_REDIS_TIMEOUT',
        `rate-limit store consume("${key}"): no answer from ${where} within ${commandTimeoutMs}ms`,
        { cause: err, details: { ...details, timeoutMs: commandTimeoutMs } },
      );
    }
    return redisError(
      'SY_REDIS_UNAVAILABLE',
      `rate-limit store consume("${key}"): cannot reach Redis at ${where} (${message}); is it running?`,
      { cause: err, details },
    );
  }

  return {
    consume(key, request) {
      if (closed) {
        return Promise.reject(
          redisError('SY_REDIS_CLOSED', `rate-limit store consume("${key}"): the store was closed`, {
            details: { key },
          }),
        );
      }
      let p = prepared.get(request);
      if (p === undefined) {
        const made = prepare(request);
        if (made instanceof RangeError) return Promise.reject(made);
        p = made;
        prepared.set(request, p);
      }
      const { costUs, tolerance, ttlMs, decode } = p;
      const fullKey = keyPrefix + key;
      // EVALSHA directly (cheaper per call than ioredis's defineCommand wrapper); the first
      // call on a Redis that lacks the script gets NOSCRIPT and runs EVAL, which caches it.
      return (client.evalsha(scriptSha, 1, fullKey, costUs, tolerance, ttlMs) as Promise<number>).then(
        decode,
        (err: unknown) => {
          if ((err as Error | undefined)?.message?.startsWith('NOSCRIPT') === true) {
            return (client.eval(rateLimitScript, 1, fullKey, costUs, tolerance, ttlMs) as Promise<number>).then(
              decode,
              (again: unknown) => Promise.reject(wrapError(again, key)),
            );
          }
          return Promise.reject(wrapError(err, key));
        },
      );
    },
    close() {
      closed = true;
      closing ??= owned ? client.quit().then(noop, () => client.disconnect()) : Promise.resolve();
      return closing;
    },
    [Symbol.asyncDispose]() {
      return this.close();
    },
  };
}
