import { isIP } from 'node:net';
import type { HttpRetryOptions } from '@switchyard/client';
import { resolveOptions, type ServiceInstance, zDuration, zPort } from '@switchyard/core';
import { BalancerKind, balancerKinds } from '@switchyard/discovery';
import { type BreakerOverrides, circuitBreakerOptionsSchema } from '@switchyard/resilience';
import * as z from 'zod';
import { type AdminOptions, adminOptionsSchema, type ResolvedAdminOptions } from './admin/options.ts';
import { type AggregateOptions, aggregateOptionsSchema, type ResolvedAggregateOptions } from './aggregate/options.ts';
import {
  type MiddlewareEntryOptions,
  middlewareListSchema,
  type ResolvedMiddlewareEntry,
} from './middleware/options.ts';
import { parseRoutePattern, patternShape } from './pattern.ts';
import { gatewayRetry } from './retry-default.ts';
import { compileRewrite, type ResolvedRewrite } from './rewrite.ts';
import {
  checkRolloutRoutes,
  completeRollouts,
  type ResolvedRollout,
  type RolloutOptions,
  rolloutsOptionsSchema,
} from './rollout/options.ts';
import type { HeaderCondition } from './router.ts';
import { type ResolvedServerLimits, type ServerLimitsOptions, serverLimitsSchema } from './server-limits.ts';
import { parseStaticUpstream, STATIC_SERVICE_PREFIX, staticServiceName } from './static-upstreams.ts';
import {
  type ListenerOptions,
  listenersSchema,
  type ResolvedListener,
  type ResolvedUpstreamTls,
  type UpstreamTlsOptions,
  upstreamTlsSchema,
} from './tls/options.ts';
import {
  type ResolvedRouteTraffic,
  type ResolvedSubsets,
  type RouteTrafficOptions,
  routeTrafficSchema,
  type SubsetSelector,
  subsetsSchema,
  trafficIssues,
} from './traffic/options.ts';

/**
 * HTTP methods a route may list. CONNECT and TRACE are not proxied.
 *
 * @example
 * ```ts
 * const route: RouteOptions = { path: '/api/orders', service: 'orders', methods: [HttpMethod.Get, HttpMethod.Post] };
 * ```
 */
export const HttpMethod = {
  Get: 'GET',
  Head: 'HEAD',
  Post: 'POST',
  Put: 'PUT',
  Patch: 'PATCH',
  Delete: 'DELETE',
  Options: 'OPTIONS',
} as const;
export type HttpMethod = (typeof HttpMethod)[keyof typeof HttpMethod];

/**
 * How a route path is compared with the request path.
 *
 * @example
 * ```ts
 * const health: RouteOptions = { path: '/health', match: RouteMatch.Exact, service: 'status' };
 * ```
 */
export const RouteMatch = {
  /** The route path and anything below it: `/api/orders` matches `/api/orders` and `/api/orders/12`, not `/api/ordersX`. */
  Prefix: 'prefix',
  /** Only the route path itself (a trailing slash in the request is a different path). */
  Exact: 'exact',
} as const;
export type RouteMatch = (typeof RouteMatch)[keyof typeof RouteMatch];

const methodValues = Object.values(HttpMethod);

const methodSchema = z.enum(methodValues, {
  error: (issue) => {
    const got = issue.input;
    const upper = typeof got === 'string' ? got.toUpperCase() : undefined;
    const hint =
      upper !== undefined && (methodValues as readonly string[]).includes(upper) ? ` (did you mean "${upper}"?)` : '';
    return `expected an uppercase HTTP method (${methodValues.join(', ')}), got ${JSON.stringify(got)}${hint}`;
  },
});

const hostLabel = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const hostNamePattern = new RegExp(`^(?:\\*\\.)?${hostLabel}(?:\\.${hostLabel})*\\.?$`, 'i');

