import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isSwitchyardError } from '@switchyard/core';
import { metricsHandler } from '@switchyard/telemetry';
import { handleClientError } from '../client-error.ts';
import { errorBody, gatewayError } from '../errors.ts';
import { exposableMetrics } from '../gateway-telemetry.ts';
import { requestIdFor } from '../headers.ts';
import { listen } from '../listen.ts';
import type { GatewayLogger } from '../ports.ts';
import { rolloutAdminEndpoint } from '../rollout/admin.ts';
import type { RolloutController } from '../rollout/controller.ts';
import { admitAdminRequest, createAdminAuth } from './admin-auth.ts';
import type { ResolvedAdminOptions } from './options.ts';
import type { GatewayState } from './state.ts';
import { breakersView, configView, notReadyReason, rateLimitsView, routesView, upstreamsView } from './views.ts';

/** What the admin endpoints read: the handler's state and whether the gateway's listener is up. */
export interface AdminHandlerInput {
  readonly state: GatewayState;
  /** Whether the gateway's own server is listening (readiness). */
  readonly listening: () => boolean;
  readonly logger: GatewayLogger;
  /** The gateway's rollouts, for `/admin/rollouts`; absent when it has none. */
  readonly rollouts?: RolloutController | undefined;
}

/** What the admin server reads: the endpoints' input and where to listen. */
export interface AdminServerInput extends AdminHandlerInput {
  readonly options: ResolvedAdminOptions;
  /** The endpoints to serve; built from the input when absent. */
  readonly handler?: AdminHandler;
}

/** The JSON documents of the gateway's admin views, for embedders that serve or stream them. */
export interface AdminViews {
  /** `GET /admin/routes`. */
  routes(): Record<string, unknown>;
  /** `GET /admin/upstreams` (waits for discovery, at most 2 s per service). */
  upstreams(): Promise<Record<string, unknown>>;
  /** `GET /admin/breakers`. */
  breakers(): Record<string, unknown>;
  /** `GET /admin/rate-limits`. */
  rateLimits(): Record<string, unknown>;
  /** `GET /admin/config` (secrets redacted). */
  config(): Record<string, unknown>;
}

/**
 * The gateway's admin endpoints as a mountable node:http request handler: `switchyard gateway`
 * serves it on its own listener (behind its authentication), and `switchyard up` mounts it in
 * the system admin API (behind that API's).
 */
export interface AdminHandler {
  /**
   * Answers one request: an endpoint's JSON, 404 for an unknown path, 405 for a wrong method.
   * Authentication is the caller's. `requestId` defaults to the `X-Request-Id` header or a new one.
   */
  readonly handle: (req: IncomingMessage, res: ServerResponse, requestId?: string) => Promise<void>;
  /** Whether `path` (without query) is one of the endpoints (`/metrics` included). */
  has(path: string): boolean;
  readonly views: AdminViews;
}

/** The admin API's listener. */
export interface AdminServer {
  /** `http://host:port`, with the port actually bound. */
  readonly url: string;
  /** Closes the listener and its connections. Idempotent. */
  close(): Promise<void>;
}

interface Answer {
  readonly status: number;
  readonly body: unknown;
}

type Endpoint = { readonly method: 'GET' | 'POST'; readonly run: () => Answer | Promise<Answer> };

/**
 * Builds the admin endpoints: health, readiness, the routes, upstreams, breakers, rate limits
 * and config in use (secrets redacted), and reload. Every answer is JSON; errors carry a stable
 * code. `GET /metrics` serves the Prometheus text exposition of the process's global metrics
 * when they are set up (`setGlobalMetrics(createMetrics())`), else 404 saying so.
 *
 * @example
 * ```ts
 * const admin = createAdminHandler({ state: handler, listening: () => true, logger: silentLogger });
 * createServer((req, res) => void admin.handle(req, res)).listen(9901, '127.0.0.1');
 * ```
 */
