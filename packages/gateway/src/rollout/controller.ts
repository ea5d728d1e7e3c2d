import { randomBytes } from 'node:crypto';
import { type Clock, invalidConfig, systemClock } from '@switchyard/core';
import { gatewayError } from '../errors.ts';
import { type GatewayLogger, silentLogger } from '../ports.ts';
import { judge, ObservationWindow, type SubsetStats } from './analysis.ts';
import { createMemoryRolloutStore } from './memory-store.ts';
import { InsufficientTraffic, type ResolvedRollout, type RolloutStrategy } from './options.ts';
import { createSqliteRolloutStore } from './sqlite-store.ts';
import { idleRecord, isRolloutActive, transition } from './state.ts';
import type { RolloutSubsetWeight, RolloutTrafficControl } from './traffic-port.ts';
import { RolloutPhase, type RolloutRecord, type RolloutStore, type RolloutTransition } from './types.ts';

/** Opens the store of a `redis://` or `postgres://` URL: an adapter package's factory. */
export type RolloutStoreFactory = (url: string) => RolloutStore;

/** Factories of the stores that live in adapter packages, by URL scheme. */
export interface RolloutStoreFactories {
  /** `createRedisRolloutStore` wrapped: `(url) => createRedisRolloutStore({ url })` from `@switchyard/adapter-redis`. */
  readonly redis?: RolloutStoreFactory;
  /** `(url) => createPostgresRolloutStore({ url })` from `@switchyard/adapter-postgres`. */
  readonly postgres?: RolloutStoreFactory;
}

/** What {@link createRolloutController} needs. */
export interface RolloutControllerInput {
  /** The rollouts of `gateway.rollouts`, resolved. */
  readonly rollouts: readonly ResolvedRollout[];
  /** The gateway's traffic control (`gateway.traffic`). */
  readonly traffic: RolloutTrafficControl;
  /** Adapter factories for `redis://` and `postgres://` stores. */
  readonly stores?: RolloutStoreFactories;
  /**
   * Opens the store of a rollout instead of the `store` option (tests share one memory store
   * between controllers with it). Stores are opened once per distinct `store` value.
   */
  readonly openStore?: (spec: string, rollout: ResolvedRollout) => RolloutStore;
  /** @default the system clock */
  readonly clock?: Clock;
  /** This replica's name in leases and history. @default a random id */
  readonly replicaId?: string;
  /** How often the store is read and steps are judged, in ms. @default 1000 */
  readonly pollMs?: number;
  /** How long a controller's lease lasts without renewal, in ms. @default 10 polls */
  readonly leaseMs?: number;
  /** Whether polling starts at once; `false` leaves it to {@link RolloutController.tick}. @default true */
  readonly autoPoll?: boolean;
  readonly logger?: GatewayLogger;
}

/** A rollout as the admin API shows it. */
export interface RolloutView {
  readonly name: string;
  readonly route: string;
  readonly stable: string;
  readonly canary: string;
  readonly strategy: RolloutStrategy;
  readonly steps: readonly number[];
  readonly phase: RolloutPhase;
  /** Index into `steps`, `-1` when none. */
  readonly step: number;
  readonly canaryWeight: number;
  /** The split this replica applies (absent when idle: the route's configured split is in force). */
  readonly split?: readonly RolloutSubsetWeight[];
  readonly version: number;
  readonly stepStartedAt: number;
  readonly updatedAt: number;
  /** Whether this replica held the rollout's lease at its last poll (it advances the steps). */
  readonly controller: boolean;
  /** This replica's observations over the analysis window. */
  readonly observed: { readonly canary: SubsetStats; readonly stable: SubsetStats };
  readonly history: readonly RolloutTransition[];
}

