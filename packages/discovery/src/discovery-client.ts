/**
 * The discovery client: the gateway's and services' view of which instances of a service to call.
 * Lists come from a {@link DiscoverySource} that pushes changes, and are cached per service, so
 * the per-request path (`instances()`, `pick()`) reads memory only. When the source fails, the
 * last list keeps being served (last-known-good, as Envoy and Consul's agents do) and the
 * staleness is visible through `status()` and the `stale`/`fresh` events of `watch()`.
 */
import {
  type Clock,
  cancelledError,
  invalidConfig,
  isSwitchyardError,
  parseDuration,
  type ServiceInstance,
  systemClock,
} from '@switchyard/core';
import { type BalancerKind, balancerKinds, createBalancer } from './balancer.ts';
import type { Balancer } from './balancers/types.ts';
import { discoveryError } from './errors.ts';
import { describeError } from './internal/describe-error.ts';
import { callSafely, subscription } from './internal/subscription.ts';
import type { DiscoverySource, Subscription } from './types.ts';
import { createEventStream, DiscoveryEventType, type DiscoveryWatch, type EventSink } from './watch-stream.ts';

/** Options for {@link createDiscoveryClient}. */
export interface DiscoveryClientOptions {
  /** Where lists come from: {@link registrySource} or {@link consulSource}. Closed with the client. */
  readonly source: DiscoverySource;
  /**
   * How long the first `instances()` call for a service waits for the source's first answer.
   * Milliseconds or a duration string. @default '5s'
   */
  readonly initialTimeout?: number | string;
  /** Drives the initial timeout and the times of status and events. @default systemClock */
  readonly clock?: Clock;
  /**
   * The balancer {@link DiscoveryClient.pick} uses per service: a {@link BalancerKind} (one
   * balancer of that kind per service) or a factory called once per service. A `pick()` with
   * `tags`/`passing` gets a balancer of its own per distinct filter, so a hash ring or a rotation
   * always runs over the same filtered list.
   * @default 'round_robin'
   */
  readonly balancer?: BalancerKind | ((service: string) => Balancer);
}

/** Listener of {@link DiscoveryClient.onChange}. */
export type InstancesListener = (instances: readonly ServiceInstance[]) => void;

/** Options of {@link DiscoveryClient.instances}. */
export interface InstancesOptions {
  /** Only instances carrying every one of these tags. @default no tag filter */
  readonly tags?: readonly string[];
  /** Only passing instances, leaving out warning (degraded) ones. @default false */
  readonly passing?: boolean;
  /** Aborts the wait for the first list with `SY_CANCELLED`. */
  readonly signal?: AbortSignal;
}

/** Options of {@link DiscoveryClient.pick}. */
export interface PickInstanceOptions extends InstancesOptions {
  /** Sticky key for hashing balancers (`ring_hash`): the same key picks the same instance while the list is unchanged. */
  readonly key?: string;
  /** Picks with this balancer instead of the service's (a gateway route's own balancer). */
  readonly balancer?: Balancer;
}

/** Options of {@link DiscoveryClient.watch}. */
export interface WatchOptions {
  /** Ends the stream when aborted (iteration finishes normally, no error). */
  readonly signal?: AbortSignal;
}

/** How current the cached list of a service is; see {@link DiscoveryClient.status}. */
export interface DiscoveryStatus {
  /** A list is known and the source has reported no error since it arrived. */
  readonly fresh: boolean;
  /** Milliseconds since the epoch (client clock) of the first error since the last list; absent when fresh. */
  readonly staleSince?: number;
  /** The source's most recent error since the last list; absent when fresh. */
  readonly lastError?: unknown;
  /** Milliseconds since the epoch (client clock) when the source last delivered a list (changed or not). */
  readonly lastUpdate?: number;
}

