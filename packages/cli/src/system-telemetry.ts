import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from '@switchyard/discovery';
import {
  createMetrics,
  type InstanceHealthView,
  metricsHandler,
  type SpanStore,
  type SwitchyardMetrics,
  setGlobalMetrics,
  setupTelemetry,
} from '@switchyard/telemetry';
import { cliError } from './errors.ts';
import type { UpTelemetryConfig } from './telemetry-config.ts';

/** Telemetry of a running `switchyard up`: the metrics URL, the env for services, and cleanup. */
export interface SystemTelemetry {
  /** `http://host:port/metrics`, or undefined with `metrics: false`. */
  readonly metricsUrl: string | undefined;
  /** `OTEL_*` variables every service instance gets. */
  readonly env: Readonly<Record<string, string>>;
  /** Where the embedded components' spans are kept (and the admin API reads and adds to). */
  readonly spanStore: SpanStore | undefined;
  /** Adds the registry's instances to `switchyard_registry_instances`. */
  watchRegistry(registry: Registry): void;
  /** Stops the listener, restores the global metrics, flushes and shuts down tracing. */
  close(): Promise<void>;
}

/**
 * Sets up telemetry for the components `switchyard up` embeds, before they are built (their
 * metric handles are resolved once, from the global metrics): `setupTelemetry()` for tracing,
 * `createMetrics()` published with `setGlobalMetrics()`, and a `/metrics` listener.
 *
 * `config` undefined is the admin API's embedded default (no `telemetry:` section): spans are
 * kept in the span store only (no OTLP export, whatever `up`'s environment says), metrics are
 * published for the admin API's `/metrics` without a listener of their own, and the instances
 * get no `OTEL_*` from here (the admin API gives them its own URL).
 *
 * @throws SwitchyardError `SY_CLI_METRICS_LISTEN_FAILED` when the metrics port cannot be bound,
 *   `SY_TELEMETRY_ALREADY_SET_UP` when this process already set telemetry up
 */
export async function startSystemTelemetry(
  given: UpTelemetryConfig | undefined,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<SystemTelemetry> {
  const embedded = given === undefined;
  const config: UpTelemetryConfig = given ?? { serviceName: 'switchyard', samplingRatio: 1, metrics: false };
  const otlpBase = embedded ? undefined : (config.otlp?.endpoint ?? env.OTEL_EXPORTER_OTLP_ENDPOINT);
  const telemetry = setupTelemetry(
    {
      serviceName: config.serviceName,
      samplingRatio: config.samplingRatio,
      ...(embedded ? { exporters: { otlp: false } } : {}),
      ...(config.otlp ? { exporters: { otlp: { endpoint: tracesUrl(config.otlp.endpoint) } } } : {}),
    },
    env,
  );
  const metrics = createMetrics();
  const restore = setGlobalMetrics(metrics);
  const sources: Array<{ dispose(): void }> = [];
  let server: Server | undefined;
  const close = async () => {
    for (const source of sources.splice(0)) source.dispose();
    if (server) await closeServer(server);
    restore.dispose();
    // The last export gets a bounded wait: a collector that accepts and never answers must not
    // hold up the stop for the exporter's own timeout.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      telemetry.shutdown(),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, SHUTDOWN_FLUSH_MS).unref();
      }),
    ]);
    clearTimeout(timer);
  };
  let metricsUrl: string | undefined;
  try {
    if (config.metrics !== false) {
      server = await listenMetrics(metrics, config.metrics.host, config.metrics.port);
      const { port } = server.address() as AddressInfo;
      const host = config.metrics.host.includes(':') ? `[${config.metrics.host}]` : config.metrics.host;
      metricsUrl = `http://${host}:${port}/metrics`;
    }
  } catch (err) {
    await close();
    throw err;
  }
  return {
    metricsUrl,
    env: otlpBase ? { OTEL_EXPORTER_OTLP_ENDPOINT: otlpBase } : {},
    spanStore: telemetry.spanStore,
    watchRegistry(registry) {
      sources.push(metrics.discovery.addInstanceSource(() => registryInstances(registry)));
    },
    close,
  };
}

/** How long stopping waits for the last spans to be exported. */
const SHUTDOWN_FLUSH_MS = 2000;

/** Every registered instance with its aggregated health, read at scrape time. */
export function* registryInstances(registry: Registry): Iterable<InstanceHealthView> {
  for (const name of Object.keys(registry.serviceNames())) {
    for (const entry of registry.instances(name)) yield { service: name, status: entry.Status };
  }
}

/** `OTEL_EXPORTER_OTLP_ENDPOINT` semantics: the base URL plus the signal path. */
function tracesUrl(base: string): string {
  return `${base.replace(/\/+$/, '')}/v1/traces`;
}

function listenMetrics(metrics: SwitchyardMetrics, host: string, port: number): Promise<Server> {
  const server = createServer(metricsHandler(metrics));
  return new Promise((resolve, reject) => {
    server.once('error', (err) =>
      reject(
        cliError(
          'SY_CLI_METRICS_LISTEN_FAILED',
          `telemetry.metrics: cannot listen on ${host}:${port}: ${err.message}`,
          {
            cause: err,
            details: { host, port },
          },
        ),
      ),
    );
    server.listen(port, host, () => resolve(server));
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
