/**
 * W3C trace context and baggage across process boundaries: inject into and extract from
 * HTTP headers (plain records, Node's `IncomingHttpHeaders`, fetch `Headers`) and bus
 * message headers, through the globally registered propagator (a no-op until
 * `setupTelemetry()`).
 */
import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type TextMapGetter,
  type TextMapSetter,
} from '@opentelemetry/api';

/**
 * Anything that carries headers: a record (lower-case keys, as Node and our bus write them;
 * string or string-array values) or a `Headers`/`Map`-like object with `get`/`set`.
 */
export type HeaderCarrier =
  | Record<string, string | string[] | number | undefined>
  | { get(name: string): string | null | undefined; set(name: string, value: string): unknown };

function isMapLike(
  carrier: HeaderCarrier,
): carrier is { get(name: string): string | null | undefined; set(name: string, value: string): unknown } {
  return typeof (carrier as { get?: unknown }).get === 'function';
}

const getter: TextMapGetter<HeaderCarrier> = {
  keys(carrier) {
    if (isMapLike(carrier)) {
      const iterable = carrier as unknown as { keys?: () => Iterable<string> };
      return typeof iterable.keys === 'function' ? [...iterable.keys()] : [];
    }
    return Object.keys(carrier);
  },
  get(carrier, key) {
    if (isMapLike(carrier)) return carrier.get(key) ?? undefined;
    const value = carrier[key];
    if (value === undefined || typeof value === 'string' || Array.isArray(value)) return value;
    return String(value);
  },
};

const setter: TextMapSetter<HeaderCarrier> = {
  set(carrier, key, value) {
    if (isMapLike(carrier)) carrier.set(key, value);
    else carrier[key] = value;
  },
};

/**
 * Writes `traceparent`, `tracestate` and `baggage` for `ctx` into `headers` and returns
 * them. Writes nothing when telemetry is not set up or there is no span in `ctx`.
 *
 * @param ctx - the context to propagate @default the active context
 * @example
 * ```ts
 * const headers = injectContext({ 'content-type': 'application/json' });
 * await bus.publish({ type: 'OrderPlaced', payload, headers });
 * ```
 */
export function injectContext<C extends HeaderCarrier>(headers: C, ctx: Context = context.active()): C {
  propagation.inject(ctx, headers, setter);
  return headers;
}

/**
 * Reads W3C trace context and baggage from `headers` into a new context (based on the root
 * context, so an incoming request never inherits an unrelated active span). Malformed
 * headers are ignored. Use the result as a span's parent or with `withContext`.
 *
 * @param base - the context to extend @default the root context
 * @example
 * ```ts
 * const parent = extractContext(req.headers);
 * const span = tracer.startSpan('GET /orders', { kind: SpanKind.SERVER }, parent);
 * ```
 */
export function extractContext(headers: HeaderCarrier, base: Context = ROOT_CONTEXT): Context {
  return propagation.extract(base, headers, getter);
}

/**
 * A context carrying `entries` as W3C baggage (added to the baggage already in `ctx`);
 * injected as the `baggage` header. Keep baggage small: it travels on every hop.
 *
 * @param ctx - the context to extend @default the active context
 * @example
 * ```ts
 * withContext(withBaggage({ 'tenant.id': 'acme' }), () => callUpstream());
 * ```
 */
export function withBaggage(entries: Readonly<Record<string, string>>, ctx: Context = context.active()): Context {
  let bag = propagation.getBaggage(ctx) ?? propagation.createBaggage();
  for (const key of Object.keys(entries)) bag = bag.setEntry(key, { value: entries[key] as string });
  return propagation.setBaggage(ctx, bag);
}

/**
 * The W3C baggage entries of `ctx` as a record (empty when none).
 *
 * @param ctx - @default the active context
 * @example
 * ```ts
 * const tenant = baggageEntries(extractContext(req.headers))['tenant.id'];
 * ```
 */
export function baggageEntries(ctx: Context = context.active()): Record<string, string> {
  const out: Record<string, string> = {};
  const bag = propagation.getBaggage(ctx);
  if (bag === undefined) return out;
  for (const [key, entry] of bag.getAllEntries()) out[key] = entry.value;
  return out;
}
