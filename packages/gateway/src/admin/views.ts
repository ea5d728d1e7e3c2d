import { isSwitchyardError } from '@switchyard/core';
import { globalMetrics } from '@switchyard/telemetry';
import { kindOf, type ResolvedMiddlewareEntry } from '../middleware/options.ts';
import type { ResolvedGatewayOptions } from '../options.ts';
import { redactSecrets } from './redact.ts';
import type { GatewaySharedServices, GatewayState } from './state.ts';

// The JSON documents of the admin API, built from the config in use and the shared services.
// Every value that comes from the config goes through redactSecrets.

/** How long `GET /admin/upstreams` waits for discovery per service. */
const discoveryWaitMs = 2000;

/** The options of a `middleware:` entry (the value under its one key). */
function middlewareSettings(entry: ResolvedMiddlewareEntry): unknown {
  return (entry as Readonly<Record<string, unknown>>)[kindOf(entry)];
}

/** `GET /admin/routes`: each route's match fields, target, timeout and middleware kinds. */
export function routesView(state: GatewayState): Record<string, unknown> {
  const { options } = state;
  return {
    configVersion: state.configVersion,
    middleware: options.middleware.map(kindOf),
    routes: options.routes.map((route) => {
      // The split in force: a run-time override (a rollout) or the config's `traffic`.
      const split = state.traffic?.split(route.name);
      return {
        ...(redactSecrets(route) as Record<string, unknown>),
        middleware: route.middleware.map(kindOf),
        ...(split === undefined ? {} : { split }),
      };
    }),
  };
}

/** `GET /admin/rate-limits`: the configured limits, gateway-wide and per route (settings, not counters). */
export function rateLimitsView(state: GatewayState): Record<string, unknown> {
  const { options } = state;
  const limits = (entries: readonly ResolvedMiddlewareEntry[]) =>
    entries.filter((entry) => kindOf(entry) === 'rateLimit').map((entry) => redactSecrets(middlewareSettings(entry)));
  // Decisions counted since start (with metrics set up), by route, whichever limit made them.
  const counts = new Map(
    globalMetrics()
      .rateLimit.counts()
      .map((c) => [c.route, c]),
  );
  const decisions = [...counts.values()].map((c) => ({ ...c, rejections: c.limited }));
  return {
    configVersion: state.configVersion,
    gateway: limits(options.middleware),
    routes: options.routes
      .map((route) => ({
        route: route.name,
        limits: limits(route.middleware),
        rejections: counts.get(route.name)?.limited ?? 0,
      }))
      .filter((entry) => entry.limits.length > 0),
    rejections: decisions.reduce((sum, d) => sum + d.limited, 0),
    decisions,
  };
}

/** `GET /admin/config`: the config in use, resolved (durations in ms), secrets redacted. */
export function configView(state: GatewayState): Record<string, unknown> {
  return {
    configVersion: state.configVersion,
    loadedAt: state.loadedAt.toISOString(),
    config: redactSecrets(state.options),
  };
}

/** `GET /admin/breakers`: every breaker the client has created (one per service called). */
export function breakersView(services: GatewaySharedServices): Record<string, unknown> {
  return { breakers: services.client.breakers.list() };
}

/**
 * `GET /admin/upstreams`: per service the routes reach, its instances as discovery reports
 * them, each with the shared statistics and outlier-ejection state, and the service's breaker.
 */
export async function upstreamsView(state: GatewayState): Promise<Record<string, unknown>> {
  const { services } = state;
  const names = serviceNames(state.options);
  const upstreams = await Promise.all(names.map((service) => upstreamView(service, services)));
  return { outlierDetection: services.outliers.options, upstreams };
}

async function upstreamView(service: string, services: GatewaySharedServices): Promise<Record<string, unknown>> {
  const { client, stats, outliers } = services;
  const breaker = client.breakers.has(service) ? client.breakers.get(service).snapshot() : null;
  try {
    const found = await services.discovery.instances(service, AbortSignal.timeout(discoveryWaitMs));
    const now = stats.clock.now();
    const instances = found.map((instance) => {
      const stat = stats.get(instance.id);
      const ejected = outliers.isEjected(instance.id);
      return {
        id: instance.id,
        address: instance.address,
        port: instance.port,
        status: instance.status,
        weight: instance.weight,
        tags: instance.tags,
        ejected,
        ejectedForMs: ejected && stat !== undefined ? Math.max(0, stat.ejectedUntil - now) : 0,
        stats:
          stat === undefined
            ? null
            : {
                inFlight: stat.inFlight,
                requests: stat.requests,
                consecutiveFailures: stat.consecutiveFailures,
                ewmaMs: Math.round(stat.ewmaMs * 100) / 100,
                ejections: stat.ejections,
              },
      };
    });
    return { service, breaker, instances };
  } catch (err) {
    const error = isSwitchyardError(err)
      ? { code: err.code, message: err.message }
      : { code: 'SY_GATEWAY_DISCOVERY_FAILED', message: err instanceof Error ? err.message : String(err) };
    return { service, breaker, instances: [], error };
  }
}

/** Services named by routes: `service:` of forwarding routes and `service` fields of aggregate calls. */
function serviceNames(options: ResolvedGatewayOptions): string[] {
  const names = new Set<string>();
  for (const route of options.routes) {
    if (route.service !== undefined) names.add(route.service);
    if (route.aggregate !== undefined) collectServices(route.aggregate, names);
  }
  return [...names].sort();
}

function collectServices(value: unknown, into: Set<string>): void {
  if (Array.isArray(value)) {
    for (const item of value) collectServices(item, into);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  for (const [key, child] of Object.entries(value)) {
    if (key === 'service' && typeof child === 'string') into.add(child);
    else collectServices(child, into);
  }
}

/**
 * Why the gateway is not ready, or `undefined` when it is. A handler always holds a validated
 * config (it cannot be created without one, and a failed reload keeps the old one), so the
 * config needs no check of its own.
 */
export function notReadyReason(state: GatewayState, listening: boolean): 'not_listening' | 'draining' | undefined {
  if (state.draining) return 'draining';
  if (!listening) return 'not_listening';
  return undefined;
}
