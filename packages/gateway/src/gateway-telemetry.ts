/**
 * The gateway's server span and the middleware decisions recorded on it. One SERVER span per
 * request, continued from the caller's `traceparent`, named `<METHOD> <route name>` once the
 * request is routed; refusals that matter (auth, rate limit, body limit, IP filter) become
 * span events. With telemetry not set up the span is the API's no-op span and nothing else is
 * built.
 */
import type { IncomingMessage } from 'node:http';
import type { SwitchyardError } from '@switchyard/core';
import type { OutlierDetector } from '@switchyard/discovery';
import {
  type Attributes,
  activeSpan,
  CommonAttributes,
  extractContext,
  getTracer,
  globalMetrics,
  HTTP_METHODS,
  HttpAttributes,
  type MetricsInstruments,
  recordError,
  type Span,
  SpanKind,
  type SpanOptions,
  SpanStatusCode,
  SwitchyardAttributes,
} from '@switchyard/telemetry';
import type { ResolvedRoute } from './options.ts';

const tracer = getTracer('@switchyard/gateway');
const SERVER_SPAN: SpanOptions = Object.freeze({ kind: SpanKind.SERVER });
const KNOWN_METHODS: ReadonlySet<string> = new Set(HTTP_METHODS);
const INVALID_TRACE_ID = '00000000000000000000000000000000';

/**
 * The `route` label (`switchyard_http_server_*`) of requests that matched no route (404, 405).
 *
 * @example
 * ```ts
 * // switchyard_http_server_requests_total{route="unmatched",method="GET",status_class="4xx"}
 * UNMATCHED_ROUTE; // 'unmatched'
 * ```
 */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Span events the gateway adds to a request's server span.
 *
 * @example
 * ```ts
 * const rejected = spanStore.trace(traceId).find((s) => s.events.some((e) => e.name === GatewayEvents.AuthRejected));
 * ```
 */
export const GatewayEvents = {
  /** An auth middleware refused the credentials (401) or the auth service refused the request (403). */
  AuthRejected: 'switchyard.auth.rejected',
  /** The auth middleware could not check the credentials (JWKS or auth service unreachable). */
  AuthUnavailable: 'switchyard.auth.unavailable',
  /** The rate limiter refused the request (429). */
  RateLimited: 'switchyard.rate_limit.limited',
  /** The rate limiter's store failed (the request was admitted or refused per `onStoreError`). */
  RateLimitStoreError: 'switchyard.rate_limit.store_error',
  /** The CORS middleware answered a preflight itself (204). */
  CorsPreflight: 'switchyard.cors.preflight',
  /** The request body went past the `bodyLimit` (413). */
  BodyTooLarge: 'switchyard.body_limit.exceeded',
  /** The IP filter refused the client address (403). */
  IpDenied: 'switchyard.ip_filter.denied',
  /** Outlier detection ejected an instance while this request picked one. */
  InstanceEjected: 'switchyard.outlier.ejected',
} as const;

/**
 * Attribute names of the gateway's own span attributes and event attributes.
 *
 * @example
 * ```ts
 * span.attributes[GatewayAttributes.RATE_LIMIT_DECISION]; // 'allowed'
 * ```
 */
export const GatewayAttributes = {
  /** The Switchyard error code a refusal was answered with. */
  ERROR_CODE: 'switchyard.error.code',
  /** Why an auth middleware refused: `missing_credentials`, `invalid_key`, or jose's code (`ERR_JWT_EXPIRED`). */
  AUTH_REASON: 'switchyard.auth.reason',
  /** The rate limiter's decision for the request: `allowed`, `limited` or `error`. */
  RATE_LIMIT_DECISION: 'switchyard.rate_limit.decision',
  /** Milliseconds until a refused request may try again. */
  RETRY_AFTER_MS: 'switchyard.rate_limit.retry_after_ms',
} as const;

const decisionEvents: Readonly<Record<string, string>> = {
  SY_GATEWAY_UNAUTHENTICATED: GatewayEvents.AuthRejected,
  SY_GATEWAY_FORBIDDEN: GatewayEvents.AuthRejected,
  SY_GATEWAY_AUTH_UNAVAILABLE: GatewayEvents.AuthUnavailable,
  SY_GATEWAY_RATE_LIMITED: GatewayEvents.RateLimited,
  SY_GATEWAY_RATE_LIMIT_UNAVAILABLE: GatewayEvents.RateLimitStoreError,
  SY_GATEWAY_PAYLOAD_TOO_LARGE: GatewayEvents.BodyTooLarge,
  SY_GATEWAY_IP_DENIED: GatewayEvents.IpDenied,
};

/** Whether a span carries a real trace context (telemetry set up), sampled or not. */
export function isTraced(span: Span): boolean {
  return span.isRecording() || span.spanContext().traceId !== INVALID_TRACE_ID;
}

/**
 * Starts the SERVER span of a request, its parent extracted from the request headers. Named
 * after the method until {@link spanRouted} names the route.
 */
