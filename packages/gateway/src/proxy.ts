import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import {
  describeError,
  type HttpBodyFlow,
  type HttpBodySink,
  type HttpClient,
  type HttpResponse,
} from '@switchyard/client';
import { isSwitchyardError, type JsonValue, type SwitchyardError } from '@switchyard/core';
import type { Balancer } from '@switchyard/discovery';
import { sendContinue } from './continue.ts';
import { gatewayError } from './errors.ts';
import { downstreamResponseHeaders, type OutgoingHeaders, upstreamRequestHeaders, withoutHopByHop } from './headers.ts';
import type { GatewayContext, RouteHandler } from './middleware.ts';
import type { ResolvedRoute } from './options.ts';
import type { RouteTraffic } from './traffic/control.ts';
import type { BodyTap } from './traffic/mirror.ts';
import { upstreamCancelOf } from './upstream-cancel.ts';
import { upstreamPath } from './upstream-path.ts';

/** What an upstream failure is reported against: the route's name, its service and timeout. */
export interface UpstreamTarget {
  readonly name: string;
  readonly service: string;
  readonly timeoutMs: number;
}

/** What {@link createProxy} needs. */
export interface ProxyDependencies {
  /** Sends the upstream requests: discovery, balancing, breaker per service, timeout, retry. */
  readonly client: HttpClient;
  /** The balancer of a route (one per route, so round robin rotates per route). */
  readonly balancerFor: (route: ResolvedRoute) => Balancer;
  /** The subset choice of routes with `traffic` (only the chosen subset's instances are eligible). */
  readonly traffic?: RouteTraffic | undefined;
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
 * The terminal handler: sends the request to an instance of the route's service through the
 * resilient HTTP client, with bodies streamed both ways, and relays the response.
 *
 * - The client picks the instance (the route's balancer), applies the service's circuit
 *   breaker, times the response headers with the route timeout (capped by the caller's
 *   `switchyard-timeout-ms` budget, which it forwards), and retries per the route's `retry` (by default `gatewayRetry`).
 * - Its failures become the gateway's codes: `SY_GATEWAY_UPSTREAM_FAILED` (502),
 *   `SY_GATEWAY_UPSTREAM_TIMEOUT` (504), `SY_GATEWAY_NO_HEALTHY_INSTANCE` and
 *   `SY_GATEWAY_DISCOVERY_FAILED` (503); an open breaker stays `SY_RESILIENCE_CIRCUIT_OPEN` (503).
 * - A stall longer than the timeout after the headers were relayed destroys the client
 *   connection, the only signal left to give.
 * - The client going away aborts the upstream request through `ctx.signal`.
 *
 * @example
 * ```ts
 * const proxy = createProxy({ client: createHttpClient({ discovery }), balancerFor: () => roundRobin() });
 * await proxy(ctx);
 * ```
 */
export function createProxy(deps: ProxyDependencies): RouteHandler {
  return async (ctx) => {
    const { route } = ctx;
    const { service } = route;
    if (service === undefined) throw new Error(`route ${route.name} has no service to proxy to`);
    const target: UpstreamTarget = { name: route.name, service, timeoutMs: route.timeoutMs };
    const hasBody = requestHasBody(ctx.req);
    const path = upstreamPath(ctx);
    const headers = upstreamRequestHeaders(ctx.req.headers, {
      requestId: ctx.requestId,
      clientAddress: ctx.clientAddress,
      trusted: ctx.trustedPeer,
      protocol: (ctx.req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http',
    });
    const choice = deps.traffic?.choose(ctx, headers, path, hasBody);
    const upload = hasBody ? streamedBody(ctx, choice?.tap) : undefined;
    const cancel = upstreamCancelOf(ctx);
    let response: HttpResponse;
    try {
      response = await deps.client.request(service, {
        method: ctx.method,
        path,
        headers,
        body: upload?.stream ?? null,
        signal: ctx.signal,
        timeout: route.timeoutMs,
        balancer: deps.balancerFor(route),
        eligible: choice?.eligible,
        breaker: choice?.breaker,
        retry: route.retry,
        abortable:
          cancel === undefined
            ? undefined
            : (abort) => {
                cancel.abort = abort;
              },
      });
    } catch (err) {
      // A body past `ctx.bodyLimit` is the client's fault (413), whatever the client made of
      // the upload it saw cut short.
      const failure = upload?.tooLarge() ?? toGatewayError(err, target);
      throw choice === undefined ? failure : choice.explain(failure);
    }
    await relay(ctx, target, response);
  };
}

/** A request body on its way upstream. */
interface Upload {
  readonly stream: Readable;
  /** The `SY_GATEWAY_PAYLOAD_TOO_LARGE` error once the body went past `ctx.bodyLimit`. */
  tooLarge(): SwitchyardError | undefined;
}

/**
 * The request body as a stream the client may destroy. undici destroys the body of a request
 * that fails; were that the IncomingMessage, Node would destroy the client socket before the
 * 502/504 could be written. The stream keeps back-pressure (the client is paused while the
 * upstream is slow) and buffers no more than its high-water mark.
 *
 * Nothing is read from the client until the upstream asks for the body, that is once an
 * instance was picked and connected: a client waiting on `Expect: 100-continue` gets its
 * `100 Continue` then, so a refusal by a middleware or a failure to reach any instance is
 * answered before it uploads anything. Bytes are counted against `ctx.bodyLimit` as they
 * arrive (a chunked body has no length to check up front): past it the upload is cut, the
 * client is no longer read, and the request fails with `SY_GATEWAY_PAYLOAD_TOO_LARGE`.
 * Request trailers are not forwarded: undici cannot send them.
 */
function streamedBody(ctx: GatewayContext, tap?: BodyTap): Upload {
  const { req, res, bodyLimit } = ctx;
  let failure: SwitchyardError | undefined;
  let started = false;
  let received = 0;
  const detach = (): void => {
    req.off('data', onData);
    req.off('end', onEnd);
  };
  const onData = (chunk: Buffer): void => {
    received += chunk.length;
    if (bodyLimit !== undefined && received > bodyLimit) {
      detach();
      req.pause();
      failure = gatewayError(
        'SY_GATEWAY_PAYLOAD_TOO_LARGE',
        `the request body is larger than the limit of ${bodyLimit} bytes on route ${ctx.route.name}`,
        { details: { limit: bodyLimit, route: ctx.route.name } },
      );
      body.destroy(failure);
      return;
    }
    tap?.data(chunk);
    if (!body.push(chunk)) req.pause();
  };
  const onEnd = (): void => {
    detach();
    tap?.end();
    body.push(null);
  };
  const body = new Readable({
    read() {
      if (started) {
        req.resume();
        return;
      }
      started = true;
      sendContinue(res);
      if (req.readableEnded) {
        body.push(null);
        return;
      }
      req.on('data', onData);
      req.on('end', onEnd);
    },
    destroy(err, callback) {
      // The upstream exchange failed or the body went past its limit: stop reading the client.
      detach();
      tap?.abort();
      if (!req.readableEnded) req.pause();
      callback(err);
    },
  });
  // undici reports body errors through the request; once it has let go of the stream, a client
  // abort arriving late must not surface as an unhandled 'error' event.
  body.on('error', () => {});
  req.on('error', (err) => body.destroy(err));
  return { stream: body, tooLarge: () => failure };
}

async function relay(ctx: GatewayContext, route: UpstreamTarget, response: HttpResponse): Promise<void> {
  const { res } = ctx;
  const headers = downstreamResponseHeaders(response.headers, ctx.requestId);
  // Headers a middleware already set on the response (CORS, RateLimit) win over the upstream's:
  // writeHead's own argument would otherwise take precedence. `Vary` is a list both sides add
  // to (CORS varies on Origin, the upstream on what it negotiated), so the two are merged.
  for (const name of res.getHeaderNames()) {
    if (name === 'vary' && headers.vary !== undefined)
      res.setHeader('vary', mergeVary(res.getHeader('vary'), headers.vary));
    delete headers[name];
  }
  // Trailer fields are relayed after the body (RFC 9110 §6.5); `Trailer` announces them. They
  // need chunked framing, which Node uses when the upstream sent no Content-Length.
  const announced = response.headers.trailer;
  if (announced !== undefined && headers['content-length'] === undefined) headers.trailer = announced;
  try {
    res.writeHead(response.statusCode, headers);
  } catch (err) {
    // An upstream header Node refuses to send: free the upstream connection before failing.
    response.body.on('error', () => {}).destroy();
    throw err;
  }
  if (ctx.method === 'HEAD' || response.statusCode === 204 || response.statusCode === 304) {
    // No body by definition (RFC 9110 §9.3.2, §15.3.5, §15.4.5); drain whatever undici holds.
    response.body.resume();
    res.end();
    return;
  }
  try {
    await relayBody(response, res);
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    throw bodyError(route, response, err);
  }
}

/**
 * Pushes the upstream body into `res` (`response.streamTo`: no `Readable`, no `pipe`),
 * resolving once `res` has been ended. undici is paused while `res` is full and resumed on
 * `drain`. Writes are corked (the head with what undici already holds; later, until the next
 * tick), so the head and the chunks undici hands over in one read leave in one `writev`. Either side failing ends both: a client that leaves aborts the
 * upstream exchange, and a body that fails cuts the client connection, the only signal left
 * once headers were sent. The upstream's trailer fields (hop-by-hop ones dropped) are added
 * before `res` ends; Node sends them on chunked responses only.
 */
function relayBody(response: HttpResponse, res: ServerResponse): Promise<void> {
  return new Promise((resolve, reject) => new BodyRelay(res, resolve, reject).start(response));
}

/** The sink of {@link relayBody}: one object per response, its listeners bound once. */
class BodyRelay implements HttpBodySink {
  readonly #res: ServerResponse;
  readonly #resolve: () => void;
  readonly #reject: (err: unknown) => void;
  #flow: HttpBodyFlow | undefined = undefined;
  #settled = false;

  constructor(res: ServerResponse, resolve: () => void, reject: (err: unknown) => void) {
    this.#res = res;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  start(response: HttpResponse): void {
    const res = this.#res;
    res.on('error', this.onError);
    res.on('close', this.#onClose);
    // What undici already holds (all of a small body) is pushed during streamTo(): corked, the
    // head and those chunks leave in one write, at end() or at the uncork below.
    res.cork();
    try {
      this.#flow = response.streamTo(this);
    } catch (err) {
      res.uncork();
      throw err;
    }
    if (this.#settled) return;
    res.uncork();
    res.on('drain', this.#onDrain);
  }

  onData(chunk: Buffer): boolean {
    const res = this.#res;
    // Later chunks: corked until the next tick, so those undici hands over in one read leave
    // in one write.
    if (this.#flow !== undefined && res.writableCorked === 0) {
      res.cork();
      process.nextTick(uncork, res);
    }
    return res.write(chunk);
  }

  onEnd(trailers: Readonly<Record<string, string>>): void {
    if (this.#settled) return;
    const res = this.#res;
    if (hasFields(trailers)) {
      const fields = relayedTrailers(trailers);
      if (hasFields(fields)) res.addTrailers(fields);
    }
    res.end();
    // Done once the last bytes are handed to `res`: a client leaving while they flush has
    // nothing left to abort, and the connection's own 'close' cleans up.
    this.#settled = true;
    this.#resolve();
  }

  readonly onError = (err: unknown): void => {
    if (this.#settled) return;
    this.#settled = true;
    this.#flow?.abort(err instanceof Error ? err : new Error(String(err)));
    this.#res.destroy();
    this.#reject(err);
  };

  readonly #onClose = (): void => {
    if (!this.#res.writableFinished) {
      this.onError(new Error('the client closed the connection before the response was sent'));
    }
  };

  readonly #onDrain = (): void => {
    this.#flow?.resume();
  };
}

function uncork(res: ServerResponse): void {
  res.uncork();
}

function hasFields(fields: Readonly<Record<string, unknown>>): boolean {
  for (const _ in fields) return true;
  return false;
}

/** Trailer fields that may travel on: no hop-by-hop or framing fields (RFC 9110 §6.5.1). */
function relayedTrailers(fields: Readonly<Record<string, string>>): OutgoingHeaders {
  const out = withoutHopByHop(fields);
  for (const name of ['content-length', 'content-type', 'host', 'authorization', 'set-cookie']) delete out[name];
  return out;
}

/** The response body failed midway (its pause timer, a reset): the client connection will be cut. */
function bodyError(route: UpstreamTarget, response: HttpResponse, err: unknown): SwitchyardError {
  const address = addressOf(response.instance);
  const where = `upstream ${route.service} (${address})`;
  const details = { service: route.service, route: route.name, instance: response.instance.id, address };
  if ((err as { code?: unknown } | null)?.code === 'UND_ERR_BODY_TIMEOUT') {
    return gatewayError('SY_GATEWAY_UPSTREAM_TIMEOUT', `${where} sent no body data for ${route.timeoutMs}ms`, {
      cause: err,
      details,
    });
  }
  return gatewayError(
    'SY_GATEWAY_UPSTREAM_FAILED',
    `${where} failed while sending the response body: ${describeError(err)}`,
    {
      cause: err,
      details,
    },
  );
}

/**
 * Turns a client failure into the gateway's code, with a message naming the route's service
 * and the instance, and the client's error as `cause`. Refusals that keep their own code
 * (`SY_CANCELLED`, `SY_RESILIENCE_CIRCUIT_OPEN`, `SY_RESILIENCE_DEADLINE_EXCEEDED`) pass
 * through; a refused retry stands for the failure behind it.
 */
export function toGatewayError(err: unknown, route: UpstreamTarget): unknown {
  if (isSwitchyardError(err, 'SY_RESILIENCE_RETRY_BUDGET_EXHAUSTED') && err.cause !== undefined) {
    return toGatewayError(err.cause, route);
  }
  if (!isSwitchyardError(err)) return err;
  const service = JSON.stringify(route.service);
  const details: Record<string, JsonValue> = { ...err.details, service: route.service, route: route.name };
  const where = `upstream ${route.service} (${String(err.details.address)})`;
  const reason = describeError(err.cause ?? err);
  switch (err.code) {
    case 'SY_CLIENT_NO_INSTANCE':
      return gatewayError(
        'SY_GATEWAY_NO_HEALTHY_INSTANCE',
        `no healthy instance of service ${service} for route ${route.name}`,
        {
          cause: err,
          details: { service: route.service, route: route.name },
        },
      );
    case 'SY_CLIENT_DISCOVERY_FAILED':
      return gatewayError(
        'SY_GATEWAY_DISCOVERY_FAILED',
        `looking up instances of service ${service} for route ${route.name} failed: ${reason}`,
        { cause: err, details: { service: route.service, route: route.name } },
      );
    case 'SY_CLIENT_CONNECT_FAILED':
      return gatewayError('SY_GATEWAY_UPSTREAM_FAILED', `could not connect to ${where}: ${reason}`, {
        cause: err,
        details,
      });
    case 'SY_CLIENT_UPSTREAM_FAILED':
      return gatewayError('SY_GATEWAY_UPSTREAM_FAILED', `${where} failed: ${reason}`, { cause: err, details });
    case 'SY_CLIENT_TIMEOUT':
      return gatewayError(
        'SY_GATEWAY_UPSTREAM_TIMEOUT',
        `${where} did not send headers within ${String(err.details.timeoutMs)}ms`,
        { cause: err, details },
      );
    case 'SY_CLIENT_CLOSED':
      return gatewayError('SY_GATEWAY_SHUTTING_DOWN', 'the gateway closed before the request finished', { cause: err });
    default:
      return err;
  }
}

function addressOf(instance: { address: string; port: number }): string {
  return `${instance.address.includes(':') ? `[${instance.address}]` : instance.address}:${instance.port}`;
}

/** The union of two `Vary` values, first occurrence order, case-insensitive; `*` absorbs the rest. */
function mergeVary(own: number | string | string[] | undefined, upstream: string | string[]): string {
  const seen = new Map<string, string>();
  for (const value of [own, upstream].flat()) {
    if (value === undefined) continue;
    for (const item of String(value).split(',')) {
      const name = item.trim();
      if (name !== '' && !seen.has(name.toLowerCase())) seen.set(name.toLowerCase(), name);
    }
  }
  return seen.has('*') ? '*' : [...seen.values()].join(', ');
}
