import type { HttpClient } from '@switchyard/client';
import { type Balancer, createBalancer, type InstanceStats, type OutlierDetector } from '@switchyard/discovery';
import { globalMetrics, type HttpRouteMetrics } from '@switchyard/telemetry';
import { createAggregateHandler } from './aggregate/handler.ts';
import { createProxyTrust } from './headers.ts';
import { type BuiltMiddleware, buildMiddleware, type RateLimitStoreFactories } from './middleware/build.ts';
import { composeMiddleware, type GatewayMiddleware, type RouteHandler } from './middleware.ts';
import type { ResolvedGatewayOptions, ResolvedRoute } from './options.ts';
import type { GatewayLogger, InstanceSource } from './ports.ts';
import { createProxy } from './proxy.ts';
import { createRouter, type Router } from './router.ts';
import type { GatewayTraffic } from './traffic/control.ts';
import { createUpgradeProxy } from './upgrade.ts';

/** What lives as long as the gateway, across config reloads. */
export interface GatewayServices {
  /** Sends every upstream request; owns the breakers and the retry budget. */
  readonly client: HttpClient;
  /** Per-instance statistics shared by every balancer, the outlier detector and the client. */
  readonly stats: InstanceStats;
  readonly outliers: OutlierDetector;
  readonly logger: GatewayLogger;
  /** Middleware given in code (`GatewayInput.middleware`), outermost, before configured middleware. */
  readonly middleware: readonly GatewayMiddleware[];
  /** Factories of rate-limit stores that live in adapters (`GatewayInput.rateLimitStores`). */
  readonly rateLimitStores?: RateLimitStoreFactories | undefined;
  /** Where instances come from for WebSocket upgrades, which bypass the HTTP client. */
  readonly discovery: InstanceSource;
  /** Subset choice, split overrides and observations (`gateway.traffic`). */
  readonly traffic?: GatewayTraffic | undefined;
}

/**
 * Everything built from one validated config: the router, a balancer and a handler chain per
 * route. A reload builds a new runtime and swaps it in whole; a request keeps the runtime it
 * started with.
 */
export interface GatewayRuntime {
  readonly options: ResolvedGatewayOptions;
  readonly router: Router<ResolvedRoute>;
  /** Whether an address is one of `trustedProxies`. */
  readonly isTrusted: (address: string) => boolean;
  /** The route's whole chain: code middleware, gateway middleware, route middleware, then the proxy or aggregator. */
  handlerFor(route: ResolvedRoute): RouteHandler;
  /** The route's chain for WebSocket upgrades: the same middleware, then the upgrade proxy. */
  upgradeHandlerFor(route: ResolvedRoute): RouteHandler;
  /** The route's request metrics (`switchyard_http_server_*{route=<route name>}`), resolved when the runtime was built. */
  routeMetricsFor(route: ResolvedRoute): HttpRouteMetrics;
  /** The route's balancer (absent for aggregate routes). */
  balancerFor(route: ResolvedRoute): Balancer | undefined;
  /** Releases what this runtime's middleware holds open; the shared services stay. */
  close(): Promise<void>;
}

/**
 * Builds the runtime for `options`.
 *
 * @throws Error when configured middleware cannot be built (its message names the config path)
 */
export function buildRuntime(options: ResolvedGatewayOptions, services: GatewayServices): GatewayRuntime {
  const { stats, outliers, client, logger } = services;
  const router = createRouter(options.routes);
  const balancers = new Map<ResolvedRoute, Balancer>();
  const http = globalMetrics().http;
  const routeMetrics = new Map<ResolvedRoute, HttpRouteMetrics>();
  for (const route of options.routes) {
    routeMetrics.set(route, http.route(route.name));
    if (route.aggregate === undefined) balancers.set(route, createBalancer(route.balancer, { stats, outliers }));
  }
  const traffic = services.traffic?.forRuntime(options);
  const proxy = createProxy({
    client,
    balancerFor: (route) => balancers.get(route) ?? createBalancer(route.balancer, { stats, outliers }),
    traffic,
  });
  const upgrade = createUpgradeProxy({
    discovery: services.discovery,
    balancerFor: (route) => balancers.get(route) ?? createBalancer(route.balancer, { stats, outliers }),
    traffic,
  });
  const upgradeChains = new Map<ResolvedRoute, RouteHandler>();
  const built: BuiltMiddleware[] = [];
  const closeBuilt = () => Promise.all(built.map((b) => b.close())).then(() => undefined);
  const chains = new Map<ResolvedRoute, RouteHandler>();
  const isTrusted = createProxyTrust(options.trustedProxies);
  const deps = { logger, isTrusted, rateLimitStores: services.rateLimitStores };
  try {
    const global = buildMiddleware(
      options.middleware,
      { ...deps, level: 'gateway', routes: options.routes },
      'gateway.middleware',
    );
    built.push(global);
    for (const [index, route] of options.routes.entries()) {
      const own = buildMiddleware(
        route.middleware,
        { ...deps, level: 'route', routes: [route] },
        `gateway.routes[${index}].middleware`,
      );
      built.push(own);
      const terminal =
        route.aggregate === undefined
          ? proxy
          : createAggregateHandler(route, { client, logger, stats, outliers, at: `gateway.routes[${index}]` });
      const layers = [...services.middleware, ...global.middleware, ...own.middleware];
      chains.set(route, composeMiddleware(layers, terminal));
      upgradeChains.set(route, composeMiddleware(layers, upgrade));
    }
  } catch (err) {
    void closeBuilt();
    throw err;
  }
  return {
    options,
    router,
    isTrusted,
    handlerFor(route) {
      const chain = chains.get(route);
      if (chain === undefined) throw new Error(`route ${route.name} does not belong to this runtime`);
      return chain;
    },
    upgradeHandlerFor(route) {
      const chain = upgradeChains.get(route);
      if (chain === undefined) throw new Error(`route ${route.name} does not belong to this runtime`);
      return chain;
    },
    routeMetricsFor: (route) => routeMetrics.get(route) ?? http.route(route.name),
    balancerFor: (route) => balancers.get(route),
    close: closeBuilt,
  };
}
