import { type ConfigIssue, invalidConfig } from '@switchyard/core';
import type * as z from 'zod';
import { apiKeyAuth } from '../auth/api-key.ts';
import { jwtAuth } from '../auth/jwt.ts';
import { remoteAuth } from '../auth/remote.ts';
import type { GatewayMiddleware } from '../middleware.ts';
import type { ResolvedRoute } from '../options.ts';
import type { GatewayLogger } from '../ports.ts';
import type { RateLimitStore } from '../rate-limit/gcra.ts';
import { createMemoryRateLimitStore } from '../rate-limit/memory-store.ts';
import { rateLimit } from '../rate-limit/middleware.ts';
import type { RateLimitOptions } from '../rate-limit/options.ts';
import { bodyLimit } from './body-limit.ts';
import { cors } from './cors.ts';
import { ipFilter } from './ip-filter.ts';
import {
  kindOf,
  type RedisRateLimitStoreConfig,
  type ResolvedMiddlewareEntry,
  type rateLimitEntrySchema,
  redisRateLimitStoreConfigSchema,
} from './options.ts';

/** A rate-limit store a factory created; `close` (when present) is called when the gateway closes or reloads. */
export interface ClosableRateLimitStore extends RateLimitStore {
  close?(): Promise<void>;
}

/**
 * Creates the stores that `rateLimit` entries name in config but that live in an adapter
 * package, so the gateway itself loads no driver.
 *
 * @example
 * ```ts
 * import { createRedisRateLimitStore } from '@switchyard/adapter-redis';
 *
 * await createGateway({ options, discovery, rateLimitStores: { redis: createRedisRateLimitStore } });
 * ```
 */
export interface RateLimitStoreFactories {
  /**
   * Builds the store of each `rateLimit` entry with `store: redis`, one per entry, from its
   * `redis` options. `createRedisRateLimitStore` from `@switchyard/adapter-redis` fits as is.
   */
  readonly redis?: (options: RedisRateLimitStoreConfig) => ClosableRateLimitStore;
}

/** What building configured middleware needs from the gateway. */
export interface MiddlewareBuildDeps {
  readonly logger: GatewayLogger;
  /** Whether an address is one of `trustedProxies` (for `ipFilter`'s client address). */
  readonly isTrusted: (address: string) => boolean;
  /** Factories of stores that live in adapters (`store: redis`). @default none */
  readonly rateLimitStores?: RateLimitStoreFactories | undefined;
  /**
   * Where the list is: `gateway` for `gateway.middleware` (a `rateLimit` entry's `scope` then
   * defaults to `gateway`), `route` for a route's own list (`scope` defaults to `route`).
   */
  readonly level: 'gateway' | 'route';
  /** The routes the list runs on: every route for `gateway.middleware`, the one route otherwise. */
  readonly routes: readonly ResolvedRoute[];
}

/** Middleware built from a `middleware:` list, with what it holds open. */
export interface BuiltMiddleware {
  readonly middleware: readonly GatewayMiddleware[];
  /** Releases the rate-limit stores the entries created (Redis connections). Idempotent. */
  close(): Promise<void>;
}

type RateLimitEntry = z.output<typeof rateLimitEntrySchema>;

/**
 * Builds the middleware a `middleware:` list describes, in order. Rate-limit stores are created
 * here, one per entry: `memory` in-process, `redis` through `deps.rateLimitStores.redis`.
 *
 * @param at - the list's config path for messages, e.g. `gateway.routes[2].middleware`
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming the entry when a `redis` store has no
 *   factory, or a `cors` entry runs on a route whose `methods` leave out `OPTIONS`
 * @example
 * ```ts
 * const built = buildMiddleware(options.middleware, { logger, isTrusted, level: 'gateway', routes: options.routes }, 'gateway.middleware');
 * const handler = composeMiddleware(built.middleware, proxy);
 * // on reload or shutdown:
 * await built.close();
 * ```
 */
export function buildMiddleware(
  entries: readonly ResolvedMiddlewareEntry[],
  deps: MiddlewareBuildDeps,
  at: string,
): BuiltMiddleware {
  const issues = entries.flatMap((entry, index) =>
    'cors' in entry ? corsIssues(deps.routes, `${at}[${index}].cors`) : [],
  );
  if (issues.length > 0) throw invalidConfig(issues);

  const stores: ClosableRateLimitStore[] = [];
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= Promise.all(stores.map((store) => store.close?.())).then(() => undefined);
    return closing;
  };
  try {
    const middleware = entries.map((entry, index): GatewayMiddleware => {
      const path = `${at}[${index}].${kindOf(entry)}`;
      if ('jwt' in entry) return jwtAuth(entry.jwt);
      if ('apiKey' in entry) return apiKeyAuth(entry.apiKey);
      if ('remoteAuth' in entry) return remoteAuth(entry.remoteAuth);
      if ('cors' in entry) return cors(entry.cors);
      if ('bodyLimit' in entry) return bodyLimit(entry.bodyLimit);
      if ('ipFilter' in entry) return ipFilter(entry.ipFilter, { isTrusted: deps.isTrusted });
      const store = storeFor(entry.rateLimit, deps, path);
      stores.push(store);
      return rateLimit(rateLimitOptions(entry.rateLimit, store, deps));
    });
    return { middleware, close };
  } catch (err) {
    void close();
    throw err;
  }
}

function storeFor(entry: RateLimitEntry, deps: MiddlewareBuildDeps, path: string): ClosableRateLimitStore {
  if (entry.store === 'memory') return createMemoryRateLimitStore();
  const factory = deps.rateLimitStores?.redis;
  if (factory === undefined) {
    throw invalidConfig([
      {
        path: `${path}.store`,
        message:
          '"redis" needs a Redis store factory, which this gateway was not given: pass `rateLimitStores: { redis: createRedisRateLimitStore }` (from @switchyard/adapter-redis) to createGateway, or start the gateway with the switchyard CLI, which does',
      },
    ]);
  }
  return factory(entry.redis ?? redisRateLimitStoreConfigSchema.parse({}));
}

function rateLimitOptions(entry: RateLimitEntry, store: RateLimitStore, deps: MiddlewareBuildDeps): RateLimitOptions {
  return {
    limit: entry.limit,
    period: entry.period,
    ...(entry.burst === undefined ? {} : { burst: entry.burst }),
    key: entry.key,
    scope: entry.scope ?? deps.level,
    ...(entry.routes === undefined ? {} : { routes: [...entry.routes] }),
    store,
    onStoreError: entry.onStoreError,
    headers: entry.headers,
    policy: entry.policy,
    logger: deps.logger,
  };
}

/**
 * A preflight is an `OPTIONS` request: a route whose `methods` leave it out never routes one, so
 * its `cors` entry could only ever answer simple requests and browsers would fail the rest.
 */
function corsIssues(routes: readonly ResolvedRoute[], path: string): ConfigIssue[] {
  const blind = routes.filter((route) => route.methods !== undefined && !route.methods.includes('OPTIONS'));
  if (blind.length === 0) return [];
  const names = blind.map((route) => `${route.name} (methods ${route.methods?.join(', ')})`).join('; ');
  return [
    {
      path,
      message: `CORS preflights are OPTIONS requests, which ${blind.length === 1 ? 'this route does' : 'these routes do'} not accept: ${names}; add OPTIONS to the route's methods or leave its methods list out`,
    },
  ];
}
