import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type Attributes,
  CommonAttributes,
  extractContext,
  getTracer,
  globalMetrics,
  HTTP_METHODS,
  HttpAttributes,
  recordError,
  type Span,
  SpanKind,
  SpanStatusCode,
  withSpan,
} from '@switchyard/telemetry';

/**
 * The `route` label and span route of requests for which `routeOf` returns nothing (or that
 * has no `routeOf`): one fixed value, so a raw path never becomes a metric series.
 */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Names the route a request is for: a template such as `/orders/:id` or a name such as
 * `orders.get`, never the raw path (it becomes a metric label). `undefined` counts the
 * request under {@link UNMATCHED_ROUTE}.
 */
export type RouteOf = (req: IncomingMessage) => string | undefined;

/** What {@link instrumentRequests} needs to know about the server. */
export interface RequestTelemetryOptions {
  /** Route of each request; see {@link RouteOf}. @default every request is `unmatched` */
  routeOf?: RouteOf | undefined;
  /** The port the server listens on (`server.port` when the Host header names none). */
  port: () => number;
  /** The host the server listens on (`server.address` when there is no Host header). */
  host: string;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => unknown;

/** One request's span, whether the handler threw (its error is on the span), and whether it ended. */
interface RequestState {
  readonly span: Span;
  failed: boolean;
  done: boolean;
}

const tracer = getTracer('@switchyard/service');
const KNOWN_METHODS: ReadonlySet<string> = new Set(HTTP_METHODS);

/**
 * Wraps a request handler with a server span and RED metrics. Per request: a `SERVER` span
 * named `<METHOD> <route>` (or `<METHOD>` without a route) continuing the caller's trace from
 * `traceparent`, with HTTP semantic-convention attributes; the handler runs with the span
 * active, so its outgoing calls are its children; a throw or rejection is recorded on the
 * span (and still thrown); a 5xx response sets status ERROR. The request is counted in
 * `switchyard_http_server_*` of the global metrics under its route, method and status class.
 *
 * The metric handles come from `globalMetrics()` when this is called: set the global metrics
 * first. With neither telemetry nor metrics set up, spans and counts are no-ops.
 *
 * @example
 * ```ts
 * const instrumented = instrumentRequests((req, res) => res.end('ok'), {
 *   host: '127.0.0.1', port: () => 8080, routeOf: (req) => (req.url?.startsWith('/orders') ? '/orders' : undefined),
 * });
 * createServer(instrumented).listen(8080);
 * ```
 */
export function instrumentRequests(
  handler: Handler,
  options: RequestTelemetryOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const metrics = globalMetrics();
  const unmatched = metrics.http.route(UNMATCHED_ROUTE);
  return (req, res) => {
    const route = routeFor(req, options.routeOf);
    const handle = route === undefined ? unmatched : metrics.http.route(route);
    const started = metrics.enabled ? performance.now() : 0;
    const span = startServerSpan(req, route, options);
    handle.start();
    const state: RequestState = { span, failed: false, done: false };
    const finish = (): void => {
      if (state.done) return;
      state.done = true;
      const status = res.writableFinished || res.headersSent ? res.statusCode : 0;
      handle.end(req.method ?? 'GET', status, metrics.enabled ? (performance.now() - started) / 1000 : 0);
      endServerSpan(state, status, res.writableFinished);
    };
    res.once('finish', finish);
    res.once('close', finish);
    withSpan(span, () => runHandler(handler, req, res, state));
  };
}

/** The user's route, or undefined; a throwing `routeOf` counts the request as unmatched. */
function routeFor(req: IncomingMessage, routeOf: RouteOf | undefined): string | undefined {
  if (routeOf === undefined) return undefined;
  try {
    const route = routeOf(req);
    return typeof route === 'string' && route !== '' ? route : undefined;
  } catch {
    return undefined;
  }
}

function runHandler(handler: Handler, req: IncomingMessage, res: ServerResponse, state: RequestState): void {
  const failed = (err: unknown): void => {
    if (state.done) return;
    state.failed = true;
    recordError(state.span, err);
  };
  let result: unknown;
  try {
    result = handler(req, res);
  } catch (err) {
    failed(err);
    throw err;
  }
  if (isPromiseLike(result)) {
    // Rethrown from the new promise, so an unhandled rejection stays unhandled, as without us.
    result.then(undefined, (err: unknown) => {
      failed(err);
      throw err;
    });
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

function startServerSpan(req: IncomingMessage, route: string | undefined, options: RequestTelemetryOptions): Span {
  const rawMethod = req.method ?? 'GET';
  const method = KNOWN_METHODS.has(rawMethod) ? rawMethod : '_OTHER';
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const { address, port } = serverAddress(req, options);
  const attributes: Attributes = {
    [HttpAttributes.REQUEST_METHOD]: method,
    [HttpAttributes.URL_PATH]: q < 0 ? url : url.slice(0, q),
    [HttpAttributes.URL_SCHEME]: 'http',
    [HttpAttributes.SERVER_ADDRESS]: address,
    [HttpAttributes.SERVER_PORT]: port,
    [HttpAttributes.NETWORK_PROTOCOL_VERSION]: req.httpVersion,
  };
  if (method === '_OTHER') attributes[HttpAttributes.REQUEST_METHOD_ORIGINAL] = rawMethod;
  if (q >= 0) attributes[HttpAttributes.URL_QUERY] = url.slice(q + 1);
  if (route !== undefined) attributes[HttpAttributes.ROUTE] = route;
  const peer = req.socket.remoteAddress;
  if (peer !== undefined) {
    attributes[HttpAttributes.CLIENT_ADDRESS] = peer;
    attributes[HttpAttributes.NETWORK_PEER_ADDRESS] = peer;
  }
  if (req.socket.remotePort !== undefined) {
    attributes[HttpAttributes.CLIENT_PORT] = req.socket.remotePort;
    attributes[HttpAttributes.NETWORK_PEER_PORT] = req.socket.remotePort;
  }
  const agent = req.headers['user-agent'];
  if (agent !== undefined) attributes[HttpAttributes.USER_AGENT_ORIGINAL] = agent;
  // Semantic conventions: `{method} {http.route}`, or `{method}` alone (`HTTP` for unknown methods).
  const spanMethod = method === '_OTHER' ? 'HTTP' : method;
  return tracer.startSpan(
    route === undefined ? spanMethod : `${spanMethod} ${route}`,
    { kind: SpanKind.SERVER, attributes },
    extractContext(req.headers),
  );
}

/** `server.address`/`server.port` from the Host header (the name the client used), else the listener. */
function serverAddress(req: IncomingMessage, options: RequestTelemetryOptions): { address: string; port: number } {
  const host = req.headers.host;
  if (host) {
    const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(host);
    if (match?.[1] !== undefined) {
      return { address: match[1].replace(/^\[|\]$/g, ''), port: match[2] ? Number(match[2]) : options.port() };
    }
  }
  return { address: options.host, port: options.port() };
}

function endServerSpan(state: RequestState, status: number, complete: boolean): void {
  const { span } = state;
  if (status > 0) span.setAttribute(HttpAttributes.RESPONSE_STATUS_CODE, status);
  // A handler error is on the span already (recordError: ERROR, its message, `error.type` = its code).
  if (!state.failed && !complete) {
    span.setAttribute(CommonAttributes.ERROR_TYPE, 'connection_closed');
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'the connection closed before the response was complete' });
  } else if (!state.failed && status >= 500) {
    span.setAttribute(CommonAttributes.ERROR_TYPE, String(status));
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
}
