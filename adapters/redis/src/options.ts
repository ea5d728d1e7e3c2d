import { configIssues, invalidConfig, zDuration } from '@switchyard/core';
import type { Redis } from 'ioredis';
import * as z from 'zod';
import { redisClientSchema, redisUrlSchema, refineUrlOrClient } from './internal/connection.ts';

const positiveDuration = (what: string) =>
  zDuration().refine((ms) => ms > 0, { message: `expected ${what} > 0, such as "1s"` });

/**
 * The options of `createRedisBreakerStateStore`, as a strict zod schema (also used for
 * `switchyard.yaml`). An unknown field is an error naming the closest known one.
 */
export const redisBreakerStateStoreOptionsSchema = z
  .strictObject({
    /** Where Redis listens; not together with `client`. @default 'redis://127.0.0.1:6379' */
    url: redisUrlSchema,
    /** An ioredis client to use instead of connecting to `url`; the store never closes it. */
    client: redisClientSchema,
    /** Prefix of every key and channel the store uses. @default 'switchyard:breaker:' */
    keyPrefix: z.string().min(1).default('switchyard:breaker:'),
    /** How long a call waits for Redis before failing with `SY_REDIS_TIMEOUT`. @default '1s' */
    commandTimeout: positiveDuration('a duration').default(1000),
    /**
     * How long a breaker's keys outlive its last write, so abandoned breakers are forgotten.
     * @default '1h'
     */
    keyTtl: positiveDuration('a duration').default(3_600_000),
  })
  .superRefine(refineUrlOrClient);

/** What `createRedisBreakerStateStore` accepts. Durations take `"250ms"`, `"5s"` or milliseconds. */
export type RedisBreakerStateStoreOptions = z.input<typeof redisBreakerStateStoreOptionsSchema>;

/** {@link RedisBreakerStateStoreOptions} with every default applied, durations in milliseconds. */
export interface ResolvedRedisBreakerStateStoreOptions {
  /** The URL connected to; `undefined` when `client` was given. */
  readonly url: string | undefined;
  /** The client passed in, if any (not frozen: it stays the caller's). */
  readonly client: Redis | undefined;
  readonly keyPrefix: string;
  readonly commandTimeoutMs: number;
  readonly keyTtlMs: number;
}

/** The default Redis address. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/**
 * Validates and completes the store's options.
 *
 * @param root - path prefix in error messages @default 'redis'
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming each bad field (`redis.url: ...`)
 * @example
 * ```ts
 * resolveRedisBreakerStateStoreOptions({ commandTimeout: '500ms' }).commandTimeoutMs; // 500
 * ```
 */
export function resolveRedisBreakerStateStoreOptions(
  input: RedisBreakerStateStoreOptions = {},
  root = 'redis',
): ResolvedRedisBreakerStateStoreOptions {
  const result = redisBreakerStateStoreOptionsSchema.safeParse(input, { reportInput: true });
  if (!result.success) throw invalidConfig(configIssues(redisBreakerStateStoreOptionsSchema, result.error, root));
  const { client, url, keyPrefix, commandTimeout, keyTtl } = result.data;
  // Frozen shallowly rather than with resolveOptions: deep-freezing would freeze the caller's client.
  return Object.freeze({
    url: client === undefined ? (url ?? DEFAULT_REDIS_URL) : undefined,
    client,
    keyPrefix,
    commandTimeoutMs: commandTimeout,
    keyTtlMs: keyTtl,
  });
}
