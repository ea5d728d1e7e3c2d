import type { ServiceInstance } from '@switchyard/core';
import type { InstanceStats } from '../instance-stats.ts';
import { twoChoices } from './two-choices.ts';
import type { Balancer } from './types.ts';

/** Options of {@link peakEwma}. */
export interface PeakEwmaOptions {
  /** Where latency estimates and in-flight counts are read; the caller feeds it. */
  readonly stats: InstanceStats;
  /** Source of randomness in [0, 1). @default Math.random */
  readonly random?: () => number;
}

/**
 * Peak-EWMA with the power of two choices, as Linkerd (and Finagle) balance: draw two distinct
 * instances and take the one with the lower load, where load = the instance's peak-EWMA
 * latency (decayed by time since the last observation) × (requests in flight + 1). A slow
 * instance is avoided as soon as one slow answer arrives (the "peak"), and tried again as its
 * estimate decays. 429 and 503 answers and connection failures count as at least the store's
 * `failurePenalty`, so an instance that fails fast does not attract traffic.
 *
 * The estimates come from `stats`, fed by the caller with `stats.begin` / `stats.end`.
 *
 * @example
 * ```ts
 * const stats = createInstanceStats({ decay: '10s' });
 * const balancer = peakEwma({ stats });
 * ```
 */
export function peakEwma(options: PeakEwmaOptions): Balancer {
  const { stats } = options;
  const clock = stats.clock;
  const random = options.random ?? Math.random;
  const lighter = (a: ServiceInstance, b: ServiceInstance): boolean => {
    const now = clock.now();
    return stats.load(b.id, now) < stats.load(a.id, now);
  };
  return {
    stats,
    pick: (instances) => twoChoices(instances, random, lighter),
  };
}
