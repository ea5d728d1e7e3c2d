import { zPort } from '@switchyard/core';
import * as z from 'zod';

/**
 * The `telemetry:` section of `switchyard.yaml`. Present (even empty: `telemetry: {}`), it
 * turns telemetry on for `switchyard up`: tracing and metrics for the embedded registry and
 * gateway, a `/metrics` listener, and `OTEL_*` variables for every service instance. Absent,
 * `up` sets up nothing (services still see whatever `OTEL_*` variables `up` itself was given).
 */
export const upTelemetrySchema = z.strictObject({
  /** `service.name` of the embedded components' spans. */
  serviceName: z.string().min(1).default('switchyard'),
  /** Share of new traces the embedded components record, 0..1 (spans with a parent follow it). */
  samplingRatio: z.number().min(0).max(1).default(1),
  /**
   * OTLP/HTTP collector. `endpoint` is the base URL (`http://127.0.0.1:4318`): the embedded
   * components export to `<endpoint>/v1/traces`, and every service instance gets it as
   * `OTEL_EXPORTER_OTLP_ENDPOINT`. Left out: `OTEL_EXPORTER_OTLP_ENDPOINT` from `up`'s own
   * environment, if set, is used the same way.
   */
  otlp: z
    .strictObject({
      endpoint: z.url({ protocol: /^https?$/ }),
    })
    .optional(),
  /**
   * Where the Prometheus exposition of the embedded registry and gateway is served
   * (`GET /metrics`); `false` for no listener. Port `0` picks a free one (printed at start-up).
   */
  metrics: z
    .union([
      z.literal(false),
      z.strictObject({
        host: z.string().min(1).default('127.0.0.1'),
        port: zPort().default(9464),
      }),
    ])
    .prefault({}),
});

/** `telemetry:` as written. */
export type UpTelemetryInput = z.input<typeof upTelemetrySchema>;
/** `telemetry:` validated, with defaults. */
export type UpTelemetryConfig = z.output<typeof upTelemetrySchema>;
