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
import {
  type CheckSpec,
  checkToDefinition,
  parseCheckRegistration,
  parseRegistration,
  type RegistrationSpec,
} from './registration.ts';
import type { RegistryStore, StoredCheck } from './registry-store.ts';
import { createSqliteRegistryStore } from './sqlite-registry-store.ts';
import {
  type AgentService,
  type CheckRegistration,
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
  /**
   * SQLite file that keeps registrations across restarts (created when missing; WAL journal). On
   * start the registry loads it and re-runs every check: HTTP and TCP checks start at their
   * registration's `Status` (default critical, as in Consul) and probe at once; TTL checks resume
   * their last reported status with a full TTL running again. Without it (and without `store`)
   * the registry lives in memory only.
   */
  readonly dataFile?: string;
  /** A custom store, instead of `dataFile`; the registry closes it on close. */
  readonly store?: RegistryStore;
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
   * @throws SwitchyardError `SY_DISCOVERY_INVALID_REGISTRATION` naming the bad field,
   *   `SY_DISCOVERY_STORE_FAILED` when it cannot be persisted (nothing changes), `SY_DISCOVERY_CLOSED`
   */
  register(registration: ServiceRegistration): AgentService;
  /**
   * Removes an instance and its checks.
   *
   * @returns `false` when no instance has that ID
   * @throws SwitchyardError `SY_DISCOVERY_STORE_FAILED`, `SY_DISCOVERY_CLOSED`
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
  /**
   * Adds a standalone check (`PUT /v1/agent/check/register`), or replaces the one with the same ID,
   * keeping its status unless `Status` is given. With `ServiceID` it belongs to that instance and
   * goes with it; without, it is a node check that counts towards every instance's health.
   *
   * @throws SwitchyardError `SY_DISCOVERY_INVALID_REGISTRATION` naming the bad field (also for an
   *   unknown `ServiceID`), `SY_DISCOVERY_STORE_FAILED`, `SY_DISCOVERY_CLOSED`
   */
  registerCheck(registration: CheckRegistration): HealthCheck;
  /**
   * Removes one check.
   *
   * @returns `false` when no check has that ID
   * @throws SwitchyardError `SY_DISCOVERY_STORE_FAILED`, `SY_DISCOVERY_CLOSED`
   */
  deregisterCheck(checkId: string): boolean;
  /** The check with this ID. */
  check(checkId: string): HealthCheck | undefined;
  /** The checks of every instance of `name`, node checks included, ordered by check ID. */
  serviceChecks(name: string): readonly HealthCheck[];
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
  /** Stops every check timer and probe, releases blocked waiters and closes the store; idempotent. */
  close(): Promise<void>;
}

interface ServiceRecord {
  readonly view: AgentService;
  /** Every check of the instance: from its registration and registered separately. */
  readonly checkIds: Set<string>;
}

interface CheckRecord {
  readonly spec: CheckSpec;
  /** The owning instance, or `''` for a node check. */
  readonly serviceId: string;
  view: HealthCheck;
  monitor: CheckMonitor | undefined;
  cancelTtl: (() => void) | undefined;
  cancelReap: (() => void) | undefined;
}

interface Waiter {
  readonly afterIndex: number;
  readonly settle: (index: number) => void;
}

/** A check's status and output when it is (re)installed. */
interface InitialState {
  readonly status: HealthStatus;
  readonly output: string;
  readonly createIndex: number | undefined;
}

const severity: Record<HealthStatus, number> = { passing: 0, warning: 1, critical: 2 };

/** How far ahead the persisted index floor is reserved; one store write per this many changes. */
const indexReservation = 10_000;

/**
 * Creates a registry, empty or loaded from `dataFile`.
 *
 * @throws SwitchyardError `SY_DISCOVERY_STORE_FAILED` naming the file when `dataFile` cannot be
 *   opened or read, is damaged, or holds a registration that no longer validates
 * @example
 * ```ts
 * import { createRegistry } from '@switchyard/discovery';
 *
 * await using registry = createRegistry({ dataFile: '.data/registry.db' });
 * registry.register({ Name: 'orders', ID: 'orders-1', Port: 8080, Check: { TTL: '30s', Status: 'passing' } });
 * registry.instances('orders', { passing: true }).length; // 1
 * ```
 */
