import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import { describeError, type HttpClient, type HttpResponse, type HttpRetryOptions } from '@switchyard/client';
import { isSwitchyardError, type JsonValue, type SwitchyardError } from '@switchyard/core';
import type { Balancer } from '@switchyard/discovery';
import { gatewayError } from './errors.ts';
import { downstreamResponseHeaders, upstreamRequestHeaders } from './headers.ts';
import type { GatewayContext, RouteHandler } from './middleware.ts';
import type { ResolvedRoute } from './options.ts';

/** What {@link createProxy} needs. */
export interface ProxyDependencies {
  /** Sends the upstream requests: discovery, balancing, breaker per service, timeout, retry. */
  readonly client: HttpClient;
  /** The balancer of a route (one per route, so round robin rotates per route). */
  readonly balancerFor: (route: ResolvedRoute) => Balancer;
}

/**
 * How the gateway retries: once, at once, on another instance, and only when the request
 * never left (the connection was refused, no instance answered the lookup). A client that
 * talks to the gateway decides for itself whether to repeat a request that may have reached
 * an upstream; the gateway passes 5xx answers and timeouts through. The client's own rules
 * still apply: only idempotent requests, or requests with an `Idempotency-Key`, are repeated,
 * and a streamed body only while none of it was read.
 */
export const gatewayRetry: HttpRetryOptions = Object.freeze({
  maxAttempts: 2,
  backoff: Object.freeze({ initial: 0, max: 0, jitter: 'none' as const }),
  statuses: Object.freeze([]) as unknown as number[],
  afterSend: false,
});

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
 *   `switchyard-timeout-ms` budget, which it forwards), and retries per {@link gatewayRetry}.
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
    let response: HttpResponse;
    try {
      response = await deps.client.request(route.service, {
        method: ctx.method,
        path: `${route.stripPrefix ? ctx.rest : ctx.path}${ctx.query}`,
        headers: upstreamRequestHeaders(ctx.req.headers, {
          requestId: ctx.requestId,
          clientAddress: ctx.clientAddress,
          trusted: ctx.trustedPeer,
          protocol: (ctx.req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http',
        }),
        body: requestHasBody(ctx.req) ? streamedBody(ctx.req) : null,
        signal: ctx.signal,
        timeout: route.timeoutMs,
        balancer: deps.balancerFor(route),
        retry: gatewayRetry,
      });
    } catch (err) {
      throw toGatewayError(err, route);
    }
    await relay(ctx, route, response);
  };
}

/**
 * The request body as a stream the client may destroy. undici destroys the body of a request
 * that fails; were that the IncomingMessage, Node would destroy the client socket before the
 * 502/504 could be written. The pass-through keeps back-pressure (`pipe` pauses the client
 * when the upstream is slow) and buffers no more than its high-water mark.
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

async function relay(ctx: GatewayContext, route: ResolvedRoute, response: HttpResponse): Promise<void> {
  const { res } = ctx;
  res.writeHead(response.statusCode, downstreamResponseHeaders(response.headers, ctx.requestId));
  if (ctx.method === 'HEAD' || response.statusCode === 204 || response.statusCode === 304) {
    // No body by definition (RFC 9110 §9.3.2, §15.3.5, §15.4.5); drain whatever undici holds.
    response.body.resume();
    res.end();
    return;
  }
  try {
    await pipeBody(response.body, res);
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    throw bodyError(route, response, err);
  }
}

/**
 * Streams `body` to `res` with back-pressure (`pipe`), resolving once `res` finished. Either
 * side failing destroys both: a client that leaves aborts the upstream body, and a body that
 * fails cuts the client connection, the only signal left once headers were sent.
 * `stream.pipeline` does the same but builds an `AbortController` per call, whose abort on
 * completion creates a `DOMException` with a stack trace: a measurable share of the gateway's
 * CPU per response (bench/gateway).
 */
function pipeBody(body: Readable, res: ServerResponse): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      body.unpipe(res);
      body.destroy();
      res.destroy();
      reject(err);
    };
    body.once('error', fail);
    res.once('error', fail);
    res.once('close', () => {
      if (!res.writableFinished) fail(new Error('the client closed the connection before the response was sent'));
    });
    res.once('finish', () => {
      if (settled) return;
      settled = true;
      resolve();
    });
    body.pipe(res);
  });
}

/** The response body failed midway (its pause timer, a reset): the client connection will be cut. */
function bodyError(route: ResolvedRoute, response: HttpResponse, err: unknown): SwitchyardError {
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
export function toGatewayError(err: unknown, route: ResolvedRoute): unknown {
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
