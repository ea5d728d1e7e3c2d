/**
 * The embedded registry: an in-memory model of Consul's agent and catalog for one node.
 *
 * Every change (a registration, a deregistration, a check changing status) takes the next value of a
 * Raft-like `index`, recorded as the entries' `ModifyIndex`, so readers can block until something
 * newer than what they saw exists (Consul's blocking queries). All reads return frozen snapshots.
 */
import { randomUUID } from 'node:crypto';
import { type Clock, cancelledError, HealthStatus, systemClock } from '@switchyard/core';
import { discoveryError } from './errors.ts';
import { type CheckMonitor, runCheck, startCheckMonitor } from './health-checker.ts';
import { callSafely, subscription } from './internal/subscription.ts';
import { type CheckSpec, parseRegistration } from './registration.ts';
import {
  type AgentService,
  type CheckRunner,
  CheckType,
  type ConsulNode,
  type HealthCheck,
  type ServiceHealth,
  type ServiceRegistration,
  type Subscription,
} from './types.ts';

/** Options for {@link createRegistry}. */
export interface CreateRegistryOptions {
  /** Drives check intervals, TTLs, critical-deregistration and blocking waits. @default systemClock */
  readonly clock?: Clock;
  /** Runs HTTP and TCP probes; replace it in tests. @default runCheck */
  readonly checkRunner?: CheckRunner;
  /** How the registry presents its single node. */
  readonly node?: {
    /** @default 'switchyard' */
    readonly name?: string;
    /** Address used for instances registered without one. @default '127.0.0.1' */
    readonly address?: string;
    /** @default 'dc1' */
    readonly datacenter?: string;
  };
}

/** Filters for {@link Registry.instances}, as `GET /v1/health/service/:name` takes them. */
export interface InstanceFilter {
  /** Only instances whose checks are all passing (warning ones are left out too). @default false */
  readonly passing?: boolean;
  /** Only instances carrying every one of these tags. */
  readonly tags?: readonly string[];
}

/** The embedded service registry. */
export interface Registry extends AsyncDisposable {
  /** The current change index; starts at 1 and grows by one per change. */
  readonly index: number;
  /** The node every instance is reported on. */
  readonly node: ConsulNode;
  /** True once {@link Registry.close} was called. */
  readonly closed: boolean;
  /**
   * Registers an instance, or replaces the one with the same ID. Checks start `critical` unless
   * `Status` is given; re-registering keeps the status of checks whose IDs stay the same. HTTP and
   * TCP checks run at once, then every `Interval`.
   *
   * @throws SwitchyardError `SY_DISCOVERY_INVALID_REGISTRATION` naming the bad field, `SY_DISCOVERY_CLOSED`
   */
  register(registration: ServiceRegistration): AgentService;
  /**
   * Removes an instance and its checks.
   *
   * @returns `false` when no instance has that ID
   * @throws SwitchyardError `SY_DISCOVERY_CLOSED`
   */
  deregister(serviceId: string): boolean;
  /** The instance with this ID. */
  service(serviceId: string): AgentService | undefined;
  /** Every instance, ordered by ID. */
  services(): readonly AgentService[];
  /** Service names with the union of their instances' tags, as `GET /v1/catalog/services`. */
  serviceNames(): Readonly<Record<string, readonly string[]>>;
  /** The index of the last change to any instance of `name` (1 for a name never seen). */
  serviceIndex(name: string): number;
  /** Instances of `name` with their checks and aggregate status, ordered by ID. */
  instances(name: string, filter?: InstanceFilter): readonly ServiceHealth[];
  /** The check with this ID. */
  check(checkId: string): HealthCheck | undefined;
  /** Every check, ordered by ID. */
  checks(): readonly HealthCheck[];
  /**
   * Sets a TTL check's status and output, and restarts its TTL.
   *
   * @throws SwitchyardError `SY_DISCOVERY_CHECK_NOT_FOUND`, `SY_DISCOVERY_CHECK_NOT_TTL`, `SY_DISCOVERY_CLOSED`
   */
  updateTtl(checkId: string, status: HealthStatus, note?: string): HealthCheck;
  /**
   * Resolves with the index once it is above `afterIndex`, or when `waitMs` elapses, or when the
   * registry closes; at once when the index is already above `afterIndex`.
   *
   * @throws SwitchyardError `SY_CANCELLED` when `signal` aborts
   */
  waitForChange(afterIndex: number, waitMs: number, signal?: AbortSignal): Promise<number>;
  /** Calls `listener` with the new index after every change. */
  onChange(listener: (index: number) => void): Subscription;
  /** Stops every check timer and probe and releases blocked waiters; idempotent. */
  close(): Promise<void>;
}