/** Runs the rollouts of one gateway replica. */
export interface RolloutController {
  /** Every rollout, in config order. @throws SwitchyardError `SY_GATEWAY_ROLLOUT_STORE_FAILED` */
  list(): Promise<RolloutView[]>;
  /** One rollout. @throws SwitchyardError `SY_GATEWAY_ROLLOUT_NOT_FOUND`, `SY_GATEWAY_ROLLOUT_STORE_FAILED` */
  get(name: string): Promise<RolloutView>;
  /**
   * Starts (or starts again after it finished) a rollout at its first step.
   * @throws SwitchyardError `SY_GATEWAY_ROLLOUT_CONFLICT` when it is progressing or paused
   */
  start(name: string, reason?: string): Promise<RolloutView>;
  /**
   * Sends all traffic to the canary now and ends the rollout as promoted.
   * @throws SwitchyardError `SY_GATEWAY_ROLLOUT_CONFLICT` unless it is progressing or paused
   */
  promote(name: string, reason?: string): Promise<RolloutView>;
  /**
   * Sends all traffic back to stable now and ends the rollout as aborted.
   * @throws SwitchyardError `SY_GATEWAY_ROLLOUT_CONFLICT` unless it is progressing or paused
   */
  abort(name: string, reason?: string): Promise<RolloutView>;
  /** One poll: read the store, apply its weights, and (holding the lease) judge and advance. */
  tick(): Promise<void>;
  /** Stops polling, gives up leases and closes the stores it opened. Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

interface Entry {
  readonly rollout: ResolvedRollout;
  readonly store: RolloutStore;
  readonly window: ObservationWindow;
  record: RolloutRecord;
  leader: boolean;
  /** The split last applied, as JSON, to skip repeated `setSplit` calls. */
  applied: string | undefined;
  lastError: string | undefined;
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/**
 * The split a record puts in force, or undefined when idle (the route's configured split).
 *
 * @example
 * ```ts
 * splitOf(rollout, { ...record, phase: 'progressing', canaryWeight: 25 }); // [{ subset: 'v1', weight: 75 }, { subset: 'v2', weight: 25 }]
 * ```
 */
export function splitOf(rollout: ResolvedRollout, record: RolloutRecord): RolloutSubsetWeight[] | undefined {
  if (record.phase === RolloutPhase.Idle) return undefined;
  const weight =
    record.phase === RolloutPhase.Promoted
      ? 100
      : record.phase === RolloutPhase.RolledBack || record.phase === RolloutPhase.Aborted
        ? 0
        : record.canaryWeight;
  return [
    { subset: rollout.stable, weight: 100 - weight },
    { subset: rollout.canary, weight },
  ];
}

/**
 * Runs the rollouts of `gateway.rollouts` on one replica. Every replica polls the store (every
 * `pollMs`) and applies its weights through `traffic.setSplit`, so replicas agree within one
 * poll. One replica per rollout, the lease holder, judges the canary from the responses it
 * served itself and writes the next step; with several replicas it judges its own share of
 * the traffic. State lives in the store: a restarted replica resumes where the record says,
 * counting the pause from the recorded step start (and, since its observations were lost, it
 * waits at least one window of its own before giving up for lack of traffic).
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` when a rollout's store needs an adapter that was
 *   not given; `SY_GATEWAY_ROLLOUT_STORE_FAILED` when a SQLite file cannot be opened
 * @example
 * ```ts
 * const rollouts = createRolloutController({ rollouts: resolveRolloutsOptions(config), traffic: gateway.traffic });
 * await rollouts.start('orders');
 * ```
 */
export function createRolloutController(input: RolloutControllerInput): RolloutController {
  const clock = input.clock ?? systemClock;
  const logger = input.logger ?? silentLogger;
  const replicaId = input.replicaId ?? `gw-${randomBytes(4).toString('hex')}`;
  const pollMs = input.pollMs ?? 1000;
  const leaseMs = input.leaseMs ?? pollMs * 10;
  const observingSince = clock.now();
  const opened = new Map<string, RolloutStore>();
  const entries = new Map<string, Entry>();
  const byRoute = new Map<string, Entry>();

  const openStore = (rollout: ResolvedRollout): RolloutStore => {
    if (input.openStore !== undefined) return input.openStore(rollout.store, rollout);
    const spec = rollout.store;
    const existing = opened.get(spec);
    if (existing !== undefined) return existing;
    let store: RolloutStore;
    if (spec === 'memory') store = createMemoryRolloutStore();
    else if (spec.startsWith('sqlite:')) store = createSqliteRolloutStore(spec.slice('sqlite:'.length));
    else {
      const scheme = spec.startsWith('redis') ? 'redis' : 'postgres';
      const factory = input.stores?.[scheme];
      if (factory === undefined) {
        const pkg = `@switchyard/adapter-${scheme}`;
        throw invalidConfig([
          {
            path: `gateway.rollouts.${rollout.name}.store`,
            message: `a ${scheme} store needs ${pkg} (npm i ${pkg}) and its factory passed as rolloutStores.${scheme}`,
          },
        ]);
      }
      store = factory(spec);
    }
    opened.set(spec, store);
    return store;
  };

  try {
    for (const rollout of input.rollouts) {
      const entry: Entry = {
        rollout,
        store: openStore(rollout),
        window: new ObservationWindow(),
        record: idleRecord(rollout.name, clock.now()),
        leader: false,
        applied: undefined,
        lastError: undefined,
      };
      entries.set(rollout.name, entry);
      byRoute.set(rollout.route, entry);
    }
  } catch (err) {
    for (const store of opened.values()) void store.close();
    throw err;
  }

  const observer = input.traffic.observe((o) => {
    if (o.mirrored || o.subset === undefined) return;
    const entry = byRoute.get(o.route);
    if (entry === undefined) return;
    if (o.subset !== entry.rollout.stable && o.subset !== entry.rollout.canary) return;
    entry.window.add(o.subset, clock.now(), o.status, o.durationMs);
  });

  const storeFailure = (entry: Entry, err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    if (entry.lastError !== message) {
      logger.error({ err, rollout: entry.rollout.name }, 'rollout store failed; the weights in force stay');
      entry.lastError = message;
    }
  };

  /** Puts the record's weights in force on this replica (nothing when they already are). */
  const apply = (entry: Entry): void => {
    const split = splitOf(entry.rollout, entry.record);
    const key = split === undefined ? undefined : JSON.stringify(split);
    const current = input.traffic.split(entry.rollout.route);
    if (key === entry.applied && (key === undefined || JSON.stringify(current) === key)) return;
    try {
      input.traffic.setSplit(entry.rollout.route, split);
      entry.applied = key;
      logger.info(
        { rollout: entry.rollout.name, route: entry.rollout.route, split, phase: entry.record.phase },
        'rollout weights applied',
      );
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (entry.lastError !== message) {
        logger.error({ err, rollout: entry.rollout.name }, 'rollout weights refused by the route');
        entry.lastError = message;
      }
    }
  };

  /**
   * Takes a record read from the store, unless the entry already holds a newer version: a poll
   * and an admin read may overlap, and the one that read first must not put older weights back.
   * A record gone from the store (deleted by hand) is idle again.
   */
  const adopt = (entry: Entry, stored: RolloutRecord | undefined): void => {
    if (stored === undefined) entry.record = idleRecord(entry.rollout.name, clock.now());
    else if (stored.version >= entry.record.version) entry.record = stored;
  };

  /** Writes `next` over the entry's record; false when another writer got there first. */
  const write = async (entry: Entry, next: RolloutRecord): Promise<boolean> => {
    const written = await entry.store.compareAndSet(next, entry.record.version);
    if (written) {
      entry.record = next;
      const last = next.history.at(-1);
      logger.info(
        {
          rollout: next.name,
          phase: next.phase,
          step: next.step,
          canaryWeight: next.canaryWeight,
          reason: last?.reason,
        },
        'rollout transition',
      );
      apply(entry);
    }
    return written;
  };

  const stepTo = (entry: Entry, to: RolloutPhase, step: number, weight: number, reason: string, newStep: boolean) =>
    transition(entry.record, {
      to,
      step,
      canaryWeight: weight,
      reason,
      by: `controller:${replicaId}`,
      now: clock.now(),
      newStep,
    });

  /** The lease holder's decision for a progressing rollout. */
  const judgeStep = async (entry: Entry): Promise<void> => {
    const { rollout, record } = entry;
    const { analysis } = rollout;
    const now = clock.now();
    const from = Math.max(now - analysis.windowMs, record.stepStartedAt, observingSince);
    const verdict = judge(
      entry.window.stats(rollout.canary, from),
      entry.window.stats(rollout.stable, from),
      analysis,
      now - from,
    );
    const elapsed = now - record.stepStartedAt;
    if (verdict.kind === 'fail') {
      // A breach ends the rollout at once, even before the pause is over.
      await write(entry, stepTo(entry, RolloutPhase.RolledBack, record.step, 0, verdict.reason, false));
      return;
    }
    if (elapsed < rollout.pauseMs) return;
    const advance = async (reason: string) => {
      const next = record.step + 1;
      const weight = rollout.steps[next];
      if (weight === undefined) {
        await write(entry, stepTo(entry, RolloutPhase.Promoted, record.step, 100, reason, false));
      } else {
        await write(
          entry,
          stepTo(entry, RolloutPhase.Progressing, next, weight, `${reason}; step ${next + 1}: canary ${weight}%`, true),
        );
      }
    };
    if (verdict.kind === 'pass') return advance(verdict.reason);
    const deadline = Math.max(
      record.stepStartedAt + rollout.pauseMs + analysis.maxWaitMs,
      observingSince + analysis.windowMs,
    );
    if (now < deadline) return;
    const waited = `${verdict.reason}; waited ${seconds(now - record.stepStartedAt)}`;
    if (analysis.onInsufficientTraffic === InsufficientTraffic.Advance)
      return advance(`${waited}, advancing per policy`);
    if (analysis.onInsufficientTraffic === InsufficientTraffic.Rollback) {
      await write(
        entry,
        stepTo(entry, RolloutPhase.RolledBack, record.step, 0, `${waited}, rolled back per policy`, false),
      );
      return;
    }
    await write(
      entry,
      stepTo(
        entry,
        RolloutPhase.Paused,
        record.step,
        record.canaryWeight,
        `${waited}; paused for an operator (promote or abort)`,
        false,
      ),
    );
  };

  const pollOne = async (entry: Entry): Promise<void> => {
    try {
      adopt(entry, await entry.store.get(entry.rollout.name));
      entry.lastError = undefined;
    } catch (err) {
      storeFailure(entry, err);
      return;
    }
    apply(entry);
    entry.window.trim(clock.now() - entry.rollout.analysis.windowMs);
    if (entry.record.phase !== RolloutPhase.Progressing) {
      if (entry.leader) {
        entry.leader = false;
        await entry.store.releaseLease(entry.rollout.name, replicaId).catch((err: unknown) => storeFailure(entry, err));
      }
      return;
    }
    try {
      entry.leader = await entry.store.acquireLease(entry.rollout.name, replicaId, leaseMs, clock.now());
      if (entry.leader) await judgeStep(entry);
    } catch (err) {
      storeFailure(entry, err);
    }
  };

  let ticking: Promise<void> | undefined;
  const tick = (): Promise<void> => {
    ticking ??= (async () => {
      try {
        for (const entry of entries.values()) await pollOne(entry);
      } finally {
        ticking = undefined;
      }
    })();
    return ticking;
  };

  let closed = false;
  let cancelTimer: (() => void) | undefined;
  const schedule = () => {
    if (closed) return;
    cancelTimer = clock.setTimeout(() => {
      void tick().finally(schedule);
    }, pollMs);
  };

  const entryOf = (name: string): Entry => {
    const entry = entries.get(name);
    if (entry === undefined) {
      const known = [...entries.keys()].join(', ') || 'none';
      throw gatewayError(
        'SY_GATEWAY_ROLLOUT_NOT_FOUND',
        `no rollout named ${JSON.stringify(name)} (rollouts: ${known})`,
        {
          details: { rollout: name },
        },
      );
    }
    return entry;
  };

  const refresh = async (entry: Entry): Promise<void> => {
    try {
      adopt(entry, await entry.store.get(entry.rollout.name));
      apply(entry);
    } catch (err) {
      throw gatewayError(
        'SY_GATEWAY_ROLLOUT_STORE_FAILED',
        `rollout ${entry.rollout.name}: the store could not be read: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
  };

  const view = (entry: Entry): RolloutView => {
    const { rollout, record } = entry;
    const now = clock.now();
    const from = Math.max(now - rollout.analysis.windowMs, record.stepStartedAt);
    const split = splitOf(rollout, record);
    return {
      name: rollout.name,
      route: rollout.route,
      stable: rollout.stable,
      canary: rollout.canary,
      strategy: rollout.strategy,
      steps: rollout.steps,
      phase: record.phase,
      step: record.step,
      canaryWeight: record.canaryWeight,
      ...(split === undefined ? {} : { split }),
      version: record.version,
      stepStartedAt: record.stepStartedAt,
      updatedAt: record.updatedAt,
      controller: entry.leader,
      observed: { canary: entry.window.stats(rollout.canary, from), stable: entry.window.stats(rollout.stable, from) },
      history: record.history,
    };
  };

  const act = async (
    name: string,
    allowed: (phase: RolloutPhase) => boolean,
    next: (entry: Entry) => RolloutRecord,
    what: string,
  ): Promise<RolloutView> => {
    const entry = entryOf(name);
    await refresh(entry);
    if (!allowed(entry.record.phase)) {
      throw gatewayError(
        'SY_GATEWAY_ROLLOUT_CONFLICT',
        `cannot ${what} rollout ${JSON.stringify(name)}: it is ${entry.record.phase}`,
        { details: { rollout: name, phase: entry.record.phase } },
      );
    }
    let written: boolean;
    try {
      written = await write(entry, next(entry));
    } catch (err) {
      throw gatewayError(
        'SY_GATEWAY_ROLLOUT_STORE_FAILED',
        `rollout ${name}: the store could not be written: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
    if (!written) {
      throw gatewayError(
        'SY_GATEWAY_ROLLOUT_CONFLICT',
        `cannot ${what} rollout ${JSON.stringify(name)}: another replica changed it meanwhile; read it again and retry`,
        { details: { rollout: name } },
      );
    }
    return view(entry);
  };

  const byOperator = (entry: Entry, to: RolloutPhase, step: number, weight: number, reason: string, newStep: boolean) =>
    transition(entry.record, { to, step, canaryWeight: weight, reason, by: 'operator', now: clock.now(), newStep });

  if (input.autoPoll !== false) {
    void tick().finally(schedule);
  }

  const close = async () => {
    if (closed) return;
    closed = true;
    cancelTimer?.();
    observer.dispose();
    await ticking;
    for (const entry of entries.values()) {
      if (entry.leader) await entry.store.releaseLease(entry.rollout.name, replicaId).catch(() => undefined);
    }
    await Promise.all([...opened.values()].map((store) => store.close().catch(() => undefined)));
  };

  return {
    async list() {
      const out: RolloutView[] = [];
      for (const entry of entries.values()) {
        await refresh(entry);
        out.push(view(entry));
      }
      return out;
    },
    async get(name) {
      const entry = entryOf(name);
      await refresh(entry);
      return view(entry);
    },
    start: (name, reason) =>
      act(
        name,
        (phase) => !isRolloutActive(phase),
        (entry) => {
          const weight = entry.rollout.steps[0] ?? 100;
          return byOperator(entry, RolloutPhase.Progressing, 0, weight, reason ?? `started: canary ${weight}%`, true);
        },
        'start',
      ),
    promote: (name, reason) =>
      act(
        name,
        isRolloutActive,
        (entry) =>
          byOperator(entry, RolloutPhase.Promoted, entry.record.step, 100, reason ?? 'promoted by operator', false),
        'promote',
      ),
    abort: (name, reason) =>
      act(
        name,
        isRolloutActive,
        (entry) =>
          byOperator(entry, RolloutPhase.Aborted, entry.record.step, 0, reason ?? 'aborted by operator', false),
        'abort',
      ),
    tick,
    close,
    [Symbol.asyncDispose]: close,
  };
}