export function createRegistry(options: CreateRegistryOptions = {}): Registry {
  const clock = options.clock ?? systemClock;
  const runner = options.checkRunner ?? runCheck;
  const store =
    options.store ?? (options.dataFile === undefined ? undefined : createSqliteRegistryStore(options.dataFile));
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
  const nodeCheckIds = new Set<string>();
  const idsByName = new Map<string, Set<string>>();
  const indexByName = new Map<string, number>();
  const waiters = new Set<Waiter>();
  const listeners = new Set<(index: number) => void>();

  /**
   * With a store, indexes must keep growing across restarts, or a client's blocking query from
   * before the restart could wait on an index the restored registry has not reached. Writing the
   * index on every change would double the writes, so a block is reserved ahead (hi/lo) and the
   * next start begins above it.
   */
  let reservedIndex = 0;
  function nextIndex(): number {
    index++;
    if (store !== undefined && index >= reservedIndex) reserveIndex();
    return index;
  }
  function reserveIndex(): void {
    const target = store;
    if (target === undefined) return;
    reservedIndex = index + indexReservation;
    persistQuietly(() => target.saveIndex(reservedIndex));
  }

  function assertOpen(): void {
    if (closed) throw discoveryError('SY_DISCOVERY_CLOSED', 'the registry is closed');
  }

  /** Publishes the change that took `changeIndex`, touching the given service names. */
  function publish(changeIndex: number, names: Iterable<string>): void {
    for (const name of names) indexByName.set(name, changeIndex);
    for (const waiter of waiters) if (changeIndex > waiter.afterIndex) waiter.settle(changeIndex);
    for (const listener of listeners) callSafely(listener, changeIndex);
  }

  /** The service names a change to this check is seen by: a node check touches them all. */
  function namesOf(record: CheckRecord): Iterable<string> {
    return record.serviceId === '' ? [...idsByName.keys()] : [record.view.ServiceName];
  }

  /** Store failures outside a caller's request (reaping, TTL state) cannot be thrown; report them. */
  function persistQuietly(write: () => void): void {
    try {
      write();
    } catch (err) {
      process.emitWarning(err instanceof Error ? err : String(err), 'SwitchyardDiscoveryWarning');
    }
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
    if (afterMs === undefined || record.serviceId === '') return;
    if (record.view.Status !== HealthStatus.Critical) {
      record.cancelReap?.();
      record.cancelReap = undefined;
      return;
    }
    if (record.cancelReap !== undefined) return;
    record.cancelReap = clock.setTimeout(() => {
      record.cancelReap = undefined;
      if (closed || checks.get(record.spec.checkId) !== record) return;
      persistQuietly(() => store?.deleteService(record.serviceId));
      removeService(record.serviceId);
    }, afterMs);
  }

  function setStatus(record: CheckRecord, status: HealthStatus, output: string): void {
    if (closed || checks.get(record.spec.checkId) !== record) return;
    if (record.view.Status === status) {
      // Output alone is informative; it does not wake blocking queries.
      if (record.view.Output !== output) record.view = Object.freeze({ ...record.view, Output: output });
      return;
    }
    const changeIndex = nextIndex();
    record.view = Object.freeze({ ...record.view, Status: status, Output: output, ModifyIndex: changeIndex });
    // A TTL check's status exists nowhere else, so it is kept for a restart; probes just run again.
    if (record.spec.type === CheckType.Ttl)
      persistQuietly(() => store?.setCheckState(record.spec.checkId, status, output));
    syncReap(record);
    publish(changeIndex, namesOf(record));
  }

  /** Removes a check from memory: stops it and unlinks it from its owner. */
  function dropCheck(record: CheckRecord): void {
    stopTimers(record);
    checks.delete(record.spec.checkId);
    if (record.serviceId === '') nodeCheckIds.delete(record.spec.checkId);
    else services.get(record.serviceId)?.checkIds.delete(record.spec.checkId);
  }

  function detach(serviceRecord: ServiceRecord): void {
    for (const checkId of serviceRecord.checkIds) {
      const record = checks.get(checkId);
      if (record !== undefined) dropCheck(record);
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
    publish(nextIndex(), [record.view.Service]);
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
    for (const checkId of nodeCheckIds) {
      const check = checks.get(checkId);
      if (check !== undefined) list.push(check.view);
    }
    return list;
  }

  /** Builds a check's record; `service` is undefined for a node check. */
  function makeCheck(
    check: CheckSpec,
    service: AgentService | undefined,
    initial: InitialState,
    changeIndex: number,
  ): CheckRecord {
    const view: HealthCheck = Object.freeze({
      Node: node.Node,
      CheckID: check.checkId,
      Name: check.name,
      Status: initial.status,
      Notes: check.notes,
      Output: initial.output,
      ServiceID: service?.ID ?? '',
      ServiceName: service?.Service ?? '',
      ServiceTags: service?.Tags ?? Object.freeze([]),
      Type: check.type,
      Interval: check.definition.Interval ?? '',
      Timeout: check.definition.Timeout ?? '',
      Definition: Object.freeze({ ...check.definition }),
      CreateIndex: initial.createIndex ?? changeIndex,
      ModifyIndex: changeIndex,
    });
    return {
      spec: check,
      serviceId: service?.ID ?? '',
      view,
      monitor: undefined,
      cancelTtl: undefined,
      cancelReap: undefined,
    };
  }

  /** Starts a check's TTL timer or probe loop, and its reaper when it starts critical. */
  function startCheck(record: CheckRecord): void {
    if (checks.get(record.spec.checkId) !== record) return;
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

  /** Puts a validated registration in memory (replacing one with the same ID) and starts its checks. */
  function installService(spec: RegistrationSpec, initialOf: (check: CheckSpec) => InitialState): AgentService {
    const existing = services.get(spec.id);
    for (const check of spec.checks) {
      const other = checks.get(check.checkId);
      if (other !== undefined && other.serviceId !== spec.id) dropCheck(other);
    }
    if (existing !== undefined) detach(existing);

    const changeIndex = nextIndex();
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
    const records = spec.checks.map((check) => makeCheck(check, view, initialOf(check), changeIndex));
    services.set(view.ID, { view, checkIds: new Set(records.map((r) => r.spec.checkId)) });
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
    for (const record of records) startCheck(record);
    return view;
  }

  /** Puts a validated standalone check in memory (replacing one with the same ID) and starts it. */
  function installCheck(serviceId: string | undefined, check: CheckSpec, initial: InitialState): HealthCheck {
    const previous = checks.get(check.checkId);
    if (previous !== undefined) dropCheck(previous);
    const service = serviceId === undefined ? undefined : services.get(serviceId);
    const changeIndex = nextIndex();
    const record = makeCheck(check, service?.view, initial, changeIndex);
    checks.set(check.checkId, record);
    if (service === undefined) nodeCheckIds.add(check.checkId);
    else service.checkIds.add(check.checkId);
    const touched = new Set(namesOf(record));
    if (previous !== undefined) for (const name of namesOf(previous)) touched.add(name);
    publish(changeIndex, touched);
    startCheck(record);
    return record.view;
  }

  /** Status a (re)registered check starts with: as given, else as it was (Consul), else critical. */
  function initialFor(check: CheckSpec, before: HealthCheck | undefined): InitialState {
    return {
      status: check.status ?? before?.Status ?? HealthStatus.Critical,
      output: check.status === undefined ? (before?.Output ?? '') : '',
      createIndex: before?.CreateIndex,
    };
  }

  function storedCheck(serviceId: string, check: CheckSpec, initial: InitialState): StoredCheck {
    const ttl = check.type === CheckType.Ttl;
    return {
      checkId: check.checkId,
      serviceId,
      definition: checkToDefinition(check),
      status: ttl ? initial.status : undefined,
      output: ttl ? initial.output : undefined,
    };
  }

  function restore(target: RegistryStore): void {
    const snapshot = target.load();
    index = Math.max(index, snapshot.index);
    reservedIndex = index;
    const checksByService = new Map<string, Record<string, unknown>[]>();
    const ttlState = new Map<string, InitialState>();
    for (const check of snapshot.checks) {
      let list = checksByService.get(check.serviceId);
      if (list === undefined) {
        list = [];
        checksByService.set(check.serviceId, list);
      }
      list.push({ ...check.definition });
      if (check.status !== undefined) {
        ttlState.set(check.checkId, { status: check.status, output: check.output ?? '', createIndex: undefined });
      }
    }
    const initialOf = (check: CheckSpec): InitialState =>
      (check.type === CheckType.Ttl ? ttlState.get(check.checkId) : undefined) ?? initialFor(check, undefined);
    const corrupt = (what: string, err: unknown) =>
      discoveryError(
        'SY_DISCOVERY_STORE_FAILED',
        `registry store ${target.location}: could not restore ${what}: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err, details: { file: target.location, operation: 'restore' } },
      );
    for (const stored of snapshot.services) {
      let spec: RegistrationSpec;
      try {
        spec = parseRegistration({ ...stored.registration, Checks: checksByService.get(stored.id) ?? [] });
      } catch (err) {
        throw corrupt(`service ${JSON.stringify(stored.id)}`, err);
      }
      if (spec.id !== stored.id) throw corrupt(`service ${JSON.stringify(stored.id)}`, 'its ID does not match');
      checksByService.delete(stored.id);
      installService(spec, initialOf);
    }
    for (const definition of checksByService.get('') ?? []) {
      let parsed: ReturnType<typeof parseCheckRegistration>;
      try {
        parsed = parseCheckRegistration({ ...definition, ID: definition.CheckID, CheckID: undefined });
      } catch (err) {
        throw corrupt(`node check ${JSON.stringify(definition.CheckID)}`, err);
      }
      installCheck(undefined, parsed.check, initialOf(parsed.check));
    }
    checksByService.delete('');
    const [orphan] = checksByService.keys();
    if (orphan !== undefined)
      throw corrupt('checks', `they belong to service ${JSON.stringify(orphan)}, which is not stored`);
  }

  if (store !== undefined) {
    try {
      restore(store);
    } catch (err) {
      for (const record of checks.values()) stopTimers(record);
      store.close();
      throw err;
    }
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
      for (const check of spec.checks) {
        const owner = checks.get(check.checkId)?.serviceId;
        if (owner !== undefined && owner !== spec.id) {
          throw discoveryError(
            'SY_DISCOVERY_INVALID_REGISTRATION',
            `Invalid service registration: Check.CheckID: ${JSON.stringify(check.checkId)} already belongs to ${owner === '' ? 'a node check' : `service ${JSON.stringify(owner)}`}`,
            { details: { issues: [{ path: 'Check.CheckID', message: 'already in use' }] } },
          );
        }
      }
      const existing = services.get(spec.id);
      const previous = new Map<string, HealthCheck>();
      if (existing !== undefined) for (const check of checksOf(existing)) previous.set(check.CheckID, check);
      const initial = new Map(spec.checks.map((check) => [check, initialFor(check, previous.get(check.checkId))]));
      const initialOf = (check: CheckSpec) => initial.get(check) as InitialState;
      // Stored first: when the write fails, memory is untouched and the caller gets the error.
      store?.putService(
        {
          id: spec.id,
          registration: {
            ID: spec.id,
            Name: spec.name,
            Tags: spec.tags,
            Meta: spec.meta,
            Address: spec.address,
            Port: spec.port,
            Weights: spec.weights,
          },
        },
        spec.checks.map((check) => storedCheck(spec.id, check, initialOf(check))),
      );
      return installService(spec, initialOf);
    },

    deregister(serviceId) {
      assertOpen();
      if (!services.has(serviceId)) return false;
      store?.deleteService(serviceId);
      return removeService(serviceId);
    },

    registerCheck(registration) {
      assertOpen();
      const { serviceId, check } = parseCheckRegistration(registration);
      if (serviceId !== undefined && !services.has(serviceId)) {
        throw discoveryError(
          'SY_DISCOVERY_INVALID_REGISTRATION',
          `Invalid check registration: ServiceID: ${JSON.stringify(serviceId)} does not exist`,
          { details: { issues: [{ path: 'ServiceID', message: 'does not exist' }] } },
        );
      }
      const initial = initialFor(check, checks.get(check.checkId)?.view);
      store?.putCheck(storedCheck(serviceId ?? '', check, initial));
      return installCheck(serviceId, check, initial);
    },

    deregisterCheck(checkId) {
      assertOpen();
      const record = checks.get(checkId);
      if (record === undefined) return false;
      store?.deleteCheck(checkId);
      const names = [...namesOf(record)];
      dropCheck(record);
      publish(nextIndex(), names);
      return true;
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
      return Object.freeze([...checks.values()].map((r) => r.view).sort(byCheckId));
    },

    serviceChecks(name) {
      const out: HealthCheck[] = [];
      for (const id of idsByName.get(name) ?? []) {
        for (const checkId of services.get(id)?.checkIds ?? []) {
          const check = checks.get(checkId);
          if (check !== undefined) out.push(check.view);
        }
      }
      return Object.freeze(out.sort(byCheckId));
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
        store?.close();
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

function byCheckId(a: HealthCheck, b: HealthCheck): number {
  return compare(a.CheckID, b.CheckID);
}
