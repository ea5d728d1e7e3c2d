import type { ServiceInstance } from '@switchyard/core';
import type { Balancer } from './types.ts';
import { instanceWeight } from './weighted-round-robin.ts';

/** Options of {@link ringHash}. */
export interface RingHashOptions {
  /**
   * Points each instance places on the ring per unit of weight. More points spread keys more
   * evenly (the spread of shares shrinks as 1/sqrt(points)) at the cost of memory and build time.
   * @default 160
   */
  readonly pointsPerWeight?: number;
  /** Source of randomness in [0, 1), for picks without a key. @default Math.random */
  readonly random?: () => number;
}

/** Most points on one ring; heavier pools scale every instance's share down alike. */
const maxRingSize = 1 << 20;

/**
 * 32-bit FNV-1a of `text` with murmur3's finaliser: FNV alone clusters strings that differ
 * only in their last characters (`orders-1#0`, `orders-1#1`), which ring points do.
 */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Consistent hashing on a ring (Karger et al.; Envoy's `RING_HASH`, ketama): each instance puts
 * `pointsPerWeight × weight` points on a 32-bit ring, hashed from its id; a key goes to the
 * owner of the first point at or after the key's hash. Points depend only on the instance's own
 * id and weight, so when an instance joins only keys that now land on its points move (about
 * 1/n of them) and every one of them moves to the newcomer; when one leaves, only its keys move.
 *
 * `pick(instances, { key })` is O(log points); the ring is rebuilt only when the ids or weights
 * in the list change. Without a key the pick is uniform random. Instances of weight 0 get no
 * points; when all have weight 0, all are treated as weight 1.
 *
 * @example
 * ```ts
 * const sticky = ringHash();
 * sticky.pick(instances, { key: userId }); // same user, same instance
 * ```
 */
export function ringHash(options: RingHashOptions = {}): Balancer {
  const pointsPerWeight = Math.max(1, options.pointsPerWeight ?? 160);
  const random = options.random ?? Math.random;
  let list: readonly ServiceInstance[] | undefined;
  let ids: string[] = [];
  let weights: number[] = [];
  let points = new Uint32Array(0);
  let owners = new Int32Array(0);

  function sameList(instances: readonly ServiceInstance[]): boolean {
    if (instances.length !== ids.length) return false;
    for (let i = 0; i < instances.length; i++) {
      const instance = instances[i] as ServiceInstance;
      if (instance.id !== ids[i] || instanceWeight(instance) !== weights[i]) return false;
    }
    return true;
  }

  function build(instances: readonly ServiceInstance[]): void {
    ids = instances.map((i) => i.id);
    weights = instances.map((i) => instanceWeight(i));
    const allZero = weights.every((w) => w <= 0);
    const effective = allZero ? weights.map(() => 1) : weights;
    const wanted = effective.reduce((sum, w) => sum + Math.max(0, Math.round(pointsPerWeight * w)), 0);
    const scale = wanted > maxRingSize ? maxRingSize / wanted : 1;
    const entries: { hash: number; owner: number }[] = [];
    for (let i = 0; i < ids.length; i++) {
      const w = effective[i] as number;
      const count = w > 0 ? Math.max(1, Math.round(pointsPerWeight * w * scale)) : 0;
      for (let p = 0; p < count; p++) entries.push({ hash: hash32(`${ids[i]}#${p}`), owner: i });
    }
    // Ties on a hash go to the smaller id, so the ring does not depend on the list's order.
    entries.sort((a, b) => a.hash - b.hash || ((ids[a.owner] as string) < (ids[b.owner] as string) ? -1 : 1));
    points = Uint32Array.from(entries, (e) => e.hash);
    owners = Int32Array.from(entries, (e) => e.owner);
  }

  return {
    pick(instances, pickOptions) {
      const n = instances.length;
      if (n === 0) return undefined;
      const key = pickOptions?.key;
      if (key === undefined) return instances[Math.floor(random() * n)];
      if (instances !== list) {
        if (!sameList(instances)) build(instances);
        list = instances;
      }
      const h = hash32(key);
      // First point >= h, wrapping past the end to the first point.
      let lo = 0;
      let hi = points.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((points[mid] as number) < h) lo = mid + 1;
        else hi = mid;
      }
      return instances[owners[lo === points.length ? 0 : lo] as number];
    },
  };
}
