import { defined, type EnvoyJson, envoyDuration, escapeRegex } from './internal/envoy-json.ts';
import type { ResolvedMeshCluster, ResolvedMeshRoute } from './mesh-config.ts';

/** `retry_on` when a retry policy names none: failures before the request reached the upstream. */
export const defaultRetryOn = Object.freeze(['connect-failure', 'refused-stream']);

/**
 * Builds an Envoy `RouteConfiguration` (`envoy.config.route.v3.RouteConfiguration`) from mesh
 * routes. Envoy takes the first route that matches, so routes are ordered most specific first
 * (exact paths, then regexes, then longer prefixes; more conditions first), which gives the
 * gateway's "most specific wins" whatever their order in the config. Routes with `hosts` get a
 * virtual host per host name, followed by the routes for any host.
 *
 * @param clusterOf - the cluster settings of a service (a ring-hash or Maglev cluster gets a
 *   source-IP hash policy so that the hash has a key)
 * @example
 * ```ts
 * buildRouteConfiguration('local_route', resolveMeshConfig({ routes }).routes, (s) => clusterOf(config, s));
 * ```
 */
export function buildRouteConfiguration(
  name: string,
  routes: readonly ResolvedMeshRoute[],
  clusterOf: (service: string) => ResolvedMeshCluster,
): EnvoyJson {
  const ordered = [...routes.entries()].sort(([ia, a], [ib, b]) => specificity(b) - specificity(a) || ia - ib);
  const envoyRoutes = ordered.map(([index, route]) => ({
    hosts: route.hosts,
    json: buildRoute(route, index, clusterOf),
  }));
  const anyHost = envoyRoutes.filter((r) => r.hosts === undefined).map((r) => r.json);
  const hosts = [...new Set(envoyRoutes.flatMap((r) => r.hosts ?? []).map((h) => h.toLowerCase()))];
  const virtualHosts = hosts.map((host) => ({
    name: `host_${host.replace(/[^a-z0-9]+/g, '_')}`,
    domains: [host],
    routes: [
      ...envoyRoutes.filter((r) => r.hosts?.some((h) => h.toLowerCase() === host)).map((r) => r.json),
      ...anyHost,
    ],
  }));
  virtualHosts.push({ name: 'any_host', domains: ['*'], routes: anyHost });
  return { name, virtual_hosts: virtualHosts };
}

function specificity(route: ResolvedMeshRoute): number {
  const { match } = route;
  const conditions = Object.keys(match.headers ?? {}).length + (match.methods === undefined ? 0 : 1);
  const base =
    match.path !== undefined ? 3_000_000 : match.regex !== undefined ? 2_000_000 : (match.prefix?.length ?? 0) * 100;
  return base + conditions;
}

function buildRoute(route: ResolvedMeshRoute, index: number, clusterOf: (s: string) => ResolvedMeshCluster): EnvoyJson {
  const lb = clusterOf(route.service).lbPolicy;
  const action = defined({
    cluster: route.service,
    timeout: route.timeout === undefined ? undefined : envoyDuration(route.timeout),
    regex_rewrite: rewriteOf(route),
    retry_policy: route.retry === undefined || route.retry === false ? undefined : retryPolicy(route.retry),
    hash_policy: lb === 'ring_hash' || lb === 'maglev' ? [{ connection_properties: { source_ip: true } }] : undefined,
  });
  return { name: route.name ?? `route_${index}`, match: routeMatch(route.match), route: action };
}

function routeMatch(match: ResolvedMeshRoute['match']): EnvoyJson {
  const headers: EnvoyJson[] = [];
  if (match.methods !== undefined) {
    headers.push(
      match.methods.length === 1
        ? { name: ':method', string_match: { exact: match.methods[0] } }
        : { name: ':method', string_match: { safe_regex: { regex: `^(${match.methods.join('|')})$` } } },
    );
  }
  for (const [name, condition] of Object.entries(match.headers ?? {})) {
    if (typeof condition === 'string') headers.push({ name, string_match: { exact: condition } });
    else if ('regex' in condition) headers.push({ name, string_match: { safe_regex: { regex: condition.regex } } });
    else headers.push({ name, present_match: condition.present });
  }
  return defined({ ...pathMatch(match), headers: headers.length === 0 ? undefined : headers });
}

function pathMatch(match: ResolvedMeshRoute['match']): EnvoyJson {
  if (match.path !== undefined) return { path: match.path };
  if (match.regex !== undefined) return { safe_regex: { regex: match.regex } };
  const prefix = match.prefix ?? '/';
  // `path_separated_prefix` matches `/api/orders` and `/api/orders/...` but not `/api/ordersX`,
  // as the gateway's prefix routes do; it refuses a trailing slash, which `prefix` handles.
  return prefix.endsWith('/') ? { prefix } : { path_separated_prefix: prefix };
}

/**
 * The matched prefix is replaced by `rewritePrefix` with one `/` between them, so
 * `/api/orders/12` becomes `/12` for `rewritePrefix: "/"` and `/v2/12` for `"/v2"`. Paths and
 * regexes are replaced whole; `rewrite` is passed through. Envoy leaves the query string alone.
 */
function rewriteOf(route: ResolvedMeshRoute): EnvoyJson | undefined {
  if (route.rewrite !== undefined)
    return { pattern: { regex: route.rewrite.regex }, substitution: route.rewrite.substitution };
  const target = route.rewritePrefix;
  if (target === undefined) return undefined;
  const { prefix } = route.match;
  if (prefix === undefined) return { pattern: { regex: '^.*$' }, substitution: target };
  const stem = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  return {
    pattern: { regex: `^${escapeRegex(stem)}/?` },
    substitution: target.endsWith('/') ? target : `${target}/`,
  };
}

function retryPolicy(retry: Exclude<ResolvedMeshRoute['retry'], false | undefined>): EnvoyJson {
  const retryOn = [...(retry.retryOn ?? defaultRetryOn)];
  if (retry.statuses !== undefined && retry.statuses.length > 0 && !retryOn.includes('retriable-status-codes')) {
    retryOn.push('retriable-status-codes');
  }
  return defined({
    retry_on: retryOn.join(','),
    num_retries: retry.attempts - 1,
    per_try_timeout: retry.perTryTimeout === undefined ? undefined : envoyDuration(retry.perTryTimeout),
    retriable_status_codes: retry.statuses?.length ? [...retry.statuses] : undefined,
    retry_back_off:
      retry.backoff === undefined || retry.backoff.base <= 0
        ? undefined
        : defined({
            base_interval: envoyDuration(retry.backoff.base),
            max_interval:
              retry.backoff.max === undefined
                ? undefined
                : envoyDuration(Math.max(retry.backoff.max, retry.backoff.base)),
          }),
  });
}
