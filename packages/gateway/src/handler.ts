import type { IncomingMessage, ServerResponse } from 'node:http';
import { createDefaultDispatcher, createHttpClient } from '@switchyard/client';
import { coreError, isSwitchyardError, type SwitchyardError } from '@switchyard/core';
import { type Balancer, createBalancer, createInstanceStats, createOutlierDetector } from '@switchyard/discovery';
import { attachDeadline, parseTimeoutHeader, resilienceError, TIMEOUT_HEADER } from '@switchyard/resilience';
import { errorBody, gatewayError, httpStatusOf, retryAfterOf } from './errors.ts';
import { createProxyTrust, normalizeAddress, requestIdFor } from './headers.ts';
import { composeMiddleware, type GatewayMiddleware } from './middleware.ts';
import {
  type GatewayOptions,
  type ResolvedGatewayOptions,
  type ResolvedRoute,
  resolveGatewayOptions,
} from './options.ts';
import { normalizeRequestTarget } from './path.ts';
import { type GatewayLogger, type InstanceSource, silentLogger } from './ports.ts';
import { createProxy, requestHasBody } from './proxy.ts';
import { createRouter } from './router.ts';

/** Input of {@link createGatewayHandler} and `createGateway`. */
export interface GatewayInput {
  /** Gateway options; validated with `resolveGatewayOptions` (root `gateway`). */
  readonly options: GatewayOptions;
  /** Where instances of each route's service come from. */
  readonly discovery: InstanceSource;
  /** Receives warnings (upstream failures) and errors; nothing is logged without it. */
  readonly logger?: GatewayLogger;
  /**
   * Middleware run for every routed request, first element outermost, before the proxy.
   * @experimental
   */
  readonly middleware?: readonly GatewayMiddleware[];
}

/** The gateway's request handling without a listener, for embedding in an existing node:http server. */
export interface GatewayRequestHandler {
  /** The validated options. */
  readonly options: ResolvedGatewayOptions;
  /** A node:http `request` listener. */
  readonly handle: (req: IncomingMessage, res: ServerResponse) => void;
  /** Requests currently being served. */
  readonly inFlight: number;
  /**
   * Lets in-flight requests finish for up to `shutdownTimeout`, then aborts those left and
   * closes the upstream pools. Responses sent meanwhile carry `Connection: close`; requests
   * arriving afterwards get `SY_GATEWAY_SHUTTING_DOWN` (503). Idempotent.
   */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

interface InFlight {
  readonly controller: AbortController;
  readonly res: ServerResponse;
}

/**
 * Builds the gateway's request handler: normalise the path, route, run middleware, proxy.
 * Every failure becomes a JSON error `{ "error": { code, message, requestId } }` with the
 * status from the gateway's code table and an `X-Request-Id` header.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` when the options are invalid
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 *
 * const handler = createGatewayHandler({ options: { routes: [{ path: '/api/orders', service: 'orders' }] }, discovery });
 * const server = createServer(handler.handle).listen(8080);
 * // on shutdown:
 * server.close();
 * await handler.close();
 * ```
 */
export function createGatewayHandler(input: GatewayInput): GatewayRequestHandler {
  const options = resolveGatewayOptions(input.options);
  const logger = input.logger ?? silentLogger;
  const router = createRouter(options.routes);
  const isTrusted = createProxyTrust(options.trustedProxies);
  // One statistics store for the whole gateway: every route's balancer, the outlier detector
  // and the client's per-attempt feedback share it, so an instance failing on one route is
  // ejected for all of them.
  const stats = createInstanceStats();
  const outliers = createOutlierDetector({}, { stats });
  const balancers = new Map<ResolvedRoute, Balancer>(
    options.routes.map((route) => [route, createBalancer(route.balancer, { stats, outliers })]),
  );
  // The gateway owns the dispatcher (the client leaves a given one open), so that shutdown can
  // destroy it when in-flight requests outlast `shutdownTimeout`.
  const dispatcher = createDefaultDispatcher();
  const client = createHttpClient({ discovery: input.discovery, dispatcher, timeout: options.timeoutMs });
  client.onRetry((event) =>
    logger.warn(
      {
        err: event.error,
        status: event.statusCode,
        requestId: event.headers['x-request-id'],
        service: event.service,
        instance: event.previousInstance?.id,
        retryInstance: event.instance.id,
      },
      'upstream not reached; retrying on another instance',
    ),
  );
  const proxy = createProxy({
    client,
    balancerFor: (route) => balancers.get(route) ?? createBalancer(route.balancer),
  });
  const chain = composeMiddleware(input.middleware ?? [], proxy);

  const active = new Set<InFlight>();
  const drainWaiters = new Set<() => void>();
  let closing = false;
  let closed = false;
  let closePromise: Promise<void> | undefined;

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const entry: InFlight = { controller: new AbortController(), res };
    active.add(entry);
    res.once('close', () => {
      active.delete(entry);
      if (!res.writableFinished) {
        entry.controller.abort(
          coreError('SY_CANCELLED', 'the client closed the connection before the response was sent'),
        );
      }
      if (active.size === 0) for (const notify of drainWaiters) notify();
    });
    serve(req, res, entry.controller.signal).catch((err: unknown) => {
      // Rendering the error itself failed; nothing sensible can be written any more.
      logger.error({ err, url: req.url }, 'gateway failed to answer a request');
      res.destroy();
    });
  }

