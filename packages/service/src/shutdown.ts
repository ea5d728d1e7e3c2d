import type { Server } from 'node:http';

/**
 * Stops `server` gracefully: no new connections, idle keep-alive sockets closed at once,
 * in-flight requests allowed to finish until `timeoutMs`, then the rest destroyed.
 *
 * @returns `true` when every request finished in time, `false` when some were cut off
 */
export function drainServer(server: Server, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve(true);
      return;
    }
    let drained = true;
    const timer = setTimeout(() => {
      drained = false;
      server.closeAllConnections();
    }, timeoutMs);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      resolve(drained);
    });
    // Idle keep-alive sockets would otherwise hold close() open until they time out.
    server.closeIdleConnections();
  });
}
