import type { ConfigIssue } from '@switchyard/core';
import { defaultRetryOn } from '../envoy-routes.ts';
import {
  clusterOf,
  type MeshConfig,
  type ResolvedMeshCluster,
  type ResolvedMeshConfig,
  type ResolvedMeshRoute,
  resolveMeshConfig,
  servicesOf,
} from '../mesh-config.ts';
import {
  type IstioOptions,
  type IstioRouteTraffic,
  type IstioSubsetWeight,
  type ResolvedIstioOptions,
  resolveIstioOptions,
} from './istio-options.ts';
import { type IstioResource, validateIstioResources } from './istio-validate.ts';

/** What {@link generateIstioResources} produced. */
export interface IstioGeneration {
  /** Gateway (with `gatewayHost`), VirtualServices, DestinationRules, PeerAuthentication and AuthorizationPolicies (with `mtls`), in apply order. */
  readonly resources: readonly IstioResource[];
  /** Every problem {@link validateIstioResources} found in them, plus traffic policies naming unknown subsets. */
  readonly issues: readonly ConfigIssue[];
  /** Settings with no Istio equivalent, left out (one line each). */
  readonly warnings: readonly string[];
}

/** One HTTP route of a VirtualService (`spec.http[]`), as JSON. */
export interface IstioHttpRoute {
  readonly name?: string;
  readonly match?: readonly Record<string, unknown>[];
  readonly route: readonly { readonly destination: IstioDestination; readonly weight?: number }[];
  readonly [field: string]: unknown;
}

/** A VirtualService destination. */
export interface IstioDestination {
  readonly host: string;
  readonly subset?: string;
}

const NETWORKING = 'networking.istio.io/v1';
const SECURITY = 'security.istio.io/v1';

/**
 * Generates the Istio resources that give a mesh the gateway's routing and resilience: for each
 * service a **VirtualService** (host `<service>.<namespace>.svc.cluster.local`; HTTP routes with
 * the route's URI, header, method and host matches, URI rewrite, timeout, retries, subsets and
 * weighted splits, mirrors; then a catch-all to the service) and a **DestinationRule** (load
 * balancer, connection pool, outlier detection, subsets, `ISTIO_MUTUAL` with `mtls`). With
 * `gatewayHost`, a **Gateway** and a VirtualService bound to it carry every route for that host;
 * with `mtls`, a namespace-wide **PeerAuthentication** (`STRICT`) and per service an
 * **AuthorizationPolicy** allowing only the gateway's service account.
 *
 * Every resource is checked by {@link validateIstioResources}; the result lists the issues rather
 * than throwing, so a caller can print them all.
 *
 * Mapping: an Envoy-style segment-aware prefix `/api/orders` becomes two URI matches (exact
 * `/api/orders`, prefix `/api/orders/`); `rewritePrefix` becomes `rewrite.uri`, a regex rewrite
 * `rewrite.uriRegexRewrite`; mesh `retry.attempts` counts the first try, Istio's `attempts` does
 * not (so `attempts: 3` becomes 2 retries, and no retry policy becomes `attempts: 0`, since
 * Istio retries twice by default); `ring_hash`/`maglev` hash the source IP.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` when `mesh` or `options` do not validate
 * @example
 * ```ts
 * const { resources, issues, warnings } = generateIstioResources(
 *   { routes: [{ match: { prefix: '/api/orders' }, service: 'orders', timeout: '5s' }] },
 *   { namespace: 'shop', mtls: true, subsets: { orders: { v1: { version: 'v1' }, v2: { version: 'v2' } } },
 *     traffic: { route_0: { split: [{ subset: 'v1', weight: 90 }, { subset: 'v2', weight: 10 }] } } },
 * );
 * if (issues.length === 0) process.stdout.write(toIstioYaml(resources));
 * ```
 */
