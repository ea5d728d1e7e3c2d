import { resolveOptions } from '@switchyard/core';
import * as z from 'zod';

const subsetWeightSchema = z.strictObject({
  subset: z.string().min(1),
  /** Percent of the route's requests; the Istio checks want integers 0..100 summing to 100. */
  weight: z.number(),
});

const trafficMatchSchema = z
  .strictObject({
    header: z.string().min(1).optional(),
    cookie: z.string().min(1).optional(),
    value: z.string(),
    subset: z.string().min(1),
  })
  .superRefine((m, ctx) => {
    if ((m.header === undefined) === (m.cookie === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['header'], message: 'give exactly one of header or cookie' });
    }
  });

/**
 * A route's traffic policy, as the gateway's `routes[].traffic`: one subset, or a weighted
 * split, with header/cookie matches checked first and an optional mirror.
 */
const routeTrafficSchema = z
  .strictObject({
    subset: z.string().min(1).optional(),
    split: z.array(subsetWeightSchema).min(1).optional(),
    match: z.array(trafficMatchSchema).optional(),
    mirror: z.strictObject({ subset: z.string().min(1), percent: z.number().min(0).max(100) }).optional(),
    sticky: z
      .union([z.strictObject({ header: z.string().min(1) }), z.strictObject({ cookie: z.string().min(1) })])
      .optional(),
  })
  .superRefine((t, ctx) => {
    if (t.subset !== undefined && t.split !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['split'], message: 'give either subset or split, not both' });
    }
  });

/**
 * Schema of {@link IstioOptions}.
 *
 * @example
 * ```ts
 * istioOptionsSchema.parse({ namespace: 'shop', mtls: true });
 * ```
 */
export const istioOptionsSchema = z.strictObject({
  /** Namespace of the services and of every generated resource. */
  namespace: z.string().min(1).default('default'),
  /** Generate PeerAuthentication (STRICT), AuthorizationPolicies and `ISTIO_MUTUAL` client TLS. */
  mtls: z.boolean().default(false),
  /**
   * Host name clients use at the ingress: adds a Gateway (`<name>-gateway`) for it and a
   * VirtualService bound to that Gateway with every route.
   */
  gatewayHost: z.string().min(1).optional(),
  /** Selector of the ingress gateway pods the Gateway configures. @default { istio: "ingressgateway" } */
  ingressSelector: z.record(z.string(), z.string()).default({ istio: 'ingressgateway' }),
  /** Port the Gateway listens on (plain HTTP). @default 80 */
  ingressPort: z.number().default(80),
  /** Service account the gateway runs as: the one principal the AuthorizationPolicies allow. */
  gatewayServiceAccount: z.string().min(1).default('switchyard-gateway'),
  /** Namespace of that service account. @default `namespace` */
  gatewayNamespace: z.string().min(1).optional(),
  /** Pod label that selects a service's workloads in AuthorizationPolicies. @default "app" */
  workloadLabel: z.string().min(1).default('app'),
  /** Per service: subset name -> pod labels (the registry `meta` of the gateway's subsets). */
  subsets: z.record(z.string(), z.record(z.string(), z.record(z.string(), z.string()))).default({}),
  /** Per route name: its traffic policy. */
  traffic: z.record(z.string(), routeTrafficSchema).default({}),
  /** Labels added to every resource. @default { "app.kubernetes.io/managed-by": "switchyard" } */
  labels: z.record(z.string(), z.string()).default({ 'app.kubernetes.io/managed-by': 'switchyard' }),
});

/** Options of `generateIstioResources`, as written. */
export type IstioOptions = z.input<typeof istioOptionsSchema>;
/** {@link IstioOptions} with defaults applied. */
export type ResolvedIstioOptions = z.output<typeof istioOptionsSchema>;
/** A route's traffic policy (subset, split, matches, mirror, sticky). */
export type IstioRouteTraffic = z.input<typeof routeTrafficSchema>;
/** One subset and its share of a split. */
export type IstioSubsetWeight = z.input<typeof subsetWeightSchema>;

/**
 * Validates {@link IstioOptions} and applies defaults.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming the field (`istio.traffic.orders.split: ...`)
 * @example
 * ```ts
 * resolveIstioOptions({ namespace: 'shop' }).gatewayServiceAccount; // 'switchyard-gateway'
 * ```
 */
export function resolveIstioOptions(input: IstioOptions = {}, root = 'istio'): Readonly<ResolvedIstioOptions> {
  return resolveOptions(istioOptionsSchema, input, root);
}
