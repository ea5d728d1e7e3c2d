import type { Clock } from '@switchyard/core';
import { leastRequest } from './balancers/least-request.ts';
import { peakEwma } from './balancers/peak-ewma.ts';
import { ringHash } from './balancers/ring-hash.ts';
import type { Balancer } from './balancers/types.ts';
import { weightedRoundRobin } from './balancers/weighted-round-robin.ts';
import { createInstanceStats, type InstanceStats } from './instance-stats.ts';
import { type OutlierDetector, withOutlierDetection } from './outlier-ejection.ts';

/** Balancer names accepted in config. */
export const BalancerKind = {
  RoundRobin: 'round_robin',
  Random: 'random',
  WeightedRoundRobin: 'weighted_round_robin',
  LeastRequest: 'least_request',
  PeakEwma: 'peak_ewma',
  RingHash: 'ring_hash',
} as const;
export type BalancerKind = (typeof BalancerKind)[keyof typeof BalancerKind];

/** Every {@link BalancerKind}, for `z.enum(balancerKinds)` in config schemas. */
export const balancerKinds = Object.freeze(Object.values(BalancerKind)) as readonly [BalancerKind, ...BalancerKind[]];

/**
 * Round robin over the instances in the order given, honouring nothing but order. The cursor
 * survives list changes: when an instance leaves, the rotation continues from the same position
 * modulo the new length rather than restarting at the first instance (which would overload it).
 *
 * @example
 * ```ts
 * const rr = roundRobin();
 * rr.pick(instances); // instances[0], then instances[1], ...
 * ```
 */
export function roundRobin(): Balancer {
  let next = 0;
  return {
    pick(instances) {
      if (instances.length === 0) return undefined;
      const index = next % instances.length;
      next = (index + 1) % instances.length;
      return instances[index];
    },
  };
}

/**
 * Weighted random choice (`weight` defaults to 1 per instance).
 *
 * @param random - source of randomness in [0, 1), for tests
 * @example
 * ```ts
 * randomBalancer().pick(instances);
 * ```
 */
export function randomBalancer(random: () => number = Math.random): Balancer {
  return {
    pick(instances) {
      if (instances.length === 0) return undefined;
      let total = 0;
      for (const instance of instances) total += Math.max(0, instance.weight);
      if (total <= 0) return instances[Math.floor(random() * instances.length)];
      let point = random() * total;
      for (const instance of instances) {
        point -= Math.max(0, instance.weight);
        if (point < 0) return instance;
      }
      return instances[instances.length - 1];
    },
  };
}

/** Options of {@link createBalancer}; each balancer reads the ones it needs. */
export interface CreateBalancerOptions {
  /**
   * The shared statistics store (least_request, peak_ewma). Pass the one the outlier detector
   * and the caller's feedback use. @default a new store of its own
   */
  readonly stats?: InstanceStats;
  /** Source of randomness in [0, 1) (random, least_request, peak_ewma, ring_hash without key). @default Math.random */
  readonly random?: () => number;
  /** Clock for a store created here. @default systemClock */
  readonly clock?: Clock;
  /** Meta key holding a weight that overrides `weight` (weighted_round_robin). @default 'weight' */
  readonly weightMetaKey?: string;
  /** Ring points per unit of weight (ring_hash). @default 160 */
  readonly pointsPerWeight?: number;
  /**
   * Picks only among instances this detector has not ejected (see {@link withOutlierDetection}).
   * Build it on the same `stats`. @default no ejection
   */
  readonly outliers?: OutlierDetector;
}

/**
 * Creates the balancer named in config.
 *
 * @example
 * ```ts
 * const stats = createInstanceStats();
 * const outliers = createOutlierDetector({ consecutiveFailures: 5 }, { stats });
 * const balancer = createBalancer('peak_ewma', { stats, outliers });
 * // for each request: stats.begin(target) before sending, stats.end(target, outcome) after
 * ```
 */
export function createBalancer(kind: BalancerKind, options: CreateBalancerOptions = {}): Balancer {
  const balancer = createPlainBalancer(kind, options);
  return options.outliers === undefined ? balancer : withOutlierDetection(balancer, options.outliers);
}

function createPlainBalancer(kind: BalancerKind, options: CreateBalancerOptions): Balancer {
  const random = options.random ?? Math.random;
  const stats = (): InstanceStats =>
    options.stats ??
    options.outliers?.stats ??
    createInstanceStats({}, options.clock === undefined ? {} : { clock: options.clock });
  // Balancers that do not read the store still carry the caller's, so the caller's feedback
  // reaches the outlier detector and breakers whatever the balancer.
  const attach = (balancer: Balancer): Balancer =>
    options.stats === undefined ? balancer : { pick: balancer.pick, stats: options.stats };
  switch (kind) {
    case BalancerKind.Random:
      return attach(randomBalancer(random));
    case BalancerKind.WeightedRoundRobin:
      return attach(
        weightedRoundRobin(options.weightMetaKey === undefined ? {} : { weightMetaKey: options.weightMetaKey }),
      );
    case BalancerKind.LeastRequest:
      return leastRequest({ stats: stats(), random });
    case BalancerKind.PeakEwma:
      return peakEwma({ stats: stats(), random });
    case BalancerKind.RingHash:
      return attach(
        ringHash({
          random,
          ...(options.pointsPerWeight === undefined ? {} : { pointsPerWeight: options.pointsPerWeight }),
        }),
      );
    default:
      return attach(roundRobin());
  }
}
