import { resolveOptions, zDuration, zPort } from '@switchyard/core';
import * as z from 'zod';

/**
 * How a cluster picks an endpoint; each maps to Envoy's `lb_policy` of the same name.
 *
 * @example
 * ```ts
 * const cluster: MeshClusterOptions = { lbPolicy: LbPolicy.LeastRequest };
 * ```
 */
export const LbPolicy = {
  RoundRobin: 'round_robin',
  LeastRequest: 'least_request',
  RingHash: 'ring_hash',
  Maglev: 'maglev',
  Random: 'random',
} as const;
export type LbPolicy = (typeof LbPolicy)[keyof typeof LbPolicy];

const serviceName = z
  .string()
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.:-]*$/, 'expected a service name of letters, digits, "-", "_", ".", ":"');

const headerMatchSchema = z.union(
  [z.string(), z.strictObject({ regex: z.string().min(1) }), z.strictObject({ present: z.boolean() })],
  { error: () => 'expected a string (the exact value), { regex: "..." } or { present: true | false }' },
);

const matchSchema = z
  .strictObject({
    /** Path prefix, segment-aware: `/api/orders` matches `/api/orders` and `/api/orders/1`, not `/api/ordersX`. */
    prefix: z.string().startsWith('/', 'must start with "/"').optional(),
    /** The exact path. */
    path: z.string().startsWith('/', 'must start with "/"').optional(),
    /** An RE2 regular expression the whole path must match. */
    regex: z.string().min(1).optional(),
    /** Header conditions, all of which must hold. */
    headers: z.record(z.string().min(1), headerMatchSchema).optional(),
    /** Allowed methods; absent for any. */
    methods: z
      .array(z.string().regex(/^[A-Z]+$/, 'expected an uppercase method'))
      .min(1)
      .optional(),
  })
  .superRefine((match, ctx) => {
    const given = (['prefix', 'path', 'regex'] as const).filter((k) => match[k] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: given.length === 0 ? ['prefix'] : [given[1] as string],
        message: `a match has exactly one of prefix, path or regex${given.length > 1 ? `; this one sets ${given.join(' and ')}` : ''}`,
      });
    }
  });

const retrySchema = z.strictObject({
  /** Attempts in all, the first included. */
  attempts: z.number().int().min(1).max(10),
  /** Timeout of each attempt; absent = the route timeout. */
  perTryTimeout: zDuration().optional(),
  /** Envoy `retry_on` conditions. @default ["connect-failure", "refused-stream"] */
  retryOn: z.array(z.string().min(1)).min(1).optional(),
  /** Statuses retried (adds `retriable-status-codes`). */
  statuses: z.array(z.number().int().min(100).max(599)).optional(),
  /** Backoff between attempts; `base` 0 leaves Envoy's default (25 ms). */
  backoff: z.strictObject({ base: zDuration(), max: zDuration().optional() }).optional(),
});

const routeSchema = z.strictObject({
  name: z.string().min(1).optional(),
  match: matchSchema,
  /** Host names the route answers for (`api.example.com`, `*.example.com`); absent for any. */
  hosts: z.array(z.string().min(1)).min(1).optional(),
  /** The cluster (service) receiving the requests. */
  service: serviceName,
  /** Replace the matched prefix (`prefix` routes) or the whole path (`path`/`regex` routes) with this. */
  rewritePrefix: z.string().startsWith('/', 'must start with "/"').optional(),
  /**
   * Rewrite with an RE2 regular expression over the path and a substitution (`\\1` inserts a
   * group), as Envoy's `regex_rewrite`; instead of `rewritePrefix`.
   */
  rewrite: z.strictObject({ regex: z.string().min(1), substitution: z.string() }).optional(),
  /** Upstream timeout; `0` disables it. @default Envoy's 15 s */
  timeout: zDuration().optional(),
  /** Retry policy; absent or `false` for none. */
  retry: z.union([z.literal(false), retrySchema]).optional(),
});

const checkedRouteSchema = routeSchema.superRefine((route, ctx) => {
  if (route.rewrite !== undefined && route.rewritePrefix !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['rewrite'], message: 'give either rewrite or rewritePrefix, not both' });
  }
});

const endpointSchema = z.strictObject({
  address: z.string().min(1),
  port: zPort().refine((p) => p > 0, 'expected a port 1..65535'),
  weight: z.number().int().min(1).max(128).optional(),
});