const hostSchema = z.string().superRefine((host, ctx) => {
  const issue = (message: string) => ctx.addIssue({ code: 'custom', message });
  if (host === '*') return issue('"*" alone is not a host: leave `hosts` out to match any host');
  if (host.startsWith('[')) {
    if (!(host.endsWith(']') && isIP(host.slice(1, -1)) === 6))
      issue(`expected an IPv6 literal such as "[::1]", got ${JSON.stringify(host)}`);
    return;
  }
  if (/:\d*$/.test(host)) {
    return issue(`must not include a port, got ${JSON.stringify(host)}: the port of the Host header is ignored`);
  }
  if (host.includes('*') && !/^\*\.[^*]+$/.test(host)) {
    return issue(`"*" may only be the whole leftmost label, as in "*.example.com", got ${JSON.stringify(host)}`);
  }
  if (!hostNamePattern.test(host)) {
    issue(`expected a host name such as "api.example.com" or "*.example.com", got ${JSON.stringify(host)}`);
  }
});

// RFC 9110 §5.6.2 token.
const headerNamePattern = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const headerConditionSchema = z.union(
  [z.string(), z.strictObject({ regex: z.string() }), z.strictObject({ present: z.boolean() })],
  { error: () => 'expected a string (the exact value), { regex: "..." } or { present: true | false }' },
);

const routeRetrySchema = z.union([
  z.literal(false),
  z.strictObject({
    attempts: z.number().int().min(1).max(10).optional(),
    statuses: z
      .array(z.number().int().min(400, 'expected a 4xx or 5xx status').max(599, 'expected a 4xx or 5xx status'))
      .optional(),
    backoff: z
      .strictObject({
        initial: zDuration().optional(),
        max: zDuration().optional(),
        factor: z.number().min(1).optional(),
        jitter: z.enum(['full', 'decorrelated', 'none']).optional(),
      })
      .optional(),
    afterSend: z.boolean().optional(),
  }),
]);

const breakerShape = circuitBreakerOptionsSchema.shape;
// The breaker fields a route may set. Defaults are left out so that what is given overrides the
// gateway's breaker defaults and nothing else; the registry validates the merged result too.
const routeBreakerSchema = z
  .strictObject({
    trip: breakerShape.trip,
    openDuration: zDuration().optional(),
    openBackoff: breakerShape.openBackoff,
    halfOpen: breakerShape.halfOpen.unwrap().optional(),
  })
  .superRefine((breaker, ctx) => {
    const checked = circuitBreakerOptionsSchema.safeParse(breaker);
    if (checked.success) return;
    // Field-level issues were reported by the shape above; only the cross-field rules are new here.
    for (const issue of checked.error.issues) {
      if (issue.code === 'custom') ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
    }
  });

/**
 * Schema of one route; see {@link RouteOptions}.
 *
 * @example
 * ```ts
 * routeOptionsSchema.parse({ path: '/api/orders', service: 'orders', timeout: '5s' }).timeout; // 5000
 * ```
 */
