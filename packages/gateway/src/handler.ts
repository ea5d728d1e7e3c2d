import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  type ClientMtlsOptions,
  createDefaultDispatcher,
  createHttpClient,
  createMtlsDispatcher,
  defaultBreakerOptions,
} from '@switchyard/client';
import { coreError, invalidConfig, isSwitchyardError, type SwitchyardError } from '@switchyard/core';
import { createInstanceStats, createOutlierDetector } from '@switchyard/discovery';
import {
  attachDeadline,
  createBreakerRegistry,
  parseTimeoutHeader,
  resilienceError,
  TIMEOUT_HEADER,
} from '@switchyard/resilience';
import { globalMetrics, type HttpRouteMetrics, type Span, withSpan } from '@switchyard/telemetry';
import type { GatewayState } from './admin/state.ts';
import { expectContinue } from './continue.ts';
import { errorBody, gatewayError, httpStatusOf, retryAfterOf } from './errors.ts';
import {
  endServerSpan,
  isTraced,
  reportingEjections,
  spanRefused,
  spanRouted,
  startServerSpan,
  UNMATCHED_ROUTE,
} from './gateway-telemetry.ts';
import { normalizeAddress, requestIdFor } from './headers.ts';
import { type InFlightLinks, InFlightList } from './in-flight-list.ts';
import type { RateLimitStoreFactories } from './middleware/build.ts';
import type { GatewayMiddleware } from './middleware.ts';
import {
  breakerOverridesOf,
  type GatewayOptions,
  type ResolvedGatewayOptions,
  type ResolvedRoute,
  resolveGatewayOptions,
} from './options.ts';
import { normalizeRequestTarget } from './path.ts';
import { type GatewayLogger, type InstanceSource, silentLogger } from './ports.ts';
import { requestHasBody } from './proxy.ts';
import { createRuntimeSlot, type RuntimeSlot, retireRuntime, unchangeableOnReload } from './reload.ts';
import type { RolloutStoreFactories } from './rollout/controller.ts';
import { buildRuntime, type GatewayRuntime, type GatewayServices } from './runtime.ts';
import { createStaticUpstreams, requireDiscovery } from './static-upstreams.ts';
import { upstreamDispatcherOptions } from './tls/upstream.ts';
import {
  createGatewayTraffic,
  subsetBreakerOverrides,
  type TrafficContext,
  type TrafficControl,
  type TrafficSlot,
  trafficSlot,
} from './traffic/control.ts';
import { responseForUpgrade } from './upgrade.ts';
import { cancelUpstream, type RoutedContext, type UpstreamCancel, upstreamCancel } from './upstream-cancel.ts';

/** Input of {@link createGatewayHandler} and `createGateway`. */
export interface GatewayInput {
  /** Gateway options; validated with `resolveGatewayOptions` (root `gateway`). */
  readonly options: GatewayOptions;
  /**
   * Where instances of each route's service come from. Required when a route names a `service`
   * or aggregates; a gateway whose routes all have static `upstreams` needs none.
   */
  readonly discovery?: InstanceSource | undefined;
  /** Receives warnings (upstream failures) and errors; nothing is logged without it. */
  readonly logger?: GatewayLogger;
  /**
   * Middleware run for every routed request, first element outermost, before the proxy.
   * @experimental
   */
  readonly middleware?: readonly GatewayMiddleware[];
  /**
   * Reads the config again for `POST /admin/reload` (the CLI re-reads its file). Without it
   * the admin API answers reload requests with `SY_GATEWAY_RELOAD_UNAVAILABLE`.
   */
  readonly loadConfig?: () => GatewayOptions | Promise<GatewayOptions>;
  /**
   * Factories of the rate-limit stores that `rateLimit` middleware entries name in config and
   * that live in adapter packages: `{ redis: createRedisRateLimitStore }` from
   * `@switchyard/adapter-redis` serves `store: redis`. Without it such an entry fails at start.
   */
  readonly rateLimitStores?: RateLimitStoreFactories;
  /**
   * Called as each response ends (or the client leaves) with the route's name (its path when
   * unnamed; `unmatched` when no route matched), the method, the status (0 when nothing was
   * sent) and the duration in milliseconds. Runs on the request path: keep it to a few
   * arithmetic operations (the CLI's admin API feeds its rolling RED window from it).
   */
  readonly onResponse?: (route: string, method: string, status: number, durationMs: number) => void;
  /**
   * Factories of the rollout stores that `gateway.rollouts.<name>.store` names by URL and that
   * live in adapter packages: `{ redis: (url) => createRedisRolloutStore({ url }) }` from
   * `@switchyard/adapter-redis`, `{ postgres: ... }` from `@switchyard/adapter-postgres`.
   */
  readonly rolloutStores?: RolloutStoreFactories;
  /**
   * Call instances registered with `meta.scheme: "https"` over mutual TLS, presenting this
   * workload identity (followed across rotations: new connections use the new certificate,
   * open ones finish) and verifying theirs against its CA and `expect`. Replaces
   * `upstreamTls` for those calls; plain `http` instances are called as before. `switchyard up`
   * passes one (`spiffe://<trust domain>/ns/<namespace>/sa/gateway`) when `mtls:` is on.
   */
  readonly mtls?: ClientMtlsOptions | undefined;
}

