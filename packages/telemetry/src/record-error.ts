/**
 * Recording a failure on a span the same way in every package: an `exception` event, ERROR
 * status and `error.type` (the Switchyard error code when there is one).
 */
import { type Span, SpanStatusCode } from '@opentelemetry/api';
import { isSwitchyardError } from '@switchyard/core';
import { CommonAttributes } from './semconv.ts';

/**
 * The `error.type` value for `err`: a Switchyard code (`SY_GATEWAY_UPSTREAM_TIMEOUT`), else
 * the error's `name` (`TypeError`), else `_OTHER` as the semantic conventions ask.
 *
 * @example
 * ```ts
 * errorType(new TypeError('x')); // 'TypeError'
 * ```
 */
export function errorType(err: unknown): string {
  if (isSwitchyardError(err)) return err.code;
  if (err instanceof Error && err.name !== '') return err.name;
  return '_OTHER';
}

/**
 * Records `err` on `span`: an `exception` event (type, message, stack), status ERROR with the
 * message, and `error.type`. Does not end the span. Never throws.
 *
 * @example
 * ```ts
 * try { await call(); } catch (err) { recordError(span, err); throw err; } finally { span.end(); }
 * ```
 */
export function recordError(span: Span, err: unknown): void {
  if (!span.isRecording()) return;
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof Error) {
    span.recordException(err);
  } else {
    span.recordException({ name: typeof err, message });
  }
  span.setStatus({ code: SpanStatusCode.ERROR, message });
  span.setAttribute(CommonAttributes.ERROR_TYPE, errorType(err));
}
