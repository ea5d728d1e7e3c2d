import { isIP } from 'node:net';
import { invalidConfig, type ServiceInstance } from '@switchyard/core';
import type { InstanceSource } from './ports.ts';

/**
 * The prefix of the service name a route with `upstreams` is served under: `static:<route name>`.
 * Registry service names may not start with it, so the two never collide.
 */
export const STATIC_SERVICE_PREFIX = 'static:';

/** A parsed static upstream URL. */
export interface StaticUpstream {
  /**
   * The instance the client balances over: id `http://host:port` (or `https://`, with
   * `meta.scheme: "https"`), always `passing`, weight 1.
   */
  readonly instance: ServiceInstance;
  /** The URL's path without its trailing `/` (`''` for none), put before every upstream path. */
  readonly pathPrefix: string;
}

/** The result of {@link parseStaticUpstream}. */
export type StaticUpstreamResult =
  | { readonly ok: true; readonly upstream: StaticUpstream }
  | { readonly ok: false; readonly message: string };

/** The fields of a route the overlay reads. */
export interface StaticRoute {
  readonly service?: string;
  readonly upstreams?: { readonly instances: readonly ServiceInstance[] };
}

/**
 * The synthetic service name of a route with static `upstreams`.
 *
 * @example
 * ```ts
 * staticServiceName('legacy-billing'); // 'static:legacy-billing'
 * ```
 */
export function staticServiceName(routeName: string): string {
  return `${STATIC_SERVICE_PREFIX}${routeName}`;
}

/**
 * Parses one entry of a route's `upstreams`: `http://host:port` or `https://host:port`,
 * optionally with a path (`http://10.0.0.5:8080/billing`). An `https` upstream is verified
 * against `gateway.upstreamTls.ca`, or the system's trusted CAs without it.
 *
 * @param service - the synthetic service name the instance belongs to
 * @example
 * ```ts
 * parseStaticUpstream('http://127.0.0.1:3001/v1', 'static:orders');
 * // { ok: true, upstream: { instance: { id: 'http://127.0.0.1:3001', address: '127.0.0.1', port: 3001, ... }, pathPrefix: '/v1' } }
 * ```
 */
export function parseStaticUpstream(text: string, service: string): StaticUpstreamResult {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail(`expected a URL such as "http://10.0.0.5:8080", got ${JSON.stringify(text)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return fail(`expected an http:// or https:// URL, got ${JSON.stringify(text)}`);
  }
  if (url.username !== '' || url.password !== '') return fail(`must not contain credentials: ${JSON.stringify(text)}`);
  if (url.search !== '' || url.hash !== '' || text.includes('?') || text.includes('#')) {
    return fail(`must not contain a query or fragment: ${JSON.stringify(text)}`);
  }
  if (url.hostname === '') return fail(`must name a host: ${JSON.stringify(text)}`);
  const address = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const https = url.protocol === 'https:';
  const port = url.port === '' ? (https ? 443 : 80) : Number(url.port);
  const host = isIP(address) === 6 ? `[${address}]` : address;
  const id = `${https ? 'https' : 'http'}://${host}:${port}`;
  const pathPrefix = url.pathname.replace(/\/+$/, '');
  return {
    ok: true,
    upstream: {
      instance: Object.freeze({
        id,
        service,
        address,
        port,
        tags: Object.freeze([]) as unknown as string[],
        // The client reaches instances with `meta.scheme: https` over TLS (see `gateway.upstreamTls`).
        meta: Object.freeze(https ? { scheme: 'https' } : {}),
        status: 'passing',
        weight: 1,
      }) as ServiceInstance,
      pathPrefix,
    },
  };
}

/**
 * An {@link InstanceSource} that answers `static:<route name>` services from the routes'
 * static `upstreams` and passes every other service to `discovery`. Routes are read through
 * `routes()` on each call, so a reloaded configuration takes effect at once; the lookup table is
 * rebuilt only when the route list changes.
 *
 * Without `discovery`, a lookup of a registry service rejects (the client reports it as a
 * discovery failure); `requireDiscovery` catches that case when the options are loaded.
 *
 * @example
 * ```ts
 * const source = createStaticUpstreams(() => options.routes, discovery);
 * await source.instances('static:legacy'); // the instances of the route named "legacy"
 * await source.instances('orders'); // asked of discovery
 * ```
 */
export function createStaticUpstreams(
  routes: () => readonly StaticRoute[],
  discovery?: InstanceSource,
): InstanceSource {
  let seen: readonly StaticRoute[] | undefined;
  let table = new Map<string, readonly ServiceInstance[]>();
  return {
    instances(service, signal) {
      if (service.startsWith(STATIC_SERVICE_PREFIX)) {
        const current = routes();
        if (current !== seen) {
          table = new Map();
          for (const route of current) {
            if (route.upstreams !== undefined && route.service !== undefined) {
              table.set(route.service, route.upstreams.instances);
            }
          }
          seen = current;
        }
        return Promise.resolve(table.get(service) ?? []);
      }
      if (discovery === undefined) {
        return Promise.reject(
          new Error(
            `no discovery was given to the gateway, so service ${JSON.stringify(service)} cannot be looked up; pass discovery or give the route upstreams`,
          ),
        );
      }
      return discovery.instances(service, signal);
    },
  };
}

function fail(message: string): StaticUpstreamResult {
  return { ok: false, message };
}

/** The fields of a route {@link requireDiscovery} reads. */
export interface DiscoveryRoute {
  readonly name: string;
  readonly service?: string;
  readonly upstreams?: unknown;
  readonly aggregate?: unknown;
}

/**
 * Checks that `discovery` was given when a route needs it: a route naming a registry `service`,
 * or an aggregate route (its calls go to services). Routes with static `upstreams` need none.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` at path `discovery`, naming the first route that needs it
 * @example
 * ```ts
 * requireDiscovery(options.routes, input.discovery);
 * ```
 */
export function requireDiscovery(routes: readonly DiscoveryRoute[], discovery: InstanceSource | undefined): void {
  if (discovery !== undefined) return;
  const index = routes.findIndex(
    (r) => r.aggregate !== undefined || (r.service !== undefined && r.upstreams === undefined),
  );
  if (index === -1) return;
  const route = routes[index] as DiscoveryRoute;
  const why =
    route.aggregate !== undefined
      ? 'aggregates calls to services'
      : `forwards to service ${JSON.stringify(route.service)}`;
  throw invalidConfig([
    {
      path: 'discovery',
      message: `required: gateway.routes[${index}] (${JSON.stringify(route.name)}) ${why}; pass an InstanceSource as \`discovery\`, or give the route static \`upstreams\``,
    },
  ]);
}