export function createAdminHandler(input: AdminHandlerInput): AdminHandler {
  const { state, logger } = input;
  const ok = (body: unknown): Answer => ({ status: 200, body });
  const views: AdminViews = {
    routes: () => routesView(state),
    upstreams: () => upstreamsView(state),
    breakers: () => breakersView(state.services),
    rateLimits: () => rateLimitsView(state),
    config: () => configView(state),
  };
  const endpoints: Readonly<Record<string, Endpoint>> = {
    '/healthz': { method: 'GET', run: () => ok({ status: 'ok' }) },
    '/readyz': {
      method: 'GET',
      run: () => {
        const reason = notReadyReason(state, input.listening());
        return reason === undefined
          ? ok({ status: 'ready', configVersion: state.configVersion })
          : { status: 503, body: { status: 'not_ready', reason } };
      },
    },
    '/admin/routes': { method: 'GET', run: () => ok(views.routes()) },
    '/admin/upstreams': { method: 'GET', run: async () => ok(await views.upstreams()) },
    '/admin/breakers': { method: 'GET', run: () => ok(views.breakers()) },
    '/admin/rate-limits': { method: 'GET', run: () => ok(views.rateLimits()) },
    '/admin/config': { method: 'GET', run: () => ok(views.config()) },
    '/admin/reload': { method: 'POST', run: () => reload(state, logger) },
  };

  async function answer(
    req: IncomingMessage,
    res: ServerResponse,
    requestId = requestIdFor(req.headers['x-request-id']),
  ): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === '/metrics') {
      const metrics = exposableMetrics();
      if (metrics !== undefined) {
        // Prometheus text format: metricsHandler answers it (405 for other methods, 500 if collecting fails).
        metricsHandler(metrics)(req, res);
        return;
      }
    }
    const endpoint = Object.hasOwn(endpoints, path)
      ? endpoints[path]
      : rolloutAdminEndpoint(input.rollouts, req.url ?? '/');
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    let result: Answer;
    const headers: Record<string, string> = {};
    if (endpoint === undefined) {
      const message =
        path === '/metrics'
          ? 'metrics are not set up in this process: call setGlobalMetrics(createMetrics()) from @switchyard/telemetry before createGateway (the switchyard CLI does it)'
          : `no admin endpoint ${path}`;
      result = { status: 404, body: errorBody(gatewayError('SY_GATEWAY_ROUTE_NOT_FOUND', message), requestId) };
    } else if (method !== endpoint.method) {
      headers.allow = endpoint.method === 'GET' ? 'GET, HEAD' : endpoint.method;
      result = {
        status: 405,
        body: errorBody(
          gatewayError(
            'SY_GATEWAY_METHOD_NOT_ALLOWED',
            `${req.method} is not allowed on ${path}; use ${headers.allow}`,
          ),
          requestId,
        ),
      };
    } else {
      try {
        result = await endpoint.run();
      } catch (err) {
        logger.error({ err, path }, 'admin endpoint failed');
        result = { status: 500, body: errorBody(err, requestId) };
      }
    }
    // Reads are discarded: no admin endpoint takes a body.
    req.resume();
    const body = JSON.stringify(result.body, null, 2);
    res.writeHead(result.status, {
      ...headers,
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
      'x-request-id': requestId,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  return {
    handle: answer,
    has: (path) =>
      path === '/metrics' || Object.hasOwn(endpoints, path) || rolloutAdminEndpoint(input.rollouts, path) !== undefined,
    views,
  };
}

/**
 * Starts the admin API on its own listener: {@link createAdminHandler}'s endpoints (or the
 * given `handler`'s, so the gateway and its admin server share one), behind `options.auth`.
 *
 * @throws Error the listen error (`EADDRINUSE`, ...); the caller wraps it
 * @example
 * ```ts
 * const server = await startAdminServer({ options: { host: '127.0.0.1', port: 0 }, state, listening: () => true, logger });
 * await server.close();
 * ```
 */
export async function startAdminServer(input: AdminServerInput): Promise<AdminServer> {
  const { logger } = input;
  const auth = input.options.auth === undefined ? undefined : createAdminAuth(input.options.auth);
  const admin = input.handler ?? createAdminHandler(input);
  const answer = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = requestIdFor(req.headers['x-request-id']);
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (!admitAdminRequest(auth, path, req, res, requestId)) return;
    await admin.handle(req, res, requestId);
  };
  const server = createServer((req, res) => {
    answer(req, res).catch((err: unknown) => {
      logger.error({ err, url: req.url }, 'admin API failed to answer a request');
      res.destroy();
    });
  });
  server.on('clientError', handleClientError);
  await listen(server, input.options.host, input.options.port);
  server.on('error', (err) => logger.error({ err }, 'admin server error'));
  const { host } = input.options;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${(server.address() as AddressInfo).port}`;
  let closePromise: Promise<void> | undefined;
  return {
    url,
    close() {
      closePromise ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closePromise;
    },
  };
}

/** `POST /admin/reload`: loads the config through the embedder's callback and swaps it in. */
async function reload(state: GatewayState, logger: GatewayLogger): Promise<Answer> {
  if (state.loadConfig === undefined) {
    const error = gatewayError(
      'SY_GATEWAY_RELOAD_UNAVAILABLE',
      'this gateway was started without a way to read its config again (GatewayInput.loadConfig)',
    );
    return { status: 501, body: { error: { code: error.code, message: error.message } } };
  }
  try {
    state.reload(await state.loadConfig());
  } catch (err) {
    if (!isSwitchyardError(err)) throw err;
    logger.warn({ err, code: err.code }, 'config reload refused; the running config stays');
    return {
      status: 400,
      body: { error: { code: err.code, message: err.message, details: err.details } },
    };
  }
  return { status: 200, body: { configVersion: state.configVersion, loadedAt: state.loadedAt.toISOString() } };
}
