import type * as z from 'zod';
import {
  type KeyedStoreDefaults,
  keyedStoreOptionsSchema,
  type ResolvedKeyedStoreOptions,
  resolveKeyedStoreOptions,
} from './internal/keyed-store-options.ts';

const defaults: KeyedStoreDefaults = {
  keyPrefix: 'switchyard:ratelimit:',
  commandTimeoutMs: 500,
  commandTimeoutExample: '500ms',
};

/**
 * The options of `createRedisRateLimitStore`, as a strict zod schema: `url` or `client`, `keyPrefix`
 * (default `'switchyard:ratelimit:'`) and `commandTimeout` (default `'500ms'`). An unknown field is an error
 * naming the closest known one.
 */
export const redisRateLimitStoreOptionsSchema = keyedStoreOptionsSchema(defaults);

/** What `createRedisRateLimitStore` accepts. Durations take `"250ms"`, `"5s"` or milliseconds. */
export type RedisRateLimitStoreOptions = z.input<typeof redisRateLimitStoreOptionsSchema>;

/** {@link RedisRateLimitStoreOptions} with every default applied, durations in milliseconds. */
export type ResolvedRedisRateLimitStoreOptions = ResolvedKeyedStoreOptions;

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
  return resolveKeyedStoreOptions(redisRateLimitStoreOptionsSchema, input, root);
}