export function generateIstioResources(mesh: MeshConfig, options: IstioOptions = {}): IstioGeneration {
  const config = resolveMeshConfig(mesh);
  const opts = resolveIstioOptions(options);
  const ctx: Context = { config, opts, warnings: [], issues: [] };
  const routes = orderRoutes(config.routes.map((route, index) => ({ route, name: route.name ?? `route_${index}` })));
  for (const name of Object.keys(opts.traffic)) {
    if (!routes.some((r) => r.name === name)) {
      ctx.issues.push({ path: `istio.traffic.${name}`, message: `no route is named ${JSON.stringify(name)}` });
    }
  }

  const resources: IstioResource[] = [];
  const base = (kind: string, apiVersion: string, name: string, spec: Record<string, unknown>): IstioResource => ({
    apiVersion,
    kind,
    metadata: {
      name,
      namespace: opts.namespace,
      ...(Object.keys(opts.labels).length > 0 ? { labels: { ...opts.labels } } : {}),
    },
    spec,
  });

  if (opts.gatewayHost !== undefined) {
    const gatewayName = `${config.name}-gateway`;
    resources.push(
      base('Gateway', NETWORKING, gatewayName, {
        selector: { ...opts.ingressSelector },
        servers: [{ port: { number: opts.ingressPort, name: 'http', protocol: 'HTTP' }, hosts: [opts.gatewayHost] }],
      }),
    );
    resources.push(
      base('VirtualService', NETWORKING, gatewayName, {
        hosts: [opts.gatewayHost],
        gateways: [gatewayName],
        http: routes.flatMap((r) => httpRoutes(ctx, r.route, r.name)),
      }),
    );
  }

  for (const service of servicesOf(config)) {
    const own = routes.filter((r) => r.route.service === service);
    const http = own.flatMap((r) => httpRoutes(ctx, r.route, r.name));
    if (!own.some((r) => isCatchAll(r.route))) {
      http.push({ name: 'default', route: [{ destination: { host: fqdn(ctx, service) } }], retries: { attempts: 0 } });
    }
    resources.push(base('VirtualService', NETWORKING, service, { hosts: [fqdn(ctx, service)], http }));
  }

  for (const service of servicesOf(config)) {
    resources.push(
      base('DestinationRule', NETWORKING, service, destinationRule(ctx, service, clusterOf(config, service))),
    );
  }

  if (opts.mtls) {
    resources.push(base('PeerAuthentication', SECURITY, 'default', { mtls: { mode: 'STRICT' } }));
    const principal = `cluster.local/ns/${opts.gatewayNamespace ?? opts.namespace}/sa/${opts.gatewayServiceAccount}`;
    for (const service of servicesOf(config)) {
      resources.push(
        base('AuthorizationPolicy', SECURITY, `${service}-allow-gateway`, {
          selector: { matchLabels: { [opts.workloadLabel]: service } },
          action: 'ALLOW',
          rules: [{ from: [{ source: { principals: [principal] } }] }],
        }),
      );
    }
  }

  return { resources, issues: [...ctx.issues, ...validateIstioResources(resources)], warnings: ctx.warnings };
}

/**
 * A VirtualService HTTP route sending `route`'s requests to the subsets of its service by
 * weight, for exporting a split (a rollout's current weights) to Istio. Weights are rounded to
 * integers by largest remainder, keeping their sum; put the result's `route` in place of the
 * matching `spec.http[]` entry's, or use it whole for a route without conditions.
 *
 * @example
 * ```ts
 * istioWeightsFor({ name: 'orders', service: 'orders', namespace: 'shop' }, [
 *   { subset: 'stable', weight: 75 }, { subset: 'canary', weight: 25 },
 * ]);
 * // { name: 'orders', route: [
 * //   { destination: { host: 'orders.shop.svc.cluster.local', subset: 'stable' }, weight: 75 },
 * //   { destination: { host: 'orders.shop.svc.cluster.local', subset: 'canary' }, weight: 25 } ] }
 * ```
 */
export function istioWeightsFor(
  route: { readonly name: string; readonly service: string; readonly namespace?: string },
  split: readonly IstioSubsetWeight[],
): IstioHttpRoute {
  const host = `${route.service}.${route.namespace ?? 'default'}.svc.cluster.local`;
  const weights = roundWeights(split.map((s) => s.weight));
  return {
    name: route.name,
    route: split.map((s, i) => ({ destination: { host, subset: s.subset }, weight: weights[i] ?? 0 })),
  };
}

/**
 * Rounds weights to integers keeping their (rounded) total: floors, then hands the remainder to
 * the largest fractional parts, earlier ones first on ties.
 */
function roundWeights(weights: readonly number[]): number[] {
  const total = Math.round(weights.reduce((a, b) => a + b, 0));
  const floors = weights.map((w) => Math.floor(w));
  let rest = total - floors.reduce((a, b) => a + b, 0);
  const order = weights.map((w, i) => ({ i, frac: w - Math.floor(w) })).sort((a, b) => b.frac - a.frac || a.i - b.i);
  for (const { i } of order) {
    if (rest <= 0) break;
    floors[i] = (floors[i] ?? 0) + 1;
    rest--;
  }
  return floors;
}

