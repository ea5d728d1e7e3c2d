/**
 * `traced(name, fn)`: a span around users' own code, active while `fn` runs, ended when it
 * settles, with the exception and ERROR status recorded when it throws or rejects.
 */
import { type Attributes, type Link, type Span, SpanKind, type SpanOptions } from '@opentelemetry/api';
import { recordError } from './record-error.ts';
import { getTracer, withSpan } from './tracer.ts';

/** Options of {@link traced}. */
export interface TracedOptions {
  /** The span kind. @default SpanKind.INTERNAL */
  kind?: SpanKind;
  /** Attributes set when the span starts. */
  attributes?: Attributes;
  /** Links to other spans (e.g. the messages of a batch). */
  links?: Link[];
  /** Instrumentation scope of the tracer. @default "switchyard.user" */
  scope?: string;
}

// Shared by calls without options; the SDK only reads span options.
const internalSpan: SpanOptions = Object.freeze({ kind: SpanKind.INTERNAL });

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * Runs `fn` inside a new active span named `name`. Sync functions end the span before
 * returning; async ones when the promise settles. A throw or rejection is recorded (exception
 * event, status ERROR, `error.type`) and rethrown unchanged; success leaves the status UNSET
 * as OpenTelemetry recommends (set it yourself through the `span` argument if you want OK).
 *
 * @example
 * ```ts
 * const total = await traced('price-basket', async (span) => {
 *   span.setAttribute('basket.items', items.length);
 *   return priceAll(items);
 * });
 * ```
 */
export function traced<T>(name: string, fn: (span: Span) => T, options?: TracedOptions): T {
  let spanOptions: SpanOptions = internalSpan;
  if (options !== undefined) {
    spanOptions = { kind: options.kind ?? SpanKind.INTERNAL };
    if (options.attributes !== undefined) spanOptions.attributes = options.attributes;
    if (options.links !== undefined) spanOptions.links = options.links;
  }
  const span = getTracer(options?.scope ?? 'switchyard.user').startSpan(name, spanOptions);
  let result: T;
  try {
    result = withSpan(span, () => fn(span));
  } catch (err) {
    recordError(span, err);
    span.end();
    throw err;
  }
  if (!isPromiseLike(result)) {
    span.end();
    return result;
  }
  return Promise.resolve(result).then(
    (value) => {
      span.end();
      return value;
    },
    (err: unknown) => {
      recordError(span, err);
      span.end();
      throw err;
    },
  ) as T;
}
