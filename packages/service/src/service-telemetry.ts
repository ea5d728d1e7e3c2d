import {
  createMetrics,
  globalMetrics,
  type MetricsInstruments,
  type MetricsOptions,
  type SwitchyardMetrics,
  setGlobalMetrics,
  setupTelemetry,
  type TelemetryOptions,
} from '@switchyard/telemetry';

/**
 * The `telemetry` option of `startService`: `setupTelemetry()` options (`serviceName`
 * defaults to the service's name, `instanceId` to its id) plus `metrics`, the options of the
 * process's Prometheus metrics (`false`: set up tracing only).
 */
export interface ServiceTelemetryOptions extends TelemetryOptions {
  /** Options of `createMetrics()`; `false` leaves the global metrics alone. @default `{}` */
  metrics?: MetricsOptions | false;
}

/** What `startService` set up for itself, undone on close. */
export interface OwnTelemetry {
  close(): Promise<void>;
}

/**
 * Sets up tracing (and metrics, unless `metrics: false`) for a service process, before its
 * server is built so the request instruments resolve against the real metrics. Tracing
 * reads `OTEL_EXPORTER_OTLP_ENDPOINT` and friends from the environment, as `switchyard up`
 * passes them.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID`, `SY_TELEMETRY_ALREADY_SET_UP` (from `setupTelemetry`)
 */
export function setupServiceTelemetry(option: true | ServiceTelemetryOptions, name: string, id: string): OwnTelemetry {
  const { metrics: metricsOptions, ...tracing } = option === true ? {} : option;
  const telemetry = setupTelemetry({ serviceName: name, instanceId: id, ...tracing });
  let restore: { dispose(): void } | undefined;
  try {
    if (metricsOptions !== false) restore = setGlobalMetrics(createMetrics(metricsOptions ?? {}));
  } catch (err) {
    void telemetry.shutdown();
    throw err;
  }
  return {
    async close() {
      restore?.dispose();
      await telemetry.shutdown();
    },
  };
}

/** Whether the metrics can render an exposition (made by `createMetrics`, not the no-op). */
export function isExposable(metrics: MetricsInstruments): metrics is SwitchyardMetrics {
  const candidate = metrics as Partial<SwitchyardMetrics>;
  return metrics.enabled && typeof candidate.text === 'function' && typeof candidate.contentType === 'string';
}

/** The process's metrics when they can be served on `/metrics`, else undefined. */
export function exposableGlobalMetrics(): SwitchyardMetrics | undefined {
  const metrics = globalMetrics();
  return isExposable(metrics) ? metrics : undefined;
}