interface Context {
  readonly config: Readonly<ResolvedMeshConfig>;
  readonly opts: Readonly<ResolvedIstioOptions>;
  readonly warnings: string[];
  readonly issues: ConfigIssue[];
}

function fqdn(ctx: Context, service: string): string {
  return `${service}.${ctx.opts.namespace}.svc.cluster.local`;
}

/**
 * Istio duration text for milliseconds: the largest unit that divides it.
 *
 * @example
 * ```ts
 * istioDuration(90_000); // '90s'
 * istioDuration(120_000); // '2m'
 * istioDuration(250); // '250ms'
 * ```
 */
export function istioDuration(ms: number): string {
  if (ms > 0 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms > 0 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${Math.round(ms)}ms`;
}

/** Exact paths first, then regexes, then longer prefixes; more conditions first on ties. */
function orderRoutes<T extends { route: ResolvedMeshRoute }>(routes: readonly T[]): T[] {
  const rank = (r: ResolvedMeshRoute) => (r.match.path !== undefined ? 0 : r.match.regex !== undefined ? 1 : 2);
  const conditions = (r: ResolvedMeshRoute) =>
    Object.keys(r.match.headers ?? {}).length +
    (r.match.methods === undefined ? 0 : 1) +
    (r.hosts === undefined ? 0 : 1);
  return routes
    .map((r, i) => ({ r, i }))
    .sort(
      (a, b) =>
        rank(a.r.route) - rank(b.r.route) ||
        (b.r.route.match.prefix?.length ?? 0) - (a.r.route.match.prefix?.length ?? 0) ||
        conditions(b.r.route) - conditions(a.r.route) ||
        a.i - b.i,
    )
    .map(({ r }) => r);
}

function isCatchAll(route: ResolvedMeshRoute): boolean {
  return (
    route.match.prefix === '/' &&
    route.match.headers === undefined &&
    route.match.methods === undefined &&
    route.hosts === undefined &&
    route.rewrite === undefined
  );
}

interface UriGroup {
  readonly uris: Record<string, string>[];
  readonly rewrite?: Record<string, unknown>;
}

/** URI matches with the rewrite each needs (a segment-aware prefix is an exact path plus `prefix/`). */
function uriGroups(route: ResolvedMeshRoute): UriGroup[] {
  const { prefix, path, regex } = route.match;
  const regexRewrite =
    route.rewrite === undefined
      ? undefined
      : { uriRegexRewrite: { match: route.rewrite.regex, rewrite: route.rewrite.substitution } };
  const rp = route.rewritePrefix;
  if (prefix !== undefined) {
    const slashed = prefix.endsWith('/') ? prefix : `${prefix}/`;
    const toSlashed = rp === undefined ? undefined : rp.endsWith('/') ? rp : `${rp}/`;
    if (prefix === '/' || prefix.endsWith('/')) {
      return [{ uris: [{ prefix: slashed }], ...rewriteOf(regexRewrite, toSlashed) }];
    }
    if (rp === undefined || rp.endsWith('/')) {
      return [{ uris: [{ exact: prefix }, { prefix: slashed }], ...rewriteOf(regexRewrite, rp) }];
    }
    return [
      { uris: [{ exact: prefix }], ...rewriteOf(regexRewrite, rp) },
      { uris: [{ prefix: slashed }], ...rewriteOf(regexRewrite, toSlashed) },
    ];
  }
  const uri = path !== undefined ? { exact: path } : { regex: regex ?? '.*' };
  return [{ uris: [uri], ...rewriteOf(regexRewrite, rp) }];
}

function rewriteOf(regexRewrite: Record<string, unknown> | undefined, uri: string | undefined) {
  if (regexRewrite !== undefined) return { rewrite: regexRewrite };
  return uri === undefined ? {} : { rewrite: { uri } };
}

function headerMatches(route: ResolvedMeshRoute): {
  headers?: Record<string, Record<string, string>>;
  withoutHeaders?: Record<string, Record<string, string>>;
} {
  const headers: Record<string, Record<string, string>> = {};
  const without: Record<string, Record<string, string>> = {};
  for (const [name, cond] of Object.entries(route.match.headers ?? {})) {
    const key = name.toLowerCase(); // Istio wants lower-case header names
    if (typeof cond === 'string') headers[key] = { exact: cond };
    else if ('regex' in cond) headers[key] = { regex: cond.regex };
    else if (cond.present) headers[key] = { regex: '.*' };
    else without[key] = { regex: '.*' };
  }
  return {
    ...(Object.keys(headers).length > 0 ? { headers } : {}),
    ...(Object.keys(without).length > 0 ? { withoutHeaders: without } : {}),
  };
}

function methodMatch(route: ResolvedMeshRoute): Record<string, unknown> {
  const methods = route.match.methods;
  if (methods === undefined) return {};
  return { method: methods.length === 1 ? { exact: methods[0] } : { regex: methods.join('|') } };
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The HTTP routes of one mesh route: its traffic matches first, then the route itself. */
function httpRoutes(ctx: Context, route: ResolvedMeshRoute, name: string): IstioHttpRoute[] {
  const traffic = ctx.opts.traffic[name];
  const host = fqdn(ctx, route.service);
  checkSubsets(ctx, route.service, name, traffic);
  const hostMatches = route.hosts === undefined ? [{}] : route.hosts.map((h) => ({ authority: { exact: h } }));
  const shared = {
    ...(route.timeout === undefined || route.timeout === 0 ? {} : { timeout: istioDuration(route.timeout) }),
    retries: retries(route),
  };
  if (traffic?.sticky !== undefined) {
    ctx.warnings.push(
      `${name}: traffic.sticky: Istio hashes a key to an endpoint within a subset, not across a split; left out`,
    );
  }
  const groups = uriGroups(route);
  const out: IstioHttpRoute[] = [];
  const build = (
    suffix: string,
    extra: Record<string, unknown>,
    destinations: IstioHttpRoute['route'],
    fields: Record<string, unknown> = {},
  ) => {
    for (const [g, group] of groups.entries()) {
      const match = group.uris.flatMap((uri) =>
        hostMatches.map((hm) => {
          const conditions = headerMatches(route);
          const extraHeaders = extra.headers as Record<string, unknown> | undefined;
          return {
            uri,
            ...hm,
            ...methodMatch(route),
            ...conditions,
            ...(extraHeaders === undefined ? {} : { headers: { ...conditions.headers, ...extraHeaders } }),
          };
        }),
      );
      out.push({
        name: `${name}${suffix}${groups.length > 1 ? `-${g}` : ''}`,
        match,
        ...(group.rewrite === undefined ? {} : { rewrite: group.rewrite }),
        route: destinations,
        ...shared,
        ...fields,
      });
    }
  };
  for (const [i, m] of (traffic?.match ?? []).entries()) {
    const headers =
      m.header !== undefined
        ? { [m.header.toLowerCase()]: { exact: m.value } }
        : { cookie: { regex: `(.*;\\s*)?${escapeRegex(m.cookie ?? '')}=${escapeRegex(m.value)}(;.*)?` } };
    build(`-match-${i}`, { headers }, [{ destination: { host, subset: m.subset } }]);
  }
  // Requests a match sent to a subset are not mirrored: only the split's traffic is shadowed.
  build('', {}, destinationsOf(host, traffic), mirror(host, traffic));
  return out;
}

function destinationsOf(host: string, traffic: IstioRouteTraffic | undefined): IstioHttpRoute['route'] {
  if (traffic?.split !== undefined) {
    // Weights go through unrounded: a weight Istio rejects is reported by the validator.
    return traffic.split.map((s) => ({ destination: { host, subset: s.subset }, weight: s.weight }));
  }
  if (traffic?.subset !== undefined) return [{ destination: { host, subset: traffic.subset } }];
  return [{ destination: { host } }];
}

function mirror(host: string, traffic: IstioRouteTraffic | undefined): Record<string, unknown> {
  const m = traffic?.mirror;
  if (m === undefined) return {};
  return { mirror: { host, subset: m.subset }, mirrorPercentage: { value: m.percent } };
}

function retries(route: ResolvedMeshRoute): Record<string, unknown> {
  const retry = route.retry;
  if (retry === undefined || retry === false || retry.attempts <= 1) return { attempts: 0 };
  const retryOn = [...(retry.retryOn ?? defaultRetryOn), ...(retry.statuses ?? []).map(String)];
  return {
    attempts: retry.attempts - 1,
    ...(retry.perTryTimeout === undefined ? {} : { perTryTimeout: istioDuration(retry.perTryTimeout) }),
    retryOn: [...new Set(retryOn)].join(','),
    ...(retry.backoff === undefined || retry.backoff.base <= 0 ? {} : { backoff: istioDuration(retry.backoff.base) }),
  };
}

function checkSubsets(ctx: Context, service: string, name: string, traffic: IstioRouteTraffic | undefined): void {
  if (traffic === undefined) return;
  const known = Object.keys(ctx.opts.subsets[service] ?? {});
  const check = (subset: string, path: string) => {
    if (!known.includes(subset)) {
      ctx.issues.push({
        path: `istio.traffic.${name}.${path}`,
        message: `unknown subset ${JSON.stringify(subset)} of ${service} (${known.length === 0 ? 'it has no subsets' : `known: ${known.join(', ')}`})`,
      });
    }
  };
  if (traffic.subset !== undefined) check(traffic.subset, 'subset');
  for (const [i, s] of (traffic.split ?? []).entries()) check(s.subset, `split[${i}].subset`);
  for (const [i, m] of (traffic.match ?? []).entries()) check(m.subset, `match[${i}].subset`);
  if (traffic.mirror !== undefined) check(traffic.mirror.subset, 'mirror.subset');
}

const simpleLb: Record<string, string> = {
  round_robin: 'ROUND_ROBIN',
  least_request: 'LEAST_REQUEST',
  random: 'RANDOM',
};

function destinationRule(ctx: Context, service: string, cluster: ResolvedMeshCluster): Record<string, unknown> {
  const loadBalancer =
    cluster.lbPolicy === 'ring_hash'
      ? { consistentHash: { useSourceIp: true, ringHash: {} } }
      : cluster.lbPolicy === 'maglev'
        ? { consistentHash: { useSourceIp: true, maglev: {} } }
        : { simple: simpleLb[cluster.lbPolicy] ?? 'ROUND_ROBIN' };
  const cb = cluster.circuitBreaker;
  const tcp = {
    connectTimeout: istioDuration(cluster.connectTimeout),
    ...(cb?.maxConnections === undefined ? {} : { maxConnections: cb.maxConnections }),
  };
  const http = {
    ...(cb?.maxPendingRequests === undefined ? {} : { http1MaxPendingRequests: cb.maxPendingRequests }),
    ...(cb?.maxRequests === undefined ? {} : { http2MaxRequests: cb.maxRequests }),
    ...(cb?.maxRetries === undefined ? {} : { maxRetries: cb.maxRetries }),
    ...(cluster.http2 ? { h2UpgradePolicy: 'UPGRADE' } : {}),
  };
  const od = cluster.outlierDetection;
  const outlierDetection =
    od === undefined
      ? {}
      : {
          ...(od.consecutive5xx === undefined ? {} : { consecutive5xxErrors: od.consecutive5xx }),
          ...(od.consecutiveGatewayFailure === undefined
            ? {}
            : { consecutiveGatewayErrors: od.consecutiveGatewayFailure }),
          ...(od.interval === undefined ? {} : { interval: istioDuration(od.interval) }),
          ...(od.baseEjectionTime === undefined ? {} : { baseEjectionTime: istioDuration(od.baseEjectionTime) }),
          ...(od.maxEjectionPercent === undefined ? {} : { maxEjectionPercent: od.maxEjectionPercent }),
        };
  if (od?.failurePercentage !== undefined) {
    ctx.warnings.push(
      `${service}: outlierDetection.failurePercentage: Istio has no failure-percentage ejection; left out (use consecutive failures)`,
    );
  }
  if (cluster.healthCheck !== undefined) {
    ctx.warnings.push(`${service}: healthCheck: Istio relies on Kubernetes readiness probes; left out`);
  }
  const subsets = Object.entries(ctx.opts.subsets[service] ?? {}).map(([name, labels]) => ({
    name,
    labels: { ...labels },
  }));
  return {
    host: fqdn(ctx, service),
    trafficPolicy: {
      loadBalancer,
      connectionPool: { tcp, ...(Object.keys(http).length > 0 ? { http } : {}) },
      ...(Object.keys(outlierDetection).length > 0 ? { outlierDetection } : {}),
      ...(ctx.opts.mtls ? { tls: { mode: 'ISTIO_MUTUAL' } } : {}),
    },
    ...(subsets.length > 0 ? { subsets } : {}),
  };
}
