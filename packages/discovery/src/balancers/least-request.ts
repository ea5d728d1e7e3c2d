import type { ServiceInstance } from '@switchyard/core';
import type { InstanceStats } from '../instance-stats.ts';
import { twoChoices } from './two-choices.ts';
import type { Balancer } from './types.ts';

/** Options of {@link leastRequest}. */
export interface LeastRequestOptions {
  /** Where in-flight counts are read; the caller feeds it with `begin`/`end`. */
  readonly stats: InstanceStats;
  /** Source of randomness in [0, 1). @default Math.random */
  readonly random?: () => number;
}

/**
 * Least outstanding requests with the power of two choices (Mitzenmacher; Envoy's
 * `LEAST_REQUEST`): draw two distinct instances at random and take the one with fewer requests
 * in flight (the first drawn on a tie). Two random choices avoid the herd that "always the
 * global least" causes when many clients act on the same stale view, at O(1) per pick.
 *
 * In-flight counts come from `stats`, so the caller must report every request there
 * (`stats.begin` / `stats.end`); with no feedback it behaves as uniform random.
 *
 * @example
 * ```ts
 * const stats = createInstanceStats();
 * const balancer = leastRequest({ stats });
 * ```
 */
export function leastRequest(options: LeastRequestOptions): Balancer {
  const { stats } = options;
  const random = options.random ?? Math.random;
  const fewerInFlight = (a: ServiceInstance, b: ServiceInstance): boolean =>
    stats.inFlight(b.id) < stats.inFlight(a.id);
  return {
    stats,
    pick: (instances) => twoChoices(instances, random, fewerInFlight),
  };
}
