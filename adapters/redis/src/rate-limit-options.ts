import { configIssues, invalidConfig, zDuration } from '@switchyard/core';
import type { Redis } from 'ioredis';
import * as z from 'zod';
import { redisClientSchema, redisUrlSchema, refineUrlOrClient } from './internal/connection.ts';
import { DEFAULT_REDIS_URL } from './options.ts';

/**
 * The options of `createRedisRateLimitStore`, as a strict zod schema. An unknown field is an
 * error naming the closest known one.
 */
export const redisRateLimitStoreOptionsSchema = z
  .strictObject({
    /** Where Redis listens; not together with `client`. @default 'redis://127.0.0.1:6379' */
    url: redisUrlSchema,
    /** An ioredis client to use instead of connecting to `url`; the store never closes it. */
    client: redisClientSchema,
    /** Prefix of every key the store writes. @default 'switchyard:ratelimit:' */
    keyPrefix: z.string().min(1).default('switchyard:ratelimit:'),
    /**
     * How long a decision waits for Redis before failing with `SY_REDIS_TIMEOUT` (applies to
     * the connection the store opens; a passed-in `client` keeps its own `commandTimeout`).
     * @default '500ms'
     */
    commandTimeout: zDuration()
      .refine((ms) => ms > 0, { message: 'expected a duration > 0, such as "500ms"' })
      .default(500),
  })
  .superRefine(refineUrlOrClient);

/** What `createRedisRateLimitStore` accepts. Durations take `"250ms"`, `"5s"` or milliseconds. */
export type RedisRateLimitStoreOptions = z.input<typeof redisRateLimitStoreOptionsSchema>;

/** {@link RedisRateLimitStoreOptions} with every default applied, durations in milliseconds. */
export interface ResolvedRedisRateLimitStoreOptions {
  /** The URL connected to; `undefined` when `client` was given. */
  readonly url: string | undefined;
  /** The client passed in, if any (not frozen: it stays the caller's). */
  readonly client: Redis | undefined;
  readonly keyPrefix: string;
  readonly commandTimeoutMs: number;
}

/**
 * Validates and completes the rate-limit store's options.
 *
 * @param root - path prefix in error messages @default 'redis'
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming each bad field (`redis.url: ...`)
 * @example
 * ```ts
 * resolveRedisRateLimitStoreOptions({ commandTimeout: '200ms' }).commandTimeoutMs; // 200
 * ```
 */
export function resolveRedisRateLimitStoreOptions(
  input: RedisRateLimitStoreOptions = {},
  root = 'redis',
): ResolvedRedisRateLimitStoreOptions {
  const result = redisRateLimitStoreOptionsSchema.safeParse(input, { reportInput: true });
  if (!result.success) throw invalidConfig(configIssues(redisRateLimitStoreOptionsSchema, result.error, root));
  const { client, url, keyPrefix, commandTimeout } = result.data;
  return Object.freeze({
    url: client === undefined ? (url ?? DEFAULT_REDIS_URL) : undefined,
    client,
    keyPrefix,
    commandTimeoutMs: commandTimeout,
  });
}
