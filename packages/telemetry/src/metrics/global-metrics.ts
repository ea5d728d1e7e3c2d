import { noopMetrics } from './noop-metrics.ts';
import type { MetricsDisposable, MetricsInstruments } from './types.ts';

/**
 * Registry key on `globalThis`: `Symbol.for`, so two copies of this package in one process
 * (a duplicate install) still share the process's metrics.
 */
const KEY = Symbol.for('switchyard.telemetry.metrics');

interface Holder {
  [KEY]?: MetricsInstruments;
}

/**
 * The process's metrics, or {@link noopMetrics} when none were set. Components resolve their
 * handles from it when they are built (`globalMetrics().upstream.service('orders')`), so set
 * the metrics before building the gateway or service; handles resolved earlier stay no-ops.
 *
 * @example
 * ```ts
 * const route = globalMetrics().http.route('orders');
 * route.observe('GET', 200, 0.004);
 * ```
 */
export function globalMetrics(): MetricsInstruments {
  return (globalThis as Holder)[KEY] ?? noopMetrics;
}

/**
 * Makes `metrics` the process's metrics. Disposing the returned handle restores what was set
 * before (if `metrics` is still the current one), so tests can scope it with `using`.
 *
 * @example
 * ```ts
 * const metrics = createMetrics();
 * using _ = setGlobalMetrics(metrics);
 * globalMetrics() === metrics; // true
 * ```
 */
export function setGlobalMetrics(metrics: MetricsInstruments): MetricsDisposable {
  const holder = globalThis as Holder;
  const previous = holder[KEY];
  holder[KEY] = metrics;
  let disposed = false;
  const dispose = (): void => {
    if (disposed) return;
    disposed = true;
    if (holder[KEY] !== metrics) return;
    if (previous === undefined) delete holder[KEY];
    else holder[KEY] = previous;
  };
  return { dispose, [Symbol.dispose]: dispose };
}
