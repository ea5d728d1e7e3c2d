/**
 * Test support for the integration tests (not exported by the package): reaching the real
 * Redis, and removing what a test wrote there.
 */
import { Redis } from 'ioredis';
import { DEFAULT_REDIS_URL } from '../options.ts';

const noop = (): void => {};

/** How to start the Redis the integration tests need; CI's `.ci/run` does the same. */
export const START_REDIS = 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no';

/**
 * Resolves when Redis answers PING at `url`; otherwise rejects with a message saying how to
 * start it. The integration tests call it first and fail (they never skip) without Redis.
 */
export async function requireRedis(url: string = DEFAULT_REDIS_URL): Promise<void> {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 3000,
  });
  let lastError: Error | undefined;
  client.on('error', (err: Error) => {
    lastError = err;
  });
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    // The connection error (ECONNREFUSED ...) says more than the rejection ("Connection is closed.").
    const reason = (lastError ?? (err as Error)).message;
    throw new Error(
      `Redis is not reachable at ${url} (${reason}). The Redis integration tests need a real ` +
        `Redis and do not skip; start one with: ${START_REDIS}`,
    );
  } finally {
    client.disconnect();
  }
}

/** A key prefix no other test run uses. */
export function randomPrefix(label: string): string {
  return `switchyard-test:${label}:${process.pid}:${Math.random().toString(36).slice(2, 10)}:`;
}

/** Deletes every key under `prefix` (SCAN, so it is safe on a shared Redis). */
export async function deleteKeys(prefix: string, url: string = DEFAULT_REDIS_URL): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', noop);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${escapeGlob(prefix)}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await client.del(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}

/** Escapes the glob characters of a SCAN MATCH pattern (breaker keys contain `{` and `}`). */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
