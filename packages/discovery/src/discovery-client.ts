/**
 * The discovery client: the gateway's and services' view of which instances of a service to call.
 * Lists come from a {@link DiscoverySource} that pushes changes, and are cached, so the per-request
 * path reads memory only.
 */
import {
  type Clock,
  cancelledError,
  isSwitchyardError,
  parseDuration,
  type ServiceInstance,
  systemClock,
} from '@switchyard/core';
import { discoveryError } from './errors.ts';
import { describeError } from './internal/describe-error.ts';
import { callSafely, subscription } from './internal/subscription.ts';
import type { DiscoverySource, Subscription } from './types.ts';

/** Options for {@link createDiscoveryClient}. */
export interface DiscoveryClientOptions {
  /** Where lists come from: {@link registrySource} or {@link consulSource}. Closed with the client. */
  readonly source: DiscoverySource;
  /**
   * How long the first `instances()` call for a service waits for the source's first answer.
   * Milliseconds or a duration string. @default '5s'
   */
  readonly initialTimeout?: number | string;
  /** Drives the initial timeout. @default systemClock */
  readonly clock?: Clock;
}

/** Listener of {@link DiscoveryClient.onChange}. */
export type InstancesListener = (instances: readonly ServiceInstance[]) => void;

/** A cached, self-refreshing view of service instances. */
export interface DiscoveryClient extends AsyncDisposable {
  /**
   * The usable instances of `service`: passing ones with `weight` = `Weights.Passing`, and warning
   * ones with `weight` = `Weights.Warning` (degraded, not down, as in Consul's DNS answers);
   * critical ones never. Ordered by ID; the array and its elements are frozen and shared, so
   * callers must not (and cannot) modify them. Once a service is known, this returns the same
   * already-resolved promise until the list changes, allocating nothing.
   *
   * The first call for a service starts watching it and waits up to `initialTimeout` for the first
   * list. When the registry becomes unreachable later, the last good list keeps being served.
   *
   * @throws SwitchyardError `SY_DISCOVERY_UNAVAILABLE` when no list arrived in time (`cause` is the
   *   last registry error), `SY_DISCOVERY_CLOSED`, `SY_CANCELLED`
   */
  instances(service: string, signal?: AbortSignal): Promise<readonly ServiceInstance[]>;
  /** The cached list, or `undefined` before the first answer; never waits, never starts a watch. */
  cached(service: string): readonly ServiceInstance[] | undefined;
  /**
   * Calls `listener` with each new list of `service` (not with the current one), starting a watch
   * when none runs. Lists that compare equal to the previous one are not reported.
   */
  onChange(service: string, listener: InstancesListener): Subscription;
  /** Stops every watch, closes the source and rejects waiting calls with `SY_DISCOVERY_CLOSED`; idempotent. */
  close(): Promise<void>;
}

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

interface Entry {
  list: readonly ServiceInstance[] | undefined;
  /** `Promise.resolve(list)`, kept so the warm path hands out one promise per list. */
  settled: Promise<readonly ServiceInstance[]> | undefined;
  fingerprint: string;
  lastError: unknown;
  readonly waiters: Set<Waiter>;
  readonly listeners: Set<InstancesListener>;
  watch: Subscription | undefined;
}

/**
 * Creates a discovery client over `source`.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` for a bad `initialTimeout`
 * @example
 * ```ts
 * import { consulSource, createDiscoveryClient, roundRobin } from '@switchyard/discovery';
 *
 * await using discovery = createDiscoveryClient({ source: consulSource({ url: 'http://127.0.0.1:8500' }) });
 * const balancer = roundRobin();
 * const target = balancer.pick(await discovery.instances('orders'));
 * ```
 */
