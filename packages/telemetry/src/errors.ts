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