export const routeOptionsSchema = z
  .strictObject({
    name: z.string().min(1, 'must not be empty').optional(),
    path: z.string().superRefine((path, ctx) => {
      const parsed = parseRoutePattern(path);
      if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.message });
    }),
    match: z.enum([RouteMatch.Prefix, RouteMatch.Exact]).default(RouteMatch.Prefix),
    methods: z.array(methodSchema).min(1, 'must list at least one method (leave it out to allow any)').optional(),
    hosts: z.array(hostSchema).min(1, 'must list at least one host (leave it out to match any host)').optional(),
    headers: z.record(z.string(), headerConditionSchema).optional(),
    service: z
      .string()
      .min(1, 'must be a non-empty service name')
      .refine((name) => !name.startsWith(STATIC_SERVICE_PREFIX), {
        message: `must not start with "${STATIC_SERVICE_PREFIX}", which names the services of routes with \`upstreams\``,
      })
      .optional(),
    upstreams: z.array(z.string()).min(1, 'must list at least one upstream URL').optional(),
    stripPrefix: z.boolean().optional(),
    rewrite: z.string().optional(),
    timeout: zDuration().optional(),
    balancer: z.enum(balancerKinds).default(BalancerKind.RoundRobin),
    retry: routeRetrySchema.optional(),
    breaker: routeBreakerSchema.optional(),
    middleware: middlewareListSchema,
    aggregate: aggregateOptionsSchema.optional(),
    traffic: routeTrafficSchema.optional(),
  })
  .superRefine((route, ctx) => {
    const given = (['service', 'upstreams', 'aggregate'] as const).filter((key) => route[key] !== undefined);
    if (given.length === 0) ctx.addIssue({ code: 'custom', path: ['service'], message: 'required' });
    if (given.length > 1) {
      ctx.addIssue({
        code: 'custom',
        path: [given[1] as string],
        message: `a route has exactly one of service, upstreams or aggregate; this one sets ${given.join(' and ')}`,
      });
    }
    const parsed = parseRoutePattern(route.path);
    if (route.rewrite !== undefined) {
      if (route.stripPrefix !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['stripPrefix'],
          message: '`rewrite` gives the whole upstream path, so `stripPrefix` has no effect: remove one of them',
        });
      }
      if (parsed.ok) {
        const prefix = route.match === RouteMatch.Prefix || parsed.pattern.wildcard;
        const compiled = compileRewrite(route.rewrite, parsed.pattern, prefix);
        if (!compiled.ok) ctx.addIssue({ code: 'custom', path: ['rewrite'], message: compiled.message });
      }
    }
    if (route.hosts !== undefined) {
      const seenHosts = new Map<string, number>();
      for (const [index, host] of route.hosts.entries()) {
        const key = normalizeHost(host);
        const first = seenHosts.get(key);
        if (first !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['hosts', index],
            message: `${JSON.stringify(host)} repeats hosts[${first}]`,
          });
        } else seenHosts.set(key, index);
      }
    }
    if (route.headers !== undefined) {
      const seenNames = new Map<string, string>();
      for (const [name, condition] of Object.entries(route.headers)) {
        const lower = name.toLowerCase();
        if (!headerNamePattern.test(name)) {
          ctx.addIssue({
            code: 'custom',
            path: ['headers', name],
            message: `${JSON.stringify(name)} is not a valid header name`,
          });
        } else if (lower === 'host') {
          ctx.addIssue({ code: 'custom', path: ['headers', name], message: 'match the Host header with `hosts`' });
        }
        const other = seenNames.get(lower);
        if (other !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['headers', name],
            message: `header names are case-insensitive: ${JSON.stringify(name)} repeats ${JSON.stringify(other)}`,
          });
        } else seenNames.set(lower, name);
        if (typeof condition === 'object' && 'regex' in condition) {
          try {
            new RegExp(condition.regex);
          } catch (err) {
            ctx.addIssue({
              code: 'custom',
              path: ['headers', name, 'regex'],
              message: `invalid regular expression ${JSON.stringify(condition.regex)}: ${(err as Error).message}`,
            });
          }
        }
      }
    }
    if (route.upstreams !== undefined) {
      let prefix: { value: string; index: number } | undefined;
      for (const [index, text] of route.upstreams.entries()) {
        const upstream = parseStaticUpstream(text, 'static:check');
        if (!upstream.ok) {
          ctx.addIssue({ code: 'custom', path: ['upstreams', index], message: upstream.message });
          continue;
        }
        const { pathPrefix } = upstream.upstream;
        if (prefix === undefined) prefix = { value: pathPrefix, index };
        else if (prefix.value !== pathPrefix) {
          ctx.addIssue({
            code: 'custom',
            path: ['upstreams', index],
            message: `path ${JSON.stringify(pathPrefix || '/')} differs from upstreams[${prefix.index}] (${JSON.stringify(prefix.value || '/')}): every upstream of a route gets the same request path`,
          });
        }
      }
    }
    if (parsed.ok && parsed.pattern.wildcard && route.match === RouteMatch.Exact) {
      ctx.addIssue({
        code: 'custom',
        path: ['match'],
        message: `"exact" contradicts the trailing "*" of ${JSON.stringify(route.path)}, which matches the rest of the path; use "prefix" or drop the "*"`,
      });
    }
    if (route.methods !== undefined) {
      const seen = new Set<string>();
      for (const [index, method] of route.methods.entries()) {
        if (seen.has(method))
          ctx.addIssue({ code: 'custom', path: ['methods', index], message: `${method} is listed twice` });
        seen.add(method);
      }
    }
  });

