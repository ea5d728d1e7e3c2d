import type { ConfigIssue, ServiceInstance } from '@switchyard/core';
import { parseDuration } from '@switchyard/core';
import { type PatternSegment, parseRoutePattern, type ResolvedRoute, resolveGatewayOptions } from '@switchyard/gateway';
import type { LbPolicy, MeshClusterOptions, MeshConfig, MeshRouteOptions } from '@switchyard/mesh';
import type { SwitchyardConfig } from './config-schema.ts';

/** What {@link meshConfigFromSwitchyard} produced, and what it could not carry over. */
export interface MeshMapping {
  readonly mesh: MeshConfig;
  /** Gateway settings Envoy cannot express; the config is not generated when there are any. */
  readonly issues: readonly ConfigIssue[];
  /** Settings left out of the Envoy config (middleware, aggregate routes), one line each. */
  readonly warnings: readonly string[];
}

/** Options of {@link meshConfigFromSwitchyard}. */
export interface MeshMappingOptions {
  /** Registry instances by service, for static endpoints. */
  readonly instances?: Readonly<Record<string, readonly ServiceInstance[]>>;
  /** Add an HTTP health check on this path to every service cluster. */
  readonly healthPath?: string;
}

const lbOf: Record<string, LbPolicy> = {
  round_robin: 'round_robin',
  random: 'random',
  weighted_round_robin: 'round_robin', // Envoy's round robin is weighted
  least_request: 'least_request',
  peak_ewma: 'least_request', // power of two choices by load, the closest Envoy has
  ring_hash: 'ring_hash',
};

/**
 * Maps the gateway section of a `switchyard.yaml` (routes with their service, prefix or exact
 * match, stripPrefix/rewrite, hosts, methods, headers, timeout, retry, breaker, balancer) and the
 * registry's instances to the mesh package's {@link MeshConfig}, from which an Envoy bootstrap is
 * generated. A breaker becomes Envoy outlier detection: consecutive failures eject after that
 * many 5xx in a row, a failure-rate window ejects at that percentage, `openDuration` is the
 * ejection time.
 *
 * @example
 * ```ts
 * const { mesh, issues } = meshConfigFromSwitchyard(loaded.config, { instances: { orders: [...] } });
 * ```
 */
export function meshConfigFromSwitchyard(config: SwitchyardConfig, options: MeshMappingOptions = {}): MeshMapping {
  const gateway = resolveGatewayOptions(config.gateway);
  const issues: ConfigIssue[] = [];
  const warnings: string[] = [];
  const routes: MeshRouteOptions[] = [];
  const clusters: Record<string, MeshClusterOptions> = {};
  for (const [index, route] of gateway.routes.entries()) {
    const at = `gateway.routes[${index}]`;
    if (route.service === undefined) {
      warnings.push(`${at} (${route.name}): aggregate routes have no Envoy equivalent; left out`);
      continue;
    }
    if (route.middleware.length > 0)
      warnings.push(`${at} (${route.name}): route middleware is not carried over to Envoy`);
    const service = clusterName(route);
    const mapped = meshRoute(route, service, at, issues);
    if (mapped !== undefined) routes.push(mapped);
    clusters[service] ??= meshCluster(route, options);
  }
  if (gateway.middleware.length > 0)
    warnings.push('gateway.middleware: gateway middleware is not carried over to Envoy');
  return {
    mesh: { name: config.name, listener: { address: gateway.host, port: gateway.port }, routes, clusters },
    issues,
    warnings,
  };
}

/**
 * The Envoy cluster of a route: its registry service, or `static_<route name>` for a route with
 * `upstreams` (the gateway's `static:<name>`, with characters Envoy stats dislike replaced).
 */
function clusterName(route: ResolvedRoute): string {
  if (route.upstreams === undefined) return route.service as string;
  const slug = route.name.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^_+|_+$/g, '');
  return `static_${slug === '' ? 'root' : slug}`;
}

