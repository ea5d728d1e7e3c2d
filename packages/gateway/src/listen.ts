import type { Server } from 'node:net';

/**
 * Starts `server` (node:http, node:https, node:http2 or any `net.Server`) on `host:port` and resolves once it listens; rejects with the system error
 * (EADDRINUSE, EACCES) otherwise, leaving no listener behind.
 *
 * @example
 * ```ts
 * await listen(createServer(handler), '127.0.0.1', 0);
 * ```
 */
export function listen(server: Server, host: string, port: number): Promise<void> {
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
