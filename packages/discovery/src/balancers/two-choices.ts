import type { ServiceInstance } from '@switchyard/core';

/**
 * The power of two choices (Mitzenmacher): two distinct instances drawn uniformly at random,
 * and `preferSecond(a, b)` decides which one to use. The sampling shared by the least-request
 * and peak-EWMA balancers; O(1), no allocation.
 */
export function twoChoices(
  instances: readonly ServiceInstance[],
  random: () => number,
  preferSecond: (a: ServiceInstance, b: ServiceInstance) => boolean,
): ServiceInstance | undefined {
  const n = instances.length;
  if (n < 2) return instances[0];
  const i = Math.floor(random() * n);
  // Draw from the other n - 1 positions, so the pair is always two different instances.
  let j = Math.floor(random() * (n - 1));
  if (j >= i) j++;
  const a = instances[i] as ServiceInstance;
  const b = instances[j] as ServiceInstance;
  return preferSecond(a, b) ? b : a;
}
