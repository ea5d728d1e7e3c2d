/**
 * Options of `setupTelemetry()`: the zod schema, defaults, and the `OTEL_*` environment
 * fallbacks.
 */
import { randomUUID } from 'node:crypto';
import { resolveOptions, zDuration } from '@switchyard/core';
import * as z from 'zod';

/** The default OTLP/HTTP traces endpoint (a collector on this host). */
export const DEFAULT_OTLP_TRACES_ENDPOINT = 'http://127.0.0.1:4318/v1/traces';

const otlpSchema = z.strictObject({
  /** Full URL of the OTLP/HTTP traces endpoint. */
  endpoint: z
    .url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' })
    .default(DEFAULT_OTLP_TRACES_ENDPOINT),
  /** Extra request headers, e.g. an API key. */
  headers: z.record(z.string(), z.string()).optional(),
  /** Per-request timeout, retries included. */
  timeout: zDuration().default(10_000),
  /** Spans queued for export; beyond it new spans are dropped and counted. */
  maxQueueSize: z.int().min(1).default(2048),
  /** Spans per export request. */
  maxExportBatchSize: z.int().min(1).default(512),
  /** Delay between two scheduled exports. */
  scheduledDelay: zDuration().default(5000),
  /** `gzip` compresses each export request body. */
  compression: z.enum(['none', 'gzip']).default('none'),
  /** `switchyard`: the built-in encoder and keep-alive HTTP client; `opentelemetry`: `@opentelemetry/exporter-trace-otlp-proto`. */
  implementation: z.enum(['switchyard', 'opentelemetry']).default('switchyard'),
});

const memorySchema = z.strictObject({
  /** Spans kept in the in-memory store; the oldest is evicted. */
  capacity: z.int().min(1).default(10_000),
});

const propagatorSchema = z.enum(['tracecontext', 'baggage']);

/** The schema of {@link TelemetryOptions}. */
export const telemetryOptionsSchema = z.strictObject({
  serviceName: z.string().min(1),
  serviceVersion: z.string().min(1).optional(),
  instanceId: z.string().min(1).optional(),
  samplingRatio: z.number().min(0).max(1).default(1),
  exporters: z
    .strictObject({
      otlp: z.union([z.literal(false), otlpSchema]).optional(),
      memory: z.union([z.literal(false), memorySchema]).default({ capacity: 10_000 }),
    })
    .default({ memory: { capacity: 10_000 } }),
  propagators: z.array(propagatorSchema).default(['tracecontext', 'baggage']),
  resourceAttributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
});

/**
 * Options of `setupTelemetry()`.
 *
 * @example
 * ```ts
 * const options: TelemetryOptions = {
 *   serviceName: 'orders',
 *   samplingRatio: 0.25,
 *   exporters: { otlp: { endpoint: 'http://collector:4318/v1/traces' } },
 * };
 * ```
 */
export interface TelemetryOptions {
  /** `service.name`. Falls back to `OTEL_SERVICE_NAME`; required one way or the other. */
  serviceName?: string;
  /** `service.version`. */
  serviceVersion?: string;
  /** `service.instance.id`. @default a random UUID per process */
  instanceId?: string;
  /** Ratio of new root traces sampled, 0..1; child spans follow their parent's decision. @default 1 */
  samplingRatio?: number;
  exporters?: {
    /**
     * OTLP over HTTP (protobuf). Off unless given, or unless `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
     * / `OTEL_EXPORTER_OTLP_ENDPOINT` is set; `false` turns it off even then.
     */
    otlp?:
      | false
      | {
          /** @default `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, else `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`, else `http://127.0.0.1:4318/v1/traces` */
          endpoint?: string;
          /** Extra HTTP headers, e.g. `{ authorization: 'Bearer ...' }`. */
          headers?: Record<string, string>;
          /** Per-export timeout, retries included: `"10s"` or ms. @default 10000 */
          timeout?: string | number;
          /** Spans waiting for export; when full, new spans are dropped and counted. @default 2048 */
          maxQueueSize?: number;
          /** Spans per export request. @default 512 */
          maxExportBatchSize?: number;
          /** Delay between scheduled exports: `"5s"` or ms. @default 5000 */
          scheduledDelay?: string | number;
          /** `gzip` compresses each export request body. @default 'none' */
          compression?: 'none' | 'gzip';
          /**
           * `switchyard`: the built-in OTLP protobuf encoder and keep-alive HTTP client (about half
           * the CPU per span); `opentelemetry`: `@opentelemetry/exporter-trace-otlp-proto`'s
           * `OTLPTraceExporter`, e.g. to use its `OTEL_EXPORTER_OTLP_*` certificate settings.
           * Both send the same bytes and are counted alike. @default 'switchyard'
           */
          implementation?: 'switchyard' | 'opentelemetry';
        };
    /** The in-memory span store read by the admin API; `false` turns it off. @default { capacity: 10000 } */
    memory?: false | { capacity?: number };
  };
  /** Propagation formats. @default ['tracecontext', 'baggage'] */
  propagators?: Array<'tracecontext' | 'baggage'>;
  /** Extra resource attributes (e.g. `deployment.environment.name`). */
  resourceAttributes?: Record<string, string | number | boolean>;
}

