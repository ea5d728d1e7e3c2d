import { type Clock, resolveOptions, systemClock, zDuration } from '@switchyard/core';
import * as z from 'zod';

/**
 * Options of {@link createInstanceStats} (`discovery.stats` in config).
 *
 * @example
 * ```ts
 * instanceStatsOptionsSchema.parse({ decay: '5s' }); // { decayMs: 5000, ... }
 * ```
 */
export const instanceStatsOptionsSchema = z
  .strictObject({
    /** Time constant of the latency EWMA: an observation's weight falls to 1/e after this long. @default '10s' */
    decay: zDuration().default(10_000),
    /** Latency assumed for an instance with no observation yet. @default '30ms' */
    defaultRtt: zDuration().default(30),
    /**
     * Latency recorded for a 429, a 503 or a failure to connect when it answered faster than
     * this: a fast-failing instance must not look fast. 0 turns the penalty off. @default '1s'
     */
    failurePenalty: zDuration().default(1000),
    /** An entry not touched for this long (and with nothing in flight) is dropped. @default '5m' */
    idle: zDuration().default(300_000),
  })
  .transform((o) => ({
    decayMs: Math.max(1, o.decay),
    defaultRttMs: o.defaultRtt,
    failurePenaltyMs: o.failurePenalty,
    idleMs: Math.max(1, o.idle),
  }));

/** Options of {@link createInstanceStats} as users write them. */
export type InstanceStatsOptions = z.input<typeof instanceStatsOptionsSchema>;
/** Options of {@link createInstanceStats} with defaults applied, frozen. */
export type ResolvedInstanceStatsOptions = Readonly<z.output<typeof instanceStatsOptionsSchema>>;

/**
 * Validates instance statistics options and applies defaults.
 *
 * @param root - path prefix for error messages
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming each bad field (`discovery.stats.decay: ...`)
 */
export function resolveInstanceStatsOptions(
  input: unknown = {},
  root = 'discovery.stats',
): ResolvedInstanceStatsOptions {
  return resolveOptions(instanceStatsOptionsSchema, input, root);
}

/**
 * How one request to an instance ended, as reported to {@link InstanceStats.end}.
 * A request that got an HTTP answer sets `statusCode`; one that got none sets `error`.
 */
export interface RequestOutcome {
  /** HTTP status of the answer. */
  readonly statusCode?: number;
  /** Set when no answer came: connection refused or reset, timeout. */
  readonly error?: unknown;
  /** Time from sending the request to the answer (or the failure), in milliseconds. */
  readonly latencyMs: number;
  /**
   * The caller gave up (its own abort or deadline): says nothing about the instance, so only
   * the in-flight count changes.
   */
  readonly cancelled?: boolean;
}

/**
 * What the store knows about one instance. Entries are live and owned by the store: read them,
 * do not keep them across a `retain()`, and change them only through the store (or, for the
 * ejection fields, an outlier detector).
 */
export interface InstanceStat {
  readonly id: string;
  /** Requests begun and not yet ended. */
  readonly inFlight: number;
  /** Peak-EWMA latency estimate in milliseconds as of `ewmaAt` (decays toward 0 after). */
  readonly ewmaMs: number;
  /** When `ewmaMs` was last updated, clock milliseconds. */
  readonly ewmaAt: number;
  /** 5xx answers and failures to get an answer since the last success. */
  readonly consecutiveFailures: number;
  /** Requests ended, except those the caller cancelled. */
  readonly requests: number;
  /** While ejected, when the ejection ends (clock milliseconds); 0 when not ejected. */
  ejectedUntil: number;
  /** Ejections counted toward the next ejection's length (decays while healthy). */
  ejections: number;
  /** When this instance last returned from an ejection, clock milliseconds. */
  returnedAt: number;
}

/** Mutable form of {@link InstanceStat}, private to this module. */
interface Entry {
  id: string;
  inFlight: number;
  ewmaMs: number;
  ewmaAt: number;
  consecutiveFailures: number;
  requests: number;
  ejectedUntil: number;
  ejections: number;
  returnedAt: number;
  seenAt: number;
}

/**
 * One store of per-instance statistics, keyed by instance id and shared by the balancers, the
 * outlier detector and the circuit breakers (one copy, not three). Updates are O(1) and
 * allocate only when an instance is first seen.
 *
 * Feed it around every request: `begin(instance)` before sending, `end(instance, outcome)`
 * after the answer or the failure.
 */
export interface InstanceStats {
  /** Counts a request to `instance` as in flight. */
  begin(instance: { readonly id: string }): void;
  /**
   * Ends a request begun with {@link InstanceStats.begin}: updates the in-flight count, the
   * latency estimate (429, 503 and failures count at least `failurePenalty`) and the
   * consecutive failure count (5xx and failures to get an answer count; anything else resets it).
   */
  end(instance: { readonly id: string }, outcome: RequestOutcome): void;
  /** The entry of `id`, or `undefined` when nothing is known about it. */
  get(id: string): InstanceStat | undefined;
  /** The entry of `id`, created empty when missing; marks it as seen. */
  entry(id: string): InstanceStat;
  /** Requests in flight to `id` (0 when unknown). */
  inFlight(id: string): number;
  /**
   * Peak-EWMA load of `id` at clock time `now`: the decayed latency estimate times
   * (in-flight + 1), as Finagle's and Linkerd's peak-EWMA balancers score an endpoint.
   */
  load(id: string, now: number): number;
  /** Clears the consecutive failure count of `id` (an outlier detector letting it back in). */
  clearFailures(id: string): void;
  /**
   * Entries whose consecutive failure count is above 0, kept in O(1): a detector that sees 0
   * here and has nothing ejected can skip its scan of the pool.
   */
  readonly failing: number;
  /** Drops every entry whose id is not in `ids` (instances gone from the registry). */
  retain(ids: Iterable<string>): void;
  /** Number of entries held. */
  readonly size: number;
  /** The clock the store reads, shared with the balancers and detectors built on it. */
  readonly clock: Clock;
  /** The resolved options. */
  readonly options: ResolvedInstanceStatsOptions;
}

