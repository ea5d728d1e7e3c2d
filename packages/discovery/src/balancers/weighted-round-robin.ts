import type { ServiceInstance } from '@switchyard/core';
import type { Balancer } from './types.ts';

/** Options of {@link weightedRoundRobin}. */
export interface WeightedRoundRobinOptions {
  /**
   * Meta key whose value, a non-negative number, overrides the instance's `weight` (which comes
   * from the registration's `Weights`). A `weight` of 0 (a drained warning instance) always wins.
   * @default 'weight'
   */
  readonly weightMetaKey?: string;
}

/**
 * The effective weight of `instance`: its meta weight when set and valid, else `weight`; 0 when
 * `weight` is 0 or less (drained).
 */
export function instanceWeight(instance: ServiceInstance, metaKey = 'weight'): number {
  if (!(instance.weight > 0)) return 0;
  const raw = instance.meta[metaKey];
  if (raw !== undefined) {
    const parsed = Number(raw);
    if (raw.trim() !== '' && Number.isFinite(parsed) && parsed >= 0) return parsed;
  }
  return instance.weight;
}

/**
 * Smooth weighted round robin, as nginx does it: each pick adds every instance's weight to its
 * running score, takes the highest score and subtracts the total weight from it. Over any run
 * of `total weight` picks each instance is chosen exactly `weight` times, interleaved rather
 * than in bursts (weights 5, 1, 1 give a a b a c a a, not a a a a a b c).
 *
 * Scores are kept by instance id, so an instance keeps its place in the cycle when the list is
 * refreshed, and a new one starts at 0. Instances whose weight is 0 are never picked while any
 * has weight; when none has, picks fall back to plain round robin.
 *
 * @example
 * ```ts
 * const wrr = weightedRoundRobin();
 * wrr.pick(instances);
 * ```
 */
export function weightedRoundRobin(options: WeightedRoundRobinOptions = {}): Balancer {
  const metaKey = options.weightMetaKey ?? 'weight';
  let list: readonly ServiceInstance[] = [];
  let ids: string[] = [];
  let weights = new Float64Array(0);
  let scores = new Float64Array(0);
  let total = 0;
  let fallback = 0;

  function sameList(instances: readonly ServiceInstance[]): boolean {
    if (instances.length !== ids.length) return false;
    for (let i = 0; i < instances.length; i++) {
      const instance = instances[i] as ServiceInstance;
      if (instance.id !== ids[i] || instanceWeight(instance, metaKey) !== weights[i]) return false;
    }
    return true;
  }

  function adopt(instances: readonly ServiceInstance[]): void {
    list = instances;
    if (sameList(instances)) return;
    const previous = new Map<string, number>();
    for (let i = 0; i < ids.length; i++) previous.set(ids[i] as string, scores[i] as number);
    ids = instances.map((i) => i.id);
    weights = Float64Array.from(instances, (i) => instanceWeight(i, metaKey));
    scores = Float64Array.from(ids, (id) => previous.get(id) ?? 0);
    total = weights.reduce((a, b) => a + b, 0);
  }

  return {
    pick(instances) {
      const n = instances.length;
      if (n === 0) return undefined;
      if (instances !== list) adopt(instances);
      if (!(total > 0)) {
        fallback = (fallback + 1) % n;
        return instances[fallback];
      }
      let best = 0;
      let bestScore = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < n; i++) {
        const w = weights[i] as number;
        if (w <= 0) continue;
        const s = (scores[i] as number) + w;
        scores[i] = s;
        if (s > bestScore) {
          bestScore = s;
          best = i;
        }
      }
      scores[best] = bestScore - total;
      return instances[best];
    },
  };
}