const trustedProxySchema = z.string().refine(isIpOrCidr, {
  message: 'expected an IP address or CIDR range such as "10.0.0.1" or "10.0.0.0/8"',
});

/**
 * Schema of the gateway options; the CLI nests it under `gateway:` in `switchyard.yaml`. Its
 * output is valid input again, so a config parsed with it can be passed to `createGateway`.
 *
 * @example
 * ```ts
 * const fileSchema = z.strictObject({ version: z.string(), gateway: gatewayOptionsSchema });
 * ```
 */
export const gatewayOptionsSchema = z
  .strictObject({
    host: z.string().min(1, 'must not be empty').default('127.0.0.1'),
    port: zPort().default(8080),
    timeout: zDuration().default(30_000),
    shutdownTimeout: zDuration().default(10_000),
    trustedProxies: z.array(trustedProxySchema).default([]),
    middleware: middlewareListSchema,
    admin: adminOptionsSchema.optional(),
    server: serverLimitsSchema.prefault({}),
    listeners: listenersSchema.optional(),
    upstreamTls: upstreamTlsSchema.optional(),
    subsets: subsetsSchema.optional(),
    rollouts: rolloutsOptionsSchema.optional(),
    routes: z.array(routeOptionsSchema),
  })
  .superRefine((options, ctx) => {
    for (const issue of trafficIssues(options.routes, options.subsets)) ctx.addIssue({ code: 'custom', ...issue });
    checkRolloutRoutes(options.rollouts, options.routes, ctx);
    const byShape = new Map<string, number[]>();
    const byName = new Map<string, number>();
    const byStaticService = new Map<string, number>();
    const breakerOf = new Map<string, { index: number; key: string }>();
    for (const [index, route] of options.routes.entries()) {
      if (route.upstreams !== undefined) {
        const service = staticServiceName(route.name ?? route.path);
        const first = byStaticService.get(service);
        if (first !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['routes', index, 'name'],
            message: `routes[${first}] also has upstreams and the same name ${JSON.stringify(route.name ?? route.path)} (the path when no name is given); give one of them a distinct name`,
          });
        } else byStaticService.set(service, index);
      }
      if (route.service !== undefined && route.breaker !== undefined) {
        const key = canonicalJson(route.breaker);
        const first = breakerOf.get(route.service);
        if (first === undefined) breakerOf.set(route.service, { index, key });
        else if (first.key !== key) {
          ctx.addIssue({
            code: 'custom',
            path: ['routes', index, 'breaker'],
            message: `differs from the breaker of routes[${first.index}] (${JSON.stringify(options.routes[first.index]?.name ?? options.routes[first.index]?.path)}), which targets the same service ${JSON.stringify(route.service)}; breakers are per service, so give both routes the same settings`,
          });
        }
      }
      if (route.name !== undefined) {
        const first = byName.get(route.name);
        if (first !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['routes', index, 'name'],
            message: `${JSON.stringify(route.name)} is already the name of routes[${first}]`,
          });
        } else byName.set(route.name, index);
      }
      const parsed = parseRoutePattern(route.path);
      if (!parsed.ok) continue;
      // Routes with other header conditions are told apart at run time (see createRouter), so
      // the conditions are part of the shape; hosts and methods clash when they overlap.
      const shape = `${patternShape(parsed.pattern, route.match)} ${canonicalJson(lowerKeys(route.headers ?? {}))}`;
      const earlier = byShape.get(shape) ?? [];
      const clash = earlier.find((other) => {
        const o = options.routes[other];
        return o !== undefined && methodsOverlap(o.methods, route.methods) && hostsOverlap(o.hosts, route.hosts);
      });
      if (clash !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['routes', index, 'path'],
          message: `duplicates routes[${clash}] (${JSON.stringify(options.routes[clash]?.path)}): same path, hosts and headers and overlapping methods, so one of them could never match`,
        });
      }
      earlier.push(index);
      byShape.set(shape, earlier);
    }
  });

