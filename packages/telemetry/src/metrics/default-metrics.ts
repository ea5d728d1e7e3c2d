import { collectDefaultMetrics, type Registry } from 'prom-client';
import { telemetryError } from '../errors.ts';

/**
 * Adds prom-client's Node process metrics (`process_cpu_seconds_total`,
 * `process_resident_memory_bytes`, `nodejs_eventloop_lag_seconds`, `nodejs_gc_duration_seconds`,
 * ...) to `registry`, then removes every one that `promtool check metrics` rejects: a gauge
 * whose name ends in `_total` (prom-client 15 has `nodejs_active_handles_total`,
 * `nodejs_active_requests_total` and `nodejs_active_resources_total`; the per-type gauges
 * `nodejs_active_handles{type}` etc. stay, and `sum()` over them gives the same totals).
 * Returns the names removed.
 *
 * @throws SwitchyardError `SY_TELEMETRY_METRIC_NAME_TAKEN` when `registry` already has them
 * @example
 * ```ts
 * const registry = new Registry();
 * addDefaultMetrics(registry); // ['nodejs_active_handles_total', ...]
 * ```
 */
export function addDefaultMetrics(registry: Registry): string[] {
  const before = new Set(registry.getMetricsAsArray().map((m) => m.name));
  try {
    collectDefaultMetrics({ register: registry });
  } catch (err) {
    throw telemetryError(
      'SY_TELEMETRY_METRIC_NAME_TAKEN',
      'createMetrics: the registry already holds the Node process metrics; pass `defaultMetrics: false` or a registry of its own',
      { cause: err },
    );
  }
  const removed: string[] = [];
  for (const metric of registry.getMetricsAsArray()) {
    const { name, type } = metric as unknown as { name: string; type: string };
    if (before.has(name)) continue;
    if (name.endsWith('_total') && type !== 'counter') {
      registry.removeSingleMetric(name);
      removed.push(name);
    }
  }
  return removed;
}
