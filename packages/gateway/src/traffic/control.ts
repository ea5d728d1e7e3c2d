/**
 * Traffic control of a gateway: per-route subset choice on the request path, run-time split
 * overrides (`gateway.traffic.setSplit`) that survive reloads, and response observations.
 */
import type { ServiceInstance } from '@switchyard/core';
import { isSwitchyardError } from '@switchyard/core';
import { globalMetrics } from '@switchyard/telemetry';
import type { Dispatcher } from 'undici';
import { gatewayError } from '../errors.ts';
import type { OutgoingHeaders } from '../headers.ts';
import type { GatewayContext } from '../middleware.ts';
import type { ResolvedGatewayOptions, ResolvedRoute } from '../options.ts';
import type { GatewayLogger, InstanceSource } from '../ports.ts';
import {
  type CompiledMatch,
  type CompiledSplit,
  type CompiledSticky,
  compileMatches,
  compileSplit,
  matchedSubset,
  stickyBucket,
  stickyKey,
  subsetForBucket,
} from './choice.ts';
import { type BodyTap, startMirror } from './mirror.ts';
import type { ResponseObservation } from './observation.ts';
import { type ResolvedSubsets, type SubsetWeight, splitIssues } from './options.ts';

export type { SubsetWeight } from './options.ts';

/**
 * Run-time control of the routes' traffic: `gateway.traffic`.
 *
 * @example
 * ```ts
 * gateway.traffic.setSplit('orders', [{ subset: 'v1', weight: 75 }, { subset: 'v2', weight: 25 }]);
 * const watch = gateway.traffic.observe((o) => { if (o.subset === 'v2' && o.status >= 500) errors++; });
 * watch.dispose();
 * ```
 */
export interface TrafficControl {
  /**
   * Overrides a route's split at run time (a rollout); `undefined` restores the config's. The
   * override stays across reloads while the route and its subsets still exist.
   *
   * @throws SwitchyardError `SY_GATEWAY_INVALID_SPLIT` for an unknown route, a route without a
   *   service with `subsets`, an unknown subset, a repeated one, or weights that are not whole
   *   percentages adding up to 100
   */
  setSplit(route: string, split: readonly SubsetWeight[] | undefined): void;
  /**
   * The split in force for a route (the override, else the config's; a route with
   * `traffic.subset` reports that subset at 100), or undefined when the route has none.
   */
  split(route: string): readonly SubsetWeight[] | undefined;
  /** Every response (and mirrored response) with the subset that served it. Listeners run on the request path: keep them cheap; one that throws is logged and kept. */
  observe(listener: (o: ResponseObservation) => void): { dispose(): void };
}

/** The slot a request's chosen subset is left in, for the gateway to report at the response's end. */
export interface TrafficSlot {
  subset: string | undefined;
}

/** The key of a context's {@link TrafficSlot}; not exported from the package. */
export const trafficSlot: unique symbol = Symbol('switchyard.gateway.trafficSlot');

/** A context carrying a {@link TrafficSlot}. */
export interface TrafficContext {
  readonly [trafficSlot]?: TrafficSlot;
}

/** The subset chosen for one proxied request. */
export interface TrafficChoice {
  readonly subset: string;
  /** The circuit breaker of the subset, `<service>/<subset>` (see {@link subsetBreakerName}). */
  readonly breaker: string;
  /** Narrows the service's instances to the subset's (passed to the client as `eligible`). */
  readonly eligible: (instances: readonly ServiceInstance[]) => readonly ServiceInstance[];
  /** Receives the request body when a mirror copy waits for it. */
  readonly tap: BodyTap | undefined;
  /** Names the subset in a failure where it matters (no healthy instance). */
  explain(err: unknown): unknown;
}

/** The subset choice of one runtime's routes, used by the proxy. */
export interface RouteTraffic {
  /** The choice for this request, or undefined when its route has no traffic policy. */
  choose(
    ctx: GatewayContext,
    headers: OutgoingHeaders,
    upstreamPath: string,
    hasBody: boolean,
    /** Whether the request may be mirrored (not for WebSocket upgrades). @default true */
    mirror?: boolean,
  ): TrafficChoice | undefined;
}

