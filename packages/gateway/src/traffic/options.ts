/**
 * The config of versioned traffic: `gateway.subsets` (named groups of a service's instances,
 * selected by registration meta and tags) and a route's `traffic` (which subset serves a
 * request: a fixed one, a weighted split, header or cookie matches, sticky keys, mirroring).
 */
import { zDuration } from '@switchyard/core';
import * as z from 'zod';

/**
 * The most bytes of a request body buffered for a mirror copy; larger bodies are not mirrored
 * (counted as `switchyard_gateway_mirror_total{outcome="skipped"}`).
 *
 * @example
 * ```ts
 * MIRROR_MAX_BODY_BYTES; // 1048576
 * ```
 */
export const MIRROR_MAX_BODY_BYTES = 1024 * 1024;

const subsetNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected a subset name of letters, digits, ".", "_" and "-"');

const subsetSelectorSchema = z
  .strictObject({
    meta: z.record(z.string(), z.string()).optional(),
    tags: z.array(z.string().min(1, 'must not be empty')).optional(),
  })
  .refine((s) => Object.keys(s.meta ?? {}).length > 0 || (s.tags ?? []).length > 0, {
    message: 'give `meta` (key/value pairs the registration carries) and/or `tags` (all of which it carries)',
  });

/**
 * Schema of `gateway.subsets`: service name → subset name → selector. The order subsets are
 * written in is the order sticky hashing lays their ranges out in: write the stable one first.
 *
 * @example
 * ```ts
 * subsetsSchema.parse({ orders: { v1: { meta: { version: 'v1' } }, v2: { tags: ['v2'] } } });
 * ```
 */
export const subsetsSchema = z.record(z.string().min(1), z.record(subsetNameSchema, subsetSelectorSchema));

const weightSchema = z.strictObject({
  subset: z.string(),
  weight: z
    .number()
    .int('expected a whole percentage from 0 to 100')
    .min(0, 'expected a whole percentage from 0 to 100')
    .max(100, 'expected a whole percentage from 0 to 100'),
});

const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'expected a header name');
const matchSchema = z.union(
  [
    z.strictObject({ header: headerName, value: z.string(), subset: z.string() }),
    z.strictObject({ cookie: z.string().min(1), value: z.string(), subset: z.string() }),
  ],
  { error: () => 'expected { header, value, subset } or { cookie, value, subset }' },
);

const stickySchema = z.union([z.strictObject({ header: headerName }), z.strictObject({ cookie: z.string().min(1) })], {
  error: () => 'expected { header: "<name>" } or { cookie: "<name>" }',
});

/**
 * Schema of a route's `traffic`.
 *
 * @example
 * ```ts
 * routeTrafficSchema.parse({ split: [{ subset: 'v1', weight: 90 }, { subset: 'v2', weight: 10 }], sticky: { header: 'x-user-id' } });
 * ```
 */
export const routeTrafficSchema = z
  .strictObject({
    subset: z.string().optional(),
    split: z.array(weightSchema).min(1, 'must list at least one subset').optional(),
    match: z.array(matchSchema).optional(),
    sticky: stickySchema.optional(),
    mirror: z
      .strictObject({
        subset: z.string(),
        percent: z.number().min(0, 'expected 0 to 100').max(100, 'expected 0 to 100'),
        timeout: zDuration().default(5_000),
      })
      .optional(),
    subsetHeader: z.boolean().default(false),
  })
  .superRefine((traffic, ctx) => {
    if ((traffic.subset === undefined) === (traffic.split === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: traffic.subset === undefined ? ['subset'] : ['split'],
        message: 'give exactly one of `subset` (every request to one subset) or `split` (weights)',
      });
    }
    if (traffic.split !== undefined) {
      for (const issue of splitIssues(traffic.split)) ctx.addIssue({ code: 'custom', ...issue });
    }
    if (traffic.sticky !== undefined && traffic.split === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['sticky'],
        message: 'sticky keys hash into a `split`; this route has none',
      });
    }
  });

/** Problems of a list of weights (`path` relative to the list): duplicates, a sum other than 100. */
export function splitIssues(
  split: readonly { readonly subset: string; readonly weight: number }[],
): { path: (string | number)[]; message: string }[] {
  const issues: { path: (string | number)[]; message: string }[] = [];
  const seen = new Map<string, number>();
  let sum = 0;
  for (const [index, entry] of split.entries()) {
    sum += entry.weight;
    const first = seen.get(entry.subset);
    if (first !== undefined) {
      issues.push({
        path: ['split', index, 'subset'],
        message: `${JSON.stringify(entry.subset)} repeats split[${first}]`,
      });
    } else seen.set(entry.subset, index);
  }
  if (sum !== 100) {
    issues.push({
      path: ['split'],
      message: `weights must add up to 100, got ${split.map((e) => e.weight).join(' + ')} = ${sum}`,
    });
  }
  return issues;
}

/** How a subset picks instances: every `meta` pair present with that value, every tag carried. */
export interface SubsetSelector {
  meta?: Record<string, string> | undefined;
  tags?: string[] | undefined;
}

