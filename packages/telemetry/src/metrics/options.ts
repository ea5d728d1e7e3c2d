import { invalidConfig, resolveOptions } from '@switchyard/core';
import type { Registry } from 'prom-client';
import * as z from 'zod';

/** Default request duration buckets, in seconds: 5ms to 10s (prom-client's and Go's defaults). */
export const DEFAULT_HTTP_BUCKETS: readonly number[] = Object.freeze([
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

/** Default saga step duration buckets, in seconds: 10ms to 5 minutes (steps call other services). */
export const DEFAULT_SAGA_STEP_BUCKETS: readonly number[] = Object.freeze([
  0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
]);

/** User input for {@link createMetrics}. */
export interface MetricsOptions {
  /** prom-client registry to register into (to share it with the application's own metrics). @default a new Registry */
  registry?: Registry;
  /** Prefix of every Switchyard metric name; `""` or snake_case ending in `_`. @default "switchyard_" */
  prefix?: string;
  /**
   * Also expose prom-client's Node process metrics (`process_*`, `nodejs_*`), minus the three
   * gauges named `*_total` that `promtool check metrics` rejects. @default true
   */
  defaultMetrics?: boolean;
  /** Bucket upper bounds in seconds for `http_server_request_duration_seconds`, increasing. @default 0.005..10 */
  buckets?: readonly number[];
  /** Bucket upper bounds in seconds for `saga_step_duration_seconds`, increasing. @default 0.01..300 */
  sagaStepBuckets?: readonly number[];
  /** Distinct values kept per bounded label (route, service, topic, saga, ...) before `other`. @default 500 */
  maxLabelValues?: number;
  /** Distinct `instance` values kept per upstream service before `other`. @default 64 */
  maxInstancesPerService?: number;
}

/** {@link MetricsOptions} after validation (the registry is passed through untouched). */
export interface ResolvedMetricsOptions {
  readonly registry: Registry | undefined;
  readonly prefix: string;
  readonly defaultMetrics: boolean;
  readonly buckets: readonly number[];
  readonly sagaStepBuckets: readonly number[];
  readonly maxLabelValues: number;
  readonly maxInstancesPerService: number;
}

const buckets = z
  .array(z.number().positive().finite())
  .min(1)
  .refine((b) => b.every((v, i) => i === 0 || v > (b[i - 1] as number)), {
    message: 'expected strictly increasing bucket bounds',
  });

/** Schema for {@link MetricsOptions} without `registry` (a live object, checked apart and never frozen). */
export const metricsOptionsSchema = z.strictObject({
  prefix: z
    .string()
    .regex(/^(?:[a-z][a-z0-9_]*_)?$/, { message: 'expected "" or snake_case ending in "_", such as "switchyard_"' })
    .default('switchyard_'),
  defaultMetrics: z.boolean().default(true),
  buckets: buckets.default([...DEFAULT_HTTP_BUCKETS]),
  sagaStepBuckets: buckets.default([...DEFAULT_SAGA_STEP_BUCKETS]),
  maxLabelValues: z.number().int().min(1).default(500),
  maxInstancesPerService: z.number().int().min(1).default(64),
});

/**
 * Validates metrics options and fills in the defaults.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming the field (`telemetry.metrics.prefix: ...`)
 * @example
 * ```ts
 * const options = resolveMetricsOptions({ prefix: 'shop_', defaultMetrics: false });
 * options.maxInstancesPerService; // 64
 * ```
 */
export function resolveMetricsOptions(input: MetricsOptions = {}, root = 'telemetry.metrics'): ResolvedMetricsOptions {
  const { registry, ...rest } = input ?? {};
  if (registry !== undefined && !isRegistryLike(registry)) {
    throw invalidConfig([{ path: `${root}.registry`, message: 'expected a prom-client Registry' }]);
  }
  const value = resolveOptions(metricsOptionsSchema, rest, root);
  return Object.freeze({ registry, ...value });
}

function isRegistryLike(value: unknown): value is Registry {
  const r = value as Partial<Registry> | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.registerMetric === 'function' &&
    typeof r.metrics === 'function' &&
    typeof r.getSingleMetric === 'function'
  );
}
