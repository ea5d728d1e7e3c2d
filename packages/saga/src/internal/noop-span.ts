import type { Span } from '@switchyard/telemetry';

const INVALID_TRACE_ID = '00000000000000000000000000000000';

/**
 * True for the OpenTelemetry API's no-op span, what every span is until `setupTelemetry()`:
 * nothing to record, no context to make active or propagate, so the hot paths skip that work.
 * A span that is merely not sampled is not a no-op: its context still propagates the decision.
 */
export function isNoopSpan(span: Span): boolean {
  return !span.isRecording() && span.spanContext().traceId === INVALID_TRACE_ID;
}