/** The gateway's traffic: the public control plus what the handler and runtimes use. */
export interface GatewayTraffic {
  readonly control: TrafficControl;
  /** Whether anyone observes responses (the handler times requests only then). */
  readonly observing: boolean;
  /** Reports a client response. */
  emit(route: string, subset: string | undefined, status: number, durationMs: number): void;
  /** The per-route choice for a runtime built from `options`. */
  forRuntime(options: ResolvedGatewayOptions): RouteTraffic;
  /** Drops the overrides `next` no longer supports (route or subset gone), with a log line each. */
  reconcile(next: ResolvedGatewayOptions): void;
}

/** What {@link createGatewayTraffic} needs. */
export interface GatewayTrafficDependencies {
  /** The config in use. */
  readonly options: () => ResolvedGatewayOptions;
  /** Where instances of mirror subsets come from. */
  readonly discovery: InstanceSource;
  /** Sends mirror copies (the gateway's upstream dispatcher, with its TLS settings). */
  readonly dispatcher: Dispatcher;
  readonly logger: GatewayLogger;
}

interface Subset {
  readonly name: string;
  readonly breaker: string;
  readonly eligible: (instances: readonly ServiceInstance[]) => readonly ServiceInstance[];
}

interface RoutePlan {
  readonly route: ResolvedRoute;
  readonly service: string;
  readonly subsets: ReadonlyMap<string, Subset>;
  /** Subset names in declaration order: the layout of split ranges. */
  readonly order: readonly string[];
  readonly fixed: string | undefined;
  readonly split: CompiledSplit | undefined;
  readonly matches: readonly CompiledMatch[];
  readonly sticky: CompiledSticky | undefined;
  readonly mirror: { readonly subset: Subset; readonly percent: number; readonly timeoutMs: number } | undefined;
  readonly subsetHeader: boolean;
}

/**
 * Builds a gateway's traffic control.
 *
 * @example
 * ```ts
 * const traffic = createGatewayTraffic({ options: () => handler.options, discovery, dispatcher, logger });
 * traffic.control.setSplit('orders', [{ subset: 'v1', weight: 50 }, { subset: 'v2', weight: 50 }]);
 * ```
 */