/** A cached, self-refreshing view of service instances. */
export interface DiscoveryClient extends AsyncDisposable {
  /**
   * The usable instances of `service`: passing ones with `weight` = `Weights.Passing`, and warning
   * ones with `weight` = `Weights.Warning` (degraded, not down, as in Consul's DNS answers);
   * critical ones never. Ordered by ID; the array and its elements are frozen and shared, so
   * callers must not (and cannot) modify them. Once a service is known, this returns the same
   * already-resolved promise until the list changes, allocating nothing (with `tags`/`passing`
   * too: filtered lists are cached per list).
   *
   * The first call for a service starts watching it and waits up to `initialTimeout` for the first
   * list. When the registry becomes unreachable later, the last good list keeps being served and
   * {@link DiscoveryClient.status} reports it stale.
   *
   * The second argument is an `AbortSignal` or an {@link InstancesOptions} object.
   *
   * @throws SwitchyardError `SY_DISCOVERY_UNAVAILABLE` when no list arrived in time (`cause` is the
   *   last registry error), `SY_DISCOVERY_CLOSED`, `SY_CANCELLED`
   * @example
   * ```ts
   * const canaries = await discovery.instances('orders', { tags: ['canary'], passing: true });
   * ```
   */
  instances(service: string, options?: AbortSignal | InstancesOptions): Promise<readonly ServiceInstance[]>;
  /**
   * One instance of `service` chosen from memory by the service's balancer (see the client's
   * `balancer` option) among the instances `options.tags`/`options.passing` leave, or `undefined`
   * when none is left. Waits for the first list like {@link DiscoveryClient.instances}.
   *
   * @throws SwitchyardError as {@link DiscoveryClient.instances}
   * @example
   * ```ts
   * const discovery = createDiscoveryClient({ source, balancer: 'ring_hash' });
   * const target = await discovery.pick('carts', { key: userId }); // the same user, the same instance
   * ```
   */
  pick(service: string, options?: PickInstanceOptions): Promise<ServiceInstance | undefined>;
  /** The cached list, or `undefined` before the first answer; never waits, never starts a watch. */
  cached(service: string): readonly ServiceInstance[] | undefined;
  /**
   * How current the cached list of `service` is, or `undefined` when the service is not watched;
   * never starts a watch.
   *
   * @example
   * ```ts
   * const s = discovery.status('orders');
   * if (s && !s.fresh) log.warn({ staleSince: s.staleSince, err: s.lastError }, 'serving a stale list');
   * ```
   */
  status(service: string): DiscoveryStatus | undefined;
  /**
   * Calls `listener` with each new list of `service` (not with the current one), starting a watch
   * when none runs. Lists that compare equal to the previous one are not reported.
   */
  onChange(service: string, listener: InstancesListener): Subscription;
  /**
   * A stream of `service`'s events, starting a watch when none runs: first the current list (when
   * one is known; a `stale` event may come first while the registry cannot be reached), then each
   * changed list, `resynced` when the source had to start over, `stale` when it fails and `fresh`
   * when it answers again. Only changes to `service` wake the stream. Buffering is bounded: a
   * slow consumer gets the latest list, not every intermediate one. The stream ends on
   * `options.signal`, `break`/`return()`, or the client's `close()`.
   *
   * @throws SwitchyardError `SY_DISCOVERY_CLOSED`
   * @example
   * ```ts
   * for await (const event of discovery.watch('orders', { signal })) {
   *   if (event.type === 'instances') pool.update(event.instances);
   *   else if (event.type === 'stale') log.warn(event.error, 'orders list may be out of date');
   * }
   * ```
   */
  watch(service: string, options?: WatchOptions): DiscoveryWatch;
  /** Stops every watch, ends streams, closes the source and rejects waiting calls with `SY_DISCOVERY_CLOSED`; idempotent. */
  close(): Promise<void>;
}

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

/** A filtered view of one list, cached until the list changes. */
interface View {
  readonly list: readonly ServiceInstance[];
  readonly settled: Promise<readonly ServiceInstance[]>;
}

interface Entry {
  list: readonly ServiceInstance[] | undefined;
  /** `Promise.resolve(list)`, kept so the warm path hands out one promise per list. */
  settled: Promise<readonly ServiceInstance[]> | undefined;
  fingerprint: string;
  lastError: unknown;
  staleSince: number | undefined;
  lastUpdate: number | undefined;
  /** Filtered lists by filter key, for the current list only. */
  readonly views: Map<string, View>;
  readonly waiters: Set<Waiter>;
  readonly listeners: Set<InstancesListener>;
  readonly sinks: Set<EventSink>;
  watch: Subscription | undefined;
}

/** The cache key of a `tags`/`passing` filter; tags are matched as a set, so their order does not matter. */
function filterKey(tags: readonly string[] | undefined, passing: boolean): string {
  if ((tags === undefined || tags.length === 0) && !passing) return '';
  const names = tags === undefined ? '' : tags.length === 1 ? tags[0] : [...tags].sort().join('\u0000');
  return `${passing ? 'p' : 'a'}\u0000${names}`;
}

