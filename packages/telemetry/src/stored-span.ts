/**
 * The JSON-safe span shape the span store returns and the admin API and dashboard serve:
 * hex ids, microsecond numbers, plain attribute records, lower-case kind and status names.
 */
import { type Attributes, type HrTime, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';

/** A span kind by name. */
export type StoredSpanKind = 'internal' | 'server' | 'client' | 'producer' | 'consumer';

/** A span status by name. */
export type StoredStatusCode = 'unset' | 'ok' | 'error';

/** An attribute value as JSON. */
export type StoredAttributeValue = string | number | boolean | Array<string | number | boolean | null>;

/** A span event (e.g. `exception`). */
export interface StoredSpanEvent {
  readonly name: string;
  /** Microseconds since the Unix epoch. */
  readonly timeUs: number;
  readonly attributes: Record<string, StoredAttributeValue>;
}

/** A link to another span. */
export interface StoredSpanLink {
  readonly traceId: string;
  readonly spanId: string;
  readonly attributes: Record<string, StoredAttributeValue>;
}

/** One finished span, JSON-safe. */
export interface StoredSpan {
  /** 32 lower-case hex characters. */
  readonly traceId: string;
  /** 16 lower-case hex characters. */
  readonly spanId: string;
  /** The parent span id, or `null` for a root span (a remote parent counts as a parent). */
  readonly parentSpanId: string | null;
  readonly name: string;
  readonly kind: StoredSpanKind;
  /** `service.name` of the resource that produced the span. */
  readonly service: string;
  /** The instrumentation scope (tracer name). */
  readonly scope: string;
  /** Start, microseconds since the Unix epoch. */
  readonly startTimeUs: number;
  /** End, microseconds since the Unix epoch. */
  readonly endTimeUs: number;
  /** Duration in milliseconds (fractional). */
  readonly durationMs: number;
  readonly status: { readonly code: StoredStatusCode; readonly message?: string };
  readonly attributes: Record<string, StoredAttributeValue>;
  readonly events: readonly StoredSpanEvent[];
  readonly links: readonly StoredSpanLink[];
}

const kindNames: Record<number, StoredSpanKind> = {
  [SpanKind.INTERNAL]: 'internal',
  [SpanKind.SERVER]: 'server',
  [SpanKind.CLIENT]: 'client',
  [SpanKind.PRODUCER]: 'producer',
  [SpanKind.CONSUMER]: 'consumer',
};

const statusNames: Record<number, StoredStatusCode> = {
  [SpanStatusCode.UNSET]: 'unset',
  [SpanStatusCode.OK]: 'ok',
  [SpanStatusCode.ERROR]: 'error',
};

function hrTimeToUs(time: HrTime): number {
  return time[0] * 1_000_000 + Math.round(time[1] / 1000);
}

function jsonAttributes(attributes: Attributes | undefined): Record<string, StoredAttributeValue> {
  const out: Record<string, StoredAttributeValue> = {};
  if (attributes === undefined) return out;
  for (const key of Object.keys(attributes)) {
    const value = attributes[key];
    if (value === undefined) continue;
    if (Array.isArray(value)) {
      out[key] = value.map((v) => (v === undefined || (typeof v === 'number' && !Number.isFinite(v)) ? null : v));
    } else if (typeof value === 'number' && !Number.isFinite(value)) {
      out[key] = String(value);
    } else {
      out[key] = value as string | number | boolean;
    }
  }
  return out;
}

/** The service name of a span's resource (`unknown_service` when absent). */
export function spanService(span: ReadableSpan): string {
  const name = span.resource.attributes['service.name'];
  return typeof name === 'string' ? name : 'unknown_service';
}

/**
 * Converts an SDK span into the JSON-safe {@link StoredSpan}.
 *
 * @example
 * ```ts
 * const json = JSON.stringify(toStoredSpan(readableSpan));
 * ```
 */
export function toStoredSpan(span: ReadableSpan): StoredSpan {
  const ctx = span.spanContext();
  const start = hrTimeToUs(span.startTime);
  const end = hrTimeToUs(span.endTime);
  const status: { code: StoredStatusCode; message?: string } = { code: statusNames[span.status.code] ?? 'unset' };
  if (span.status.message !== undefined && span.status.message !== '') status.message = span.status.message;
  return {
    traceId: ctx.traceId,
    spanId: ctx.spanId,
    parentSpanId: span.parentSpanContext?.spanId ?? null,
    name: span.name,
    kind: kindNames[span.kind] ?? 'internal',
    service: spanService(span),
    scope: span.instrumentationScope.name,
    startTimeUs: start,
    endTimeUs: end,
    durationMs: (span.duration[0] * 1e9 + span.duration[1]) / 1e6,
    status,
    attributes: jsonAttributes(span.attributes),
    events: span.events.map((e) => ({
      name: e.name,
      timeUs: hrTimeToUs(e.time),
      attributes: jsonAttributes(e.attributes),
    })),
    links: span.links.map((l) => ({
      traceId: l.context.traceId,
      spanId: l.context.spanId,
      attributes: jsonAttributes(l.attributes),
    })),
  };
}
