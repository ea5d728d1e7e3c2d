/**
 * Service registration and discovery on etcd v3: each process keeps its instances under one lease
 * that the client keeps alive, so they vanish when the process dies; readers list a service's key
 * prefix and then watch it from the listed revision, so no change falls between the two.
 */
import {
  cancelledError,
  exponentialBackoff,
  isSwitchyardError,
  type ServiceInstance,
  type SwitchyardError,
} from '@switchyard/core';
import type { DiscoveryWatcher, RegistryBackend, ServiceRegistration, Subscription } from '@switchyard/discovery';
import {
  Etcd3,
  EtcdAuthenticationFailedError,
  EtcdError,
  EtcdInvalidAuthTokenError,
  EtcdPermissionDeniedError,
  EtcdRoleNotGrantedError,
  GRPCDeadlineExceededError,
  GRPCFailedPreconditionError,
  GRPCInvalidArgumentError,
  GRPCUnauthenticatedError,
  type IKeyValue,
  type IWatchResponse,
  type Lease,
} from 'etcd3';
import { etcdError } from './errors.ts';
import { instanceKey, servicePrefix, toInstanceRecord, toServiceInstance } from './key-layout.ts';
import { type EtcdRegistryOptions, resolveEtcdRegistryOptions } from './options.ts';

/** Listener of {@link EtcdRegistry.onLeaseRestored}. */
export interface LeaseRestoredInfo {
  /** The new lease, as etcd's decimal ID. */
  readonly leaseId: string;
  /** How many instance keys were put again under it. */
  readonly keys: number;
}

/**
 * A registry backend on etcd: registers this process's instances (it fits `RegistrationClient` of
 * `@switchyard/service`) and is a `DiscoverySource` for `createDiscoveryClient`.
 */
export interface EtcdRegistry extends RegistryBackend, AsyncDisposable {
  /**
   * Puts the instance record at `<prefix><Name>/<ID>` under this registry's lease (granted on the
   * first call, kept alive by the client). Registering an ID again replaces its record. `Check`
   * and `Checks` are ignored: an etcd instance lives exactly as long as its lease.
   *
   * @throws SwitchyardError `SY_ETCD_INVALID_REGISTRATION`, `SY_ETCD_UNAVAILABLE`,
   *   `SY_ETCD_REQUEST_FAILED`, `SY_ETCD_CLOSED`, `SY_CANCELLED`
   */
  register(registration: ServiceRegistration, signal?: AbortSignal): Promise<void>;
  /**
   * Deletes the instance key of `serviceId` (one this registry registered, or else any
   * `<prefix><service>/<serviceId>`), and revokes the lease once this registry holds no key.
   *
   * @returns `false` when no such instance was found
   * @throws SwitchyardError as {@link EtcdRegistry.register}
   */
  deregister(serviceId: string, signal?: AbortSignal): Promise<boolean>;
  /**
   * Follows `service`: the first list comes as soon as etcd answers, then a new full list after
   * every change. While etcd is unreachable `watcher.error` gets `SY_ETCD_UNAVAILABLE` (retried
   * with backoff, resuming from the last revision seen); `SY_ETCD_COMPACTED` when that revision
   * is gone and the service is re-listed, then `watcher.resynced` with the same message just
   * before the re-listed set; `SY_ETCD_INVALID_VALUE` for a key that was skipped.
   */
  watch(service: string, watcher: DiscoveryWatcher): Subscription;
  /**
   * Called with `SY_ETCD_LEASE_LOST` when the lease expired or was revoked behind the registry's
   * back; it then grants a new one and puts every key again. Without a listener this becomes a
   * process warning.
   */
  onLeaseLost(listener: (err: SwitchyardError) => void): Subscription;
  /** Called once the keys are back under a new lease after a loss. */
  onLeaseRestored(listener: (info: LeaseRestoredInfo) => void): Subscription;
  /**
   * Revokes the lease (this registry's instances disappear at once), stops every watch and closes
   * the client it created (never one passed as `client`); idempotent.
   */
  close(): Promise<void>;
}