/**
 * One route as written in code or `switchyard.yaml`.
 *
 * @example
 * ```ts
 * const route: RouteOptions = { path: '/api/users/:id', service: 'users', methods: ['GET'], timeout: '2s' };
 * ```
 */
export interface RouteOptions {
  /** Name used in logs. @default the path */
  name?: string | undefined;
  /**
   * The path to match: starts with `/`; `:param` segments capture one segment; a trailing `/*`
   * captures the rest. Prefix match by default: `/api/orders` matches `/api/orders` and
   * `/api/orders/...`, never `/api/ordersX`.
   */
  path: string;
  /** `"prefix"` or `"exact"`. @default "prefix" */
  match?: RouteMatch | undefined;
  /** Uppercase methods this route serves; a route with `GET` also serves `HEAD`. @default any method */
  methods?: HttpMethod[] | undefined;
  /**
   * Host names this route serves: `api.example.com`, or `*.example.com` for any host one or
   * more labels below `example.com` (not `example.com` itself). Case-insensitive; the port of
   * the `Host` header and a trailing dot are ignored. @default any host
   */
  hosts?: string[] | undefined;
  /**
   * Header conditions, all of which must hold: an exact value, `{ regex }` (the whole value
   * must match; compiled once), or `{ present: true | false }`. Names are case-insensitive; a
   * header sent on several lines matches when any line's value does. @default none
   */
  headers?: Record<string, HeaderCondition> | undefined;
  /**
   * The service whose instances receive the requests. A route has exactly one of `service`,
   * `upstreams` and `aggregate`.
   */
  service?: string | undefined;
  /**
   * Fixed upstream URLs (`http://host:port`, optionally with a path put before every upstream
   * path), balanced, retried and guarded by a breaker like a service named `static:<route name>`.
   * Every URL of a route must have the same path. `https://` URLs are verified as `upstreamTls` says.
   */
  upstreams?: string[] | undefined;
  /** Remove the matched route path before forwarding (`/api/orders/12` → `/12`). @default true */
  stripPrefix?: boolean | undefined;
  /**
   * The upstream path as a template: `{name}` inserts the `:name` segment (percent-encoded
   * again), `{*}` the rest of the path after a prefix or `/*` route. The query string is kept.
   * Replaces `stripPrefix`. @default none
   */
  rewrite?: string | undefined;
  /** Upstream timeout for this route: `"250ms"`, `"5s"` or milliseconds; `0` disables it. @default the gateway `timeout` */
  timeout?: string | number | undefined;
  /** How an instance is picked: `"round_robin"` or `"random"` (weighted). @default "round_robin" */
  balancer?: BalancerKind | undefined;
  /**
   * How the route retries, or `false` for never. Fields left out keep the gateway's default
   * (`gatewayRetry`: 2 attempts, no delay, no status retried, never after the request was sent).
   * Only idempotent requests or those with an `Idempotency-Key` are retried after sending.
   */
  retry?: RouteRetryOptions | false | undefined;
  /**
   * Circuit breaker settings of the route's service, over the gateway's defaults. Breakers are
   * per service: routes of one service share one breaker, so routes that both set `breaker` must
   * agree; a route without it uses what another route of its service set.
   */
  breaker?: RouteBreakerOptions | undefined;
  /** Middleware for this route, run after the gateway-wide `middleware`, in order. @default [] */
  middleware?: MiddlewareEntryOptions[] | undefined;
  /** Fan the request out to several calls and merge their answers, instead of forwarding it. */
  aggregate?: AggregateOptions | undefined;
  /** Which subset (version) of the service serves each request; needs `gateway.subsets` for the service. */
  traffic?: RouteTrafficOptions | undefined;
}

/**
 * A route's `retry`.
 *
 * @example
 * ```ts
 * const retry: RouteRetryOptions = { attempts: 3, statuses: [503], backoff: { initial: '50ms', max: '500ms' } };
 * ```
 */