export function startServerSpan(req: IncomingMessage, method: string): Span {
  const known = KNOWN_METHODS.has(method);
  const span = tracer.startSpan(known ? method : 'HTTP', SERVER_SPAN, extractContext(req.headers));
  if (!span.isRecording()) return span;
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const attributes: Attributes = {
    [HttpAttributes.REQUEST_METHOD]: known ? method : '_OTHER',
    [HttpAttributes.URL_PATH]: q < 0 ? url : url.slice(0, q),
    [HttpAttributes.URL_SCHEME]: (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http',
  };
  if (!known) attributes[HttpAttributes.REQUEST_METHOD_ORIGINAL] = method;
  if (q >= 0) attributes[HttpAttributes.URL_QUERY] = url.slice(q + 1);
  const host = req.headers.host;
  if (host !== undefined && host !== '') {
    // `name`, `name:port`, `[v6]`, `[v6]:port`
    const colon = host.lastIndexOf(':');
    const bracket = host.lastIndexOf(']');
    const hasPort = colon > bracket && colon > 0;
    const name = hasPort ? host.slice(0, colon) : host;
    attributes[HttpAttributes.SERVER_ADDRESS] = name.startsWith('[') ? name.slice(1, -1) : name;
    if (hasPort) attributes[HttpAttributes.SERVER_PORT] = Number(host.slice(colon + 1));
  }
  const peer = req.socket.remoteAddress;
  if (peer !== undefined) attributes[HttpAttributes.CLIENT_ADDRESS] = peer;
  const agent = req.headers['user-agent'];
  if (agent !== undefined) attributes[HttpAttributes.USER_AGENT_ORIGINAL] = agent;
  span.setAttributes(attributes);
  return span;
}

/** The request was routed: the span is named `<METHOD> <route name>` and carries the route. */
export function spanRouted(span: Span, method: string, route: ResolvedRoute): void {
  if (!span.isRecording()) return;
  span.updateName(`${KNOWN_METHODS.has(method) ? method : 'HTTP'} ${route.name}`);
  span.setAttribute(HttpAttributes.ROUTE, route.path);
  span.setAttribute(SwitchyardAttributes.ROUTE, route.name);
}

/**
 * The gateway answered with `error`: refusals by middleware become events (with the code and
 * the reason), and a 5xx is recorded as the span's error (`error.type` = the code).
 */
export function spanRefused(span: Span, error: SwitchyardError, status: number): void {
  if (!span.isRecording()) return;
  const event = decisionEvents[error.code];
  if (event !== undefined) {
    const attributes: Attributes = { [GatewayAttributes.ERROR_CODE]: error.code };
    const reason = error.details.reason;
    if (typeof reason === 'string') attributes[GatewayAttributes.AUTH_REASON] = reason;
    const retryAfter = error.details.retryAfterMs;
    if (typeof retryAfter === 'number') attributes[GatewayAttributes.RETRY_AFTER_MS] = retryAfter;
    span.addEvent(event, attributes);
  }
  if (status >= 500) recordError(span, error);
}

/**
 * Ends the server span: the response status, and ERROR for a 5xx (unless an error is recorded
 * already) or a response cut off before it was complete.
 */
export function endServerSpan(span: Span, status: number, complete: boolean, errorRecorded: boolean): void {
  if (span.isRecording()) {
    if (status > 0) span.setAttribute(HttpAttributes.RESPONSE_STATUS_CODE, status);
    if (!complete) {
      span.setAttribute(CommonAttributes.ERROR_TYPE, 'connection_closed');
      span.setStatus({ code: SpanStatusCode.ERROR, message: 'the connection closed before the response was complete' });
    } else if (status >= 500) {
      // The gateway's own 5xx errors are recorded already (error.type = the code); a relayed
      // upstream 5xx gets the status as its error.type.
      if (!errorRecorded) {
        span.setStatus({ code: SpanStatusCode.ERROR });
        span.setAttribute(CommonAttributes.ERROR_TYPE, String(status));
      }
    }
  }
  span.end();
}

/**
 * An outlier detector that reports ejections: `switchyard_upstream_ejections_total{service}`
 * and an event on the span active when the ejection happened (a request picking an instance).
 * Ejections happen inside `usable()`, so the service is the one of the pool passed there.
 */
export function reportingEjections(outliers: OutlierDetector, metrics: MetricsInstruments): OutlierDetector {
  let pool: string | undefined;
  outliers.onEjection((event) => {
    const service = pool ?? 'unknown';
    if (metrics.enabled) metrics.upstream.service(service).ejected();
    activeSpan()?.addEvent(GatewayEvents.InstanceEjected, {
      [SwitchyardAttributes.UPSTREAM_SERVICE]: service,
      [SwitchyardAttributes.UPSTREAM_INSTANCE]: event.id,
      'switchyard.outlier.ejections': event.ejections,
    });
  });
  return {
    usable(instances) {
      pool = instances[0]?.service;
      try {
        return outliers.usable(instances);
      } finally {
        pool = undefined;
      }
    },
    isEjected: (id) => outliers.isEjected(id),
    onEjection: (listener) => outliers.onEjection(listener),
    stats: outliers.stats,
    options: outliers.options,
  };
}

/** The process's metrics when they can render an exposition (made by `createMetrics`), else undefined. */
export function exposableMetrics(): { text(): Promise<string>; readonly contentType: string } | undefined {
  const metrics = globalMetrics() as MetricsInstruments & { text?: unknown; contentType?: unknown };
  if (!metrics.enabled || typeof metrics.text !== 'function' || typeof metrics.contentType !== 'string') {
    return undefined;
  }
  return metrics as unknown as { text(): Promise<string>; readonly contentType: string };
}
