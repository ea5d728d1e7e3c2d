import { Registry } from 'prom-client';
import { createAdminMetrics } from './admin-metrics.ts';
import { createBulkheadMetrics } from './bulkhead-metrics.ts';
import { createBusMetrics } from './bus-metrics.ts';
import { createControlPlaneMetrics } from './control-plane-metrics.ts';
import { addDefaultMetrics } from './default-metrics.ts';
import { createDiscoveryMetrics } from './discovery-metrics.ts';
import { createHttpServerMetrics } from './http-metrics.ts';
import { MetricContext } from './internal/metric-context.ts';
import { createMirrorMetrics } from './mirror-metrics.ts';
import { type MetricsOptions, resolveMetricsOptions } from './options.ts';
import { createRateLimitMetrics } from './rate-limit-metrics.ts';
import { createSagaMetrics } from './saga-metrics.ts';
import type { MetricsInstruments } from './types.ts';
import { createUpstreamMetrics } from './upstream-metrics.ts';

/** A process's metrics: every instrument group, plus the prom-client registry and its exposition. */
export interface SwitchyardMetrics extends MetricsInstruments {
  readonly enabled: true;
  /** The prom-client registry holding the metrics; add the application's own metrics to it. */
  readonly registry: Registry;
  /** Content type of {@link SwitchyardMetrics.text}: Prometheus text format 0.0.4. */
  readonly contentType: string;
  /** The text exposition, as `/metrics` serves it. */
  text(): Promise<string>;
}

/**
 * Creates the metrics of one process (gateway or service) in a prom-client registry of its own
 * (or `options.registry`). Call it once at startup, then {@link setGlobalMetrics} so components
 * find it, and serve it with {@link metricsHandler}.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` for bad options (`telemetry.metrics.buckets: ...`)
 * @throws SwitchyardError `SY_TELEMETRY_METRIC_NAME_TAKEN` when the registry already holds a metric of the same name
 * @example
 * ```ts
 * const metrics = createMetrics({ defaultMetrics: false });
 * const orders = metrics.http.route('orders');
 * orders.observe('GET', 200, 0.012);
 * console.log(await metrics.text()); // switchyard_http_server_requests_total{route="orders",...} 1
 * ```
 */
export function createMetrics(options: MetricsOptions = {}): SwitchyardMetrics {
  const resolved = resolveMetricsOptions(options);
  const registry = resolved.registry ?? new Registry();
  const ctx = new MetricContext(registry, resolved);
  let instruments: MetricsInstruments & { enabled: true };
  try {
    instruments = {
      enabled: true,
      http: createHttpServerMetrics(ctx),
      upstream: createUpstreamMetrics(ctx),
      rateLimit: createRateLimitMetrics(ctx),
      mirror: createMirrorMetrics(ctx),
      bulkhead: createBulkheadMetrics(ctx),
      discovery: createDiscoveryMetrics(ctx),
      saga: createSagaMetrics(ctx),
      bus: createBusMetrics(ctx),
      admin: createAdminMetrics(ctx),
      controlPlane: createControlPlaneMetrics(ctx),
    };
    if (resolved.defaultMetrics) addDefaultMetrics(registry);
  } catch (err) {
    // All or nothing: a clash half-way leaves the given registry as it was.
    ctx.rollback();
    throw err;
  }
  return Object.freeze({
    ...instruments,
    registry,
    contentType: registry.contentType,
    text: () => registry.metrics(),
  });
}