/** The gateway's request handling without a listener, for embedding in an existing node:http server. */
export interface GatewayRequestHandler extends GatewayState {
  /** The validated options of the config in use (the latest one loaded). */
  readonly options: ResolvedGatewayOptions;
  /** A node:http `request` listener. */
  readonly handle: (req: IncomingMessage, res: ServerResponse) => void;
  /**
   * A node:http `upgrade` listener: routes a WebSocket upgrade like any request, runs the
   * route's middleware (which may refuse it with the usual JSON error), then proxies it and
   * splices the sockets. An open tunnel counts as in flight until either side closes it.
   */
  readonly handleUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /**
   * A node:http `checkContinue` listener: the request is routed and its middleware run before
   * the client is told `100 Continue` (when the proxy starts streaming the body), so a
   * refusal is answered without it and with `Connection: close`.
   */
  readonly handleContinue: (req: IncomingMessage, res: ServerResponse) => void;
  /** Requests currently being served. */
  readonly inFlight: number;
  /** Split overrides and response observations of routes with subsets. */
  readonly traffic: TrafficControl;
  /**
   * Validates `options` and swaps them in: requests arriving afterwards use the new routes and
   * middleware, requests in flight finish on the config they started with, and the old
   * config's middleware is closed once they have. `host`, `port`, `admin` and `server` belong
   * to the listeners and cannot change on reload.
   *
   * @throws SwitchyardError `SY_CONFIG_INVALID` listing every problem by path (including a
   *   changed `gateway.port`); the running config stays in use
   * @example
   * ```ts
   * handler.reload({ ...options, routes: [...options.routes, { path: '/api/users', service: 'users' }] });
   * handler.configVersion; // 2
   * ```
   */
  reload(options: GatewayOptions): void;
  /**
   * Lets in-flight requests finish for up to `shutdownTimeout`, then aborts those left and
   * closes the upstream pools. Responses sent meanwhile carry `Connection: close`; requests
   * arriving afterwards get `SY_GATEWAY_SHUTTING_DOWN` (503). Idempotent.
   */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

interface InFlight extends InFlightLinks<InFlight> {
  readonly controller: AbortController;
  readonly res: ServerResponse;
  /** Aborted together with `controller`: the upstream attempt the proxy sent. */
  readonly upstream: UpstreamCancel;
  /** The request's SERVER span (the API's no-op span when telemetry is not set up). */
  readonly span: Span;
  /** Whether the span got its error from a gateway error (a 5xx the gateway answered). */
  errorRecorded: boolean;
  /** The matched route's metrics, once routed (its in-flight gauge counts the request). */
  routeMetrics: HttpRouteMetrics | undefined;
  /** `performance.now()` at arrival; 0 when metrics are off and no `onResponse` is given. */
  readonly started: number;
  /** The matched route's name (its path when unnamed), once routed. */
  routeName: string | undefined;
  /** The subset the proxy chose, for routes with traffic. */
  readonly traffic: TrafficSlot;
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
  // One statistics store for the whole gateway: every route's balancer, the outlier detector
  // and the client's per-attempt feedback share it, so an instance failing on one route is
  // ejected for all of them.
  const stats = createInstanceStats();
  // Metric handles are resolved from the global metrics now: set them before building the gateway.
  const metrics = globalMetrics();
  const onResponse = input.onResponse;
  const timed = metrics.enabled || onResponse !== undefined;
  const unmatched = metrics.http.route(UNMATCHED_ROUTE);
  const outliers = reportingEjections(createOutlierDetector({}, { stats }), metrics);
  // The gateway owns the dispatcher (the client leaves a given one open), so that shutdown can
  // destroy it when in-flight requests outlast `shutdownTimeout`.
  const dispatcher =
    input.mtls === undefined
      ? createDefaultDispatcher(upstreamDispatcherOptions(options.upstreamTls))
      : createMtlsDispatcher(input.mtls, (tls) => createDefaultDispatcher({ tls }));
  requireDiscovery(options.routes, input.discovery);
  // Routes with static `upstreams` are services named `static:<route name>`, answered from the
  // current config; the client treats them like any other service (balancer, breaker, retry).
  const discovery = createStaticUpstreams(() => slot.runtime.options.routes, input.discovery);
  // Breakers are per service; routes may override the defaults for their service.
  const byService = breakerOverridesOf(options.routes);
  const breakers = createBreakerRegistry({
    defaults: defaultBreakerOptions,
    // Routes with subsets go through one breaker per subset (`orders/v2`), with the service's settings.
    overrides: { ...byService, ...subsetBreakerOverrides(options, byService) },
  });
  const client = createHttpClient({ discovery, breakers, dispatcher, timeout: options.timeoutMs });
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
  const traffic = createGatewayTraffic({
    options: () => slot.runtime.options,
    discovery,
    dispatcher,
    logger,
  });
  const services: GatewayServices = {
    traffic,
    client,
    stats,
    outliers,
    logger,
    middleware: input.middleware ?? [],
    rateLimitStores: input.rateLimitStores,
    discovery,
  };
  let slot: RuntimeSlot;
  try {
    slot = createRuntimeSlot(buildRuntime(options, services));
  } catch (err) {
    void Promise.all([client.close(), dispatcher.close()]);
    throw err;
  }
  let configVersion = 1;
  let loadedAt = new Date();
  // Runtimes replaced by a reload whose requests are still running, and their pending closes.
  const retiring = new Set<RuntimeSlot>();