export interface RouteRetryOptions {
  /** Attempts in all, the first included (1 to 10). @default 2 */
  attempts?: number | undefined;
  /** Response statuses that are retried. @default [] */
  statuses?: number[] | undefined;
  /** Delay between attempts. @default no delay */
  backoff?:
    | {
        initial?: string | number | undefined;
        max?: string | number | undefined;
        factor?: number | undefined;
        jitter?: 'full' | 'decorrelated' | 'none' | undefined;
      }
    | undefined;
  /** Whether failures after the request may have reached the instance (a timeout) are retried. @default false */
  afterSend?: boolean | undefined;
}

/**
 * A route's `breaker`: the circuit breaker fields of `@switchyard/resilience` that fit a config file.
 *
 * @example
 * ```ts
 * const breaker: RouteBreakerOptions = { trip: { type: 'consecutive', failures: 2 }, openDuration: '10s' };
 * ```
 */
export type RouteBreakerOptions = z.input<typeof routeBreakerSchema>;

/**
 * Gateway options as written in code or under `gateway:` in `switchyard.yaml`.
 *
 * @example
 * ```ts
 * const options: GatewayOptions = { port: 8080, timeout: '10s', routes: [{ path: '/api/orders', service: 'orders' }] };
 * ```
 */
export interface GatewayOptions {
  /** Interface to listen on. @default "127.0.0.1" */
  host?: string | undefined;
  /** Port to listen on; `0` picks a free port. @default 8080 */
  port?: number | undefined;
  /**
   * Default upstream timeout per route: the time allowed for the response headers after the
   * request was sent, and the longest pause between two body chunks. @default "30s"
   */
  timeout?: string | number | undefined;
  /** How long `close()` lets in-flight requests finish before it cuts them. @default "10s" */
  shutdownTimeout?: string | number | undefined;
  /** IP addresses or CIDR ranges of proxies whose incoming `X-Forwarded-*` headers are kept. @default [] */
  trustedProxies?: string[] | undefined;
  /** Middleware for every route, run before each route's own, in order. @default [] */
  middleware?: MiddlewareEntryOptions[] | undefined;
  /** The admin API: routes, upstreams, breakers, reload, health. */
  admin?: AdminOptions | undefined;
  /** Limits of the HTTP server facing clients. */
  server?: ServerLimitsOptions | undefined;
  /**
   * The sockets to serve on, plain or TLS (HTTP/2 and HTTP/1.1); replaces `host` and `port`,
   * which give the single plain listener when this is left out.
   */
  listeners?: ListenerOptions[] | undefined;
  /** How `https://` upstreams and instances with `meta.scheme: https` are verified. @default the system CAs */
  upstreamTls?: UpstreamTlsOptions | undefined;
  /**
   * Named groups of a service's instances (versions), by registration meta and tags, that
   * routes' `traffic` sends requests to: `{ orders: { v1: { meta: { version: 'v1' } } } }`.
   */
  subsets?: Record<string, Record<string, SubsetSelector>> | undefined;
  /** The routes; the most specific match wins, whatever their order. */
  /** Progressive delivery: canary steps or blue-green switches of a route's subsets, by name. @default none */
  rollouts?: Record<string, RolloutOptions> | undefined;
  routes: RouteOptions[];
}

/** A route after validation: defaults applied, durations in milliseconds. */
export interface ResolvedRoute {
  readonly name: string;
  readonly path: string;
  readonly match: RouteMatch;
  /** Absent when the route serves any method. */
  readonly methods?: readonly HttpMethod[];
  /** Lowercase, without trailing dot; absent for any host. */
  readonly hosts?: readonly string[];
  /** Header conditions by lowercase name; absent for none. */
  readonly headers?: Readonly<Record<string, HeaderCondition>>;
  /** The registry service, or `static:<name>` for a route with `upstreams`; absent for aggregate routes. */
  readonly service?: string;
  /** The parsed static upstreams, for a route with `upstreams`. */
  readonly upstreams?: ResolvedStaticUpstreams;
  readonly stripPrefix: boolean;
  readonly rewrite?: ResolvedRewrite;
  readonly timeoutMs: number;
  readonly balancer: BalancerKind;
  /** Passed to the client on every request of the route; `false` never retries. */
  readonly retry: HttpRetryOptions | false;
  /** Breaker overrides for the route's service. */
  readonly breaker?: BreakerOverrides;
  readonly middleware: readonly ResolvedMiddlewareEntry[];
  readonly aggregate?: ResolvedAggregateOptions;
  readonly traffic?: ResolvedRouteTraffic;
}