export function createGatewayTraffic(deps: GatewayTrafficDependencies): GatewayTraffic {
  const overrides = new Map<string, CompiledSplit>();
  const listeners = new Set<(o: ResponseObservation) => void>();
  const metrics = globalMetrics();

  function emitObservation(o: ResponseObservation): void {
    for (const listener of listeners) {
      try {
        listener(o);
      } catch (err) {
        deps.logger.error({ err, route: o.route }, 'a traffic observer threw; it stays subscribed');
      }
    }
  }

  function issuesOf(options: ResolvedGatewayOptions, routeName: string, split: readonly SubsetWeight[]): string[] {
    const route = options.routes.find((r) => r.name === routeName);
    if (route === undefined) return [`no route is named ${JSON.stringify(routeName)}`];
    if (route.service === undefined || route.upstreams !== undefined) {
      return [`route ${JSON.stringify(routeName)} has no registry service to split`];
    }
    const defined = options.subsets?.[route.service];
    if (defined === undefined) {
      return [`service ${JSON.stringify(route.service)} of route ${JSON.stringify(routeName)} has no subsets`];
    }
    const problems: string[] = [];
    if (!Array.isArray(split) || split.length === 0) return ['expected a non-empty list of { subset, weight }'];
    for (const [index, entry] of split.entries()) {
      if (typeof entry?.subset !== 'string' || !Object.hasOwn(defined, entry.subset)) {
        problems.push(
          `[${index}].subset: unknown subset ${JSON.stringify(entry?.subset)}; service ${JSON.stringify(route.service)} has ${Object.keys(defined).join(', ')}`,
        );
      }
      if (!Number.isInteger(entry?.weight) || entry.weight < 0 || entry.weight > 100) {
        problems.push(
          `[${index}].weight: expected a whole percentage from 0 to 100, got ${JSON.stringify(entry?.weight)}`,
        );
      }
    }
    if (problems.length > 0) return problems;
    for (const issue of splitIssues(split)) {
      const [, index, field] = issue.path;
      problems.push(`${index === undefined ? '' : `[${index}].${String(field)}: `}${issue.message}`);
    }
    return problems;
  }

  const control: TrafficControl = {
    setSplit(routeName, split) {
      const options = deps.options();
      if (split === undefined) {
        if (!options.routes.some((r) => r.name === routeName)) {
          throw invalidSplit(routeName, [`no route is named ${JSON.stringify(routeName)}`]);
        }
        overrides.delete(routeName);
        return;
      }
      const problems = issuesOf(options, routeName, split);
      if (problems.length > 0) throw invalidSplit(routeName, problems);
      const route = options.routes.find((r) => r.name === routeName) as ResolvedRoute;
      const order = Object.keys(options.subsets?.[route.service as string] ?? {});
      overrides.set(routeName, compileSplit(split, order));
    },
    split(routeName) {
      const override = overrides.get(routeName);
      if (override !== undefined) return override.weights;
      const route = deps.options().routes.find((r) => r.name === routeName);
      const traffic = route?.traffic;
      if (traffic === undefined) return undefined;
      if (traffic.split !== undefined) return traffic.split;
      return traffic.subset === undefined
        ? undefined
        : Object.freeze([Object.freeze({ subset: traffic.subset, weight: 100 })]);
    },
    observe(listener) {
      // A fresh wrapper per call, so observing twice with one function gives two subscriptions.
      const entry = (o: ResponseObservation) => listener(o);
      listeners.add(entry);
      return {
        dispose() {
          listeners.delete(entry);
        },
      };
    },
  };

  function forRuntime(options: ResolvedGatewayOptions): RouteTraffic {
    const plans = new Map<ResolvedRoute, RoutePlan>();
    for (const route of options.routes) {
      const plan = planOf(route, options);
      if (plan !== undefined) plans.set(route, plan);
    }
    if (plans.size === 0) return { choose: () => undefined };
    return {
      choose(ctx, headers, path, hasBody, mirrorAllowed = true) {
        const plan = plans.get(ctx.route);
        if (plan === undefined) return undefined;
        const override = overrides.get(plan.route.name);
        const reqHeaders = ctx.req.headers;
        let name = plan.matches.length === 0 ? undefined : matchedSubset(plan.matches, reqHeaders);
        if (name === undefined) {
          const split = override ?? plan.split;
          if (split === undefined) {
            if (plan.fixed === undefined) return undefined;
            name = plan.fixed;
          } else {
            const key = plan.sticky === undefined ? undefined : stickyKey(plan.sticky, reqHeaders);
            const bucket = key === undefined ? Math.floor(Math.random() * 100) : stickyBucket(key);
            name = subsetForBucket(split, bucket);
          }
        }
        const subset = plan.subsets.get(name) ?? missingSubset(name);
        const slot = (ctx as TrafficContext)[trafficSlot];
        if (slot !== undefined) slot.subset = subset.name;
        if (plan.subsetHeader) ctx.res.setHeader('x-switchyard-subset', subset.name);
        let tap: BodyTap | undefined;
        const mirror = plan.mirror;
        if (mirrorAllowed && mirror !== undefined && mirror.percent > 0 && Math.random() * 100 < mirror.percent) {
          tap = startMirror({
            ctx,
            route: plan.route.name,
            service: plan.service,
            subset: mirror.subset.name,
            eligible: mirror.subset.eligible,
            headers,
            path,
            hasBody,
            timeoutMs: mirror.timeoutMs,
            discovery: deps.discovery,
            dispatcher: deps.dispatcher,
            metrics: metrics.mirror.route(plan.route.name),
            emit: emitObservation,
          });
        }
        return {
          subset: subset.name,
          breaker: subset.breaker,
          eligible: subset.eligible,
          tap,
          explain: (err) => explainFailure(err, plan, subset.name),
        };
      },
    };
  }

  return {
    control,
    get observing() {
      return listeners.size > 0;
    },
    emit(route, subset, status, durationMs) {
      if (listeners.size === 0) return;
      emitObservation({ route, subset, status, durationMs, mirrored: false });
    },
    forRuntime,
    reconcile(next) {
      for (const [routeName, split] of overrides) {
        const problems = issuesOf(next, routeName, split.weights);
        if (problems.length === 0) {
          const route = next.routes.find((r) => r.name === routeName) as ResolvedRoute;
          overrides.set(
            routeName,
            compileSplit(split.weights, Object.keys(next.subsets?.[route.service as string] ?? {})),
          );
          continue;
        }
        overrides.delete(routeName);
        deps.logger.warn(
          { route: routeName, split: split.weights, reason: problems.join('; ') },
          'traffic split override dropped on reload: the new config no longer supports it',
        );
      }
    },
  };
}