/** One subset's share of a split. */
export interface SubsetWeight {
  readonly subset: string;
  /** A whole percentage, 0 to 100; the weights of a split add up to 100. */
  readonly weight: number;
}

/** A header or cookie whose exact value pins a request to a subset. */
export type TrafficMatch =
  | { readonly header: string; readonly value: string; readonly subset: string }
  | { readonly cookie: string; readonly value: string; readonly subset: string };

/**
 * A route's `traffic` as written.
 *
 * @example
 * ```ts
 * const traffic: RouteTrafficOptions = {
 *   split: [{ subset: 'v1', weight: 95 }, { subset: 'v2', weight: 5 }],
 *   match: [{ header: 'x-api-version', value: '2', subset: 'v2' }],
 *   sticky: { header: 'x-user-id' },
 * };
 * ```
 */
export interface RouteTrafficOptions {
  /** Every request goes to this subset (path-based versions: `/v2/orders` with `subset: v2`). */
  subset?: string | undefined;
  /** Weighted choice between subsets; whole percentages adding up to 100. */
  split?: SubsetWeight[] | undefined;
  /** Checked first, in order: the first header or cookie with the exact value picks its subset. */
  match?: TrafficMatch[] | undefined;
  /** Hash this header or cookie into the split, so one key keeps its subset. @default a random pick per request */
  sticky?: { header: string } | { cookie: string } | undefined;
  /** Copy `percent` of requests to an instance of `subset`, discard its answers, compare statuses. */
  mirror?: { subset: string; percent: number; timeout?: string | number | undefined } | undefined;
  /** Add `x-switchyard-subset: <name>` to responses (for debugging). @default false */
  subsetHeader?: boolean | undefined;
}

/** A route's `traffic` after validation. */
export interface ResolvedRouteTraffic {
  readonly subset?: string | undefined;
  readonly split?: readonly SubsetWeight[] | undefined;
  readonly match?: readonly TrafficMatch[] | undefined;
  readonly sticky?: { readonly header: string } | { readonly cookie: string } | undefined;
  /** `timeout` in milliseconds. */
  readonly mirror?: { readonly subset: string; readonly percent: number; readonly timeout: number } | undefined;
  readonly subsetHeader: boolean;
}

/** `gateway.subsets` after validation: service → subset name → selector, in the order written. */
export type ResolvedSubsets = Readonly<
  Record<
    string,
    Readonly<
      Record<
        string,
        { readonly meta?: Readonly<Record<string, string>> | undefined; readonly tags?: readonly string[] | undefined }
      >
    >
  >
>;

/** The fields of a route {@link trafficIssues} reads. */
interface TrafficRoute {
  readonly name?: string | undefined;
  readonly path: string;
  readonly service?: string | undefined;
  readonly upstreams?: unknown;
  readonly aggregate?: unknown;
  readonly traffic?: ResolvedRouteTraffic | undefined;
}

/**
 * Cross-field problems of routes' `traffic` against `subsets`, with paths relative to the
 * gateway options: `traffic` on a route without a registry service, a service with no
 * `subsets`, a subset name the service does not define.
 */
export function trafficIssues(
  routes: readonly TrafficRoute[],
  subsets: ResolvedSubsets | undefined,
): { path: (string | number)[]; message: string }[] {
  const issues: { path: (string | number)[]; message: string }[] = [];
  for (const [index, route] of routes.entries()) {
    const traffic = route.traffic;
    if (traffic === undefined) continue;
    const at: (string | number)[] = ['routes', index, 'traffic'];
    if (route.upstreams !== undefined || route.aggregate !== undefined) {
      issues.push({
        path: at,
        message: `needs a route with \`service\`: subsets are groups of a registry service's instances, and this route has ${route.upstreams !== undefined ? '`upstreams`' : '`aggregate`'}`,
      });
      continue;
    }
    const service = route.service;
    if (service === undefined) continue;
    const defined = subsets?.[service];
    if (defined === undefined) {
      issues.push({
        path: at,
        message: `service ${JSON.stringify(service)} has no subsets: define them under gateway.subsets.${service}`,
      });
      continue;
    }
    const check = (name: string, path: (string | number)[]) => {
      if (Object.hasOwn(defined, name)) return;
      issues.push({
        path: [...at, ...path],
        message: `unknown subset ${JSON.stringify(name)} of service ${JSON.stringify(service)}; gateway.subsets.${service} defines ${Object.keys(
          defined,
        )
          .map((n) => JSON.stringify(n))
          .join(', ')}`,
      });
    };
    if (traffic.subset !== undefined) check(traffic.subset, ['subset']);
    for (const [i, entry] of (traffic.split ?? []).entries()) check(entry.subset, ['split', i, 'subset']);
    for (const [i, entry] of (traffic.match ?? []).entries()) check(entry.subset, ['match', i, 'subset']);
    if (traffic.mirror !== undefined) check(traffic.mirror.subset, ['mirror', 'subset']);
  }
  return issues;
}