/** Distinct tag filters cached per list; past this the cache starts over (callers with unbounded tag sets). */
const maxViews = 64;

/**
 * Creates a discovery client over `source`.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` for a bad `initialTimeout` or `balancer`
 * @example
 * ```ts
 * import { consulSource, createDiscoveryClient } from '@switchyard/discovery';
 *
 * await using discovery = createDiscoveryClient({ source: consulSource({ url: 'http://127.0.0.1:8500' }) });
 * const target = await discovery.pick('orders');
 * ```
 */
export function createDiscoveryClient(options: DiscoveryClientOptions): DiscoveryClient {
  const { source } = options;
  const clock = options.clock ?? systemClock;
  const initialTimeoutMs = parseDuration(options.initialTimeout ?? 5000, 'discovery.initialTimeout');
  const balancerOption = options.balancer ?? 'round_robin';
  if (typeof balancerOption === 'string' && !balancerKinds.includes(balancerOption)) {
    throw invalidConfig([
      {
        path: 'discovery.balancer',
        message: `expected one of ${balancerKinds.join(', ')} or a function, got ${JSON.stringify(balancerOption)}`,
      },
    ]);
  }
  const entries = new Map<string, Entry>();
  const balancers = new Map<string, Balancer>();
  let closed = false;

  function closedError(): Error {
    return discoveryError('SY_DISCOVERY_CLOSED', 'the discovery client is closed');
  }

  function emit(entry: Entry, push: () => Parameters<EventSink['push']>[0]): void {
    // No event object is built when nobody streams this service.
    if (entry.sinks.size === 0) return;
    const event = push();
    for (const sink of [...entry.sinks]) sink.push(event);
  }

  function update(service: string, entry: Entry, list: readonly ServiceInstance[]): void {
    const now = clock.now();
    entry.lastUpdate = now;
    const staleSince = entry.staleSince;
    entry.staleSince = undefined;
    entry.lastError = undefined;
    // Sources may repeat a list (a blocking query that timed out); only real changes count.
    const fingerprint = JSON.stringify(list);
    if (entry.list === undefined || fingerprint !== entry.fingerprint) {
      entry.list = list;
      entry.settled = Promise.resolve(list);
      entry.fingerprint = fingerprint;
      entry.views.clear();
      for (const waiter of [...entry.waiters]) waiter.resolve();
      for (const listener of [...entry.listeners]) callSafely(listener, list);
      emit(entry, () => ({ type: DiscoveryEventType.Instances, service, instances: list, at: now }));
    }
    if (staleSince !== undefined) {
      emit(entry, () => ({ type: DiscoveryEventType.Fresh, service, at: now, staleForMs: now - staleSince }));
    }
  }

  function fail(service: string, entry: Entry, err: unknown): void {
    entry.lastError = err;
    if (entry.staleSince === undefined) {
      const since = clock.now();
      entry.staleSince = since;
      emit(entry, () => ({ type: DiscoveryEventType.Stale, service, since, error: err }));
    }
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
      staleSince: undefined,
      lastUpdate: undefined,
      views: new Map(),
      waiters: new Set(),
      listeners: new Set(),
      sinks: new Set(),
      watch: undefined,
    };
    entry = created;
    entries.set(service, created);
    created.watch = source.watch(service, {
      next: (list) => {
        if (entries.get(service) === created) update(service, created, list);
      },
      error: (err) => {
        if (entries.get(service) === created) fail(service, created, err);
      },
      resynced: (reason) => {
        if (entries.get(service) !== created) return;
        const at = clock.now();
        emit(created, () => ({ type: DiscoveryEventType.Resynced, service, reason, at }));
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

  async function firstList(service: string, signal: AbortSignal | undefined): Promise<Entry> {
    if (closed) throw closedError();
    if (signal?.aborted) throw cancelledError(signal, `discovery of ${service}`);
    const entry = ensure(service);
    if (entry.list !== undefined) return entry;
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
    return entry;
  }

  /** The entry's list filtered by `tags`/`passing`, computed once per list and filter. */
  function view(entry: Entry, tags: readonly string[] | undefined, passing: boolean): View | undefined {
    const list = entry.list;
    if (list === undefined) return undefined;
    const key = filterKey(tags, passing);
    let found = entry.views.get(key);
    if (found === undefined) {
      const filtered =
        key === ''
          ? list
          : Object.freeze(
              list.filter(
                (instance) =>
                  (!passing || instance.status === 'passing') &&
                  (tags === undefined || tags.every((tag) => instance.tags.includes(tag))),
              ),
            );
      found = { list: filtered, settled: key === '' && entry.settled ? entry.settled : Promise.resolve(filtered) };
      if (entry.views.size >= maxViews) entry.views.clear();
      entry.views.set(key, found);
    }
    return found;
  }

  function balancerFor(service: string, opts: InstancesOptions | undefined): Balancer {
    // One balancer per filtered list: a ring or a rotation shared by lists that alternate would
    // be rebuilt or skewed on every switch.
    const filter = filterKey(opts?.tags, opts?.passing === true);
    const key = filter === '' ? service : `${service}\u0001${filter}`;
    let balancer = balancers.get(key);
    if (balancer === undefined) {
      balancer =
        typeof balancerOption === 'function' ? balancerOption(service) : createBalancer(balancerOption, { clock });
      balancers.set(key, balancer);
    }
    return balancer;
  }

  function normalise(input: AbortSignal | InstancesOptions | undefined): InstancesOptions | undefined {
    return input instanceof AbortSignal ? { signal: input } : input;
  }

  async function filtered(service: string, opts: InstancesOptions | undefined): Promise<readonly ServiceInstance[]> {
    const entry = await firstList(service, opts?.signal);
    return view(entry, opts?.tags, opts?.passing === true)?.list ?? [];
  }

  const client: DiscoveryClient = {
    instances(service, input) {
      // The per-request path: no options object, no filter, one shared promise per list.
      if (input === undefined || input instanceof AbortSignal) {
        const settled = entries.get(service)?.settled;
        if (settled !== undefined && !closed && input?.aborted !== true) return settled;
      }
      const opts = normalise(input);
      const entry = entries.get(service);
      if (entry !== undefined && !closed && opts?.signal?.aborted !== true) {
        const known = view(entry, opts?.tags, opts?.passing === true);
        if (known !== undefined) return known.settled;
      }
      return filtered(service, opts);
    },

    async pick(service, opts) {
      const list = await client.instances(service, opts);
      return (opts?.balancer ?? balancerFor(service, opts)).pick(list, opts);
    },

    cached(service) {
      return entries.get(service)?.list;
    },

    status(service) {
      const entry = entries.get(service);
      if (entry === undefined) return undefined;
      const fresh = entry.list !== undefined && entry.staleSince === undefined;
      return {
        fresh,
        ...(entry.staleSince === undefined ? {} : { staleSince: entry.staleSince, lastError: entry.lastError }),
        ...(entry.lastUpdate === undefined ? {} : { lastUpdate: entry.lastUpdate }),
      };
    },

    onChange(service, listener) {
      if (closed) throw closedError();
      const entry = ensure(service);
      entry.listeners.add(listener);
      return subscription(() => entry.listeners.delete(listener));
    },

    watch(service, watchOptions) {
      if (closed) throw closedError();
      const signal = watchOptions?.signal;
      const entry = ensure(service);
      const onAbort = () => sink.end();
      const { stream, sink } = createEventStream(() => {
        entry.sinks.delete(sink);
        signal?.removeEventListener('abort', onAbort);
      });
      if (signal?.aborted) {
        sink.end();
        return stream;
      }
      entry.sinks.add(sink);
      signal?.addEventListener('abort', onAbort, { once: true });
      const now = clock.now();
      if (entry.list !== undefined) {
        sink.push({ type: DiscoveryEventType.Instances, service, instances: entry.list, at: entry.lastUpdate ?? now });
      }
      if (entry.staleSince !== undefined) {
        sink.push({ type: DiscoveryEventType.Stale, service, since: entry.staleSince, error: entry.lastError });
      }
      return stream;
    },

    async close() {
      if (closed) return;
      closed = true;
      const error = closedError();
      for (const entry of entries.values()) {
        entry.watch?.dispose();
        for (const waiter of [...entry.waiters]) waiter.reject(error);
        for (const sink of [...entry.sinks]) sink.end();
        entry.listeners.clear();
      }
      entries.clear();
      balancers.clear();
      await source.close();
    },

    [Symbol.asyncDispose]() {
      return client.close();
    },
  };
  return client;
}