export function createDiscoveryClient(options: DiscoveryClientOptions): DiscoveryClient {
  const { source } = options;
  const clock = options.clock ?? systemClock;
  const initialTimeoutMs = parseDuration(options.initialTimeout ?? 5000, 'discovery.initialTimeout');
  const entries = new Map<string, Entry>();
  let closed = false;

  function closedError(): Error {
    return discoveryError('SY_DISCOVERY_CLOSED', 'the discovery client is closed');
  }

  function update(entry: Entry, list: readonly ServiceInstance[]): void {
    // Sources may repeat a list (a blocking query that timed out); only real changes count.
    const fingerprint = JSON.stringify(list);
    if (entry.list !== undefined && fingerprint === entry.fingerprint) return;
    entry.list = list;
    entry.settled = Promise.resolve(list);
    entry.fingerprint = fingerprint;
    entry.lastError = undefined;
    for (const waiter of [...entry.waiters]) waiter.resolve();
    for (const listener of [...entry.listeners]) callSafely(listener, list);
  }

  function fail(entry: Entry, err: unknown): void {
    entry.lastError = err;
    // A refusal that retrying cannot fix (a 403 from an ACL, a malformed answer) ends the wait early.
    if (entry.list === undefined && !(isSwitchyardError(err) && err.retryable)) {
      for (const waiter of [...entry.waiters]) waiter.reject(err);
    }
  }

  function ensure(service: string): Entry {
    let entry = entries.get(service);
    if (entry !== undefined) return entry;
    const created: Entry = {
      list: undefined,
      settled: undefined,
      fingerprint: '',
      lastError: undefined,
      waiters: new Set(),
      listeners: new Set(),
      watch: undefined,
    };
    entry = created;
    entries.set(service, created);
    created.watch = source.watch(service, {
      next: (list) => {
        if (entries.get(service) === created) update(created, list);
      },
      error: (err) => {
        if (entries.get(service) === created) fail(created, err);
      },
    });
    return created;
  }

  function unavailable(service: string, cause: unknown): Error {
    const why = cause === undefined ? 'no answer from the registry' : describeError(cause);
    return discoveryError(
      'SY_DISCOVERY_UNAVAILABLE',
      `no instance list for service ${JSON.stringify(service)} within ${initialTimeoutMs} ms: ${why}`,
      { cause, details: { service, initialTimeoutMs } },
    );
  }

  async function firstList(service: string, signal: AbortSignal | undefined): Promise<readonly ServiceInstance[]> {
    if (closed) throw closedError();
    if (signal?.aborted) throw cancelledError(signal, `discovery of ${service}`);
    const entry = ensure(service);
    if (entry.list !== undefined) return entry.list;
    await new Promise<void>((resolve, reject) => {
      const cleanup = () => {
        entry.waiters.delete(waiter);
        cancelTimer();
        signal?.removeEventListener('abort', onAbort);
      };
      const waiter: Waiter = {
        resolve: () => {
          cleanup();
          resolve();
        },
        reject: (err) => {
          cleanup();
          reject(isSwitchyardError(err, 'SY_DISCOVERY_CLOSED') ? err : unavailable(service, err));
        },
      };
      const onAbort = () => {
        cleanup();
        reject(cancelledError(signal as AbortSignal, `discovery of ${service}`));
      };
      entry.waiters.add(waiter);
      const cancelTimer = clock.setTimeout(() => {
        cleanup();
        reject(unavailable(service, entry.lastError));
      }, initialTimeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    return entry.list ?? [];
  }

  const client: DiscoveryClient = {
    instances(service, signal) {
      const settled = entries.get(service)?.settled;
      if (settled !== undefined && signal?.aborted !== true) return settled;
      return firstList(service, signal);
    },

    cached(service) {
      return entries.get(service)?.list;
    },

    onChange(service, listener) {
      if (closed) throw closedError();
      const entry = ensure(service);
      entry.listeners.add(listener);
      return subscription(() => entry.listeners.delete(listener));
    },

    async close() {
      if (closed) return;
      closed = true;
      const error = closedError();
      for (const entry of entries.values()) {
        entry.watch?.dispose();
        for (const waiter of [...entry.waiters]) waiter.reject(error);
        entry.listeners.clear();
      }
      entries.clear();
      await source.close();
    },

    [Symbol.asyncDispose]() {
      return client.close();
    },
  };
  return client;
}
