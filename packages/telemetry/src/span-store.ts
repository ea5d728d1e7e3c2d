/**
 * The in-memory span store: a bounded ring buffer of finished spans (the oldest is evicted
 * when full), queryable by trace id and by service. The embedded default of the admin API
 * and dashboard. Spans are kept as the SDK produced them and converted to the JSON-safe
 * {@link StoredSpan} only when queried, so the request path pays one array write per span.
 * Spans of other processes (received over OTLP) are kept as {@link StoredSpan}s beside them.
 */
import { type Context, type HrTime, SpanStatusCode, TraceFlags } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, Span as SdkSpan, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace';
import { type StoredSpan, type StoredStatusCode, spanService, toStoredSpan } from './stored-span.ts';

/** One trace in {@link SpanStore.recentTraces}: its root span summarised. */
export interface TraceSummary {
  readonly traceId: string;
  /** The root span's name (the earliest span without a parent in the store). */
  readonly name: string;
  /** The root span's service. */
  readonly service: string;
  /** Every service with a span in the trace, sorted. */
  readonly services: readonly string[];
  /** The root span's start, microseconds since the Unix epoch. */
  readonly startTimeUs: number;
  /** The root span's duration in milliseconds. */
  readonly durationMs: number;
  /** The root span's status. */
  readonly status: StoredStatusCode;
  /** Spans of this trace in the store. */
  readonly spanCount: number;
  /** Spans of this trace with status ERROR. */
  readonly errorCount: number;
}

/** Options of {@link SpanStore}. */
export interface SpanStoreOptions {
  /** Spans kept; the oldest is evicted beyond it. @default 10000 */
  capacity?: number;
}

/** Options of {@link SpanStore.recentTraces}. */
export interface RecentTracesQuery {
  /** Only traces with at least one span from this service. */
  service?: string;
  /** At most this many traces, newest first. @default 50 */
  limit?: number;
}

/**
 * A bounded in-memory span store that is also an OpenTelemetry `SpanExporter`.
 *
 * @example
 * ```ts
 * const store = new SpanStore({ capacity: 1000 });
 * const recent = store.recentTraces({ service: 'orders', limit: 20 });
 * const spans = store.trace(recent[0].traceId);
 * ```
 */
export class SpanStore implements SpanExporter {
  /** The maximum number of spans kept. */
  readonly capacity: number;
  readonly #ring: Array<HeldSpan | undefined>;
  #next = 0;
  #size = 0;

  constructor(options: SpanStoreOptions = {}) {
    const capacity = options.capacity ?? 10_000;
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`SpanStore.capacity: expected an integer >= 1, got ${capacity}`);
    }
    this.capacity = capacity;
    this.#ring = [];
  }

  /** The number of spans held. */
  get size(): number {
    return this.#size;
  }

  /** Adds a finished span, evicting the oldest when full. */
  add(span: ReadableSpan): void {
    this.#hold(span);
  }

  /**
   * Adds a span another process finished (decoded from OTLP, for example), evicting the oldest
   * when full. Its ids are stored lower-case.
   *
   * @example
   * ```ts
   * for (const span of decodeOtlpTraceRequest(body, contentType)) store.addStored(span);
   * ```
   */
  addStored(span: StoredSpan): void {
    this.#hold(span);
  }

  #hold(span: HeldSpan): void {
    this.#ring[this.#next] = span;
    this.#next = this.#next + 1 === this.capacity ? 0 : this.#next + 1;
    if (this.#size < this.capacity) this.#size++;
  }

  /** `SpanExporter.export`: adds every span; always succeeds. */
  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    for (const span of spans) this.add(span);
    resultCallback({ code: ExportResultCode.SUCCESS });
  }

  /** Nothing to flush: spans are stored synchronously. */
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  /** Keeps the spans (the admin API may still read them after tracing stops). */
  shutdown(): Promise<void> {
    return Promise.resolve();
  }

  /** Drops every span. */
  clear(): void {
    this.#ring.length = 0;
    this.#next = 0;
    this.#size = 0;
  }

  /** Calls `visit` for each held span, newest first. */
  #forEachNewest(visit: (span: HeldSpan) => void): void {
    for (let i = 1; i <= this.#size; i++) {
      const span = this.#ring[(this.#next - i + this.capacity) % this.capacity];
      if (span !== undefined) visit(span);
    }
  }

  /**
   * All held spans of a trace, ordered by start time (parents before children on ties).
   * Empty when the trace is unknown or evicted.
   */
  trace(traceId: string): StoredSpan[] {
    const id = traceId.toLowerCase();
    const spans: StoredSpan[] = [];
    this.#forEachNewest((span) => {
      if (traceIdOf(span) === id) spans.push(stored(span));
    });
    return spans.sort(
      (a, b) => a.startTimeUs - b.startTimeUs || Number(a.parentSpanId !== null) - Number(b.parentSpanId !== null),
    );
  }

  /** The most recent spans, newest first, optionally of one service. */
  spans(query: RecentTracesQuery = {}): StoredSpan[] {
    const limit = query.limit ?? 100;
    const out: StoredSpan[] = [];
    this.#forEachNewest((span) => {
      if (out.length >= limit) return;
      if (query.service === undefined || serviceOf(span) === query.service) out.push(stored(span));
    });
    return out;
  }

  /** The service names with spans in the store, sorted. */
  services(): string[] {
    const names = new Set<string>();
    this.#forEachNewest((span) => names.add(serviceOf(span)));
    return [...names].sort();
  }

  /**
   * Recent traces with their root span summarised, newest root first; with `service`, only
   * traces that service took part in.
   */
  recentTraces(query: RecentTracesQuery = {}): TraceSummary[] {
    const groups = new Map<string, HeldSpan[]>();
    this.#forEachNewest((span) => {
      const id = traceIdOf(span);
      const group = groups.get(id);
      if (group === undefined) groups.set(id, [span]);
      else group.push(span);
    });
    const summaries: TraceSummary[] = [];
    for (const [traceId, spans] of groups) {
      const services = [...new Set(spans.map(serviceOf))].sort();
      if (query.service !== undefined && !services.includes(query.service)) continue;
      summaries.push(summarise(traceId, spans, services));
    }
    summaries.sort((a, b) => b.startTimeUs - a.startTimeUs);
    return summaries.slice(0, query.limit ?? 50);
  }
}

