import { type Clock, resolveOptions, type ServiceInstance, zDuration } from '@switchyard/core';
import * as z from 'zod';
import type { Balancer } from './balancers/types.ts';
import type { InstanceStat, InstanceStats } from './instance-stats.ts';

/**
 * Passive outlier ejection config (`discovery.outlierDetection`), after Envoy's
 * `outlier_detection` with its consecutive-5xx detector.
 *
 * @example
 * ```ts
 * outlierDetectionOptionsSchema.parse({ consecutiveFailures: 3 });
 * ```
 */
export const outlierDetectionOptionsSchema = z
  .strictObject({
    /** 5xx answers or failures to get an answer in a row that eject an instance. @default 5 */
    consecutiveFailures: z.int().min(1).default(5),
    /** An ejection lasts this long times the instance's ejection count. @default '30s' */
    baseEjectionTime: zDuration().default(30_000),
    /** Longest ejection, whatever the count. @default '300s' */
    maxEjectionTime: zDuration().default(300_000),
    /**
     * Most instances of a pool ejected at once, as a percentage of the pool. At least one
     * instance may be ejected whatever the percentage (unless it is 0), as in Envoy, but never
     * the last instance of a pool. @default 10
     */
    maxEjectionPercent: z.number().min(0).max(100).default(10),
    /** While an instance stays in, its ejection count falls by one per interval. @default '10s' */
    interval: zDuration().default(10_000),
  })
  .transform((o) => ({
    consecutiveFailures: o.consecutiveFailures,
    baseEjectionTimeMs: o.baseEjectionTime,
    maxEjectionTimeMs: Math.max(o.maxEjectionTime, o.baseEjectionTime),
    maxEjectionPercent: o.maxEjectionPercent,
    intervalMs: Math.max(1, o.interval),
  }));

/** Outlier ejection config as users write it. */
export type OutlierDetectionOptions = z.input<typeof outlierDetectionOptionsSchema>;
/** Outlier ejection config with defaults applied, frozen. */
export type ResolvedOutlierDetectionOptions = Readonly<z.output<typeof outlierDetectionOptionsSchema>>;

/**
 * Validates outlier ejection config and applies defaults.
 *
 * @param root - path prefix for error messages
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming each bad field
 *   (`discovery.outlierDetection.maxEjectionPercent: ...`)
 * @example
 * ```ts
 * resolveOutlierDetectionOptions({ baseEjectionTime: '10s' }).baseEjectionTimeMs; // 10000
 * ```
 */
export function resolveOutlierDetectionOptions(
  input: unknown = {},
  root = 'discovery.outlierDetection',
): ResolvedOutlierDetectionOptions {
  return resolveOptions(outlierDetectionOptionsSchema, input, root);
}

/** Reported to {@link OutlierDetector.onEjection} listeners. */
export interface EjectionEvent {
  readonly id: string;
  /** The instance's ejection count, this one included. */
  readonly ejections: number;
  /** When it returns, clock milliseconds. */
  readonly until: number;
}

/** Filters ejected instances out of a pool; see {@link createOutlierDetector}. */
export interface OutlierDetector {
  /**
   * The instances of `instances` that are not ejected (the same array when none is). Ejects
   * instances that reached `consecutiveFailures` while the pool's ejection limit allows, and
   * lets back those whose time is up. Call it on the list before each pick.
   */
  usable(instances: readonly ServiceInstance[]): readonly ServiceInstance[];
  /** Whether `id` is ejected now. */
  isEjected(id: string): boolean;
  /** Calls `listener` on each ejection. */
  onEjection(listener: (event: EjectionEvent) => void): Disposable;
  /** The store the detector reads and writes ejection state to. */
  readonly stats: InstanceStats;
  readonly options: ResolvedOutlierDetectionOptions;
}

/**
 * Passive outlier ejection as Envoy does it: an instance whose last `consecutiveFailures`
 * requests all failed (5xx or no answer, as reported to `stats.end`) is ejected for
 * `baseEjectionTime × its ejection count` (capped at `maxEjectionTime`), and returns by itself
 * when that time is up, with its failure count cleared. Its ejection count falls by one per
 * `interval` it then stays in, so an instance that fails again soon stays out longer.
 *
 * At most `maxEjectionPercent` of the pool passed to `usable()` is ejected at once (rounded
 * down, but at least one instance when the percentage is above 0, as Envoy does), and never
 * the last instance: a pool is never emptied by ejection. The state lives in the shared
 * `stats` store, so breakers and admin views see the same ejections.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming the field
 *   (`discovery.outlierDetection.maxEjectionPercent: ...`)
 * @example
 * ```ts
 * const stats = createInstanceStats();
 * const outliers = createOutlierDetector({ consecutiveFailures: 5, baseEjectionTime: '30s' }, { stats });
 * const balancer = createBalancer('least_request', { stats });
 * const target = balancer.pick(outliers.usable(instances));
 * ```
 */
