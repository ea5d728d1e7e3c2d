import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleClientError } from './client-error.ts';
import { gatewayError } from './errors.ts';
import { createGatewayHandler, type GatewayInput, type GatewayRequestHandler } from './handler.ts';
import type { ResolvedGatewayOptions } from './options.ts';
import { silentLogger } from './ports.ts';

/** A running gateway. */
export interface Gateway {
  /** `http://host:port`, with the port actually bound (useful with `port: 0`). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly options: ResolvedGatewayOptions;
  /** The node:http `request` listener, for embedding the same routing elsewhere. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  /**
   * Stops accepting connections, lets in-flight requests finish for up to `shutdownTimeout`,
   * then cuts what is left and closes the upstream pools. Idempotent.
   */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts the gateway on node:http and resolves once it is listening.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` for invalid options; `SY_GATEWAY_LISTEN_FAILED`
 *   when the host and port cannot be bound (`cause` is the system error)
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
  const server = createServer(handler.handle);
  server.on('clientError', handleClientError);
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
  const bound = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${bound}`;
  logger.info({ url, routes: handler.options.routes.length }, 'gateway listening');

  let closePromise: Promise<void> | undefined;
  const close = () => {
    closePromise ??= shutdown(server, handler).then(() => logger.info({ url }, 'gateway closed'));
    return closePromise;
  };
  return {
    url,
    host,
    port: bound,
    options: handler.options,
    handler: handler.handle,
    close,
    [Symbol.asyncDispose]: close,
  };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
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