/** A span as held: the SDK's own, or one received from another process. */
type HeldSpan = ReadableSpan | StoredSpan;

function isSdkSpan(span: HeldSpan): span is ReadableSpan {
  return typeof (span as Partial<ReadableSpan>).spanContext === 'function';
}

function traceIdOf(span: HeldSpan): string {
  return isSdkSpan(span) ? span.spanContext().traceId : span.traceId;
}

function spanIdOf(span: HeldSpan): string {
  return isSdkSpan(span) ? span.spanContext().spanId : span.spanId;
}

function parentIdOf(span: HeldSpan): string | undefined {
  return isSdkSpan(span) ? span.parentSpanContext?.spanId : (span.parentSpanId ?? undefined);
}

function serviceOf(span: HeldSpan): string {
  return isSdkSpan(span) ? spanService(span) : span.service;
}

function stored(span: HeldSpan): StoredSpan {
  return isSdkSpan(span) ? toStoredSpan(span) : span;
}

function isError(span: HeldSpan): boolean {
  return isSdkSpan(span) ? span.status.code === SpanStatusCode.ERROR : span.status.code === 'error';
}

/** Start in microseconds (SDK spans: from the high-resolution time, without rounding loss in the order). */
function startUsOf(span: HeldSpan): number {
  return isSdkSpan(span) ? hrTimeToMicros(span.startTime) : span.startTimeUs;
}

function hrTimeToMicros(time: HrTime): number {
  return time[0] * 1_000_000 + time[1] / 1000;
}

function summarise(traceId: string, spans: readonly HeldSpan[], services: string[]): TraceSummary {
  const ids = new Set(spans.map(spanIdOf));
  const roots = spans.filter((s) => {
    const parent = parentIdOf(s);
    return parent === undefined || !ids.has(parent);
  });
  const candidates = roots.length > 0 ? roots : spans;
  let earliest = candidates[0] as HeldSpan;
  for (const span of candidates) if (startUsOf(span) < startUsOf(earliest)) earliest = span;
  const root = stored(earliest);
  let errorCount = 0;
  for (const span of spans) if (isError(span)) errorCount++;
  return {
    traceId,
    name: root.name,
    service: root.service,
    services,
    startTimeUs: root.startTimeUs,
    durationMs: root.durationMs,
    status: root.status.code,
    spanCount: spans.length,
    errorCount,
  };
}

/**
 * A span processor that puts each sampled span into `store` as it ends: no batching, no
 * promise, no copy.
 *
 * @example
 * ```ts
 * new TracerProvider({ spanProcessors: [spanStoreProcessor(store)] });
 * ```
 */
export function spanStoreProcessor(store: SpanStore): SpanProcessor {
  return {
    onStart(_span: SdkSpan, _parent: Context): void {},
    onEnd(span: ReadableSpan): void {
      if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) !== 0) store.add(span);
    },
    forceFlush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
}
