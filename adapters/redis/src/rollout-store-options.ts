import type * as z from 'zod';
import {
  type KeyedStoreDefaults,
  keyedStoreOptionsSchema,
  type ResolvedKeyedStoreOptions,
  resolveKeyedStoreOptions,
} from './internal/keyed-store-options.ts';

const defaults: KeyedStoreDefaults = {
  keyPrefix: 'switchyard:rollout:',
  commandTimeoutMs: 2000,
  commandTimeoutExample: '2s',
};

/**
 * The options of `createRedisRolloutStore`, as a strict zod schema: `url` or `client`, `keyPrefix`
 * (default `'switchyard:rollout:'`) and `commandTimeout` (default `'2s'`). An unknown field is an error
 * naming the closest known one.
 */
export const redisRolloutStoreOptionsSchema = keyedStoreOptionsSchema(defaults);

/** What `createRedisRolloutStore` accepts. Durations take `"250ms"`, `"5s"` or milliseconds. */
export type RedisRolloutStoreOptions = z.input<typeof redisRolloutStoreOptionsSchema>;

/** {@link RedisRolloutStoreOptions} with every default applied, durations in milliseconds. */
export type ResolvedRedisRolloutStoreOptions = ResolvedKeyedStoreOptions;

/**
 * Validates and completes the rollout store's options.
 *
 * @param root - path prefix in error messages @default 'redis'
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming each bad field (`redis.url: ...`)
 * @example
 * ```ts
 * resolveRedisRolloutStoreOptions({ keyPrefix: 'shop:rollout:' }).commandTimeoutMs; // 2000
 * ```
 */
export function resolveRedisRolloutStoreOptions(
  input: RedisRolloutStoreOptions = {},
  root = 'redis',
): ResolvedRedisRolloutStoreOptions {
  return resolveKeyedStoreOptions(redisRolloutStoreOptionsSchema, input, root);
}