/** Validated options with every default applied (frozen). */
export type ResolvedTelemetryOptions = Readonly<z.output<typeof telemetryOptionsSchema>> & {
  readonly instanceId: string;
};

/** Where the environment may fill in options (for tests: pass your own record). */
export type TelemetryEnv = Readonly<Record<string, string | undefined>>;

function envEndpoint(env: TelemetryEnv): string | undefined {
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (traces) return traces;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (base) return `${base.replace(/\/+$/, '')}/v1/traces`;
  return undefined;
}

/**
 * `OTEL_EXPORTER_OTLP_HEADERS` format: `key=value` pairs separated by commas, values
 * percent-encoded (the OpenTelemetry specification's exporter configuration).
 */
function parseEnvHeaders(value: string | undefined): Record<string, string> | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const headers: Record<string, string> = {};
  for (const pair of value.split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const raw = pair.slice(eq + 1).trim();
    let decoded = raw;
    try {
      decoded = decodeURIComponent(raw);
    } catch {
      // Not percent-encoded after all: keep it as written.
    }
    headers[pair.slice(0, eq).trim().toLowerCase()] = decoded;
  }
  return headers;
}

/** The traces-specific variable, else the generic one. */
function envValue(env: TelemetryEnv, what: string): string | undefined {
  const value = env[`OTEL_EXPORTER_OTLP_TRACES_${what}`]?.trim() || env[`OTEL_EXPORTER_OTLP_${what}`]?.trim();
  return value === '' ? undefined : value;
}

/** Headers, compression and timeout from `OTEL_EXPORTER_OTLP_[TRACES_]*`; explicit options win. */
function withOtlpEnv(otlp: Record<string, unknown>, env: TelemetryEnv): Record<string, unknown> {
  const out = { ...otlp };
  const headers = parseEnvHeaders(envValue(env, 'HEADERS'));
  if (headers !== undefined) {
    const explicit = out.headers;
    out.headers =
      explicit !== null && typeof explicit === 'object' && !Array.isArray(explicit)
        ? { ...headers, ...(explicit as Record<string, unknown>) }
        : (explicit ?? headers);
  }
  const compression = envValue(env, 'COMPRESSION');
  if (out.compression === undefined && compression !== undefined) out.compression = compression;
  const timeout = envValue(env, 'TIMEOUT');
  if (out.timeout === undefined && timeout !== undefined && /^\d+$/.test(timeout)) out.timeout = Number(timeout);
  return out;
}

function withEnvFallbacks(input: unknown, env: TelemetryEnv): unknown {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return input;
  const options = { ...(input as Record<string, unknown>) };
  const serviceName = env.OTEL_SERVICE_NAME?.trim();
  if (options.serviceName === undefined && serviceName) options.serviceName = serviceName;
  const exporters = options.exporters;
  if (exporters !== undefined && (exporters === null || typeof exporters !== 'object')) return options;
  const exp = { ...((exporters as Record<string, unknown> | undefined) ?? {}) };
  if (exp.otlp === false) return options;
  const endpoint = envEndpoint(env);
  if (exp.otlp === undefined) {
    if (endpoint === undefined) return options;
    exp.otlp = { endpoint };
  } else if (
    endpoint !== undefined &&
    typeof exp.otlp === 'object' &&
    exp.otlp !== null &&
    (exp.otlp as Record<string, unknown>).endpoint === undefined
  ) {
    exp.otlp = { ...(exp.otlp as Record<string, unknown>), endpoint };
  }
  if (typeof exp.otlp === 'object' && exp.otlp !== null && !Array.isArray(exp.otlp)) {
    exp.otlp = withOtlpEnv(exp.otlp as Record<string, unknown>, env);
  }
  options.exporters = exp;
  return options;
}

/**
 * Validates `setupTelemetry()` options, applying defaults and the environment fallbacks
 * (`OTEL_SERVICE_NAME`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_EXPORTER_OTLP_ENDPOINT`;
 * with the OTLP exporter on, `OTEL_EXPORTER_OTLP_[TRACES_]HEADERS`, `..._COMPRESSION` and
 * `..._TIMEOUT` in ms, as OpenTelemetry's exporters read them).
 * Explicit options win over the environment.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming each bad field (`telemetry.samplingRatio: ...`)
 * @example
 * ```ts
 * const resolved = resolveTelemetryOptions({ serviceName: 'orders' });
 * resolved.exporters.memory; // { capacity: 10000 }
 * ```
 */
export function resolveTelemetryOptions(
  input: TelemetryOptions,
  env: TelemetryEnv = process.env,
): ResolvedTelemetryOptions {
  const resolved = resolveOptions(telemetryOptionsSchema, withEnvFallbacks(input, env), 'telemetry');
  if (resolved.instanceId !== undefined) return resolved as ResolvedTelemetryOptions;
  return Object.freeze({ ...resolved, instanceId: randomUUID() });
}