const noop = (): void => {};

/** Calls a user callback, turning a throw into a process warning so it cannot break the registry. */
function callSafely<Args extends unknown[]>(listener: (...args: Args) => void, ...args: Args): void {
  try {
    listener(...args);
  } catch (err) {
    process.emitWarning(err instanceof Error ? err : String(err), 'SwitchyardEtcdWarning');
  }
}

function subscription(teardown: () => void): Subscription {
  let disposed = false;
  const dispose = () => {
    if (disposed) return;
    disposed = true;
    teardown();
  };
  return { dispose, [Symbol.dispose]: dispose };
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * etcd's answer when a watch starts below the compacted revision: it accepts the watch, then
 * cancels it with `compact_revision` set and (etcd 3.4) no reason, which etcd3 reports as
 * "Watcher canceled: " with the reason, if any, appended.
 */
function isCompacted(err: unknown): boolean {
  return (
    err instanceof Error &&
    (/required revision has been compacted/.test(err.message) || /^Watcher canceled:\s*$/.test(err.message))
  );
}

/** etcd said no (as opposed to not answering): retrying the same request will not help. */
function isRejection(err: unknown): boolean {
  return (
    err instanceof EtcdError ||
    err instanceof EtcdPermissionDeniedError ||
    err instanceof EtcdAuthenticationFailedError ||
    err instanceof EtcdInvalidAuthTokenError ||
    err instanceof EtcdRoleNotGrantedError ||
    err instanceof GRPCInvalidArgumentError ||
    err instanceof GRPCUnauthenticatedError ||
    err instanceof GRPCFailedPreconditionError
  );
}

/**
 * Creates an etcd registry. Nothing is sent until the first `register` or `watch`.
 *
 * Key layout: `<prefix><service>/<id>` holds the instance record as JSON
 * (`{"ID","Name","Address","Port","Tags","Meta","Weights"}`), attached to the registering
 * process's lease.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming the bad field (`etcd.leaseTtl: ...`)
 * @example
 * ```ts
 * import { createEtcdRegistry } from '@switchyard/adapter-etcd';
 * import { createDiscoveryClient } from '@switchyard/discovery';
 *
 * const etcd = createEtcdRegistry({ endpoints: ['http://127.0.0.1:2379'], leaseTtl: '10s' });
 * await etcd.register({ Name: 'orders', ID: 'orders-1', Address: '10.0.0.5', Port: 8080 });
 * const discovery = createDiscoveryClient({ source: etcd });
 * console.log(await discovery.instances('orders'));
 * await discovery.close(); // closes etcd too: the lease is revoked, orders-1 is gone
 * ```
 */
export function createEtcdRegistry(options: EtcdRegistryOptions = {}): EtcdRegistry {
  const config = resolveEtcdRegistryOptions(options);
  const ownsClient = config.client === undefined;
  const client =
    config.client ??
    new Etcd3({
      hosts: [...config.endpoints],
      dialTimeout: config.dialTimeoutMs,
      // HTTP/2 pings find a dead connection that sends no reset (a vanished host, a black-holed
      // route); without them an idle watch could wait for minutes, serving a stale list silently.
      // 10 s stays above etcd's default --grpc-keepalive-min-time of 5 s.
      grpcOptions: {
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5000,
        'grpc.keepalive_permit_without_calls': 1,
      },
    });
  const where = ownsClient ? config.endpoints.join(',') : 'the given etcd client';
  const lifetime = new AbortController();
  const leaseLostListeners = new Set<(err: SwitchyardError) => void>();
  const leaseRestoredListeners = new Set<(info: LeaseRestoredInfo) => void>();
  const activeWatches = new Set<AbortController>();
  /** What this registry registered, by instance ID: re-put under a new lease after a loss. */
  const records = new Map<string, { readonly key: string; readonly value: string }>();
  let lease: Lease | undefined;
  let leaseReady: Promise<Lease> | undefined;
  let restoring = false;
  let closing: Promise<void> | undefined;

  const callOptions = () => ({ deadline: new Date(Date.now() + config.callTimeoutMs) });

  /** Turns a driver failure into this package's error, keeping the original as `cause`. */
  function wrap(err: unknown, what: string): SwitchyardError {
    if (isSwitchyardError(err)) return err;
    if (err instanceof GRPCDeadlineExceededError) {
      return etcdError('SY_ETCD_UNAVAILABLE', `etcd ${what}: no answer within ${config.callTimeoutMs} ms (${where})`, {
        cause: err,
        details: { endpoints: [...config.endpoints], timeoutMs: config.callTimeoutMs },
      });
    }
    if (isRejection(err)) {
      return etcdError('SY_ETCD_REQUEST_FAILED', `etcd ${what}: ${describe(err)}`, { cause: err });
    }
    return etcdError('SY_ETCD_UNAVAILABLE', `etcd ${what}: ${describe(err)} (${where})`, {
      cause: err,
      details: { endpoints: [...config.endpoints] },
    });
  }

  function ensureOpen(what: string): void {
    if (lifetime.signal.aborted) throw etcdError('SY_ETCD_CLOSED', `etcd registry: ${what} after close()`);
  }

  /** Runs one request with the call deadline, an abort signal and error wrapping. */
  async function call<T>(what: string, run: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    ensureOpen(what);
    if (signal?.aborted) throw cancelledError(signal, `etcd ${what}`);
    try {
      if (signal === undefined) return await run();
      let onAbort = noop;
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(cancelledError(signal, `etcd ${what}`));
        signal.addEventListener('abort', onAbort, { once: true });
      });
      try {
        return await Promise.race([run(), aborted]);
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    } catch (err) {
      throw wrap(err, what);
    }
  }

  function sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) {
        resolve();
        return;
      }
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  // --- Lease ---------------------------------------------------------------------------------

  /** The current lease, granted on first use; one grant in flight at a time. */
  function ensureLease(): Promise<Lease> {
    if (leaseReady !== undefined) return leaseReady;
    const granting = client.lease(config.leaseTtlSeconds, callOptions());
    // etcd3 also reports a failed grant as 'lost'; that case is handled by the rejection below.
    let granted = false;
    granting.on('lost', (err) => {
      if (granted) leaseLost(granting, err);
    });
    const ready = granting.grant().then(
      () => {
        granted = true;
        return granting;
      },
      (err: unknown) => {
        if (leaseReady === ready) {
          lease = undefined;
          leaseReady = undefined;
        }
        granting.release();
        throw wrap(err, `lease grant (ttl ${config.leaseTtlSeconds}s)`);
      },
    );
    lease = granting;
    leaseReady = ready;
    return ready;
  }

  function leaseLost(lost: Lease, cause: unknown): void {
    if (lost !== lease || lifetime.signal.aborted) return;
    lease = undefined;
    leaseReady = undefined;
    const err = etcdError(
      'SY_ETCD_LEASE_LOST',
      `etcd registry: the lease of ${records.size} instance key(s) was lost (${describe(cause)}); granting a new one and putting them again`,
      { cause, details: { keys: [...records.values()].map((r) => r.key) } },
    );
    if (leaseLostListeners.size === 0) process.emitWarning(err, 'SwitchyardEtcdWarning');
    for (const listener of leaseLostListeners) callSafely(listener, err);
    void restore();
  }

  /** Grants a new lease and puts every record under it, retrying with backoff until done or closed. */
  async function restore(): Promise<void> {
    if (restoring) return;
    restoring = true;
    const delay = exponentialBackoff({ initialMs: 200, maxMs: 5000 });
    try {
      for (let attempt = 1; !lifetime.signal.aborted && records.size > 0; attempt++) {
        try {
          const current = await ensureLease();
          const all = [...records.values()];
          for (const record of all) {
            await call('put', () => current.put(record.key).value(record.value).options(callOptions()).exec());
          }
          // Lost again while putting: go round once more with the next lease.
          if (current !== lease) continue;
          const info = { leaseId: await current.grant(), keys: all.length };
          for (const listener of leaseRestoredListeners) callSafely(listener, info);
          return;
        } catch {
          // The next attempt reports nothing new: the loss was reported, etcd is still away.
          await sleep(delay(attempt), lifetime.signal);
        }
      }
    } finally {
      restoring = false;
    }
  }

  async function revokeLease(): Promise<void> {
    const current = lease;
    lease = undefined;
    leaseReady = undefined;
    // A failed revoke is harmless: keepalives stopped, so the lease expires after its TTL.
    if (current !== undefined) await current.revoke(callOptions()).catch(noop);
  }

  // --- Watch ---------------------------------------------------------------------------------

  async function follow(service: string, watcher: DiscoveryWatcher, signal: AbortSignal): Promise<void> {
    const range = servicePrefix(config.prefix, service);
    const delay = exponentialBackoff({ initialMs: 100, maxMs: 5000 });
    let instances: Map<string, ServiceInstance> | undefined;
    /** Every change up to this revision is in `instances`; a resumed watch starts after it. */
    let revision = 0;
    let failures = 0;
    /** Re-lists in a row without a change seen in between; only a repeat waits. */
    let resyncs = 0;
    /** Why the next listing starts over, reported through `watcher.resynced` just before it. */
    let resyncReason: string | undefined;

    const push = () => {
      if (instances === undefined || signal.aborted) return;
      const list = [...instances.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      callSafely(watcher.next.bind(watcher), Object.freeze(list));
    };
    const apply = (map: Map<string, ServiceInstance>, kv: IKeyValue) => {
      const key = kv.key.toString();
      try {
        map.set(key, toServiceInstance(service, key, kv.value.toString(), range));
      } catch (err) {
        // A bad value must not hide the other instances, nor leave an old record in its place.
        map.delete(key);
        callSafely(watcher.error.bind(watcher), err);
      }
    };

    const stream = (from: number) =>
      new Promise<void>((resolve, reject) => {
        const w = client.watch().prefix(range).startRevision(String(from)).watcher();
        let done = false;
        const finish = (err?: unknown) => {
          if (done) return;
          done = true;
          signal.removeEventListener('abort', onAbort);
          w.cancel().catch(noop);
          if (err === undefined) resolve();
          else reject(err);
        };
        const onAbort = () => finish();
        signal.addEventListener('abort', onAbort, { once: true });
        w.on('connected', () => {
          failures = 0;
        });
        w.on('data', (res: IWatchResponse) => {
          if (done || instances === undefined) return;
          resyncs = 0;
          for (const event of res.events) {
            const key = event.kv.key.toString();
            if (event.type === 'Put') apply(instances, event.kv);
            else instances.delete(key);
            revision = Math.max(revision, Number(event.kv.mod_revision));
          }
          // A progress notification carries no events: everything up to its revision was seen.
          if (res.events.length === 0) revision = Math.max(revision, Number(res.header.revision));
          else push();
        });
        w.on('disconnected', (err) => finish(err ?? new Error('the watch stream ended')));
        w.on('error', (err) => finish(err));
      });

    while (!signal.aborted) {
      try {
        if (instances === undefined) {
          const res = await call(`list ${range}`, () => client.getAll().prefix(range).options(callOptions()).exec());
          const listed = new Map<string, ServiceInstance>();
          for (const kv of res.kvs) apply(listed, kv);
          instances = listed;
          revision = Number(res.header.revision);
          if (resyncReason !== undefined && watcher.resynced !== undefined && !signal.aborted) {
            callSafely(watcher.resynced.bind(watcher), resyncReason);
          }
          resyncReason = undefined;
          push();
        }
        await stream(revision + 1);
      } catch (err) {
        if (signal.aborted) return;
        if (isCompacted(err)) {
          resyncs += 1;
          instances = undefined;
          const resync = etcdError(
            'SY_ETCD_COMPACTED',
            `etcd watch ${range}: revision ${revision + 1} was compacted while the watch was away; listing the service again`,
            { cause: err, details: { prefix: range, revision: revision + 1 } },
          );
          callSafely(watcher.error.bind(watcher), resync);
          resyncReason = resync.message;
          // The first re-list goes at once; only a repeat (compaction racing the re-list) waits.
          if (resyncs > 1) await sleep(delay(resyncs), signal);
          continue;
        }
        failures += 1;
        callSafely(watcher.error.bind(watcher), wrap(err, `watch ${range} from revision ${revision + 1}`));
        await sleep(delay(failures), signal);
      }
    }
  }

  // --- The registry --------------------------------------------------------------------------

  const registry: EtcdRegistry = {
    async register(registration, signal) {
      ensureOpen('register()');
      const record = toInstanceRecord(registration);
      const key = instanceKey(config.prefix, record.Name, record.ID);
      const entry = { key, value: JSON.stringify(record) };
      const previous = records.get(record.ID);
      // Recorded before the put, so a lease lost meanwhile is restored with this key too.
      records.set(record.ID, entry);
      try {
        const current = await call('lease grant', () => ensureLease(), signal);
        await call(`put ${key}`, () => current.put(key).value(entry.value).options(callOptions()).exec(), signal);
        if (previous !== undefined && previous.key !== key) {
          await call(`delete ${previous.key}`, () => client.delete().key(previous.key).options(callOptions()).exec());
        }
      } catch (err) {
        if (records.get(record.ID) === entry) {
          if (previous === undefined) records.delete(record.ID);
          else records.set(record.ID, previous);
        }
        throw err;
      }
    },

    async deregister(serviceId, signal) {
      ensureOpen('deregister()');
      const entry = records.get(serviceId);
      let deleted: boolean;
      if (entry !== undefined) {
        records.delete(serviceId);
        try {
          const res = await call(
            `delete ${entry.key}`,
            () => client.delete().key(entry.key).options(callOptions()).exec(),
            signal,
          );
          deleted = Number(res.deleted) > 0;
        } catch (err) {
          // Still registered as far as etcd knows: keep restoring it after a lease loss.
          if (!records.has(serviceId) && !lifetime.signal.aborted) records.set(serviceId, entry);
          throw err;
        }
      } else {
        // Another process's instance: find it by its last key segment, as Consul's deregister finds any ID.
        const keys = await call(
          `list ${config.prefix}`,
          () => client.getAll().prefix(config.prefix).options(callOptions()).keys(),
          signal,
        );
        const matching = keys.filter((key) => {
          const rest = key.slice(config.prefix.length).split('/');
          return rest.length === 2 && rest[1] === serviceId;
        });
        for (const key of matching) {
          await call(`delete ${key}`, () => client.delete().key(key).options(callOptions()).exec(), signal);
        }
        deleted = matching.length > 0;
      }
      if (records.size === 0) await revokeLease();
      return deleted;
    },

    watch(service, watcher) {
      const controller = new AbortController();
      if (lifetime.signal.aborted) controller.abort();
      activeWatches.add(controller);
      if (service === '' || service.includes('/')) {
        callSafely(
          watcher.error.bind(watcher),
          etcdError(
            'SY_ETCD_INVALID_REGISTRATION',
            `etcd watch: service name ${JSON.stringify(service)} cannot be a key segment`,
          ),
        );
      } else {
        follow(service, watcher, controller.signal).catch((err: unknown) =>
          callSafely(watcher.error.bind(watcher), err),
        );
      }
      return subscription(() => {
        controller.abort();
        activeWatches.delete(controller);
      });
    },

    onLeaseLost(listener) {
      leaseLostListeners.add(listener);
      return subscription(() => leaseLostListeners.delete(listener));
    },

    onLeaseRestored(listener) {
      leaseRestoredListeners.add(listener);
      return subscription(() => leaseRestoredListeners.delete(listener));
    },

    close() {
      closing ??= (async () => {
        lifetime.abort();
        for (const controller of activeWatches) controller.abort();
        activeWatches.clear();
        records.clear();
        await revokeLease();
        if (ownsClient) client.close();
      })();
      return closing;
    },

    [Symbol.asyncDispose]() {
      return registry.close();
    },
  };
  return registry;
}