  // A linked list, not a Set: a Set churned once per request keeps finished requests alive
  // across young-generation collections (see InFlightList).
  const active = new InFlightList<InFlight>();
  const drainWaiters = new Set<() => void>();
  let closing = false;
  let closed = false;
  let closePromise: Promise<void> | undefined;

  // Requests that arrived through the 'upgrade' event: their route chain ends in the upgrade proxy.
  const upgrades = new WeakSet<IncomingMessage>();

  function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Bytes the client sent after the request head go upstream first, once the sockets are spliced.
    if (head.length > 0) socket.unshift(head);
    upgrades.add(req);
    handle(req, responseForUpgrade(req, socket));
  }

  function handleContinue(req: IncomingMessage, res: ServerResponse): void {
    expectContinue(res);
    handle(req, res);
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    // The request keeps the runtime it arrived under, even when a reload swaps it meanwhile.
    const pinned = slot;
    pinned.inFlight += 1;
    const entry: InFlight = {
      controller: new AbortController(),
      res,
      upstream: { signal: undefined, abort: undefined },
      span: startServerSpan(req, req.method ?? 'GET'),
      errorRecorded: false,
      routeMetrics: undefined,
      started: timed || traffic.observing ? performance.now() : 0,
      routeName: undefined,
      traffic: { subset: undefined },
      prev: undefined,
      next: undefined,
    };
    active.add(entry);
    // `on`, not `once`: 'close' comes once per response, and `once` wraps the listener.
    res.on('close', () => {
      active.delete(entry);
      pinned.inFlight -= 1;
      if (pinned.retired && pinned.inFlight === 0) void retireRuntime(pinned, logger);
      const complete = res.writableFinished;
      if (!complete) {
        const reason = coreError('SY_CANCELLED', 'the client closed the connection before the response was sent');
        entry.controller.abort(reason);
        cancelUpstream(entry.upstream, reason);
      }
      const status = complete || res.headersSent ? res.statusCode : 0;
      endServerSpan(entry.span, status, complete, entry.errorRecorded);
      if (timed) {
        const ms = performance.now() - entry.started;
        if (metrics.enabled) {
          const seconds = ms / 1000;
          if (entry.routeMetrics === undefined) unmatched.observe(req.method ?? 'GET', status, seconds);
          else entry.routeMetrics.end(req.method ?? 'GET', status, seconds);
        }
        onResponse?.(entry.routeName ?? UNMATCHED_ROUTE, req.method ?? 'GET', status, ms);
      }
      if (entry.started !== 0 && traffic.observing) {
        const ms = performance.now() - entry.started;
        traffic.emit(entry.routeName ?? UNMATCHED_ROUTE, entry.traffic.subset, status, ms);
      }
      if (active.size === 0) for (const notify of drainWaiters) notify();
    });
    serve(req, res, entry, pinned.runtime).catch((err: unknown) => {
      // Rendering the error itself failed; nothing sensible can be written any more.
      logger.error({ err, url: req.url }, 'gateway failed to answer a request');
      res.destroy();
    });
  }