  async function serve(req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> {
    const requestId = requestIdFor(req.headers['x-request-id']);
    const method = req.method ?? 'GET';
    let route: ResolvedRoute | undefined;
    try {
      if (closed) throw gatewayError('SY_GATEWAY_SHUTTING_DOWN', 'the gateway is shutting down');
      if (closing) res.setHeader('connection', 'close');
      const { path, query } = normalizeRequestTarget(req.url ?? '/');
      const matched = router.match(method, path);
      if (matched === undefined) {
        throw gatewayError('SY_GATEWAY_ROUTE_NOT_FOUND', `no route for ${method} ${shorten(path)}`, {
          details: { method, path: shorten(path) },
        });
      }
      route = matched.route;
      const routeSignal = withBudget(req, signal);
      const peer = req.socket.remoteAddress;
      const clientAddress = peer === undefined ? undefined : normalizeAddress(peer);
      await chain({
        req,
        res,
        requestId,
        method,
        path,
        query,
        route,
        params: matched.params,
        rest: matched.rest,
        clientAddress,
        trustedPeer: clientAddress !== undefined && isTrusted(clientAddress),
        signal: routeSignal,
      });
    } catch (err) {
      fail(err, { req, res, requestId, method, route, signal });
    }
  }

  function fail(
    err: unknown,
    at: {
      req: IncomingMessage;
      res: ServerResponse;
      requestId: string;
      method: string;
      route: ResolvedRoute | undefined;
      signal: AbortSignal;
    },
  ): void {
    const { req, res, requestId, signal } = at;
    // The client left, or shutdown gave up on the request: there is no one to answer.
    if (signal.aborted || res.destroyed) return;
    const error: SwitchyardError = isSwitchyardError(err)
      ? err
      : gatewayError('SY_GATEWAY_INTERNAL', 'internal gateway error', { cause: err });
    const status = httpStatusOf(error);
    if (status >= 500) {
      const fields = {
        err: error,
        code: error.code,
        requestId,
        method: at.method,
        url: req.url,
        route: at.route?.name,
      };
      if (status === 500) logger.error(fields, error.message);
      else logger.warn(fields, error.message);
    }
    if (res.headersSent) {
      // Part of the upstream response is already on the wire; cutting the connection is the
      // only way left to tell the client it is incomplete.
      res.destroy();
      return;
    }
    sendError(req, res, error, status, requestId);
  }

  function waitForDrain(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      if (active.size === 0) return resolve(true);
      const done = () => {
        clearTimeout(timer);
        drainWaiters.delete(done);
        resolve(true);
      };
      const timer = setTimeout(() => {
        drainWaiters.delete(done);
        resolve(false);
      }, ms);
      drainWaiters.add(done);
    });
  }

  async function shutdown(): Promise<void> {
    closing = true;
    const drained = await waitForDrain(options.shutdownTimeoutMs);
    closed = true;
    if (drained) {
      await Promise.all([client.close(), dispatcher.close()]);
      return;
    }
    logger.warn(
      { inFlight: active.size, shutdownTimeoutMs: options.shutdownTimeoutMs },
      'gateway shutdown timeout reached; aborting in-flight requests',
    );
    const reason = gatewayError('SY_GATEWAY_SHUTTING_DOWN', 'the gateway closed before the request finished');
    for (const entry of active) {
      entry.controller.abort(reason);
      entry.res.destroy();
    }
    await Promise.all([client.close(), dispatcher.destroy(reason)]);
  }

  return {
    options,
    handle,
    get inFlight() {
      return active.size;
    },
    close() {
      closePromise ??= shutdown();
      return closePromise;
    },
    [Symbol.asyncDispose]() {
      return this.close();
    },
  };
}

function sendError(
  req: IncomingMessage,
  res: ServerResponse,
  error: SwitchyardError,
  status: number,
  requestId: string,
) {
  const body = JSON.stringify(errorBody(error, requestId));
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-request-id': requestId,
  };
  const retryAfter = retryAfterOf(error);
  if (retryAfter !== undefined) headers['retry-after'] = retryAfter;
  // The rest of an unread request body goes away with the connection instead of being read
  // and discarded (it may be large, or half-consumed by a failed upstream request).
  if (requestHasBody(req) && !req.complete) headers.connection = 'close';
  res.writeHead(status, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * Reads the caller's remaining budget (`switchyard-timeout-ms`): a malformed one is refused
 * (400), a spent one too (504, before any work), and any other gives the request a signal
 * carrying the deadline, which caps the route timeout and is forwarded upstream by the client.
 * The signal does not abort at the deadline itself: the client's timer, capped by it, ends the
 * upstream exchange with the usual 504.
 */
function withBudget(req: IncomingMessage, signal: AbortSignal): AbortSignal {
  const raw = req.headers[TIMEOUT_HEADER];
  const budget = parseTimeoutHeader(
    typeof raw === 'string' && raw.includes(',') ? raw.split(',').map((v) => v.trim()) : raw,
  );
  if (budget === undefined) return signal;
  if (typeof budget === 'object') {
    throw gatewayError('SY_GATEWAY_BAD_TIMEOUT_HEADER', budget.error, { details: { header: TIMEOUT_HEADER } });
  }
  if (budget === 0) {
    throw resilienceError(
      'SY_RESILIENCE_DEADLINE_EXCEEDED',
      `the caller's time budget was already spent (${TIMEOUT_HEADER}: 0); the request was not forwarded`,
    );
  }
  const routeSignal = AbortSignal.any([signal]);
  attachDeadline(routeSignal, Date.now() + budget);
  return routeSignal;
}

function shorten(path: string): string {
  return path.length > 200 ? `${path.slice(0, 200)}…` : path;
}
