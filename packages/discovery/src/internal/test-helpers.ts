/**
 * Helpers shared by this package's integration tests: loopback servers on port 0 and event-driven
 * waits with deadlines. Not exported from the package.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from '../registry.ts';

/** Starts an HTTP server on 127.0.0.1:0. */
export async function listen(handler: RequestListener): Promise<{ server: Server; url: string; port: number }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}`, port };
}

/** Closes a server and every connection it holds. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const { server, port } = await listen(() => {});
  await closeServer(server);
  return port;
}

/** Waits on registry changes until `predicate` holds, failing after `timeoutMs`. */
export async function waitForRegistry(
  registry: Registry,
  predicate: () => boolean,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    const remaining = deadline - performance.now();
    if (remaining <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await registry.waitForChange(registry.index, remaining);
  }
}

/** Resolves with the first value `subscribe` delivers that satisfies `predicate`, or fails after `timeoutMs`. */
export function nextEvent<T>(
  subscribe: (listener: (value: T) => void) => () => void,
  predicate: (value: T) => boolean,
  what: string,
  timeoutMs = 5000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    const unsubscribe = subscribe((value) => {
      if (!predicate(value)) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(value);
    });
  });
}
