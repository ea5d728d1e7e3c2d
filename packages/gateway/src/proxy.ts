import type { IncomingMessage } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { endpointOrigin, HealthStatus, isSwitchyardError, type ServiceInstance } from '@switchyard/core';
import type { Balancer } from '@switchyard/discovery';
import { Agent, type Dispatcher } from 'undici';
import { gatewayError } from './errors.ts';
import { downstreamResponseHeaders, upstreamRequestHeaders } from './headers.ts';
import type { GatewayContext, RouteHandler } from './middleware.ts';
import type { ResolvedRoute } from './options.ts';
import type { GatewayLogger, InstanceSource } from './ports.ts';

/** What {@link createProxy} needs. */
export interface ProxyDependencies {
  /** Sends upstream requests; one keep-alive pool per instance origin. */
  readonly dispatcher: Dispatcher;
  readonly discovery: InstanceSource;
  /** The balancer of a route (one per route, so round robin rotates per route). */
  readonly balancerFor: (route: ResolvedRoute) => Balancer;
  readonly logger: GatewayLogger;
}

/**
 * The upstream dispatcher: an undici `Agent`, which keeps one keep-alive `Pool` per instance
 * origin. Idle sockets are closed after 4 s (or sooner when the upstream's `Keep-Alive: timeout`
 * hint says so, minus undici's safety margin) so the gateway rarely reuses a socket the upstream
 * is closing; connecting times out after 5 s.
 *
 * @example
 * ```ts
 * const dispatcher = createUpstreamDispatcher();
 * await dispatcher.close();
 * ```
 */
export function createUpstreamDispatcher(): Agent {
  return new Agent({ keepAliveTimeout: 4_000, keepAliveMaxTimeout: 60_000, connect: { timeout: 5_000 } });
}

/**
 * Errors raised before any byte of the request left the gateway: the instance was never
 * reached, so sending the same request elsewhere cannot apply it twice.
 */
const connectErrorCodes: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/**
 * True when `err` is a connection failure raised before the request was sent.
 *
 * @example
 * ```ts
 * isConnectError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })); // true
 * ```
 */
export function isConnectError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && connectErrorCodes.has(code);
}

/**
 * True when the request has a body to stream: a `Transfer-Encoding`, or a `Content-Length`
 * above zero (RFC 9112 §6.3).
 */
export function requestHasBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = req.headers['content-length'];
  return length !== undefined && Number(length) > 0;
}

/**
 * The terminal handler: picks an instance of the route's service, forwards the request with
 * bodies streamed both ways, and relays the response.
 *
 * - A connection failure (the request was never sent) on a request without a body is retried
 *   once on another instance; anything else fails with `SY_GATEWAY_UPSTREAM_FAILED` (502).
 * - No response headers within the route timeout: `SY_GATEWAY_UPSTREAM_TIMEOUT` (504). A stall
 *   longer than the timeout after the headers were relayed destroys the client connection,
 *   the only signal left to give.
 * - The client going away aborts the upstream request through `ctx.signal`.
 *
 * @example
 * ```ts
 * const proxy = createProxy({ dispatcher, discovery, balancerFor: () => roundRobin(), logger: silentLogger });
 * await proxy(ctx);
 * ```
 */
