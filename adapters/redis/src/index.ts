/**
 * `@switchyard/adapter-redis`: Switchyard's Redis driver. It keeps circuit-breaker state
 * shared by every replica of a service, so a dependency that fails for a quorum of replicas is
 * cut off for all of them, and only a handful of probes test it when the open period is over.
 * It also keeps the gateway's rate-limit quotas (`createRedisRateLimitStore`), so every
 * gateway process draws on the same quota, one atomic round trip per decision.
 *
 * @example
 * ```ts
 * import { createRedisBreakerStateStore } from '@switchyard/adapter-redis';
 *
 * const store = createRedisBreakerStateStore({ url: 'redis://127.0.0.1:6379' });
 * const state = await store.read('payments');
 * console.log(state.state); // 'closed'
 * await store.close();
 * ```
 *
 * @packageDocumentation
 */

export type { RedisErrorCode } from './errors.ts';
export { redisError, redisErrorCodes } from './errors.ts';
export type { RedisBreakerStateStoreOptions, ResolvedRedisBreakerStateStoreOptions } from './options.ts';
export {
  DEFAULT_REDIS_URL,
  redisBreakerStateStoreOptionsSchema,
  resolveRedisBreakerStateStoreOptions,
} from './options.ts';
export type {
  RedisRateLimitStoreOptions,
  ResolvedRedisRateLimitStoreOptions,
} from './rate-limit-options.ts';
export { redisRateLimitStoreOptionsSchema, resolveRedisRateLimitStoreOptions } from './rate-limit-options.ts';
export type { RedisBreakerStateStore } from './redis-breaker-state-store.ts';
export { createRedisBreakerStateStore } from './redis-breaker-state-store.ts';
export type {
  RedisRateLimitDecision,
  RedisRateLimitRequest,
  RedisRateLimitStore,
} from './redis-rate-limit-store.ts';
export { createRedisRateLimitStore } from './redis-rate-limit-store.ts';
export type { RedisRolloutRecord, RedisRolloutStore } from './redis-rollout-store.ts';
export { createRedisRolloutStore } from './redis-rollout-store.ts';
export type { RedisRolloutStoreOptions, ResolvedRedisRolloutStoreOptions } from './rollout-store-options.ts';
export { redisRolloutStoreOptionsSchema, resolveRedisRolloutStoreOptions } from './rollout-store-options.ts';