export function createOutlierDetector(
  input: OutlierDetectionOptions,
  deps: { stats: InstanceStats; clock?: Clock },
): OutlierDetector {
  const options = resolveOutlierDetectionOptions(input);
  const { stats } = deps;
  const clock = deps.clock ?? stats.clock;
  const { consecutiveFailures, baseEjectionTimeMs, maxEjectionTimeMs, maxEjectionPercent, intervalMs } = options;
  const listeners = new Set<(event: EjectionEvent) => void>();
  /** Ids this detector ejected and has not seen return yet; empty in the healthy steady state. */
  const ejectedIds = new Set<string>();

  /** Returns an instance whose time is up and decays ejection counts; true when still ejected. */
  function refresh(e: InstanceStat, now: number): boolean {
    if (e.ejectedUntil > 0) {
      if (now < e.ejectedUntil) return true;
      e.ejectedUntil = 0;
      e.returnedAt = now;
      ejectedIds.delete(e.id);
      stats.clearFailures(e.id);
      return false;
    }
    if (e.ejections > 0 && now - e.returnedAt >= intervalMs) {
      const steps = Math.floor((now - e.returnedAt) / intervalMs);
      e.ejections = Math.max(0, e.ejections - steps);
      e.returnedAt += steps * intervalMs;
    }
    return false;
  }

  function eject(e: InstanceStat, now: number): void {
    e.ejections++;
    ejectedIds.add(e.id);
    e.ejectedUntil = now + Math.min(baseEjectionTimeMs * e.ejections, maxEjectionTimeMs);
    if (listeners.size > 0) {
      const event: EjectionEvent = { id: e.id, ejections: e.ejections, until: e.ejectedUntil };
      for (const listener of listeners) {
        try {
          listener(event);
        } catch {
          // A listener's failure must not fail the pick that ejected the instance.
        }
      }
    }
  }

  return {
    stats,
    options,
    usable(instances) {
      const n = instances.length;
      if (n === 0) return instances;
      // Healthy steady state: nothing failing, nothing ejected, nothing to scan (O(1) per pick).
      if (stats.failing === 0 && ejectedIds.size === 0) return instances;
      const now = clock.now();
      // Forget ejections of instances the store dropped (gone from the registry).
      for (const id of ejectedIds) if (stats.get(id)?.ejectedUntil === undefined) ejectedIds.delete(id);
      let ejected = 0;
      let suspects = 0;
      for (let i = 0; i < n; i++) {
        const e = stats.get((instances[i] as ServiceInstance).id);
        if (e === undefined) continue;
        if (refresh(e, now)) ejected++;
        else if (e.consecutiveFailures >= consecutiveFailures) suspects++;
      }
      if (suspects > 0) {
        const limit =
          maxEjectionPercent === 0 ? 0 : Math.min(n - 1, Math.max(1, Math.floor((n * maxEjectionPercent) / 100)));
        for (let i = 0; i < n && ejected < limit; i++) {
          const e = stats.get((instances[i] as ServiceInstance).id);
          if (e !== undefined && e.ejectedUntil === 0 && e.consecutiveFailures >= consecutiveFailures) {
            eject(e, now);
            ejected++;
          }
        }
      }
      if (ejected === 0) return instances;
      const out: ServiceInstance[] = [];
      for (const instance of instances) {
        const e = stats.get(instance.id);
        if (e === undefined || e.ejectedUntil === 0) out.push(instance);
        // Ejected entries get no traffic, hence no `end()`; touch them so the store's idle
        // sweep does not forget an ejection in progress.
        else stats.entry(instance.id);
      }
      return out.length > 0 ? out : instances;
    },
    isEjected(id) {
      const e = stats.get(id);
      return e !== undefined && refresh(e, clock.now());
    },
    onEjection(listener) {
      listeners.add(listener);
      return {
        [Symbol.dispose]() {
          listeners.delete(listener);
        },
      };
    },
  };
}

/**
 * A balancer that picks among the instances `detector` has not ejected, so callers that take
 * any {@link Balancer} (the HTTP client, the gateway's routes) get outlier ejection without a
 * change. Its `stats` is the detector's store: callers report each request there, which is
 * what feeds both the ejection and load-aware balancing.
 *
 * @example
 * ```ts
 * const stats = createInstanceStats();
 * const balancer = withOutlierDetection(
 *   createBalancer('least_request', { stats }),
 *   createOutlierDetector({ consecutiveFailures: 5 }, { stats }),
 * );
 * ```
 */
export function withOutlierDetection(balancer: Balancer, detector: OutlierDetector): Balancer {
  const inner = balancer.pick;
  return {
    stats: detector.stats,
    pick: (instances, options) => inner(detector.usable(instances), options),
  };
}
