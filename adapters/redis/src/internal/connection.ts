/**
 * What every Redis store of this adapter shares: the `url` / `client` options and how a
 * connection is opened from them. Not exported from the package.
 */
import { Redis } from 'ioredis';
import * as z from 'zod';

/** Duck-typed so a client from another copy of ioredis is accepted too. */
function isRedisClient(value: unknown): value is Redis {
  const v = value as { defineCommand?: unknown; duplicate?: unknown } | null;
  return (
    typeof v === 'object' && v !== null && typeof v.defineCommand === 'function' && typeof v.duplicate === 'function'
  );
}

/**
 * Where Redis listens: `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS. Not
 * allowed together with `client`.
 */
export const redisUrlSchema = z
  .string()
  .refine((v) => /^rediss?:\/\/./.test(v) && URL.canParse(v), {
    message: 'expected a redis:// or rediss:// URL, such as "redis://127.0.0.1:6379"',
  })
  .optional();

/** An ioredis client to use instead of connecting to `url`; the store never closes it. */
export const redisClientSchema = z
  .custom<Redis>(isRedisClient, { message: 'expected an ioredis Redis instance' })
  .optional();

/** The cross-field rule of every store's options: `url` or `client`, not both. */
export function refineUrlOrClient(
  value: { url?: string | undefined; client?: Redis | undefined },
  ctx: z.RefinementCtx,
): void {
  if (value.url !== undefined && value.client !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['url'], message: 'give either url or client, not both' });
  }
}

/** The URL without its password, for messages and details. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'redis://(unparsable url)';
  }
}

const noop = (): void => {};

/** A store's connection: the given client, or one it opened (and so must close). */
export interface StoreConnection {
  readonly client: Redis;
  readonly owned: boolean;
  /** For messages: the redacted URL, or `the given client`. */
  readonly where: string;
}

/**
 * Opens a lazily connecting client that fails a command after one failed reconnection instead
 * of queueing it: a store's caller (a breaker, a rate limit) would rather decide without Redis
 * than wait for it. A given client is used as it is.
 */
export function connectStore(options: {
  readonly url: string | undefined;
  readonly client: Redis | undefined;
  readonly commandTimeoutMs: number;
  readonly connectionName: string;
  readonly autoPipelining?: boolean;
}): StoreConnection {
  if (options.client !== undefined) return { client: options.client, owned: false, where: 'the given client' };
  const client = new Redis(options.url ?? '', {
    lazyConnect: true,
    commandTimeout: options.commandTimeoutMs,
    maxRetriesPerRequest: 1,
    connectTimeout: Math.max(options.commandTimeoutMs, 1000),
    connectionName: options.connectionName,
    enableAutoPipelining: options.autoPipelining === true,
  });
  // Without a listener ioredis prints every connection error; the calls report them instead.
  client.on('error', noop);
  return { client, owned: true, where: redactUrl(options.url ?? '') };
}
