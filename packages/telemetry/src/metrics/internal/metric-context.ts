import type { Registry } from 'prom-client';
import { telemetryError } from '../../errors.ts';
import type { ResolvedMetricsOptions } from '../options.ts';
import { BoundedHandles } from './bounded-handles.ts';
import { CounterFamily } from './counter-family.ts';
import type { Family } from './family.ts';
import { GaugeFamily } from './gauge-family.ts';
import { HistogramFamily } from './histogram-family.ts';

/**
 * What every instrument group needs: names with the prefix, registration in the registry, and
 * cardinality caps whose overflow shows in `<prefix>metrics_label_overflow_total{label}`.
 */
export class MetricContext {
  readonly registry: Registry;
  readonly options: ResolvedMetricsOptions;
  readonly #overflow: CounterFamily;
  readonly #registered: string[] = [];

  constructor(registry: Registry, options: ResolvedMetricsOptions) {
    this.registry = registry;
    this.options = options;
    // Registered first: a name clash on it means the whole set is taken, and nothing to roll back.
    this.#overflow = this.counter(
      'metrics_label_overflow_total',
      'Label values replaced by "other" because a label reached its cardinality cap.',
      ['label'],
    );
  }

  counter(name: string, help: string, labelNames: readonly string[]): CounterFamily {
    return this.#register(new CounterFamily(this.options.prefix + name, help, labelNames));
  }

  gauge(name: string, help: string, labelNames: readonly string[]): GaugeFamily {
    return this.#register(new GaugeFamily(this.options.prefix + name, help, labelNames));
  }

  histogram(name: string, help: string, labelNames: readonly string[], bounds: readonly number[]): HistogramFamily {
    return this.#register(new HistogramFamily(this.options.prefix + name, help, labelNames, bounds));
  }

  /** Registers a family built elsewhere (a callback gauge). */
  add<F extends Family>(family: F): F {
    return this.#register(family);
  }

  /** Handles for the values of `label`, capped at `max` (default `maxLabelValues`). */
  bounded<H>(label: string, create: (value: string) => H, max = this.options.maxLabelValues): BoundedHandles<H> {
    const overflow = this.#overflow.child(label);
    return new BoundedHandles(max, create, () => overflow.inc());
  }

  #register<F extends Family>(family: F): F {
    const taken = this.registry.getSingleMetric(family.name);
    if (taken !== undefined) {
      throw telemetryError(
        'SY_TELEMETRY_METRIC_NAME_TAKEN',
        `createMetrics: the registry already holds a metric named "${family.name}"; pass another \`prefix\` or a registry of its own`,
        { details: { name: family.name } },
      );
    }
    // prom-client reads name/help/type and calls get() and reset(): the Family shape.
    this.registry.registerMetric(family as unknown as Parameters<Registry['registerMetric']>[0]);
    this.#registered.push(family.name);
    return family;
  }

  /** Removes every family this context registered, when creating the metrics failed half-way. */
  rollback(): void {
    for (const name of this.#registered) this.registry.removeSingleMetric(name);
    this.#registered.length = 0;
  }
}
