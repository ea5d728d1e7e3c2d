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
import type { ResolvedAdminOptions } from './options.ts';
import type { GatewayState } from './state.ts';
import { breakersView, configView, notReadyReason, rateLimitsView, routesView, upstreamsView } from './views.ts';

/** What the admin server reads: the handler's state and whether the gateway's listener is up. */
export interface AdminServerInput {
  readonly options: ResolvedAdminOptions;
  readonly state: GatewayState;
  /** Whether the gateway's own server is listening (readiness). */
  readonly listening: () => boolean;
  readonly logger: GatewayLogger;
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
 * Starts the admin API: health, readiness, the routes, upstreams, breakers, rate limits and
 * config in use (secrets redacted), and reload. Every answer is JSON; errors carry a stable code.
 * `GET /metrics` serves the Prometheus text exposition of the process's global metrics when
 * they are set up (`setGlobalMetrics(createMetrics())`), else 404 saying so.
 *
 * @throws Error the listen error (`EADDRINUSE`, ...); the caller wraps it
 */
export async function startAdminServer(input: AdminServerInput): Promise<AdminServer> {
  const { state, logger } = input;
  const ok = (body: unknown): Answer => ({ status: 200, body });
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
    '/admin/routes': { method: 'GET', run: () => ok(routesView(state)) },
    '/admin/upstreams': { method: 'GET', run: async () => ok(await upstreamsView(state)) },
    '/admin/breakers': { method: 'GET', run: () => ok(breakersView(state.services)) },
    '/admin/rate-limits': { method: 'GET', run: () => ok(rateLimitsView(state)) },
    '/admin/config': { method: 'GET', run: () => ok(configView(state)) },
    '/admin/reload': { method: 'POST', run: () => reload(state, logger) },
  };

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = requestIdFor(req.headers['x-request-id']);
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === '/metrics') {
      const metrics = exposableMetrics();
      if (metrics !== undefined) {
        // Prometheus text format: metricsHandler answers it (405 for other methods, 500 if collecting fails).
        metricsHandler(metrics)(req, res);
        return;
      }
    }
    const endpoint = Object.hasOwn(endpoints, path) ? endpoints[path] : undefined;
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
