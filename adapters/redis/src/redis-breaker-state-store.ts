import { isSwitchyardError, type SwitchyardError } from '@switchyard/core';
import type {
  BreakerReport,
  BreakerStateStore,
  Disposable,
  ProbeOutcome,
  ProbeRequest,
  SharedBreakerState,
} from '@switchyard/resilience';
import type { Redis } from 'ioredis';
import { redisError } from './errors.ts';
import { connectStore } from './internal/connection.ts';
import { acquireScript, completeScript, readScript, reportScript, resetScript } from './internal/lua.ts';
import { type RedisBreakerStateStoreOptions, resolveRedisBreakerStateStoreOptions } from './options.ts';

/** A {@link BreakerStateStore} kept in Redis; `watch` and `close` are always there. */
export interface RedisBreakerStateStore extends BreakerStateStore {
  /**
   * Calls `listener` soon after any replica (this one included) changes the shared state of
   * `name`: opens it, reopens it after a failed probe, closes it, or resets it. Runs over a
   * second connection, opened on the first `watch`. Delivery is best effort (Redis pub/sub):
   * breakers still learn every change through their periodic `report`.
   */
  watch(name: string, listener: (state: SharedBreakerState) => void): Disposable;
  /**
   * Closes the connections the store opened (a `client` passed in is left open) and makes
   * later calls fail with `SY_REDIS_CLOSED`. Idempotent.
   */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** The scripts, as ioredis `defineCommand` adds them to a client. */
interface ScriptCommands {
  switchyardBreakerReport(...args: (string | number)[]): Promise<number[]>;
  switchyardBreakerRead(...args: (string | number)[]): Promise<number[]>;
  switchyardBreakerAcquire(...args: (string | number)[]): Promise<number[]>;
  switchyardBreakerComplete(...args: (string | number)[]): Promise<number[]>;
  switchyardBreakerReset(...args: (string | number)[]): Promise<number[]>;
}

const scripts = {
  switchyardBreakerReport: reportScript,
  switchyardBreakerRead: readScript,
  switchyardBreakerAcquire: acquireScript,
  switchyardBreakerComplete: completeScript,
  switchyardBreakerReset: resetScript,
} as const;

const stateNames = ['closed', 'open', 'half-open'] as const;

function toState(reply: readonly (number | string)[]): SharedBreakerState {
  return {
    state: stateNames[Number(reply[0])] ?? 'closed',
    generation: Number(reply[1]),
    probeInMs: Number(reply[2]),
    trips: Number(reply[3]),
    tripped: Number(reply[4]),
    replicas: Number(reply[5]),
    probes: { inFlight: Number(reply[6]), successes: Number(reply[7]) },
  };
}

const noop = (): void => {};

/**
 * Creates a {@link BreakerStateStore} in Redis, so circuit breakers in many processes share
 * one state: `createCircuitBreaker({ shared: { store, replicaId } })` in each replica.
 *
 * Each method is one Lua script (run with EVALSHA, loaded on first use), atomic across the
 * fleet and timed by Redis's own clock. A breaker named `name` uses four keys,
 * `<keyPrefix>{name}:state|replicas|tripped|leases`, each expiring `keyTtl` after its last
 * write, and publishes its transitions on `<keyPrefix>{name}:events`.
 *
 * The store connects lazily (on the first call) to `url`, or uses `client`. Calls fail fast
 * rather than queue while Redis is away: `SY_REDIS_UNAVAILABLE` when it cannot be reached,
 * `SY_REDIS_TIMEOUT` after `commandTimeout`; the connection keeps reconnecting meanwhile.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` for bad options, naming the field (`redis.url: ...`)
 * @example
 * ```ts
 * import { createRedisBreakerStateStore } from '@switchyard/adapter-redis';
 * import { createCircuitBreaker } from '@switchyard/resilience';
 *
 * const store = createRedisBreakerStateStore({ url: 'redis://127.0.0.1:6379' });
 * const breaker = createCircuitBreaker({ name: 'payments', shared: { store, replicaId: process.env.HOSTNAME ?? 'local' } });
 * // ...
 * await store.close();
 * ```
 */
export function createRedisBreakerStateStore(options: RedisBreakerStateStoreOptions = {}): RedisBreakerStateStore {
  const resolved = resolveRedisBreakerStateStoreOptions(options);
  const { keyPrefix, commandTimeoutMs, keyTtlMs } = resolved;
  const { client, owned, where } = connectStore({
    url: resolved.url,
    client: resolved.client,
    commandTimeoutMs,
    connectionName: 'switchyard-breaker-store',
  });
  for (const [name, lua] of Object.entries(scripts)) client.defineCommand(name, { lua, numberOfKeys: 4 });
  const commands = client as unknown as ScriptCommands;

  const argvTtl = String(keyTtlMs);
  /** Per breaker: its four keys and its channel, built once. */
  const keyCache = new Map<string, readonly [string, string, string, string, string]>();
  function keysOf(name: string): readonly [string, string, string, string, string] {
    let keys = keyCache.get(name);
    if (keys === undefined) {
      const base = `${keyPrefix}{${name}}`;
      keys = [`${base}:state`, `${base}:replicas`, `${base}:tripped`, `${base}:leases`, `${base}:events`];
      keyCache.set(name, keys);
    }
    return keys;
  }

  let closed = false;
  let closing: Promise<void> | undefined;

  function wrapError(err: unknown, operation: string, name: string): SwitchyardError {
    if (isSwitchyardError(err)) return err;
    const e = err as { name?: string; message?: string } | undefined;
    const message = e?.message ?? String(err);
    const details = { operation, breaker: name, redis: where };
    if (e?.name === 'ReplyError') {
      return redisError(
        'SY_REDIS_COMMAND_FAILED',
        `breaker store ${operation}("${name}"): Redis answered: ${message}`,
        {
          cause: err,
          details,
        },
      );
    }
    if (/timed out/i.test(message)) {
      return redisError(
        'SY_REDIS_TIMEOUT',
        `breaker store ${operation}("${name}"): no answer from ${where} within ${commandTimeoutMs}ms`,
        { cause: err, details: { ...details, timeoutMs: commandTimeoutMs } },
      );
    }
    return redisError(
      'SY_REDIS_UNAVAILABLE',
      `breaker store ${operation}("${name}"): cannot reach Redis at ${where} (${message}); is it running?`,
      { cause: err, details },
    );
  }

  /** Runs one script with the common arguments, a deadline, and errors mapped to codes. */
  function run(
    command: keyof ScriptCommands,
    operation: string,
    name: string,
    args: readonly (string | number)[],
  ): Promise<number[]> {
    if (closed) {
      return Promise.reject(
        redisError('SY_REDIS_CLOSED', `breaker store ${operation}("${name}"): the store was closed`, {
          details: { operation, breaker: name },
        }),
      );
    }
    const [state, replicas, tripped, leases, channel] = keysOf(name);
    return new Promise<number[]>((resolve, reject) => {
      // ioredis's own commandTimeout covers clients the store created; this one covers a
      // passed-in client too, whose options the store does not control.
      const timer = setTimeout(() => reject(wrapError(new Error('timed out'), operation, name)), commandTimeoutMs);
      timer.unref();
      commands[command](state, replicas, tripped, leases, argvTtl, channel, ...args).then(
        (reply) => {
          clearTimeout(timer);
          resolve(reply);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(wrapError(err, operation, name));
        },
      );
    });
  }

  // --- watch: one subscriber connection, one channel per watched breaker -----------------
  let subscriber: Redis | undefined;
  const listeners = new Map<string, Set<(state: SharedBreakerState) => void>>();

  function onMessage(channel: string, message: string): void {
    const set = listeners.get(channel);
    if (set === undefined) return;
    const state = toState(message.split(','));
    for (const listener of [...set]) {
      try {
        listener(state);
      } catch {
        // A listener's bug must not stop the others nor kill the subscriber connection.
      }
    }
  }

  function subscriberConnection(): Redis {
    if (subscriber === undefined) {
      // Subscriptions may wait for Redis: ioredis sends them once connected and renews them
      // after every reconnection.
      subscriber = client.duplicate({
        lazyConnect: false,
        maxRetriesPerRequest: null,
        commandTimeout: undefined,
        connectionName: 'switchyard-breaker-watch',
      });
      subscriber.on('error', noop);
      subscriber.on('message', onMessage);
    }
    return subscriber;
  }

  async function quit(connection: Redis): Promise<void> {
    if (connection.status === 'ready') {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        connection.quit().catch(noop),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, commandTimeoutMs);
        }),
      ]);
      clearTimeout(timer);
    }
    connection.disconnect();
  }

  const store: RedisBreakerStateStore = {
    async report(name: string, report: BreakerReport): Promise<SharedBreakerState> {
      const { quorum, open } = report;
      return toState(
        await run('switchyardBreakerReport', 'report', name, [
          report.replicaId,
          report.tripped ? 1 : 0,
          Math.floor(report.ttlMs),
          quorum.min,
          quorum.ratio,
          open.baseMs,
          open.factor,
          open.maxMs,
        ]),
      );
    },

    async read(name: string): Promise<SharedBreakerState> {
      return toState(await run('switchyardBreakerRead', 'read', name, []));
    },

    async acquireProbe(name: string, request: ProbeRequest): Promise<{ granted: boolean; state: SharedBreakerState }> {
      const reply = await run('switchyardBreakerAcquire', 'acquireProbe', name, [
        request.replicaId,
        request.generation,
        request.maxProbes,
        Math.floor(request.leaseMs),
      ]);
      return { granted: reply[8] === 1, state: toState(reply) };
    },

    async completeProbe(name: string, outcome: ProbeOutcome): Promise<SharedBreakerState> {
      const { open } = outcome;
      return toState(
        await run('switchyardBreakerComplete', 'completeProbe', name, [
          outcome.replicaId,
          outcome.generation,
          outcome.success ? 1 : 0,
          outcome.successesToClose,
          open.baseMs,
          open.factor,
          open.maxMs,
        ]),
      );
    },

    async reset(name: string): Promise<SharedBreakerState> {
      return toState(await run('switchyardBreakerReset', 'reset', name, []));
    },

    watch(name: string, listener: (state: SharedBreakerState) => void): Disposable {
      const channel = keysOf(name)[4];
      let set = listeners.get(channel);
      if (set === undefined && !closed) {
        set = new Set();
        listeners.set(channel, set);
        subscriberConnection().subscribe(channel).catch(noop);
      }
      set?.add(listener);
      let disposed = false;
      const dispose = (): void => {
        if (disposed) return;
        disposed = true;
        const current = listeners.get(channel);
        if (current === undefined) return;
        current.delete(listener);
        if (current.size === 0) {
          listeners.delete(channel);
          if (!closed) subscriber?.unsubscribe(channel).catch(noop);
        }
      };
      return { dispose, [Symbol.dispose]: dispose };
    },

    close(): Promise<void> {
      closing ??= (async () => {
        closed = true;
        listeners.clear();
        const connections: Redis[] = [];
        if (subscriber !== undefined) connections.push(subscriber);
        if (owned) connections.push(client);
        await Promise.all(connections.map(quit));
      })();
      return closing;
    },

    [Symbol.asyncDispose](): Promise<void> {
      return store.close();
    },
  };
  return store;
}
