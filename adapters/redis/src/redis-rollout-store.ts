import type { SwitchyardError } from '@switchyard/core';
import { redisError } from './errors.ts';
import { connectStore } from './internal/connection.ts';
import { type RedisRolloutStoreOptions, resolveRedisRolloutStoreOptions } from './rollout-store-options.ts';

/**
 * A rollout's state; the shape of `RolloutRecord` in `@switchyard/gateway` (the store keeps it
 * as JSON and reads only `name` and `version`).
 */
export interface RedisRolloutRecord {
  readonly name: string;
  readonly version: number;
}

/**
 * The gateway's `RolloutStore` port kept in Redis (it satisfies the port structurally, so this
 * package does not depend on the gateway): compare-and-set and leases are Lua scripts, atomic
 * across every gateway replica.
 */
export interface RedisRolloutStore {
  /** @throws SwitchyardError `SY_REDIS_UNAVAILABLE`, `SY_REDIS_TIMEOUT`, `SY_REDIS_COMMAND_FAILED`, `SY_REDIS_CLOSED` */
  get<R extends RedisRolloutRecord>(name: string): Promise<R | undefined>;
  /** Every record, by name. */
  list<R extends RedisRolloutRecord>(): Promise<R[]>;
  /** Writes `next` if the stored version is `expectedVersion` (0: none); `next.version` must be one more. */
  compareAndSet(next: RedisRolloutRecord, expectedVersion: number): Promise<boolean>;
  /** Takes or renews the lease of `name` for `holder` until `nowMs + ttlMs`. */
  acquireLease(name: string, holder: string, ttlMs: number, nowMs: number): Promise<boolean>;
  /** Gives up `holder`'s lease of `name`. */
  releaseLease(name: string, holder: string): Promise<void>;
  /** Closes the connection the store opened (a `client` passed in is left open). Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

// KEYS: record hash, names set. ARGV: expected version, next version, JSON, name.
const casScript = `
local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if current ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'record', ARGV[3])
redis.call('SADD', KEYS[2], ARGV[4])
return 1`;

// KEYS: lease hash. ARGV: holder, ttl ms, now ms. Expiry is judged on the callers' clock; the
// key's own TTL (ten leases) only clears leases nobody renews.
const leaseScript = `
local holder = redis.call('HGET', KEYS[1], 'holder')
local expires = tonumber(redis.call('HGET', KEYS[1], 'expires') or '0')
if holder and holder ~= ARGV[1] and expires > tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], 'holder', ARGV[1], 'expires', tonumber(ARGV[3]) + tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 10)
return 1`;

// KEYS: lease hash. ARGV: holder.
const releaseScript = `
if redis.call('HGET', KEYS[1], 'holder') == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1`;

const noop = (): void => {};

/**
 * Opens a rollout store in Redis, for `gateway.rollouts.<name>.store: redis://...`: every
 * gateway replica reads the same records and competes for the same leases. Keys share one
 * hash tag (`<keyPrefix>{rollouts}:...`), so a Redis Cluster keeps them on one slot.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` for bad options; the methods reject with
 *   `SY_REDIS_UNAVAILABLE`, `SY_REDIS_TIMEOUT`, `SY_REDIS_COMMAND_FAILED` or `SY_REDIS_CLOSED`
 * @example
 * ```ts
 * import { createRedisRolloutStore } from '@switchyard/adapter-redis';
 * import { createGateway } from '@switchyard/gateway';
 *
 * const gateway = await createGateway({
 *   options,
 *   discovery,
 *   rolloutStores: { redis: (url) => createRedisRolloutStore({ url }) },
 * });
 * ```
 */
export function createRedisRolloutStore(options: RedisRolloutStoreOptions = {}): RedisRolloutStore {
  const resolved = resolveRedisRolloutStoreOptions(options);
  const { commandTimeoutMs } = resolved;
  const { client, owned, where } = connectStore({
    url: resolved.url,
    client: resolved.client,
    commandTimeoutMs,
    connectionName: 'switchyard-rollout-store',
  });
  const base = `${resolved.keyPrefix}{rollouts}:`;
  const recordKey = (name: string) => `${base}record:${name}`;
  const leaseKey = (name: string) => `${base}lease:${name}`;
  const namesKey = `${base}names`;
  let closed = false;
  let closing: Promise<void> | undefined;

  function wrapError(err: unknown, operation: string): SwitchyardError {
    const e = err as { name?: string; message?: string } | undefined;
    const message = e?.message ?? String(err);
    const details = { operation, redis: where };
    if (e?.name === 'ReplyError') {
      return redisError('SY_REDIS_COMMAND_FAILED', `rollout store ${operation}: Redis answered: ${message}`, {
        cause: err,
        details,
      });
    }
    if (/timed out/i.test(message)) {
      return redisError(
        'SY_REDIS_TIMEOUT',
        `rollout store ${operation}: no answer from ${where} within ${commandTimeoutMs}ms`,
        {
          cause: err,
          details: { ...details, timeoutMs: commandTimeoutMs },
        },
      );
    }
    return redisError(
      'SY_REDIS_UNAVAILABLE',
      `rollout store ${operation}: cannot reach Redis at ${where} (${message}); is it running?`,
      { cause: err, details },
    );
  }

  async function run<T>(operation: string, work: () => Promise<T>): Promise<T> {
    if (closed) throw redisError('SY_REDIS_CLOSED', `rollout store ${operation}: the store was closed`);
    try {
      return await work();
    } catch (err) {
      throw wrapError(err, operation);
    }
  }

  return {
    get<R extends RedisRolloutRecord>(name: string) {
      return run(`get("${name}")`, async () => {
        const json = await client.hget(recordKey(name), 'record');
        return json === null ? undefined : (JSON.parse(json) as R);
      });
    },
    list<R extends RedisRolloutRecord>() {
      return run('list', async () => {
        const names = (await client.smembers(namesKey)).sort();
        if (names.length === 0) return [];
        const pipeline = client.pipeline();
        for (const name of names) pipeline.hget(recordKey(name), 'record');
        const replies = (await pipeline.exec()) ?? [];
        const out: R[] = [];
        for (const [err, json] of replies) {
          if (err) throw err;
          if (typeof json === 'string') out.push(JSON.parse(json) as R);
        }
        return out;
      });
    },
    async compareAndSet(next, expectedVersion) {
      if (next.version !== expectedVersion + 1) {
        throw new RangeError(`rollout ${next.name}: next.version must be ${expectedVersion + 1}, got ${next.version}`);
      }
      return run(`compareAndSet("${next.name}")`, async () => {
        const written = await client.eval(
          casScript,
          2,
          recordKey(next.name),
          namesKey,
          String(expectedVersion),
          String(next.version),
          JSON.stringify(next),
          next.name,
        );
        return Number(written) === 1;
      });
    },
    acquireLease(name, holder, ttlMs, nowMs) {
      return run(`acquireLease("${name}")`, async () => {
        const got = await client.eval(leaseScript, 1, leaseKey(name), holder, String(ttlMs), String(nowMs));
        return Number(got) === 1;
      });
    },
    releaseLease(name, holder) {
      return run(`releaseLease("${name}")`, async () => {
        await client.eval(releaseScript, 1, leaseKey(name), holder);
      });
    },
    close() {
      closed = true;
      closing ??= owned ? client.quit().then(noop, () => client.disconnect()) : Promise.resolve();
      return closing;
    },
    [Symbol.asyncDispose]() {
      return this.close();
    },
  };
}