export function createProxy(deps: ProxyDependencies): RouteHandler {
  return async (ctx) => {
    const { route } = ctx;
    const instances = await lookup(deps.discovery, ctx);
    const balancer = deps.balancerFor(route);
    const first = balancer.pick(instances);
    if (first === undefined) {
      throw gatewayError(
        'SY_GATEWAY_NO_HEALTHY_INSTANCE',
        `no healthy instance of service ${JSON.stringify(route.service)} for route ${route.name}`,
        { details: { service: route.service, route: route.name } },
      );
    }
    const hasBody = requestHasBody(ctx.req);
    const request = buildRequest(ctx);
    const body = hasBody ? streamedBody(ctx.req) : undefined;

    let instance = first;
    let response: Dispatcher.ResponseData;
    try {
      response = await exchange(deps.dispatcher, ctx, request, first, body);
    } catch (err) {
      const second =
        body === undefined && isConnectError(err) && !ctx.signal.aborted
          ? pickOther(balancer, instances, first)
          : undefined;
      if (second === undefined) throw upstreamError(route, first, err);
      deps.logger.warn(
        { err, requestId: ctx.requestId, route: route.name, instance: first.id, retryInstance: second.id },
        'upstream connection failed; retrying on another instance',
      );
      instance = second;
      try {
        response = await exchange(deps.dispatcher, ctx, request, second, undefined);
      } catch (retryErr) {
        throw upstreamError(route, second, retryErr);
      }
    }
    await relay(ctx, route, instance, response);
  };
}

/**
 * One request to one instance, resolving with the response headers. The headers timeout is a
 * native timer rather than undici's `headersTimeout`, whose timers tick about once a second
 * (a `200ms` route timeout would fire after up to 1.5 s). Its clock starts once the whole
 * request body was handed to undici: a slow upload is the client's pace, not the upstream's.
 */
async function exchange(
  dispatcher: Dispatcher,
  ctx: GatewayContext,
  request: UpstreamRequest,
  instance: ServiceInstance,
  body: Readable | undefined,
): Promise<Dispatcher.ResponseData> {
  const { route } = ctx;
  const attempt = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let settled = false;
  const arm = () => {
    if (settled || route.timeoutMs === 0) return;
    timer = setTimeout(() => {
      attempt.abort(
        gatewayError(
          'SY_GATEWAY_UPSTREAM_TIMEOUT',
          `${where(route, instance)} did not send headers within ${route.timeoutMs}ms`,
          { details: detailsOf(route, instance) },
        ),
      );
    }, route.timeoutMs);
  };
  if (body === undefined) arm();
  else body.once('end', arm);
  const options: Dispatcher.RequestOptions = {
    ...request,
    origin: endpointOrigin(instance),
    signal: AbortSignal.any([ctx.signal, attempt.signal]),
  };
  if (body !== undefined) options.body = body;
  try {
    return await dispatcher.request(options);
  } catch (err) {
    throw attempt.signal.aborted ? attempt.signal.reason : err;
  } finally {
    settled = true;
    clearTimeout(timer);
    body?.off('end', arm);
  }
}

async function lookup(discovery: InstanceSource, ctx: GatewayContext): Promise<readonly ServiceInstance[]> {
  let instances: readonly ServiceInstance[];
  try {
    instances = await discovery.instances(ctx.route.service, ctx.signal);
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    const reason = reasonOf(err);
    throw gatewayError(
      'SY_GATEWAY_DISCOVERY_FAILED',
      `looking up instances of service ${JSON.stringify(ctx.route.service)} for route ${ctx.route.name} failed: ${reason}`,
      { cause: err, details: { service: ctx.route.service, route: ctx.route.name } },
    );
  }
  return instances.filter((instance) => instance.status !== HealthStatus.Critical);
}

function pickOther(
  balancer: Balancer,
  instances: readonly ServiceInstance[],
  failed: ServiceInstance,
): ServiceInstance | undefined {
  const others = instances.filter(
    (i) => i.id !== failed.id && (i.address !== failed.address || i.port !== failed.port),
  );
  return balancer.pick(others);
}

type UpstreamRequest = Omit<Dispatcher.RequestOptions, 'origin' | 'signal' | 'body'>;

