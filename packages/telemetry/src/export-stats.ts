/**
 * Counting what happens to spans on their way out: exported, failed (the exporter gave up,
 * e.g. the collector is down) and dropped (the export queue was full). Telemetry never
 * blocks or throws into a request, so these counters are how a lost span shows up.
 */
import { type Counter, createNoopMeter, type Meter, type MeterProvider } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';

/** Span export counters since setup. */
export interface ExportStats {
  /** Spans the OTLP endpoint accepted. */
  readonly exported: number;
  /** Spans in export requests that failed (after the exporter's own retries). */
  readonly failed: number;
  /** Spans dropped because the export queue was full (the endpoint is slow or down). */
  readonly dropped: number;
}

/** Mutable counters behind {@link ExportStats}. */
export class ExportCounters implements ExportStats {
  exported = 0;
  failed = 0;
  dropped = 0;

  /** A frozen copy. */
  snapshot(): ExportStats {
    return Object.freeze({ exported: this.exported, failed: this.failed, dropped: this.dropped });
  }
}

/** Called when exporting starts failing (`error`) and when it works again (`undefined`). */
export type ExportHealthListener = (error: Error | undefined, counters: ExportStats) => void;

/**
 * Wraps an exporter to count exported and failed spans and report health transitions (one
 * call when exports start failing, one when they recover: never one per batch).
 */
export class CountingSpanExporter implements SpanExporter {
  readonly #inner: SpanExporter;
  readonly #counters: ExportCounters;
  readonly #onHealth: ExportHealthListener;
  #failing = false;

  constructor(inner: SpanExporter, counters: ExportCounters, onHealth: ExportHealthListener) {
    this.#inner = inner;
    this.#counters = counters;
    this.#onHealth = onHealth;
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    const count = spans.length;
    this.#inner.export(spans, (result) => {
      if (result.code === ExportResultCode.SUCCESS) {
        this.#counters.exported += count;
        if (this.#failing) {
          this.#failing = false;
          this.#onHealth(undefined, this.#counters.snapshot());
        }
      } else {
        this.#counters.failed += count;
        if (!this.#failing) {
          this.#failing = true;
          this.#onHealth(result.error ?? new Error('span export failed'), this.#counters.snapshot());
        }
      }
      resultCallback(result);
    });
  }

  forceFlush(): Promise<void> {
    return this.#inner.forceFlush?.() ?? Promise.resolve();
  }

  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }
}

/** The SDK's self-observability counter a batch span processor reports drops on. */
const PROCESSED_SPANS = 'otel.sdk.processor.span.processed';

/**
 * A meter provider that only listens to the batch span processor's
 * `otel.sdk.processor.span.processed{error.type="queue_full"}` counter and adds it to
 * `counters.dropped`; every other instrument is a no-op. (The processor keeps its drop count
 * private; this semantic-convention metric is its public report of it.)
 */
export function queueDropMeterProvider(counters: ExportCounters): MeterProvider {
  const dropCounter: Counter = {
    add(value, attributes) {
      if (attributes?.['error.type'] === 'queue_full') counters.dropped += value;
    },
  };
  const meter: Meter = Object.create(createNoopMeter()) as Meter;
  const noopCreateCounter = meter.createCounter.bind(meter);
  meter.createCounter = ((name: string, options) =>
    name === PROCESSED_SPANS ? dropCounter : noopCreateCounter(name, options)) as Meter['createCounter'];
  return { getMeter: () => meter };
}
