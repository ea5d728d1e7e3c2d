import { type ForwardingContext, type HeaderRecord, type OutgoingHeaders, upstreamRequestHeaders } from '../headers.ts';

/** Trace context (W3C Trace Context) always travels to every call. */
const traceHeaders = ['traceparent', 'tracestate'] as const;

/** Forwarding fields the gateway's header rules read (and keep only from a trusted proxy). */
const forwardingHeaders = ['host', 'via', 'forwarded', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host'];

/**
 * The headers every call of an aggregate request carries: the incoming headers named in
 * `forwardHeaders`, `traceparent`/`tracestate`, then the gateway's usual rules
 * (`upstreamRequestHeaders`: `X-Request-Id`, `Via`, `X-Forwarded-*`, forwarding chains kept
 * only from trusted proxies), and `Accept: application/json` unless forwarded. Nothing else of
 * the incoming request is copied: an aggregate call is a new request, not a relayed one.
 *
 * @param forwardHeaders - lower-case names
 * @example
 * ```ts
 * aggregateCallHeaders({ authorization: 'Bearer t', cookie: 'c', host: 'shop.test' }, ['authorization'],
 *   { requestId: 'r1', clientAddress: '10.0.0.7', trusted: false, protocol: 'http' });
 * // { authorization: 'Bearer t', 'x-forwarded-for': '10.0.0.7', 'x-forwarded-proto': 'http',
 * //   'x-forwarded-host': 'shop.test', 'x-request-id': 'r1', via: '1.1 switchyard', accept: 'application/json' }
 * ```
 */
export function aggregateCallHeaders(
  incoming: HeaderRecord,
  forwardHeaders: readonly string[],
  context: ForwardingContext,
): OutgoingHeaders {
  const selected: HeaderRecord = {};
  for (const name of [...forwardHeaders, ...traceHeaders, ...forwardingHeaders]) {
    const value = incoming[name];
    if (value !== undefined) selected[name] = value;
  }
  const headers = upstreamRequestHeaders(selected, context);
  headers.accept ??= 'application/json';
  return headers;
}