/**
 * Creates the shared per-instance statistics store.
 *
 * The store stays bounded: an entry not touched for `idle` with nothing in flight is dropped
 * (checked when a new instance is first seen, at most once per `idle`), and `retain(ids)` drops
 * entries of instances the registry no longer lists.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming the field (`discovery.stats.decay: ...`)
 * @example
 * ```ts
 * const stats = createInstanceStats({ decay: '10s' });
 * const balancer = createBalancer('peak_ewma', { stats });
 * const target = balancer.pick(instances)!;
 * stats.begin(target);
 * const started = performance.now();
 * const res = await fetch(endpointOrigin(target));
 * stats.end(target, { statusCode: res.status, latencyMs: performance.now() - started });
 * ```
 */
export function createInstanceStats(input: InstanceStatsOptions = {}, deps: { clock?: Clock } = {}): InstanceStats {
  const options = resolveInstanceStatsOptions(input);
  const clock = deps.clock ?? systemClock;
  const { decayMs, defaultRttMs, failurePenaltyMs, idleMs } = options;
  const entries = new Map<string, Entry>();
  let sweptAt = clock.now();
  let failing = 0;

  function drop(id: string, e: Entry): void {
    if (e.consecutiveFailures > 0) failing--;
    entries.delete(id);
  }

  function sweep(now: number): void {
    sweptAt = now;
    for (const [id, e] of entries) if (e.inFlight === 0 && now - e.seenAt >= idleMs) drop(id, e);
  }

  function entryOf(id: string): Entry {
    let e = entries.get(id);
    if (e === undefined) {
      const now = clock.now();
      if (now - sweptAt >= idleMs) sweep(now);
      e = {
        id,
        inFlight: 0,
        ewmaMs: defaultRttMs,
        ewmaAt: now,
        consecutiveFailures: 0,
        requests: 0,
        ejectedUntil: 0,
        ejections: 0,
        returnedAt: 0,
        seenAt: now,
      };
      entries.set(id, e);
    }
    return e;
  }

  return {
    clock,
    options,
    begin(instance) {
      const e = entryOf(instance.id);
      e.inFlight++;
    },
    end(instance, outcome) {
      const e = entryOf(instance.id);
      const now = clock.now();
      if (e.inFlight > 0) e.inFlight--;
      e.seenAt = now;
      if (outcome.cancelled === true) return;
      e.requests++;
      const status = outcome.statusCode;
      const failed = status === undefined ? outcome.error !== undefined : status >= 500;
      if (failed) {
        if (e.consecutiveFailures === 0) failing++;
        e.consecutiveFailures++;
      } else if (e.consecutiveFailures > 0) {
        failing--;
        e.consecutiveFailures = 0;
      }
      let rtt = Math.max(0, outcome.latencyMs);
      // Linkerd biases load against endpoints that fail fast: a 503 in 1 ms must not make the
      // instance look like the fastest in the pool and pull in more traffic.
      if ((status === undefined || status === 429 || status === 503) && rtt < failurePenaltyMs) rtt = failurePenaltyMs;
      // Peak EWMA (Finagle, tower): a slower observation replaces the estimate at once, a
      // faster one is blended in with a weight that grows with the time since the last update.
      if (rtt > e.ewmaMs) e.ewmaMs = rtt;
      else {
        const w = Math.exp(-Math.max(0, now - e.ewmaAt) / decayMs);
        e.ewmaMs = e.ewmaMs * w + rtt * (1 - w);
      }
      e.ewmaAt = now;
    },
    get(id) {
      return entries.get(id);
    },
    entry(id) {
      const e = entryOf(id);
      e.seenAt = clock.now();
      return e;
    },
    inFlight(id) {
      return entries.get(id)?.inFlight ?? 0;
    },
    load(id, now) {
      const e = entries.get(id);
      if (e === undefined) return defaultRttMs;
      const elapsed = now - e.ewmaAt;
      const cost = elapsed > 0 ? e.ewmaMs * Math.exp(-elapsed / decayMs) : e.ewmaMs;
      return cost * (e.inFlight + 1);
    },
    clearFailures(id) {
      const e = entries.get(id);
      if (e !== undefined && e.consecutiveFailures > 0) {
        failing--;
        e.consecutiveFailures = 0;
      }
    },
    retain(ids) {
      const keep = ids instanceof Set ? ids : new Set(ids);
      for (const [id, e] of entries) if (!keep.has(id)) drop(id, e);
    },
    get size() {
      return entries.size;
    },
    get failing() {
      return failing;
    },
  };
}
