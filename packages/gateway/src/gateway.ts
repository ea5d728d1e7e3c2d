import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type AdminServer, startAdminServer } from './admin/server.ts';
import { handleClientError } from './client-error.ts';
import { gatewayError } from './errors.ts';
import { createGatewayHandler, type GatewayInput, type GatewayRequestHandler } from './handler.ts';
import { listen } from './listen.ts';
import type { GatewayOptions, ResolvedGatewayOptions } from './options.ts';
import { silentLogger } from './ports.ts';
import { connectionsCheckingIntervalFor } from './server-limits.ts';
import { isWebSocketUpgrade } from './upgrade.ts';

/** A running gateway. */
export interface Gateway {
  /** `http://host:port`, with the port actually bound (useful with `port: 0`). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The config in use: the one the gateway started with, or the latest reloaded. */
  readonly options: ResolvedGatewayOptions;
  /** 1 for the config the gateway started with, one more per successful reload. */
  readonly configVersion: number;
  /** When the config in use was loaded. */
  readonly loadedAt: Date;
  /** `http://host:port` of the admin API; absent when `admin` is not configured. */
  readonly adminUrl: string | undefined;
  /** The node:http `request` listener, for embedding the same routing elsewhere. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  /**
   * Swaps in a new config without dropping a request: new requests use it, requests in flight
   * finish on the old one. `host`, `port`, `admin` and `server` cannot change on reload.
   *
   * @throws SwitchyardError `SY_CONFIG_INVALID` listing every problem by path; the running
   *   config stays in use
   * @example
   * ```ts
   * gateway.reload({ ...config, routes: [...config.routes, { path: '/api/users', service: 'users' }] });
   * ```
   */
  reload(options: GatewayOptions): void;
  /**
   * Stops accepting connections, lets in-flight requests finish for up to `shutdownTimeout`,
   * then cuts what is left and closes the upstream pools, then the admin API (which answers
   * `/readyz` with 503 meanwhile). Idempotent.
   */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts the gateway on node:http and resolves once it is listening.
 *
 * With `options.admin`, the admin API (health, readiness, routes, upstreams, breakers, rate
 * limits, config, reload) listens on its own host and port.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` for invalid options; `SY_GATEWAY_LISTEN_FAILED`
 *   when the host and port, or the admin API's, cannot be bound (`cause` is the system error)
 * @example
 * ```ts
 * await using gateway = await createGateway({
 *   options: { port: 0, routes: [{ path: '/api/orders', service: 'orders' }] },
 *   discovery: {
 *     instances: async (service) => [
 *       { id: `${service}-1`, service, address: '127.0.0.1', port: 3001, tags: [], meta: {}, status: 'passing', weight: 1 },
 *     ],
 *   },
 * });
 * await fetch(`${gateway.url}/api/orders/12`); // proxied to http://127.0.0.1:3001/12
 * ```
 */
export async function createGateway(input: GatewayInput): Promise<Gateway> {
  const handler = createGatewayHandler(input);
  const logger = input.logger ?? silentLogger;
  const { host, port } = handler.options;
  const limits = handler.options.server;
  const server = createServer(
    {
      maxHeaderSize: limits.maxHeaderSize,
      headersTimeout: limits.headersTimeout,
      requestTimeout: limits.requestTimeout,
      keepAliveTimeout: limits.keepAliveTimeout,
      connectionsCheckingInterval: connectionsCheckingIntervalFor(limits),
      requireHostHeader: true,
      // Only WebSocket upgrades reach the 'upgrade' listener; any other `Upgrade` request is
      // served as plain HTTP, the upgrade ignored (RFC 9110 §7.8). Node versions without this
      // option send every upgrade to the listener, which refuses the others with a 400.
      shouldUpgradeCallback: isWebSocketUpgrade,
    },
    handler.handle,
  );
  server.maxRequestsPerSocket = limits.maxRequestsPerSocket;
  server.on('clientError', handleClientError);
  // The gateway decides on `Expect: 100-continue` itself: routing and middleware run first, and
  // the proxy sends `100 Continue` only when it starts streaming the body upstream.
  server.on('checkContinue', handler.handleContinue);
  server.on('upgrade', handler.handleUpgrade);
  try {
    await listen(server, host, port);
  } catch (err) {
    await handler.close();
    const reason = err instanceof Error ? err.message : String(err);
    throw gatewayError('SY_GATEWAY_LISTEN_FAILED', `gateway could not listen on ${host}:${port}: ${reason}`, {
      cause: err,
      details: { host, port },
    });
  }
  server.on('error', (err) => logger.error({ err }, 'gateway server error'));
  let listening = true;
  const adminOptions = handler.options.admin;
  let admin: AdminServer | undefined;
  if (adminOptions !== undefined) {
    try {
      admin = await startAdminServer({ options: adminOptions, state: handler, listening: () => listening, logger });
    } catch (err) {
      await shutdown(server, handler);
      const at = `${adminOptions.host}:${adminOptions.port}`;
      const reason = err instanceof Error ? err.message : String(err);
      throw gatewayError('SY_GATEWAY_LISTEN_FAILED', `gateway admin API could not listen on ${at}: ${reason}`, {
        cause: err,
        details: { host: adminOptions.host, port: adminOptions.port, admin: true },
      });
    }
  }
  const bound = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${bound}`;
  logger.info(
    { url, routes: handler.options.routes.length, ...(admin === undefined ? {} : { admin: admin.url }) },
    'gateway listening',
  );

  let closePromise: Promise<void> | undefined;
  const close = () => {
    closePromise ??= (async () => {
      listening = false;
      await shutdown(server, handler);
      // Last, so that `/readyz` reports the drain to load balancers while it lasts.
      await admin?.close();
      logger.info({ url }, 'gateway closed');
    })();
    return closePromise;
  };
  return {
    url,
    host,
    port: bound,
    get options() {
      return handler.options;
    },
    get configVersion() {
      return handler.configVersion;
    },
    get loadedAt() {
      return handler.loadedAt;
    },
    adminUrl: admin?.url,
    handler: handler.handle,
    reload: (options) => handler.reload(options),
    close,
    [Symbol.asyncDispose]: close,
  };
}

async function shutdown(server: Server, handler: GatewayRequestHandler): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // Keep-alive connections with no request in flight would hold `close` open until they time out.
  server.closeIdleConnections();
  await handler.close();
  // Whatever is left is idle now (responses carried `Connection: close`) or was cut by the handler.
  server.closeAllConnections();
  await closed;
}
