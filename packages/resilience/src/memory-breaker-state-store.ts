import { type Clock, systemClock } from '@switchyard/core';
import type {
  BreakerReport,
  BreakerStateStore,
  OpenPeriod,
  ProbeOutcome,
  ProbeRequest,
  Quorum,
  SharedBreakerState,
} from './breaker-state-store.ts';
import type { Disposable } from './types.ts';

/** What {@link createMemoryBreakerStateStore} needs from its surroundings. */
export interface MemoryBreakerStateStoreDeps {
  /** The store's time: open periods, replica time to live, probe leases. @default systemClock */
  readonly clock?: Clock;
}

interface ReplicaEntry {
  /** Store time (ms) after which the replica no longer counts. */
  expiresAt: number;
  tripped: boolean;
}

interface Lease {
  readonly replicaId: string;
  /** Store time (ms) after which the slot is free again. */
  readonly expiresAt: number;
}

interface Entry {
  /** Stored state; `open` whose period has passed reads as `half-open`. */
  open: boolean;
  generation: number;
  trips: number;
  /** Store time (ms) at which an open breaker turns half-open. */
  openUntil: number;
  successes: number;
  readonly replicas: Map<string, ReplicaEntry>;
  /** At most `maxProbes` entries, so a linear scan stays cheap. */
  leases: Lease[];
}

/**
 * The smallest tripped-replica count that opens the shared breaker:
 * `max(min, ceil(ratio × live))`, capped at `live`, at least 1.
 *
 * A tiny epsilon keeps float products such as `0.3 × 10 = 3.0000000000000004` from rounding
 * up to 4; the Redis adapter's Lua script uses the same rule so both stores agree.
 *
 * @example
 * ```ts
 * breakerQuorum({ min: 2, ratio: 0.5 }, 10); // 5
 * breakerQuorum({ min: 2, ratio: 0.5 }, 1); // 1: a lone replica decides for itself
 * ```
 */
export function breakerQuorum(quorum: Quorum, live: number): number {
  const byRatio = Math.ceil(quorum.ratio * live - 1e-9);
  return Math.max(1, Math.min(live, Math.max(quorum.min, byRatio)));
}

/**
 * The open period (ms) for the `trips`-th consecutive trip: `baseMs × factor^(trips - 1)`,
 * capped at `maxMs`, rounded down to whole milliseconds (as the Redis adapter stores it).
 *
 * @example
 * ```ts
 * breakerOpenPeriodMs({ baseMs: 1000, factor: 2, maxMs: 30_000 }, 3); // 4000
 * ```
 */
export function breakerOpenPeriodMs(open: OpenPeriod, trips: number): number {
  const ms = open.baseMs * open.factor ** Math.max(0, trips - 1);
  return Math.max(0, Math.floor(Math.min(open.maxMs, Number.isNaN(ms) ? open.maxMs : ms)));
}

/**
 * Creates a {@link BreakerStateStore} kept in this process's memory: breakers created with
 * the same store share one state. It is what the contract suite checks other stores against,
 * and what tests and single-process fleets (workers in one process) use; replicas in separate
 * processes need a shared store such as `@switchyard/adapter-redis`.
 *
 * Every call is atomic (it runs to completion before the returned promise settles) and costs
 * O(replicas + maxProbes) for the named breaker; expired replicas and probe leases are dropped
 * as they are met. Time comes from `deps.clock` only; the store does no I/O and sets no timers.
 *
 * `watch` listeners run in a microtask after every shared transition (a change of
 * `generation`: closed -> open, half-open -> open, half-open -> closed, reset), including
 * transitions caused through this same store object; a breaker that caused the transition
 * therefore hears of it too and should compare generations. The open -> half-open change is
 * not announced: it is a matter of time, which each replica reads from `probeInMs`. A listener
 * that throws is ignored, so one faulty listener cannot break the store or the others.
 *
 * @example
 * ```ts
 * import { createMemoryBreakerStateStore } from '@switchyard/resilience';
 *
 * const store = createMemoryBreakerStateStore();
 * const report = { tripped: true, ttlMs: 5000, quorum: { min: 2, ratio: 0.5 }, open: { baseMs: 1000, factor: 2, maxMs: 30_000 } };
 * await store.report('payments', { ...report, replicaId: 'a' });
 * const state = await store.report('payments', { ...report, replicaId: 'b' });
 * state.state; // 'open' (2 of 2 live replicas tripped)
 * ```
 */