/** A route's `upstreams` after validation. */
export interface ResolvedStaticUpstreams {
  /** The URLs as written. */
  readonly urls: readonly string[];
  /** One instance per URL, of the service `static:<route name>`. */
  readonly instances: readonly ServiceInstance[];
  /** The URLs' common path without trailing `/` (`''` for none), put before the upstream path. */
  readonly pathPrefix: string;
}

/** {@link GatewayOptions} after validation: complete, frozen, durations in milliseconds. */
export interface ResolvedGatewayOptions {
  readonly host: string;
  readonly port: number;
  readonly timeoutMs: number;
  readonly shutdownTimeoutMs: number;
  readonly trustedProxies: readonly string[];
  readonly middleware: readonly ResolvedMiddlewareEntry[];
  readonly admin?: ResolvedAdminOptions;
  readonly server: ResolvedServerLimits;
  /** Absent when the gateway listens on `host` and `port` alone. */
  readonly listeners?: readonly ResolvedListener[];
  readonly upstreamTls?: ResolvedUpstreamTls;
  readonly subsets?: ResolvedSubsets;
  readonly rollouts?: readonly ResolvedRollout[];
  readonly routes: readonly ResolvedRoute[];
}

/**
 * Validates gateway options, applies defaults and converts durations to milliseconds.
 *
 * @param root - path prefix in messages, `gateway` by default
 * @throws SwitchyardError `SY_CONFIG_INVALID` listing every problem by path
 *   (`gateway.routes[2].service: required`)
 * @example
 * ```ts
 * const options = resolveGatewayOptions({ port: 0, routes: [{ path: '/api/orders', service: 'orders' }] });
 * options.routes[0]?.timeoutMs; // 30000
 * ```
 */
export function resolveGatewayOptions(input: GatewayOptions, root = 'gateway'): ResolvedGatewayOptions {
  const parsed = resolveOptions(gatewayOptionsSchema, input, root);
  const routes = parsed.routes.map((route): ResolvedRoute => {
    const name = route.name ?? route.path;
    const upstreams =
      route.upstreams === undefined ? undefined : resolveUpstreams(route.upstreams, staticServiceName(name));
    const service = upstreams === undefined ? route.service : staticServiceName(name);
    const pattern = parseRoutePattern(route.path);
    const rewrite =
      route.rewrite === undefined || !pattern.ok
        ? undefined
        : compileRewrite(route.rewrite, pattern.pattern, route.match === RouteMatch.Prefix || pattern.pattern.wildcard);
    const resolved: ResolvedRoute = {
      name,
      path: route.path,
      match: route.match,
      ...(route.methods === undefined ? {} : { methods: route.methods }),
      ...(route.hosts === undefined ? {} : { hosts: Object.freeze([...new Set(route.hosts.map(normalizeHost))]) }),
      ...(route.headers === undefined ? {} : { headers: Object.freeze(lowerKeys(route.headers)) }),
      ...(service === undefined ? {} : { service }),
      ...(upstreams === undefined ? {} : { upstreams }),
      stripPrefix: route.stripPrefix ?? true,
      ...(rewrite?.ok === true ? { rewrite: rewrite.rewrite } : {}),
      timeoutMs: route.timeout ?? parsed.timeout,
      balancer: route.balancer,
      retry: resolveRouteRetry(route.retry),
      ...(route.breaker === undefined ? {} : { breaker: route.breaker as BreakerOverrides }),
      middleware: route.middleware,
      ...(route.aggregate === undefined ? {} : { aggregate: route.aggregate }),
      ...(route.traffic === undefined ? {} : { traffic: route.traffic }),
    };
    return Object.freeze(resolved);
  });
  return Object.freeze({
    host: parsed.host,
    port: parsed.port,
    timeoutMs: parsed.timeout,
    shutdownTimeoutMs: parsed.shutdownTimeout,
    trustedProxies: parsed.trustedProxies,
    middleware: parsed.middleware,
    ...(parsed.admin === undefined ? {} : { admin: parsed.admin }),
    server: parsed.server,
    ...(parsed.listeners === undefined ? {} : { listeners: parsed.listeners }),
    ...(parsed.upstreamTls === undefined ? {} : { upstreamTls: parsed.upstreamTls }),
    ...(parsed.subsets === undefined ? {} : { subsets: parsed.subsets }),
    ...(parsed.rollouts === undefined ? {} : { rollouts: completeRollouts(parsed.rollouts) }),
    routes: Object.freeze(routes),
  });
}

