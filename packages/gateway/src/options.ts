import { isIP } from 'node:net';
import { resolveOptions, zDuration, zPort } from '@switchyard/core';
import { BalancerKind, balancerKinds } from '@switchyard/discovery';
import * as z from 'zod';
import { parseRoutePattern, patternShape } from './pattern.ts';

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
    service: z.string().min(1, 'must be a non-empty service name'),
    stripPrefix: z.boolean().default(true),
    timeout: zDuration().optional(),
    balancer: z.enum(balancerKinds).default(BalancerKind.RoundRobin),
  })
  .superRefine((route, ctx) => {
    const parsed = parseRoutePattern(route.path);
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
    routes: z.array(routeOptionsSchema),
  })
  .superRefine((options, ctx) => {
    const byShape = new Map<string, number[]>();
    const byName = new Map<string, number>();
    for (const [index, route] of options.routes.entries()) {
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
      const shape = patternShape(parsed.pattern, route.match);
      const earlier = byShape.get(shape) ?? [];
      const clash = earlier.find((other) => methodsOverlap(options.routes[other]?.methods, route.methods));
      if (clash !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['routes', index, 'path'],
          message: `duplicates routes[${clash}] (${JSON.stringify(options.routes[clash]?.path)}): same path and overlapping methods, so one of them could never match`,
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
  /** The service whose instances receive the requests. */
  service: string;
  /** Remove the matched route path before forwarding (`/api/orders/12` → `/12`). @default true */
  stripPrefix?: boolean | undefined;
  /** Upstream timeout for this route: `"250ms"`, `"5s"` or milliseconds; `0` disables it. @default the gateway `timeout` */
  timeout?: string | number | undefined;
  /** How an instance is picked: `"round_robin"` or `"random"` (weighted). @default "round_robin" */
  balancer?: BalancerKind | undefined;
}

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
  /** The routes; the most specific match wins, whatever their order. */
  routes: RouteOptions[];
}

/** A route after validation: defaults applied, durations in milliseconds. */
export interface ResolvedRoute {
  readonly name: string;
  readonly path: string;
  readonly match: RouteMatch;
  /** Absent when the route serves any method. */
  readonly methods?: readonly HttpMethod[];
  readonly service: string;
  readonly stripPrefix: boolean;
  readonly timeoutMs: number;
  readonly balancer: BalancerKind;
}

/** {@link GatewayOptions} after validation: complete, frozen, durations in milliseconds. */
export interface ResolvedGatewayOptions {
  readonly host: string;
  readonly port: number;
  readonly timeoutMs: number;
  readonly shutdownTimeoutMs: number;
  readonly trustedProxies: readonly string[];
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
    const resolved = {
      name: route.name ?? route.path,
      path: route.path,
      match: route.match,
      service: route.service,
      stripPrefix: route.stripPrefix,
      timeoutMs: route.timeout ?? parsed.timeout,
      balancer: route.balancer,
    };
    return Object.freeze(route.methods === undefined ? resolved : { ...resolved, methods: route.methods });
  });
  return Object.freeze({
    host: parsed.host,
    port: parsed.port,
    timeoutMs: parsed.timeout,
    shutdownTimeoutMs: parsed.shutdownTimeout,
    trustedProxies: parsed.trustedProxies,
    routes: Object.freeze(routes),
  });
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
