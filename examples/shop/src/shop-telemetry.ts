/**
 * Tracing and metrics for a shop service process. Set up before the service builds its saga
 * engine, bus and HTTP client: those take their tracer and metric handles when they are created.
 */
import { createMetrics, setGlobalMetrics, setupTelemetry } from '@switchyard/telemetry';
import type { ShopEnv, ShopService, ShopTelemetrySettings } from './options.ts';

/** What {@link startShopTelemetry} set up, undone by `close`. */
export interface ShopTelemetry {
  /**
   * Restores the global metrics and shuts tracing down, flushing the last spans. Waits at most
   * `flushTimeoutMs` for a slow collector, so a collector that is down never holds up the exit.
   * Never rejects; idempotent.
   */
  close(): Promise<void>;
}

/** How long {@link ShopTelemetry.close} waits for the last export. */
export const shopTelemetryFlushTimeoutMs = 2000;

/**
 * Calls `setupTelemetry()` for this process (service name: `OTEL_SERVICE_NAME`, else the
 * service; the OTLP endpoint from `OTEL_EXPORTER_OTLP_ENDPOINT`) and publishes
 * `createMetrics()` as the global metrics, which `startService` then serves on `/metrics`.
 * The in-memory span store is off: nothing in the shop reads it. When the collector is down
 * or slow, spans are dropped and counted, and requests are neither failed nor slowed.
 *
 * @throws SwitchyardError `SY_TELEMETRY_ALREADY_SET_UP` when the process already set telemetry up
 * @example
 * ```ts
 * const telemetry = startShopTelemetry('orders', 'orders-1', { otlp: true, scheduledDelayMs: undefined });
 * // ... build the engine, bus and client, start the service ...
 * await telemetry.close();
 * ```
 */
export function startShopTelemetry(
  service: ShopService,
  instanceId: string,
  settings: ShopTelemetrySettings,
  env: ShopEnv = process.env,
): ShopTelemetry {
  const serviceName = env.OTEL_SERVICE_NAME?.trim() || service;
  const telemetry = setupTelemetry(
    {
      serviceName,
      instanceId,
      exporters: {
        memory: false,
        // Without an endpoint the exporter stays off; with one, only the delay is the shop's.
        ...(settings.otlp && settings.scheduledDelayMs !== undefined
          ? { otlp: { scheduledDelay: settings.scheduledDelayMs } }
          : {}),
      },
    },
    env,
  );
  let restore: { dispose(): void };
  try {
    restore = setGlobalMetrics(createMetrics());
  } catch (err) {
    void telemetry.shutdown();
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    close() {
      closing ??= (async () => {
        restore.dispose();
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, shopTelemetryFlushTimeoutMs);
        });
        await Promise.race([telemetry.shutdown(), timeout]);
        clearTimeout(timer);
      })();
      return closing;
    },
  };
}
