import { createRedisRateLimitStore } from '@switchyard/adapter-redis';
import type { GatewayInput } from '@switchyard/gateway';

/** The rate-limit store factories the CLI gives the gateway (`GatewayInput.rateLimitStores`). */
export type GatewayRateLimitStores = NonNullable<GatewayInput['rateLimitStores']>;

/**
 * The rate-limit stores `switchyard.yaml` can name: `store: redis` in a `rateLimit` middleware
 * entry gets a `createRedisRateLimitStore` from `@switchyard/adapter-redis`, one per entry,
 * closed with the gateway.
 *
 * @example
 * ```ts
 * const gateway = await createGateway({ options: config.gateway, discovery, rateLimitStores: gatewayRateLimitStores() });
 * ```
 */
export function gatewayRateLimitStores(): GatewayRateLimitStores {
  return { redis: createRedisRateLimitStore };
}