/** The plan of a route whose service has subsets (so a split can be set on it), else undefined. */
function planOf(route: ResolvedRoute, options: ResolvedGatewayOptions): RoutePlan | undefined {
  const service = route.service;
  if (service === undefined || route.upstreams !== undefined || route.aggregate !== undefined) return undefined;
  const defined = options.subsets?.[service];
  if (defined === undefined) return undefined;
  const subsets = new Map<string, Subset>();
  for (const [name, selector] of Object.entries(defined)) {
    subsets.set(name, { name, breaker: subsetBreakerName(service, name), eligible: eligibleBy(selector) });
  }
  const order = [...subsets.keys()];
  const traffic = route.traffic;
  const mirror = traffic?.mirror;
  const mirrorSubset = mirror === undefined ? undefined : subsets.get(mirror.subset);
  return {
    route,
    service,
    subsets,
    order,
    fixed: traffic?.subset,
    split: traffic?.split === undefined ? undefined : compileSplit(traffic.split, order),
    matches: compileMatches(traffic?.match),
    sticky:
      traffic?.sticky === undefined
        ? undefined
        : 'header' in traffic.sticky
          ? { header: traffic.sticky.header.toLowerCase() }
          : { cookie: traffic.sticky.cookie },
    mirror:
      mirror === undefined || mirrorSubset === undefined
        ? undefined
        : { subset: mirrorSubset, percent: mirror.percent, timeoutMs: mirror.timeout },
    subsetHeader: traffic?.subsetHeader ?? false,
  };
}

/**
 * The instances a selector picks: every `meta` pair with that value, every tag carried. The
 * answer is cached per list (discovery caches hand out the same array until it changes), so a
 * request usually costs one lookup.
 */
function eligibleBy(
  selector: ResolvedSubsets[string][string],
): (instances: readonly ServiceInstance[]) => readonly ServiceInstance[] {
  const meta = Object.entries(selector.meta ?? {});
  const tags = selector.tags ?? [];
  const matches = (instance: ServiceInstance): boolean => {
    for (const [key, value] of meta) if (instance.meta[key] !== value) return false;
    for (const tag of tags) if (!instance.tags.includes(tag)) return false;
    return true;
  };
  const cache = new WeakMap<readonly ServiceInstance[], readonly ServiceInstance[]>();
  return (instances) => {
    let eligible = cache.get(instances);
    if (eligible === undefined) {
      eligible = instances.filter(matches);
      cache.set(instances, eligible);
    }
    return eligible;
  };
}

/** A subset an override named that this (older) runtime does not define: it has no instance. */
function missingSubset(name: string): Subset {
  return { name, breaker: name, eligible: () => [] };
}

/**
 * The name of a subset's circuit breaker: each version of a service has its own, so a failing
 * canary opens its breaker only, never the stable version's.
 *
 * @example
 * ```ts
 * subsetBreakerName('orders', 'v2'); // 'orders/v2'
 * ```
 */
export function subsetBreakerName(service: string, subset: string): string {
  return `${service}/${subset}`;
}

/**
 * The breaker overrides of subsets: a service's routes' `breaker` settings apply to the
 * breaker of each of its subsets too.
 *
 * @example
 * ```ts
 * createBreakerRegistry({ defaults, overrides: { ...breakerOverridesOf(routes), ...subsetBreakerOverrides(options, breakerOverridesOf(routes)) } });
 * ```
 */
export function subsetBreakerOverrides<T>(
  options: ResolvedGatewayOptions,
  byService: Readonly<Record<string, T>>,
): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [service, subsets] of Object.entries(options.subsets ?? {})) {
    const override = byService[service];
    if (override === undefined) continue;
    for (const name of Object.keys(subsets)) out[subsetBreakerName(service, name)] = override;
  }
  return out;
}

function explainFailure(err: unknown, plan: RoutePlan, subset: string): unknown {
  if (!isSwitchyardError(err, 'SY_GATEWAY_NO_HEALTHY_INSTANCE')) return err;
  return gatewayError(
    'SY_GATEWAY_NO_HEALTHY_INSTANCE',
    `no healthy instance of subset ${JSON.stringify(subset)} of service ${JSON.stringify(plan.service)} for route ${plan.route.name}`,
    { cause: err.cause ?? err, details: { service: plan.service, subset, route: plan.route.name } },
  );
}

function invalidSplit(route: string, problems: readonly string[]): Error {
  return gatewayError(
    'SY_GATEWAY_INVALID_SPLIT',
    `invalid split for route ${JSON.stringify(route)}: ${problems.join('; ')}`,
    { details: { route, problems: [...problems] } },
  );
}