export function createMemoryBreakerStateStore(deps: MemoryBreakerStateStoreDeps = {}): BreakerStateStore {
  const clock = deps.clock ?? systemClock;
  const entries = new Map<string, Entry>();
  const watchers = new Map<string, Set<(state: SharedBreakerState) => void>>();

  function entryOf(name: string): Entry {
    let entry = entries.get(name);
    if (entry === undefined) {
      entry = {
        open: false,
        generation: 0,
        trips: 0,
        openUntil: 0,
        successes: 0,
        replicas: new Map(),
        leases: [],
      };
      entries.set(name, entry);
    }
    return entry;
  }

  /** Drops expired replicas and leases, so every count below sees live ones only. */
  function prune(entry: Entry, now: number): void {
    for (const [id, replica] of entry.replicas) if (replica.expiresAt <= now) entry.replicas.delete(id);
    if (entry.leases.length > 0) entry.leases = entry.leases.filter((lease) => lease.expiresAt > now);
  }

  function isHalfOpen(entry: Entry, now: number): boolean {
    return entry.open && now >= entry.openUntil;
  }

  function snapshot(entry: Entry, now: number): SharedBreakerState {
    let tripped = 0;
    for (const replica of entry.replicas.values()) if (replica.tripped) tripped++;
    const halfOpen = isHalfOpen(entry, now);
    return {
      state: entry.open ? (halfOpen ? 'half-open' : 'open') : 'closed',
      generation: entry.generation,
      probeInMs: entry.open && !halfOpen ? entry.openUntil - now : 0,
      trips: entry.trips,
      tripped,
      replicas: entry.replicas.size,
      probes: { inFlight: entry.leases.length, successes: entry.successes },
    };
  }

  function openAt(entry: Entry, now: number, open: OpenPeriod): void {
    entry.open = true;
    entry.generation++;
    entry.trips++;
    entry.openUntil = now + breakerOpenPeriodMs(open, entry.trips);
    entry.successes = 0;
    entry.leases = [];
  }

  function closeAt(entry: Entry): void {
    entry.open = false;
    entry.generation++;
    entry.trips = 0;
    entry.openUntil = 0;
    entry.successes = 0;
    entry.leases = [];
    for (const replica of entry.replicas.values()) replica.tripped = false;
  }

  function announce(name: string, state: SharedBreakerState): void {
    const listeners = watchers.get(name);
    if (listeners === undefined || listeners.size === 0) return;
    queueMicrotask(() => {
      for (const listener of [...listeners]) {
        try {
          listener(state);
        } catch {
          // A listener's bug must not reach the store's caller nor starve the other listeners.
        }
      }
    });
  }

  /** Runs `change` on the pruned entry and announces the result if the generation moved. */
  function update(name: string, change: (entry: Entry, now: number) => void): SharedBreakerState {
    const now = clock.now();
    const entry = entryOf(name);
    prune(entry, now);
    const before = entry.generation;
    change(entry, now);
    const state = snapshot(entry, now);
    if (entry.generation !== before) announce(name, state);
    return state;
  }

  return {
    async report(name: string, report: BreakerReport): Promise<SharedBreakerState> {
      return update(name, (entry, now) => {
        if (report.ttlMs > 0) {
          const replica = entry.replicas.get(report.replicaId);
          if (replica === undefined) {
            entry.replicas.set(report.replicaId, { expiresAt: now + report.ttlMs, tripped: report.tripped });
          } else {
            replica.expiresAt = now + report.ttlMs;
            replica.tripped = report.tripped;
          }
        } else {
          entry.replicas.delete(report.replicaId);
        }
        if (entry.open) return;
        let tripped = 0;
        for (const replica of entry.replicas.values()) if (replica.tripped) tripped++;
        if (tripped > 0 && tripped >= breakerQuorum(report.quorum, entry.replicas.size))
          openAt(entry, now, report.open);
      });
    },

    async read(name: string): Promise<SharedBreakerState> {
      const now = clock.now();
      const entry = entryOf(name);
      prune(entry, now);
      return snapshot(entry, now);
    },

    async acquireProbe(name: string, request: ProbeRequest): Promise<{ granted: boolean; state: SharedBreakerState }> {
      let granted = false;
      const state = update(name, (entry, now) => {
        if (!isHalfOpen(entry, now) || request.generation !== entry.generation) return;
        if (entry.leases.length >= request.maxProbes) return;
        entry.leases.push({ replicaId: request.replicaId, expiresAt: now + request.leaseMs });
        granted = true;
      });
      return { granted, state };
    },

    async completeProbe(name: string, outcome: ProbeOutcome): Promise<SharedBreakerState> {
      return update(name, (entry, now) => {
        if (!isHalfOpen(entry, now) || outcome.generation !== entry.generation) return;
        // The replica's oldest slot: a replica may hold several when maxProbes > 1.
        let held = -1;
        for (let i = 0; i < entry.leases.length; i++) {
          const lease = entry.leases[i] as Lease;
          if (
            lease.replicaId === outcome.replicaId &&
            (held < 0 || lease.expiresAt < (entry.leases[held] as Lease).expiresAt)
          ) {
            held = i;
          }
        }
        // No slot held: the lease expired (the fleet gave the probe up), so its outcome is late news.
        if (held < 0) return;
        entry.leases.splice(held, 1);
        if (!outcome.success) {
          openAt(entry, now, outcome.open);
          return;
        }
        entry.successes++;
        if (entry.successes >= outcome.successesToClose) closeAt(entry);
      });
    },

    async reset(name: string): Promise<SharedBreakerState> {
      return update(name, (entry) => {
        closeAt(entry);
      });
    },

    watch(name: string, listener: (state: SharedBreakerState) => void): Disposable {
      let listeners = watchers.get(name);
      if (listeners === undefined) {
        listeners = new Set();
        watchers.set(name, listeners);
      }
      listeners.add(listener);
      let disposed = false;
      const dispose = (): void => {
        if (disposed) return;
        disposed = true;
        const current = watchers.get(name);
        current?.delete(listener);
        if (current?.size === 0) watchers.delete(name);
      };
      return { dispose, [Symbol.dispose]: dispose };
    },

    async close(): Promise<void> {
      watchers.clear();
    },
  };
}