function meshRoute(
  route: ResolvedRoute,
  service: string,
  at: string,
  issues: ConfigIssue[],
): MeshRouteOptions | undefined {
  const parsed = parseRoutePattern(route.path);
  if (!parsed.ok) {
    issues.push({ path: `${at}.path`, message: parsed.message });
    return undefined;
  }
  const { segments, wildcard } = parsed.pattern;
  const prefix = route.match === 'prefix' || wildcard;
  const plain = segments.every((s) => s.kind === 'literal');
  const path = `/${segments.map((s) => (s.kind === 'literal' ? s.value : '')).join('/')}`;
  const out: MeshRouteOptions = {
    name: route.name,
    service,
    match: {
      ...(plain ? (prefix ? { prefix: path } : { path }) : { regex: pathRegex(segments, prefix) }),
      ...(route.methods === undefined ? {} : { methods: [...route.methods] }),
      ...(route.headers === undefined ? {} : { headers: { ...route.headers } }),
    },
    ...(route.hosts === undefined ? {} : { hosts: [...route.hosts] }),
    timeout: route.timeoutMs,
    retry: meshRetry(route),
  };
  if (route.rewrite !== undefined) {
    const rewrite = regexRewrite(segments, prefix, route.rewrite.parts);
    if (typeof rewrite === 'string') issues.push({ path: `${at}.rewrite`, message: rewrite });
    else out.rewrite = rewrite;
  } else if (route.stripPrefix) {
    if (plain) out.rewritePrefix = '/';
    else if (!prefix) out.rewrite = { regex: pathRegex(segments, false), substitution: '/' };
    else out.rewrite = regexRewrite(segments, prefix, ['/', { rest: true }]) as { regex: string; substitution: string };
  }
  return out;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The route path as an RE2 regex: a `:param` is one segment; a prefix route allows more segments. */
function pathRegex(segments: readonly PatternSegment[], prefix: boolean, capture = false): string {
  const body = segments
    .map((s) => `/${s.kind === 'literal' ? escapeRegex(s.value) : capture ? '([^/]+)' : '[^/]+'}`)
    .join('');
  if (!prefix) return `^${body === '' ? '/' : body}$`;
  return `^${body}${capture ? '(?:/(.*))?' : '(?:/.*)?'}$`;
}

type RewritePart = string | { readonly param: string } | { readonly rest: true };

/**
 * A gateway rewrite template as an Envoy `regex_rewrite`: the route path becomes a regex with a
 * group per `:param` (and one for the rest of a prefix route), the template a substitution.
 */
function regexRewrite(
  segments: readonly PatternSegment[],
  prefix: boolean,
  parts: readonly RewritePart[],
): { regex: string; substitution: string } | string {
  const params = segments.flatMap((s) => (s.kind === 'param' ? [s.name] : []));
  let substitution = '';
  for (const part of parts) {
    if (typeof part === 'string') substitution += part.replaceAll('\\', '\\\\');
    else if ('param' in part) substitution += `\\${params.indexOf(part.param) + 1}`;
    else if (prefix) substitution += `\\${params.length + 1}`;
    else return '{*} needs a prefix route';
  }
  if (params.length + (prefix ? 1 : 0) > 9)
    return 'Envoy substitutions reach 9 groups at most; this route has more parameters';
  return { regex: pathRegex(segments, prefix, true), substitution };
}

function meshRetry(route: ResolvedRoute): MeshRouteOptions['retry'] {
  if (route.retry === false) return false;
  const retry = route.retry;
  const initial = retry.backoff?.initial === undefined ? 0 : parseDuration(retry.backoff.initial);
  const max = retry.backoff?.max === undefined ? undefined : parseDuration(retry.backoff.max);
  return {
    attempts: retry.maxAttempts ?? 2,
    // The gateway retries failures before the request left; after sending only when told to.
    retryOn: ['connect-failure', 'refused-stream', ...(retry.afterSend === true ? ['reset'] : [])],
    ...(retry.statuses !== undefined && retry.statuses.length > 0 ? { statuses: [...retry.statuses] } : {}),
    ...(initial > 0 ? { backoff: { base: initial, ...(max === undefined ? {} : { max }) } } : {}),
  };
}

function meshCluster(route: ResolvedRoute, options: MeshMappingOptions): MeshClusterOptions {
  const service = route.service as string; // the registry name, under which instances are listed
  const instances = route.upstreams?.instances ?? options.instances?.[service] ?? [];
  const cluster: MeshClusterOptions = {
    lbPolicy: lbOf[route.balancer] ?? 'round_robin',
    endpoints: instances.map((i) => ({
      address: i.address,
      port: i.port,
      ...(i.weight > 1 ? { weight: Math.min(i.weight, 128) } : {}),
    })),
  };
  const breaker = route.breaker;
  if (breaker !== undefined) {
    const trip = breaker.trip as
      | { type?: string; failures?: number; failureRate?: number; minimumCalls?: number }
      | undefined;
    const open = breaker.openDuration as string | number | undefined;
    cluster.outlierDetection = {
      ...(trip?.type === 'consecutive' ? { consecutive5xx: trip.failures ?? 5 } : {}),
      ...(trip !== undefined && trip.type !== 'consecutive'
        ? {
            failurePercentage: Math.round((trip.failureRate ?? 0.5) * 100),
            failurePercentageRequestVolume: trip.minimumCalls ?? 20,
          }
        : {}),
      ...(open === undefined ? {} : { baseEjectionTime: parseDuration(open) }),
    };
  }
  if (options.healthPath !== undefined && route.upstreams === undefined)
    cluster.healthCheck = { path: options.healthPath };
  return cluster;
}
