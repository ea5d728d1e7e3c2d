/**
 * The tracing facade every Switchyard package instruments itself through: tracers by scope,
 * starting spans and making them active. With telemetry not set up every call lands on the
 * OpenTelemetry API's no-op implementation, so the cost is a few property reads.
 */
import {
  type Context,
  context,
  type Span,
  SpanKind,
  type SpanOptions,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { telemetryState } from './internal/telemetry-state.ts';

export type {
  Attributes,
  AttributeValue,
  Context,
  Link,
  Span,
  SpanContext,
  SpanOptions,
  Tracer,
} from '@opentelemetry/api';
export { SpanKind, SpanStatusCode };

/**
 * A tracer that re-resolves its OpenTelemetry tracer after `setupTelemetry()` or
 * `shutdown()`, so a module-level `const tracer = getTracer(...)` keeps working across a
 * shutdown and a new setup (the API's own proxy tracers keep their first delegate).
 */
class ScopedTracer implements Tracer {
  readonly #name: string;
  readonly #version: string | undefined;
  #generation = -1;
  #tracer: Tracer | undefined;

  constructor(name: string, version: string | undefined) {
    this.#name = name;
    this.#version = version;
  }

  #current(): Tracer {
    if (this.#generation !== telemetryState.generation || this.#tracer === undefined) {
      this.#tracer = trace.getTracer(this.#name, this.#version);
      this.#generation = telemetryState.generation;
    }
    return this.#tracer;
  }

  startSpan(name: string, options?: SpanOptions, ctx?: Context): Span {
    return this.#current().startSpan(name, options, ctx);
  }

  startActiveSpan<F extends (span: Span) => unknown>(name: string, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, options: SpanOptions, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(
    name: string,
    options: SpanOptions,
    ctx: Context,
    fn: F,
  ): ReturnType<F>;
  startActiveSpan(name: string, ...rest: unknown[]): unknown {
    const tracer = this.#current();
    return Reflect.apply(tracer.startActiveSpan, tracer, [name, ...rest]);
  }
}

const tracers = new Map<string, ScopedTracer>();

/**
 * The tracer for an instrumentation scope (use the package name). Cached: call it once at
 * module level.
 *
 * @param scope - instrumentation scope name, e.g. `@switchyard/gateway`
 * @param version - the scope's version, when known
 * @example
 * ```ts
 * const tracer = getTracer('@switchyard/gateway');
 * const span = tracer.startSpan('GET /orders/:id', { kind: SpanKind.SERVER });
 * span.end();
 * ```
 */
export function getTracer(scope: string, version?: string): Tracer {
  const key = version === undefined ? scope : `${scope}@${version}`;
  let tracer = tracers.get(key);
  if (tracer === undefined) {
    tracer = new ScopedTracer(scope, version);
    tracers.set(key, tracer);
  }
  return tracer;
}

/** Options of {@link startSpan}: OpenTelemetry's span options plus the scope and the parent. */
export interface StartSpanOptions extends SpanOptions {
  /** Instrumentation scope of the tracer. @default "switchyard" */
  scope?: string;
  /**
   * The parent context, e.g. from {@link extractContext}. @default the active context
   */
  parent?: Context;
}

/**
 * Starts a span (not made active: see {@link withSpan}). The caller ends it.
 *
 * @example
 * ```ts
 * const span = startSpan('orders.reserve', { kind: SpanKind.INTERNAL, attributes: { 'order.id': id } });
 * try { await withSpan(span, () => reserve(id)); } finally { span.end(); }
 * ```
 */
export function startSpan(name: string, options?: StartSpanOptions): Span {
  const tracer = getTracer(options?.scope ?? 'switchyard');
  return tracer.startSpan(name, options, options?.parent);
}

/**
 * Runs `fn` with `span` as the active span (so child spans, logs and injected headers see
 * it). Does not end the span. Returns what `fn` returns (a promise stays a promise).
 *
 * @example
 * ```ts
 * const result = await withSpan(span, () => handler(request));
 * ```
 */
export function withSpan<T>(span: Span, fn: () => T): T {
  return context.with(trace.setSpan(context.active(), span), fn);
}

/**
 * Runs `fn` with `ctx` as the active context, e.g. a context from {@link extractContext} so
 * spans started inside continue the remote trace.
 *
 * @example
 * ```ts
 * withContext(extractContext(message.headers), () => handle(message));
 * ```
 */
export function withContext<T>(ctx: Context, fn: () => T): T {
  return context.with(ctx, fn);
}

/**
 * The active span, or `undefined` outside any span.
 *
 * @example
 * ```ts
 * activeSpan()?.setAttribute('switchyard.route', route.id);
 * ```
 */
export function activeSpan(): Span | undefined {
  return trace.getSpan(context.active());
}

/**
 * The active context (pass it to {@link injectContext} or as a span's parent).
 *
 * @example
 * ```ts
 * const ctx = activeContext();
 * ```
 */
export function activeContext(): Context {
  return context.active();
}
