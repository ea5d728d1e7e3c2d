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

/**
 * Calls `handler` once on SIGTERM or SIGINT, and, for a process started by a supervisor with an
 * IPC channel, when that channel disconnects (the supervisor died, even by SIGKILL): an
 * instance nobody manages any more stops instead of lingering.
 *
 * @returns a function that removes the listeners (a later signal gets Node's default again)
 */
export function onShutdownSignal(handler: (signal: NodeJS.Signals) => void): () => void {
  let fired = false;
  const fire = (signal: NodeJS.Signals) => {
    if (fired) return;
    fired = true;
    handler(signal);
  };
  const onDisconnect = () => fire('SIGTERM');
  process.once('SIGTERM', fire);
  process.once('SIGINT', fire);
  if (process.channel) {
    process.channel.unref();
    process.once('disconnect', onDisconnect);
  }
  return () => {
    process.off('SIGTERM', fire);
    process.off('SIGINT', fire);
    process.off('disconnect', onDisconnect);
  };
}