  async function serve(
    req: IncomingMessage,
    res: ServerResponse,
    entry: InFlight,
    current: GatewayRuntime,
  ): Promise<void> {
    const signal = entry.controller.signal;
    const requestId = requestIdFor(req.headers['x-request-id']);
    const method = req.method ?? 'GET';
    let route: ResolvedRoute | undefined;
    try {
      if (closed) throw gatewayError('SY_GATEWAY_SHUTTING_DOWN', 'the gateway is shutting down');
      if (closing) res.setHeader('connection', 'close');
      const { path, query } = normalizeRequestTarget(req.url ?? '/');
      const matched = current.router.match(method, path, req);
      if (matched === undefined) {
        const allow = current.router.allowedMethods(path, req);
        if (allow.length > 0) {
          throw gatewayError('SY_GATEWAY_METHOD_NOT_ALLOWED', `${method} is not allowed on ${shorten(path)}`, {
            details: { method, path: shorten(path), allow: allow.join(', ') },
          });
        }
        throw gatewayError('SY_GATEWAY_ROUTE_NOT_FOUND', `no route for ${method} ${shorten(path)}`, {
          details: { method, path: shorten(path) },
        });
      }
      route = matched.route;
      entry.routeName = route.name ?? route.path;
      spanRouted(entry.span, method, route);
      if (metrics.enabled) {
        entry.routeMetrics = current.routeMetricsFor(route);
        entry.routeMetrics.start();
      }
      const routeSignal = withBudget(req, signal);
      entry.upstream.signal = routeSignal;
      const peer = req.socket.remoteAddress;
      const clientAddress = peer === undefined ? undefined : normalizeAddress(peer);
      const chain = upgrades.has(req) ? current.upgradeHandlerFor(route) : current.handlerFor(route);
      const ctx: RoutedContext & TrafficContext = {
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
        trustedPeer: clientAddress !== undefined && current.isTrusted(clientAddress),
        signal: routeSignal,
        [upstreamCancel]: entry.upstream,
        [trafficSlot]: entry.traffic,
      };
      // With tracing on, the chain runs with the server span active: middleware, the client's
      // attempt spans and log lines see it. Off, no context is made.
      const span = entry.span;
      await (isTraced(span) ? withSpan(span, () => chain(ctx)) : chain(ctx));
    } catch (err) {
      fail(err, { req, res, requestId, method, route, signal, entry });
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
      entry: InFlight;
    },
  ): void {
    const { req, res, requestId, signal } = at;
    // The client left, or shutdown gave up on the request: there is no one to answer.
    if (signal.aborted || res.destroyed) return;
    const error: SwitchyardError = isSwitchyardError(err)
      ? err
      : gatewayError('SY_GATEWAY_INTERNAL', 'internal gateway error', { cause: err });
    const status = httpStatusOf(error);
    spanRefused(at.entry.span, error, status);
    if (status >= 500) at.entry.errorRecorded = true;
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

  function reload(given: GatewayOptions): void {
    if (closing) throw gatewayError('SY_GATEWAY_SHUTTING_DOWN', 'the gateway is shutting down; reload refused');
    const next = resolveGatewayOptions(given);
    requireDiscovery(next.routes, input.discovery);
    const refused = unchangeableOnReload(slot.runtime.options, next);
    if (refused.length > 0) throw invalidConfig(refused);
    const runtime = buildForReload(next, services);
    const previous = slot;
    slot = createRuntimeSlot(runtime);
    traffic.reconcile(next);
    configVersion += 1;
    loadedAt = new Date();
    retiring.add(previous);
    void retireRuntime(previous, logger).then(() => retiring.delete(previous));
    logger.info({ configVersion, routes: next.routes.length }, 'gateway config reloaded');
  }

  async function closeRuntimes(): Promise<void> {
    const pending = [retireRuntime(slot, logger), ...[...retiring].map((s) => retireRuntime(s, logger))];
    await Promise.all(pending);
  }

  async function shutdown(): Promise<void> {
    closing = true;
    const shutdownTimeoutMs = slot.runtime.options.shutdownTimeoutMs;
    const drained = await waitForDrain(shutdownTimeoutMs);
    closed = true;
    if (drained) {
      await Promise.all([client.close(), dispatcher.close(), closeRuntimes()]);
      return;
    }
    logger.warn(
      { inFlight: active.size, shutdownTimeoutMs },
      'gateway shutdown timeout reached; aborting in-flight requests',
    );
    const reason = gatewayError('SY_GATEWAY_SHUTTING_DOWN', 'the gateway closed before the request finished');
    for (const entry of active) {
      entry.controller.abort(reason);
      cancelUpstream(entry.upstream, reason);
      entry.res.destroy();
    }
    await Promise.all([client.close(), dispatcher.destroy(reason), closeRuntimes()]);
  }

  return {
    get options() {
      return slot.runtime.options;
    },
    get configVersion() {
      return configVersion;
    },
    get loadedAt() {
      return loadedAt;
    },
    get draining() {
      return closing;
    },
    services: { discovery, client, stats, outliers },
    traffic: traffic.control,
    ...(input.loadConfig === undefined ? {} : { loadConfig: input.loadConfig }),
    handle,
    handleUpgrade,
    handleContinue,
    reload,
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
  // RFC 9110 §15.5.6: a 405 lists the methods the target serves.
  if (error.code === 'SY_GATEWAY_METHOD_NOT_ALLOWED' && typeof error.details.allow === 'string') {
    headers.allow = error.details.allow;
  }
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

/** Builds the runtime of a reloaded config; a middleware that cannot be built is a config problem. */
function buildForReload(options: ResolvedGatewayOptions, services: GatewayServices): GatewayRuntime {
  try {
    return buildRuntime(options, services);
  } catch (err) {
    if (isSwitchyardError(err)) throw err;
    const message = err instanceof Error ? err.message : String(err);
    // buildMiddleware names the config path first: `gateway.routes[2].middleware: ...`.
    const at = /^(gateway[^\s:]*): ([\s\S]*)$/.exec(message);
    throw invalidConfig([{ path: at?.[1] ?? 'gateway', message: at?.[2] ?? message }]);
  }
}
