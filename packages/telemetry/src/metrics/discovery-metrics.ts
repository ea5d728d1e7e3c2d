import { HealthStatus } from '@switchyard/core';
import { CallbackGauge, type CallbackSeries } from './internal/callback-gauge.ts';
import type { MetricContext } from './internal/metric-context.ts';
import type { DiscoveryMetrics, InstanceHealthView, MetricsDisposable } from './types.ts';

const HEALTH: readonly string[] = Object.values(HealthStatus);

/**
 * Builds `registry_instances{service, health}`, computed at scrape time from the snapshot
 * sources: every service seen gets all three health series (0 where none), so a service whose
 * last instance turned critical shows `passing 0` rather than vanishing. Services past
 * `maxLabelValues` are summed under `other`; a health value outside core's `HealthStatus` is
 * counted as `critical` (unknown health is not healthy).
 */
export function createDiscoveryMetrics(ctx: MetricContext): DiscoveryMetrics {
  const sources = new Set<() => Iterable<InstanceHealthView>>();
  const max = ctx.options.maxLabelValues;
  const compute = (): CallbackSeries => {
    const counts = new Map<string, number[]>();
    for (const source of sources) {
      let snapshot: InstanceHealthView[];
      try {
        snapshot = [...source()];
      } catch {
        // Telemetry never throws into a scrape: a broken source is left out of this one.
        continue;
      }
      for (const instance of snapshot) {
        let service = typeof instance.service === 'string' && instance.service !== '' ? instance.service : 'unknown';
        if (!counts.has(service) && counts.size >= max) service = 'other';
        let row = counts.get(service);
        if (row === undefined) {
          row = HEALTH.map(() => 0);
          counts.set(service, row);
        }
        const h = HEALTH.indexOf(instance.status);
        (row[h < 0 ? HEALTH.indexOf(HealthStatus.Critical) : h] as number)++;
      }
    }
    const series: [string[], number][] = [];
    for (const [service, row] of counts) {
      for (let h = 0; h < HEALTH.length; h++) series.push([[service, HEALTH[h] as string], row[h] as number]);
    }
    return series;
  };
  ctx.add(
    new CallbackGauge(
      `${ctx.options.prefix}registry_instances`,
      'Registered service instances, by health.',
      ['service', 'health'],
      compute,
    ),
  );
  return {
    addInstanceSource(snapshot: () => Iterable<InstanceHealthView>): MetricsDisposable {
      // A wrapper per registration, so adding the same function twice counts it twice and
      // each handle removes only its own.
      const entry = () => snapshot();
      sources.add(entry);
      const dispose = (): void => {
        sources.delete(entry);
      };
      return { dispose, [Symbol.dispose]: dispose };
    },
  };
}
