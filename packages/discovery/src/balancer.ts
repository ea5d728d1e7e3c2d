import type { ServiceInstance } from '@switchyard/core';

/** Picks one instance from a list of healthy candidates. */
export interface Balancer {
  /** The chosen instance, or `undefined` when `instances` is empty. */
  pick(instances: readonly ServiceInstance[]): ServiceInstance | undefined;
}

/** Balancer names accepted in config. */
export const BalancerKind = {
  RoundRobin: 'round_robin',
  Random: 'random',
} as const;
export type BalancerKind = (typeof BalancerKind)[keyof typeof BalancerKind];

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

/** Creates the balancer named in config. */
export function createBalancer(kind: BalancerKind): Balancer {
  return kind === BalancerKind.Random ? randomBalancer() : roundRobin();
}