const clusterSchema = z.strictObject({
  lbPolicy: z.enum(Object.values(LbPolicy) as [LbPolicy, ...LbPolicy[]]).default(LbPolicy.RoundRobin),
  connectTimeout: zDuration().default(5_000),
  /** Speak HTTP/2 to the endpoints (gRPC services). */
  http2: z.boolean().default(false),
  /** Envoy circuit-breaker thresholds (default priority). */
  circuitBreaker: z
    .strictObject({
      maxConnections: z.number().int().min(0).optional(),
      maxPendingRequests: z.number().int().min(0).optional(),
      maxRequests: z.number().int().min(0).optional(),
      maxRetries: z.number().int().min(0).optional(),
    })
    .optional(),
  /** Passive outlier ejection. */
  outlierDetection: z
    .strictObject({
      consecutive5xx: z.number().int().min(1).optional(),
      consecutiveGatewayFailure: z.number().int().min(1).optional(),
      /** Failure percentage (0..100) that ejects an endpoint. */
      failurePercentage: z.number().int().min(0).max(100).optional(),
      /** Requests an endpoint must see in an interval before `failurePercentage` applies. */
      failurePercentageRequestVolume: z.number().int().min(1).optional(),
      interval: zDuration().optional(),
      baseEjectionTime: zDuration().optional(),
      maxEjectionPercent: z.number().int().min(0).max(100).optional(),
    })
    .optional(),
  /** Active HTTP health checking. */
  healthCheck: z
    .strictObject({
      path: z.string().startsWith('/', 'must start with "/"'),
      interval: zDuration().default(10_000),
      timeout: zDuration().default(2_000),
      unhealthyThreshold: z.number().int().min(1).default(3),
      healthyThreshold: z.number().int().min(1).default(1),
    })
    .optional(),
  /** Static endpoints (used when endpoints are `static`). */
  endpoints: z.array(endpointSchema).default([]),
});

/**
 * Schema of {@link MeshConfig}.
 *
 * @example
 * ```ts
 * meshConfigSchema.parse({ routes: [{ match: { prefix: '/api/orders' }, service: 'orders' }] });
 * ```
 */
export const meshConfigSchema = z
  .strictObject({
    /** Name of the system: the Envoy node cluster and part of the node id. */
    name: z.string().min(1).default('switchyard'),
    /** The front proxy's listener. */
    listener: z
      .strictObject({ address: z.string().min(1).default('0.0.0.0'), port: zPort().default(8080) })
      .prefault({}),
    routes: z.array(checkedRouteSchema),
    /** Per-service cluster settings; services named by routes and missing here get the defaults. */
    clusters: z.record(serviceName, clusterSchema).default({}),
  })
  .superRefine((config, ctx) => {
    const names = new Map<string, number>();
    for (const [index, route] of config.routes.entries()) {
      if (route.name === undefined) continue;
      const first = names.get(route.name);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['routes', index, 'name'], message: `repeats routes[${first}].name` });
      } else names.set(route.name, index);
    }
  });

/** Mesh routes and clusters as written (durations as `"5s"` or milliseconds). */
export type MeshConfig = z.input<typeof meshConfigSchema>;
/** A {@link MeshConfig} after validation: defaults applied, durations in milliseconds. */
export type ResolvedMeshConfig = z.output<typeof meshConfigSchema>;
/** One route of a {@link MeshConfig}. */
export type MeshRouteOptions = z.input<typeof routeSchema>;
/** One cluster of a {@link MeshConfig}. */
export type MeshClusterOptions = z.input<typeof clusterSchema>;
/** A resolved cluster. */
export type ResolvedMeshCluster = z.output<typeof clusterSchema>;
/** A resolved route. */
export type ResolvedMeshRoute = z.output<typeof routeSchema>;

/**
 * Validates a {@link MeshConfig}, applies defaults and converts durations to milliseconds.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming each field (`mesh.routes[0].match.prefix: ...`)
 * @example
 * ```ts
 * resolveMeshConfig({ routes: [{ match: { prefix: '/api/orders' }, service: 'orders', timeout: '5s' }] })
 *   .routes[0]?.timeout; // 5000
 * ```
 */
export function resolveMeshConfig(input: MeshConfig, root = 'mesh'): Readonly<ResolvedMeshConfig> {
  return resolveOptions(meshConfigSchema, input, root);
}

/** The cluster settings of `service`, the defaults when the config names none. */
export function clusterOf(config: ResolvedMeshConfig, service: string): ResolvedMeshCluster {
  return config.clusters[service] ?? clusterSchema.parse({});
}

/** Every service the routes name or the clusters configure, in a stable order. */
export function servicesOf(config: ResolvedMeshConfig): string[] {
  return [...new Set([...config.routes.map((r) => r.service), ...Object.keys(config.clusters)])];
}