function buildRequest(ctx: GatewayContext): UpstreamRequest {
  const headers = upstreamRequestHeaders(ctx.req.headers, {
    requestId: ctx.requestId,
    clientAddress: ctx.clientAddress,
    trusted: ctx.trustedPeer,
    protocol: (ctx.req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http',
  });
  return {
    method: ctx.method as Dispatcher.HttpMethod,
    path: `${ctx.route.stripPrefix ? ctx.rest : ctx.path}${ctx.query}`,
    headers,
    // `exchange` times the headers precisely once the body is sent. undici's own headers timer
    // (one-second resolution) stays as the backstop for an upstream that stops reading the
    // request body, which `exchange` cannot see; its body timer bounds each pause between
    // response chunks.
    headersTimeout: ctx.route.timeoutMs,
    bodyTimeout: ctx.route.timeoutMs,
  };
}

/**
 * The request body as a stream undici may destroy. undici destroys the body it was given when
 * the request fails; were that the IncomingMessage, Node would destroy the client socket
 * before the 502/504 could be written. The pass-through keeps back-pressure (`pipe` pauses the
 * client when the upstream is slow) and buffers no more than its high-water mark.
 */
function streamedBody(req: IncomingMessage): Readable {
  const body = new PassThrough();
  // undici reports body errors through the request; once it has let go of the stream, a client
  // abort arriving late must not surface as an unhandled 'error' event.
  body.on('error', () => {});
  req.on('error', (err) => body.destroy(err));
  req.pipe(body);
  return body;
}

async function relay(
  ctx: GatewayContext,
  route: ResolvedRoute,
  instance: ServiceInstance,
  response: Dispatcher.ResponseData,
): Promise<void> {
  const { res } = ctx;
  res.writeHead(response.statusCode, downstreamResponseHeaders(response.headers, ctx.requestId));
  if (ctx.method === 'HEAD' || response.statusCode === 204 || response.statusCode === 304) {
    // No body by definition (RFC 9110 §9.3.2, §15.3.5, §15.4.5); drain whatever undici holds.
    response.body.resume();
    res.end();
    return;
  }
  try {
    await pipeline(response.body, res);
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    throw upstreamError(route, instance, err, true);
  }
}

function detailsOf(route: ResolvedRoute, instance: ServiceInstance): Record<string, string> {
  return {
    service: route.service,
    route: route.name,
    instance: instance.id,
    address: endpointOrigin(instance).slice('http://'.length),
  };
}

function where(route: ResolvedRoute, instance: ServiceInstance): string {
  return `upstream ${route.service} (${endpointOrigin(instance).slice('http://'.length)})`;
}

/** Wraps an undici failure into the gateway's code, keeping it as `cause`. */
function upstreamError(route: ResolvedRoute, instance: ServiceInstance, err: unknown, headersSent = false): unknown {
  // Already ours: the headers timeout, or `SY_CANCELLED` when the client left.
  if (isSwitchyardError(err)) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const details = detailsOf(route, instance);
  if (code === 'UND_ERR_HEADERS_TIMEOUT') {
    return gatewayError(
      'SY_GATEWAY_UPSTREAM_TIMEOUT',
      `${where(route, instance)} did not send headers within ${route.timeoutMs}ms`,
      { cause: err, details },
    );
  }
  if (code === 'UND_ERR_BODY_TIMEOUT') {
    return gatewayError(
      'SY_GATEWAY_UPSTREAM_TIMEOUT',
      `${where(route, instance)} sent no body data for ${route.timeoutMs}ms`,
      { cause: err, details },
    );
  }
  const reason = reasonOf(err);
  if (isConnectError(err)) {
    return gatewayError('SY_GATEWAY_UPSTREAM_FAILED', `could not connect to ${where(route, instance)}: ${reason}`, {
      cause: err,
      details,
    });
  }
  const when = headersSent ? 'failed while sending the response body' : 'failed';
  return gatewayError('SY_GATEWAY_UPSTREAM_FAILED', `${where(route, instance)} ${when}: ${reason}`, {
    cause: err,
    details,
  });
}

/** `err`'s message, with its code when the message does not already say it. */
function reasonOf(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && !message.includes(code) ? `${message} (${code})` : message;
}
