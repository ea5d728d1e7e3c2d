/**
 * `@switchyard/telemetry`: tracing, metrics and logs for every Switchyard component.
 *
 * @packageDocumentation
 */

export type { TelemetryErrorCode } from './errors.ts';
export { telemetryError, telemetryErrorCodes } from './errors.ts';
export type { ExportStats } from './export-stats.ts';
export type { LogLevel, LogLevelSpec } from './log-levels.ts';
export { isLogLevel, LOG_LEVELS, levelFor, parseLogLevelSpec } from './log-levels.ts';
export type { Logger, LoggerOptions } from './logger.ts';
export { createLogger } from './logger.ts';
export type { SwitchyardMetrics } from './metrics/create-metrics.ts';
export { createMetrics } from './metrics/create-metrics.ts';
export { addDefaultMetrics } from './metrics/default-metrics.ts';
export { globalMetrics, setGlobalMetrics } from './metrics/global-metrics.ts';
export type { MetricsHandlerOptions } from './metrics/metrics-handler.ts';
export { metricsHandler } from './metrics/metrics-handler.ts';
export { noopMetrics } from './metrics/noop-metrics.ts';
export type { MetricsOptions, ResolvedMetricsOptions } from './metrics/options.ts';
export {
  DEFAULT_HTTP_BUCKETS,
  DEFAULT_SAGA_STEP_BUCKETS,
  metricsOptionsSchema,
  resolveMetricsOptions,
} from './metrics/options.ts';
export type {
  AdminMetrics,
  BulkheadInstanceMetrics,
  BulkheadMetrics,
  BusConsumerMetrics,
  BusMetrics,
  BusPublisherMetrics,
  ControlPlaneMetrics,
  DiscoveryMetrics,
  HttpRouteMetrics,
  HttpServerMetrics,
  InstanceHealthView,
  MetricsDisposable,
  MetricsInstruments,
  MirrorMetrics,
  MirrorRouteMetrics,
  RateLimitMetrics,
  RateLimitRouteCounts,
  RateLimitRouteMetrics,
  SagaDefinitionMetrics,
  SagaMetrics,
  SagaStepMetrics,
  UpstreamInstanceMetrics,
  UpstreamMetrics,
  UpstreamServiceMetrics,
} from './metrics/types.ts';
export {
  AdminAuthRefusal,
  BreakerStateLabel,
  BusConsumeOutcome,
  HTTP_METHODS,
  MirrorOutcome,
  RateLimitDecision,
  RegistryAuthRefusal,
  SagaStepOutcome,
  SagaStepPhase,
  STATUS_CLASSES,
  UpstreamFailureReason,
  XdsAuthRefusal,
} from './metrics/types.ts';
export type { OtlpHttpSpanExporterOptions } from './otlp-http-exporter.ts';
export { OtlpHttpSpanExporter } from './otlp-http-exporter.ts';
export type { OtlpReceiveOptions, OtlpReply, ReceivedSpan, ReceivedSpanKind, ReceivedValue } from './otlp-receiver.ts';
export {
  DEFAULT_OTLP_MAX_BODY_BYTES,
  decodeOtlpTraces,
  decodeOtlpTracesJson,
  otlpErrorStatus,
  receiveOtlpTraces,
  toStoredFromOtlp,
} from './otlp-receiver.ts';
export { encodeOtlpTraceRequest } from './otlp-trace-encoder.ts';
export type { LineSink } from './pretty-log.ts';
export { formatPrettyLine, prettyDestination } from './pretty-log.ts';
export type { HeaderCarrier } from './propagation.ts';
export { baggageEntries, extractContext, injectContext, withBaggage } from './propagation.ts';
export { errorType, recordError } from './record-error.ts';
export {
  CommonAttributes,
  HttpAttributes,
  MessagingAttributes,
  MessagingOperationType,
  SwitchyardAttributes,
} from './semconv.ts';
export type { Telemetry } from './setup-telemetry.ts';
export { setupTelemetry } from './setup-telemetry.ts';
export type { RecentTracesQuery, SpanStoreOptions, TraceSummary } from './span-store.ts';
export { SpanStore, spanStoreProcessor } from './span-store.ts';
export type {
  StoredAttributeValue,
  StoredSpan,
  StoredSpanEvent,
  StoredSpanKind,
  StoredSpanLink,
  StoredStatusCode,
} from './stored-span.ts';
export { toStoredSpan } from './stored-span.ts';
export type { ResolvedTelemetryOptions, TelemetryEnv, TelemetryOptions } from './telemetry-options.ts';
export { DEFAULT_OTLP_TRACES_ENDPOINT, resolveTelemetryOptions, telemetryOptionsSchema } from './telemetry-options.ts';
export type { TracedOptions } from './traced.ts';
export { traced } from './traced.ts';
export type {
  Attributes,
  AttributeValue,
  Context,
  Link,
  Span,
  SpanContext,
  SpanOptions,
  StartSpanOptions,
  Tracer,
} from './tracer.ts';
export {
  activeContext,
  activeSpan,
  getTracer,
  SpanKind,
  SpanStatusCode,
  startSpan,
  withContext,
  withSpan,
} from './tracer.ts';