interface ServiceRecord {
  readonly view: AgentService;
  readonly checkIds: readonly string[];
}

interface CheckRecord {
  readonly spec: CheckSpec;
  view: HealthCheck;
  monitor: CheckMonitor | undefined;
  cancelTtl: (() => void) | undefined;
  cancelReap: (() => void) | undefined;
}

interface Waiter {
  readonly afterIndex: number;
  readonly settle: (index: number) => void;
}

const severity: Record<HealthStatus, number> = { passing: 0, warning: 1, critical: 2 };

/**
 * Creates an empty registry.
 *
 * @example
 * ```ts
 * import { createRegistry } from '@switchyard/discovery';
 *
 * await using registry = createRegistry();
 * registry.register({ Name: 'orders', ID: 'orders-1', Port: 8080, Check: { TTL: '30s', Status: 'passing' } });
 * registry.instances('orders', { passing: true }).length; // 1
 * ```
 */
export function createRegistry(options: CreateRegistryOptions = {}): Registry {
  const clock = options.clock ?? systemClock;
  const runner = options.checkRunner ?? runCheck;
  const node: ConsulNode = Object.freeze({
    ID: randomUUID(),
    Node: options.node?.name ?? 'switchyard',
    Address: options.node?.address ?? '127.0.0.1',
    Datacenter: options.node?.datacenter ?? 'dc1',
    TaggedAddresses: Object.freeze({}),
    Meta: Object.freeze({}),
    CreateIndex: 1,
    ModifyIndex: 1,
  });

  let index = 1;
  let closed = false;
  const services = new Map<string, ServiceRecord>();
  const checks = new Map<string, CheckRecord>();
  const idsByName = new Map<string, Set<string>>();
  const indexByName = new Map<string, number>();
  const waiters = new Set<Waiter>();
  const listeners = new Set<(index: number) => void>();

  function assertOpen(): void {
    if (closed) throw discoveryError('SY_DISCOVERY_CLOSED', 'the registry is closed');
  }

  /** Publishes the change that took `changeIndex`, touching the given service names. */
  function publish(changeIndex: number, names: Iterable<string>): void {
    for (const name of names) indexByName.set(name, changeIndex);
    for (const waiter of waiters) if (changeIndex > waiter.afterIndex) waiter.settle(changeIndex);
    for (const listener of listeners) callSafely(listener, changeIndex);
  }

  function stopTimers(record: CheckRecord): void {
    record.monitor?.stop();
    record.monitor = undefined;
    record.cancelTtl?.();
    record.cancelTtl = undefined;
    record.cancelReap?.();
    record.cancelReap = undefined;
  }

  function armTtl(record: CheckRecord): void {
    record.cancelTtl?.();
    const ttlMs = record.spec.ttlMs;
    if (ttlMs === undefined) return;
    record.cancelTtl = clock.setTimeout(() => {
      record.cancelTtl = undefined;
      setStatus(record, HealthStatus.Critical, 'TTL expired');
    }, ttlMs);
  }

  /** Keeps a pending deregistration exactly while the check is critical (Consul's reaper). */
  function syncReap(record: CheckRecord): void {
    const afterMs = record.spec.deregisterAfterMs;
    if (afterMs === undefined) return;
    if (record.view.Status !== HealthStatus.Critical) {
      record.cancelReap?.();
      record.cancelReap = undefined;
      return;
    }
    if (record.cancelReap !== undefined) return;
    record.cancelReap = clock.setTimeout(() => {
      record.cancelReap = undefined;
      if (!closed && checks.get(record.spec.checkId) === record) removeService(record.view.ServiceID);
    }, afterMs);
  }

  function setStatus(record: CheckRecord, status: HealthStatus, output: string): void {
    if (closed || checks.get(record.spec.checkId) !== record) return;
    if (record.view.Status === status) {
      // Output alone is informative; it does not wake blocking queries.
      if (record.view.Output !== output) record.view = Object.freeze({ ...record.view, Output: output });
      return;
    }
    const changeIndex = ++index;
    record.view = Object.freeze({ ...record.view, Status: status, Output: output, ModifyIndex: changeIndex });
    syncReap(record);
    publish(changeIndex, [record.view.ServiceName]);
  }

  function detach(serviceRecord: ServiceRecord): void {
    for (const checkId of serviceRecord.checkIds) {
      const record = checks.get(checkId);
      if (record === undefined) continue;
      stopTimers(record);
      checks.delete(checkId);
    }
    services.delete(serviceRecord.view.ID);
    const ids = idsByName.get(serviceRecord.view.Service);
    ids?.delete(serviceRecord.view.ID);
    if (ids?.size === 0) idsByName.delete(serviceRecord.view.Service);
  }

  function removeService(serviceId: string): boolean {
    const record = services.get(serviceId);
    if (record === undefined) return false;
    detach(record);
    publish(++index, [record.view.Service]);
    return true;
  }

  function aggregate(list: readonly HealthCheck[]): HealthStatus {
    let worst: HealthStatus = HealthStatus.Passing;
    for (const check of list) if (severity[check.Status] > severity[worst]) worst = check.Status;
    return worst;
  }

  function checksOf(record: ServiceRecord): HealthCheck[] {
    const list: HealthCheck[] = [];
    for (const checkId of record.checkIds) {
      const check = checks.get(checkId);
      if (check !== undefined) list.push(check.view);
    }
    return list;
  }

  const registry: Registry = {
    get index() {
      return index;
    },
    node,
    get closed() {
      return closed;
    },

    register(registration) {
      assertOpen();
      const spec = parseRegistration(registration);
      const existing = services.get(spec.id);
      for (const check of spec.checks) {
        const owner = checks.get(check.checkId)?.view.ServiceID;
        if (owner !== undefined && owner !== spec.id) {
          throw discoveryError(
            'SY_DISCOVERY_INVALID_REGISTRATION',
            `Invalid service registration: Check.CheckID: ${JSON.stringify(check.checkId)} already belongs to service ${JSON.stringify(owner)}`,
            { details: { issues: [{ path: 'Check.CheckID', message: 'already in use' }] } },
          );
        }
      }
      const previous = new Map<string, HealthCheck>();
      if (existing !== undefined) {
        for (const check of checksOf(existing)) previous.set(check.CheckID, check);
        detach(existing);
      }

      const changeIndex = ++index;
      const view: AgentService = Object.freeze({
        ID: spec.id,
        Service: spec.name,
        Tags: Object.freeze([...spec.tags]),
        Meta: Object.freeze({ ...spec.meta }),
        Address: spec.address,
        Port: spec.port,
        Weights: Object.freeze({ ...spec.weights }),
        CreateIndex: existing?.view.CreateIndex ?? changeIndex,
        ModifyIndex: changeIndex,
      });
      const records: CheckRecord[] = spec.checks.map((check) => {
        const before = previous.get(check.checkId);
        // Consul keeps a re-registered check's state so a restarting instance does not flap.
        const status = check.status ?? before?.Status ?? HealthStatus.Critical;
        const output = check.status === undefined ? (before?.Output ?? '') : '';
        const checkView: HealthCheck = Object.freeze({
          Node: node.Node,
          CheckID: check.checkId,
          Name: check.name,
          Status: status,
          Notes: check.notes,
          Output: output,
          ServiceID: view.ID,
          ServiceName: view.Service,
          ServiceTags: view.Tags,
          Type: check.type,
          Interval: check.definition.Interval ?? '',
          Timeout: check.definition.Timeout ?? '',
          Definition: Object.freeze({ ...check.definition }),
          CreateIndex: before?.CreateIndex ?? changeIndex,
          ModifyIndex: changeIndex,
        });
        return { spec: check, view: checkView, monitor: undefined, cancelTtl: undefined, cancelReap: undefined };
      });

      services.set(view.ID, { view, checkIds: records.map((r) => r.spec.checkId) });
      for (const record of records) checks.set(record.spec.checkId, record);
      let ids = idsByName.get(view.Service);
      if (ids === undefined) {
        ids = new Set();
        idsByName.set(view.Service, ids);
      }
      ids.add(view.ID);

      const touched = new Set([view.Service]);
      if (existing !== undefined) touched.add(existing.view.Service);
      publish(changeIndex, touched);

      for (const record of records) {
        if (checks.get(record.spec.checkId) !== record) continue;
        syncReap(record);
        if (record.spec.type === CheckType.Ttl) {
          armTtl(record);
        } else if (record.spec.probe !== undefined && record.spec.intervalMs !== undefined) {
          const target = record;
          record.monitor = startCheckMonitor({
            probe: record.spec.probe,
            intervalMs: record.spec.intervalMs,
            clock,
            runner,
            onResult: (result) => setStatus(target, result.status, result.output),
          });
        }
      }
      return view;
    },

    deregister(serviceId) {
      assertOpen();
      return removeService(serviceId);
    },

    service(serviceId) {
      return services.get(serviceId)?.view;
    },

    services() {
      return Object.freeze([...services.values()].map((r) => r.view).sort(byId));
    },

    serviceNames() {
      const out: Record<string, readonly string[]> = {};
      for (const name of [...idsByName.keys()].sort()) {
        const tags = new Set<string>();
        for (const id of idsByName.get(name) ?? []) for (const tag of services.get(id)?.view.Tags ?? []) tags.add(tag);
        out[name] = Object.freeze([...tags]);
      }
      return Object.freeze(out);
    },

    serviceIndex(name) {
      return indexByName.get(name) ?? 1;
    },

    instances(name, filter = {}) {
      const out: ServiceHealth[] = [];
      const ids = [...(idsByName.get(name) ?? [])].sort();
      for (const id of ids) {
        const record = services.get(id);
        if (record === undefined) continue;
        if (filter.tags !== undefined && !filter.tags.every((tag) => record.view.Tags.includes(tag))) continue;
        const list = checksOf(record);
        const status = aggregate(list);
        if (filter.passing === true && status !== HealthStatus.Passing) continue;
        out.push(Object.freeze({ Service: record.view, Checks: Object.freeze(list), Status: status }));
      }
      return Object.freeze(out);
    },

    check(checkId) {
      return checks.get(checkId)?.view;
    },

    checks() {
      return Object.freeze([...checks.values()].map((r) => r.view).sort((a, b) => compare(a.CheckID, b.CheckID)));
    },

    updateTtl(checkId, status, note = '') {
      assertOpen();
      const record = checks.get(checkId);
      if (record === undefined) {
        throw discoveryError(
          'SY_DISCOVERY_CHECK_NOT_FOUND',
          `Unknown check ID ${JSON.stringify(checkId)}. Ensure that the check ID is passed, not the check name.`,
          { details: { checkId } },
        );
      }
      if (record.spec.type !== CheckType.Ttl) {
        throw discoveryError(
          'SY_DISCOVERY_CHECK_NOT_TTL',
          `CheckID ${JSON.stringify(checkId)} does not have associated TTL`,
          {
            details: { checkId, type: record.spec.type },
          },
        );
      }
      setStatus(record, status, note);
      armTtl(record);
      return record.view;
    },

    waitForChange(afterIndex, waitMs, signal) {
      if (signal?.aborted) return Promise.reject(cancelledError(signal, 'waiting for a registry change'));
      if (closed || index > afterIndex) return Promise.resolve(index);
      return new Promise<number>((resolve, reject) => {
        let cancelTimer: (() => void) | undefined;
        const finish = () => {
          waiters.delete(waiter);
          cancelTimer?.();
          signal?.removeEventListener('abort', onAbort);
        };
        const waiter: Waiter = {
          afterIndex,
          settle: (value) => {
            finish();
            resolve(value);
          },
        };
        const onAbort = () => {
          finish();
          reject(cancelledError(signal as AbortSignal, 'waiting for a registry change'));
        };
        waiters.add(waiter);
        signal?.addEventListener('abort', onAbort, { once: true });
        cancelTimer = clock.setTimeout(() => waiter.settle(index), Math.max(0, waitMs));
      });
    },

    onChange(listener) {
      listeners.add(listener);
      return subscription(() => listeners.delete(listener));
    },

    close() {
      if (!closed) {
        closed = true;
        for (const record of checks.values()) stopTimers(record);
        for (const waiter of waiters) waiter.settle(index);
        listeners.clear();
      }
      return Promise.resolve();
    },

    [Symbol.asyncDispose]() {
      return registry.close();
    },
  };
  return registry;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function byId(a: AgentService, b: AgentService): number {
  return compare(a.ID, b.ID);
}