/**
 * The breaker overrides the routes give their services, for `createBreakerRegistry({ overrides })`.
 * Validation guarantees that routes of one service agree.
 *
 * @example
 * ```ts
 * const breakers = createBreakerRegistry({ defaults: defaultBreakerOptions, overrides: breakerOverridesOf(options.routes) });
 * ```
 */
export function breakerOverridesOf(routes: readonly ResolvedRoute[]): Record<string, BreakerOverrides> {
  const out: Record<string, BreakerOverrides> = {};
  for (const route of routes) {
    if (route.service !== undefined && route.breaker !== undefined) out[route.service] = route.breaker;
  }
  return out;
}

function resolveUpstreams(urls: readonly string[], service: string): ResolvedStaticUpstreams {
  const instances: ServiceInstance[] = [];
  let pathPrefix = '';
  for (const url of urls) {
    const parsed = parseStaticUpstream(url, service);
    // The schema checked every URL; this cannot fail.
    if (!parsed.ok) throw new Error(parsed.message);
    instances.push(parsed.upstream.instance);
    pathPrefix = parsed.upstream.pathPrefix;
  }
  return Object.freeze({ urls: Object.freeze([...urls]), instances: Object.freeze(instances), pathPrefix });
}

function resolveRouteRetry(retry: z.output<typeof routeRetrySchema> | undefined): HttpRetryOptions | false {
  if (retry === undefined) return gatewayRetry;
  if (retry === false) return false;
  const base = gatewayRetry.backoff ?? {};
  return Object.freeze({
    maxAttempts: retry.attempts ?? gatewayRetry.maxAttempts,
    backoff: Object.freeze({
      initial: retry.backoff?.initial ?? base.initial,
      max: retry.backoff?.max ?? base.max,
      factor: retry.backoff?.factor ?? base.factor,
      jitter: retry.backoff?.jitter ?? base.jitter,
    }),
    statuses: Object.freeze([...(retry.statuses ?? gatewayRetry.statuses ?? [])]),
    afterSend: retry.afterSend ?? gatewayRetry.afterSend,
  }) as HttpRetryOptions;
}

/** Lowercase without the trailing dot: how hosts are compared. */
function normalizeHost(host: string): string {
  const lower = host.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

function lowerKeys<V>(record: Readonly<Record<string, V>>): Record<string, V> {
  const out: Record<string, V> = {};
  for (const [key, value] of Object.entries(record)) out[key.toLowerCase()] = value;
  return out;
}

/** JSON with object keys sorted, so equal settings compare equal whatever their key order. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

function hostsOverlap(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === undefined && b === undefined;
  const set = new Set(a.map(normalizeHost));
  return b.some((host) => set.has(normalizeHost(host)));
}

function methodsOverlap(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === undefined && b === undefined;
  return a.some((method) => b.includes(method));
}

function isIpOrCidr(value: string): boolean {
  const slash = value.indexOf('/');
  if (slash === -1) return isIP(value) !== 0;
  const family = isIP(value.slice(0, slash));
  const bits = value.slice(slash + 1);
  if (family === 0 || !/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}
