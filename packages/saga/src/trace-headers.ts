import { injectContext } from '@switchyard/telemetry';

/**
 * Returns a copy of `headers` carrying the active trace context (`traceparent`, `tracestate`,
 * `baggage`) when a span is active, in place of any the caller gave (a service's server span is
 * a child of the request's `traceparent`, so it is the better parent); with no active span the
 * caller's headers pass unchanged. What the saga engine stores as a saga's `meta` and what an outbox stores with an
 * event, so the work done later, maybe in another process, continues the same trace. Without
 * `setupTelemetry()` (or outside any span) it is a plain copy.
 *
 * @example
 * ```ts
 * const headers = withTraceHeaders({ 'sy-saga-id': orderId });
 * // inside a span: { 'sy-saga-id': 'o-1', traceparent: '00-4bf9...-00f0...-01' }
 * ```
 */
export function withTraceHeaders(headers?: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const copy: Record<string, string> = { ...headers };
  const active: Record<string, string> = {};
  injectContext(active);
  if (active.traceparent !== undefined) {
    // A span is active: it is the truest parent (a server span under the caller's traceparent).
    delete copy.tracestate;
    Object.assign(copy, active);
  }
  return copy;
}
