import type { IncomingMessage, ServerResponse } from 'node:http';
import { type AdminHandler, type AdminServer, createAdminHandler, startAdminServer } from './admin/server.ts';
import { gatewayError } from './errors.ts';
import { createGatewayHandler, type GatewayInput, type GatewayRequestHandler } from './handler.ts';
import type { GatewayOptions, ResolvedGatewayOptions } from './options.ts';
import { silentLogger } from './ports.ts';
import { createRolloutController, type RolloutController } from './rollout/controller.ts';
import { type RunningListener, startListener } from './tls/listeners.ts';
import type { ResolvedListener } from './tls/options.ts';
import type { TrafficControl } from './traffic/control.ts';

/** One socket the gateway serves on. */
export interface GatewayListenerInfo {
  /** `http://host:port` or `https://host:port`, with the port actually bound. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  /** Whether HTTP/2 is offered through ALPN (HTTP/1.1 stays available on the same port). */
  readonly http2: boolean;
}

/** A running gateway. */
export interface Gateway {
  /**
   * `http://host:port` (`https://` for a TLS listener) of the first listener, with the port
   * actually bound (useful with `port: 0`).
   */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Every listener, in the order of `gateway.listeners` (one for `host` and `port` without it). */
  readonly listeners: readonly GatewayListenerInfo[];
  /** The config in use: the one the gateway started with, or the latest reloaded. */
  readonly options: ResolvedGatewayOptions;
  /** 1 for the config the gateway started with, one more per successful reload. */
  readonly configVersion: number;
  /** When the config in use was loaded. */
  readonly loadedAt: Date;
  /** `http://host:port` of the admin API; absent when `admin` is not configured. */
  readonly adminUrl: string | undefined;
  /**
   * The admin endpoints as a request handler (present with or without `admin`), for serving
   * them elsewhere: `switchyard up` mounts them in the system admin API.
   */
  readonly admin: AdminHandler;
  /** The node:http `request` listener, for embedding the same routing elsewhere. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  /**
   * Traffic between the subsets (versions) of routes' services: override a route's split at
   * run time, read the split in force, observe every response with the subset that served it.
   */
  readonly traffic: TrafficControl;
  /**
   * Swaps in a new config without dropping a request: new requests use it, requests in flight
   * finish on the old one. `host`, `port`, `admin`, `server`, `listeners` and `upstreamTls`
   * cannot change on reload. TLS listeners read their certificate files again (as on
   * `POST /admin/reload`); a certificate that does not load is logged and the old one stays.
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
   * Reads every TLS listener's certificate files again now, without waiting for the file
   * watch. A certificate that does not parse, does not match its key or is expired is refused
   * (logged with `SY_GATEWAY_TLS_CERTIFICATE_REFUSED`) and the previous one stays in service.
   *
   * @example
   * ```ts
   * gateway.reloadCertificates();
   * ```
   */
  reloadCertificates(): void;
  /**
   * Stops accepting connections, lets in-flight requests finish for up to `shutdownTimeout`,
   * then cuts what is left and closes the upstream pools, then the admin API (which answers
   * `/readyz` with 503 meanwhile). Idempotent.
   */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts the gateway and resolves once every listener listens: node:http on `host` and `port`,
 * or the `listeners` (plain HTTP, or TLS with HTTP/2 and HTTP/1.1 on the same port).
 *
 * With `options.admin`, the admin API (health, readiness, routes, upstreams, breakers, rate
 * limits, config, reload) listens on its own host and port.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` for invalid options (including certificate files
 *   that do not load); `SY_GATEWAY_LISTEN_FAILED` when a listener's host and port, or the admin
 *   API's, cannot be bound (`cause` is the system error)
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
  const specs: readonly ResolvedListener[] = handler.options.listeners ?? [
    { host: handler.options.host, port: handler.options.port },
  ];
  const servers: RunningListener[] = [];
  const httpsPort = () => servers.find((l) => l.tls)?.port;
  for (const [index, spec] of specs.entries()) {
    const path = handler.options.listeners === undefined ? 'gateway' : `gateway.listeners[${index}]`;
    try {
      servers.push(
        await startListener(spec, { handlers: handler, limits: handler.options.server, logger, httpsPort, path }),
      );
    } catch (err) {
      await shutdown(servers, handler);
      const reason = err instanceof Error ? err.message : String(err);
      throw gatewayError(
        'SY_GATEWAY_LISTEN_FAILED',
        `gateway could not listen on ${spec.host}:${spec.port}${handler.options.listeners === undefined ? '' : ` (${path})`}: ${reason}`,
        { cause: err, details: { host: spec.host, port: spec.port } },
      );
    }
  }
  const reloadCertificates = () => {
    for (const listener of servers) listener.reloadCertificates();
  };
  // The admin API's `POST /admin/reload` reads the certificate files again too.
  const state = Object.create(handler, {
    reload: {
      value: (options: GatewayOptions) => {
        handler.reload(options);
        reloadCertificates();
      },
    },
  }) as typeof handler;
  let listening = true;
  const adminOptions = handler.options.admin;
  let rollouts: RolloutController | undefined;
  if (handler.options.rollouts !== undefined && handler.options.rollouts.length > 0) {
    try {
      rollouts = createRolloutController({
        rollouts: handler.options.rollouts,
        traffic: handler.traffic,
        logger,
        ...(input.rolloutStores === undefined ? {} : { stores: input.rolloutStores }),
      });
    } catch (err) {
      await shutdown(servers, handler);
      throw err;
    }
  }
  const adminHandler = createAdminHandler({ state, listening: () => listening, logger, rollouts });
  let admin: AdminServer | undefined;
  if (adminOptions !== undefined) {
    try {
      admin = await startAdminServer({
        options: adminOptions,
        state,
        listening: () => listening,
        logger,
        handler: adminHandler,
      });
    } catch (err) {
      await rollouts?.close();
      await shutdown(servers, handler);
      const at = `${adminOptions.host}:${adminOptions.port}`;
      const reason = err instanceof Error ? err.message : String(err);
      throw gatewayError('SY_GATEWAY_LISTEN_FAILED', `gateway admin API could not listen on ${at}: ${reason}`, {
        cause: err,
        details: { host: adminOptions.host, port: adminOptions.port, admin: true },
      });
    }
  }
  const first = servers[0] as RunningListener;
  const url = first.url;
  logger.info(
    {
      url,
      ...(servers.length > 1 ? { urls: servers.map((l) => l.url) } : {}),
      routes: handler.options.routes.length,
      ...(admin === undefined ? {} : { admin: admin.url }),
    },
    'gateway listening',
  );

  let closePromise: Promise<void> | undefined;
  const close = () => {
    closePromise ??= (async () => {
      listening = false;
      await rollouts?.close();
      await shutdown(servers, handler);
      // Last, so that `/readyz` reports the drain to load balancers while it lasts.
      await admin?.close();
      logger.info({ url }, 'gateway closed');
    })();
    return closePromise;
  };
  return {
    url,
    host: first.host,
    port: first.port,
    listeners: servers.map((l) =>
      Object.freeze({ url: l.url, host: l.host, port: l.port, tls: l.tls, http2: l.http2 }),
    ),
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
    admin: adminHandler,
    handler: handler.handle,
    traffic: handler.traffic,
    reload: (options) => state.reload(options),
    reloadCertificates,
    close,
    [Symbol.asyncDispose]: close,
  };
}

async function shutdown(servers: readonly RunningListener[], handler: GatewayRequestHandler): Promise<void> {
  // Keep-alive connections with no request in flight would hold `close` open until they time
  // out; HTTP/2 sessions get GOAWAY and finish their streams.
  for (const listener of servers) listener.stopAccepting();
  await handler.close();
  // Whatever is left is idle now (responses carried `Connection: close`) or was cut by the handler.
  await Promise.all(servers.map((listener) => listener.destroy()));
}
