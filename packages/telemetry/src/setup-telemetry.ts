/**
 * `setupTelemetry()`: the one call that turns tracing on for a process. Registers the global
 * OpenTelemetry tracer provider (parent-based ratio sampling, resource attributes), an
 * AsyncLocalStorage context manager and the W3C propagators, with the in-memory span store
 * and/or a batched OTLP/HTTP protobuf exporter.
 */
import { context, type MeterProvider, propagation, type TextMapPropagator, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  type Sampler,
  type SpanExporter,
  type SpanProcessor,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { telemetryError } from './errors.ts';
import {
  CountingSpanExporter,
  ExportCounters,
  type ExportHealthListener,
  type ExportStats,
  queueDropMeterProvider,
} from './export-stats.ts';
import { telemetryState } from './internal/telemetry-state.ts';
import { createLogger } from './logger.ts';
import { OtlpHttpSpanExporter } from './otlp-http-exporter.ts';
import { SpanStore, spanStoreProcessor } from './span-store.ts';
import {
  type ResolvedTelemetryOptions,
  resolveTelemetryOptions,
  type TelemetryEnv,
  type TelemetryOptions,
} from './telemetry-options.ts';

/** The handle `setupTelemetry()` returns. */
export interface Telemetry extends AsyncDisposable {
  /** The resolved options (frozen). */
  readonly options: ResolvedTelemetryOptions;
  /** The in-memory span store, or `undefined` when `exporters.memory` is `false`. */
  readonly spanStore: SpanStore | undefined;
  /** Exported / failed / dropped span counts of the OTLP exporter (zeros without it). */
  exportStats(): ExportStats;
  /** Exports every queued span now. Resolves even when the endpoint is down (the spans count as failed). */
  forceFlush(): Promise<void>;
  /**
   * Flushes, stops exporting and unregisters the globals, so `setupTelemetry()` may be called
   * again. Idempotent: later calls return the first call's promise.
   */
  shutdown(): Promise<void>;
}

function sampler(ratio: number): Sampler {
  const root = ratio >= 1 ? new AlwaysOnSampler() : new TraceIdRatioBasedSampler(ratio);
  return new ParentBasedSampler({ root });
}

function propagator(names: readonly string[]): TextMapPropagator {
  const propagators: TextMapPropagator[] = [];
  if (names.includes('tracecontext')) propagators.push(new W3CTraceContextPropagator());
  if (names.includes('baggage')) propagators.push(new W3CBaggagePropagator());
  return new CompositePropagator({ propagators });
}

type OtlpTraceExporterConfig = NonNullable<ConstructorParameters<typeof OTLPTraceExporter>[0]>;

interface OtlpPipeline {
  readonly processor: SpanProcessor;
  readonly exporter: CountingSpanExporter;
}

function otlpPipeline(options: ResolvedTelemetryOptions, counters: ExportCounters): OtlpPipeline | undefined {
  const otlp = options.exporters.otlp;
  if (otlp === undefined || otlp === false) return undefined;
  const log = createLogger({ component: 'telemetry' });
  const onHealth: ExportHealthListener = (error, stats) => {
    if (error)
      log.warn(
        { err: error, endpoint: otlp.endpoint, ...stats },
        'span export failing; spans are dropped until it recovers',
      );
    else log.info({ endpoint: otlp.endpoint, ...stats }, 'span export recovered');
  };
  const exporter: SpanExporter =
    otlp.implementation === 'opentelemetry'
      ? new OTLPTraceExporter({
          url: otlp.endpoint,
          ...(otlp.headers === undefined ? {} : { headers: { ...otlp.headers } }),
          timeoutMillis: otlp.timeout,
          // The exporter's `CompressionAlgorithm` enum has these same string values.
          compression: otlp.compression as NonNullable<OtlpTraceExporterConfig['compression']>,
        })
      : new OtlpHttpSpanExporter({
          url: otlp.endpoint,
          ...(otlp.headers === undefined ? {} : { headers: otlp.headers }),
          timeoutMs: otlp.timeout,
          compression: otlp.compression,
        });
  const selfObsMeterProvider: MeterProvider = queueDropMeterProvider(counters);
  const counting = new CountingSpanExporter(exporter, counters, onHealth);
  const processor = new BatchSpanProcessor({
    exporter: counting,
    maxQueueSize: otlp.maxQueueSize,
    maxExportBatchSize: Math.min(otlp.maxExportBatchSize, otlp.maxQueueSize),
    scheduledDelayMillis: otlp.scheduledDelay,
    exportTimeoutMillis: otlp.timeout,
    selfObsMeterProvider,
  });
  return { processor, exporter: counting };
}

function registerGlobals(provider: TracerProvider, options: ResolvedTelemetryOptions): AsyncLocalStorageContextManager {
  const contextManager = new AsyncLocalStorageContextManager().enable();
  // Undo only what this call registered: a failed registration leaves the other SDK's global.
  const contextOk = context.setGlobalContextManager(contextManager);
  const traceOk = contextOk && trace.setGlobalTracerProvider(provider);
  const propagationOk = traceOk && propagation.setGlobalPropagator(propagator(options.propagators));
  if (!propagationOk) {
    if (traceOk) trace.disable();
    if (contextOk) context.disable();
    contextManager.disable();
    throw telemetryError(
      'SY_TELEMETRY_GLOBAL_CONFLICT',
      `setupTelemetry("${options.serviceName}"): another OpenTelemetry SDK is registered globally; use it or remove it`,
    );
  }
  return contextManager;
}

function unregisterGlobals(contextManager: AsyncLocalStorageContextManager): void {
  trace.disable();
  propagation.disable();
  context.disable();
  contextManager.disable();
}

/**
 * Sets up tracing for this process and returns its handle. Call it once, first thing, in
 * every service (Switchyard components and users' services alike); instrumented code then
 * records spans through `getTracer()`/`traced()`.
 *
 * Environment fallbacks: `OTEL_SERVICE_NAME` for `serviceName`;
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (full URL) or `OTEL_EXPORTER_OTLP_ENDPOINT` (base URL,
 * `/v1/traces` appended) turn on the OTLP exporter with that endpoint unless
 * `exporters.otlp` is `false`.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming the bad field;
 *   `SY_TELEMETRY_ALREADY_SET_UP` when called again before `shutdown()`;
 *   `SY_TELEMETRY_GLOBAL_CONFLICT` when another OpenTelemetry SDK is registered
 * @example
 * ```ts
 * const telemetry = setupTelemetry({
 *   serviceName: 'orders',
 *   serviceVersion: '1.4.0',
 *   exporters: { otlp: { endpoint: 'http://127.0.0.1:4318/v1/traces' } },
 * });
 * process.on('SIGTERM', () => void telemetry.shutdown());
 * ```
 */
export function setupTelemetry(input: TelemetryOptions, env: TelemetryEnv = process.env): Telemetry {
  const options = resolveTelemetryOptions(input, env);
  if (telemetryState.activeService !== undefined) {
    throw telemetryError(
      'SY_TELEMETRY_ALREADY_SET_UP',
      `setupTelemetry("${options.serviceName}"): telemetry is already set up for "${telemetryState.activeService}"; call shutdown() on it first`,
      { details: { active: telemetryState.activeService } },
    );
  }
  const counters = new ExportCounters();
  const memory = options.exporters.memory;
  const spanStore = memory === false ? undefined : new SpanStore({ capacity: memory.capacity });
  const spanProcessors: SpanProcessor[] = [];
  if (spanStore !== undefined) spanProcessors.push(spanStoreProcessor(spanStore));
  const otlp = otlpPipeline(options, counters);
  if (otlp !== undefined) spanProcessors.push(otlp.processor);

  const resource = defaultResource().merge(
    resourceFromAttributes({
      ...options.resourceAttributes,
      'service.name': options.serviceName,
      'service.instance.id': options.instanceId,
      ...(options.serviceVersion === undefined ? {} : { 'service.version': options.serviceVersion }),
    }),
  );
  const provider = new TracerProvider({ resource, sampler: sampler(options.samplingRatio), spanProcessors });
  const contextManager = registerGlobals(provider, options);
  telemetryState.activeService = options.serviceName;
  telemetryState.generation++;

  let shutdownPromise: Promise<void> | undefined;
  const shutdown = (): Promise<void> => {
    shutdownPromise ??= (async () => {
      unregisterGlobals(contextManager);
      telemetryState.activeService = undefined;
      telemetryState.generation++;
      // A failed final export is already counted and logged; shutdown itself never rejects.
      await provider.shutdown().catch(() => undefined);
    })();
    return shutdownPromise;
  };
  return {
    options,
    spanStore,
    exportStats: () => counters.snapshot(),
    // The batch processor's flush does not wait for an export already in flight; the
    // exporter's does, so after forceFlush() every span is counted as exported or failed.
    forceFlush: async () => {
      await provider.forceFlush().catch(() => undefined);
      await otlp?.exporter.forceFlush().catch(() => undefined);
    },
    shutdown,
    [Symbol.asyncDispose]: shutdown,
  };
}
