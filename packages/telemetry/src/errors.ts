import { type ErrorCodeSpec, errorFactory } from '@switchyard/core';

/** Error codes owned by `@switchyard/telemetry`. Codes are public API: never renamed or reused. */
export const telemetryErrorCodes = {
  SY_TELEMETRY_ALREADY_SET_UP: {
    summary: '`setupTelemetry()` was called while an earlier setup is still active in this process.',
    retryable: false,
  },
  SY_TELEMETRY_METRIC_NAME_TAKEN: {
    summary:
      '`createMetrics()` found a metric of the same name already in the prom-client registry it was given (two metrics objects on one registry, or an application metric with a Switchyard name).',
    retryable: false,
  },
  SY_TELEMETRY_GLOBAL_CONFLICT: {
    summary:
      'Another OpenTelemetry SDK already registered the global tracer provider, context manager or propagator, so `setupTelemetry()` cannot.',
    retryable: false,
  },
  SY_TELEMETRY_OTLP_INVALID: {
    summary:
      'An OTLP/HTTP trace export could not be decoded: not an ExportTraceServiceRequest in protobuf or JSON, or a span with a malformed id.',
    retryable: false,
  },
  SY_TELEMETRY_OTLP_TOO_LARGE: {
    summary: 'An OTLP/HTTP trace export body is larger than the receiver accepts (4 MiB by default).',
    retryable: false,
  },
  SY_TELEMETRY_OTLP_UNSUPPORTED_MEDIA_TYPE: {
    summary:
      'An OTLP/HTTP trace export has a content type other than application/x-protobuf or application/json, or an encoding other than gzip.',
    retryable: false,
  },
  SY_TELEMETRY_EXPORT_FAILED: {
    summary:
      'Spans could not be exported to the OTLP endpoint: it refused the connection, did not answer in time, or answered a non-2xx status (after retries on 429, 502, 503 and 504). The spans are counted as failed; the application is not affected.',
    retryable: true,
  },
} as const satisfies Record<string, ErrorCodeSpec>;

/** A code from {@link telemetryErrorCodes}. */
export type TelemetryErrorCode = keyof typeof telemetryErrorCodes;

/**
 * Creates an error with one of the telemetry package's codes.
 *
 * @example
 * ```ts
 * throw telemetryError('SY_TELEMETRY_ALREADY_SET_UP', 'setupTelemetry: already set up for "orders"');
 * ```
 */
export const telemetryError = errorFactory(telemetryErrorCodes);
