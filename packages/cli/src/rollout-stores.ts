import { createPostgresRolloutStore } from '@switchyard/adapter-postgres';
import { createRedisRolloutStore } from '@switchyard/adapter-redis';
import type { RolloutStoreFactories } from '@switchyard/gateway';

/**
 * The rollout stores `switchyard.yaml` can name besides `memory` and `sqlite:`: `redis://...`
 * gets `createRedisRolloutStore` from `@switchyard/adapter-redis`, `postgres://...` gets
 * `createPostgresRolloutStore` from `@switchyard/adapter-postgres`, so every gateway replica
 * pointed at the same server shares each rollout's state.
 *
 * @example
 * ```ts
 * const gateway = await createGateway({ options: config.gateway, discovery, rolloutStores: gatewayRolloutStores() });
 * ```
 */
export function gatewayRolloutStores(): RolloutStoreFactories {
  return {
    redis: (url) => createRedisRolloutStore({ url }),
    postgres: (url) => createPostgresRolloutStore({ url }),
  };
}
