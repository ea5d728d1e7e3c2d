import { type Clock, systemClock } from '@switchyard/core';
import { gcra, type RateLimitDecision, type RateLimitRequest, type RateLimitStore } from './gcra.ts';

/** Options of {@link createMemoryRateLimitStore}. */
export interface MemoryRateLimitStoreOptions {
  /**
   * Most keys kept at once. Past it, keys whose quota is full again are swept, and if none
   * is, the least recently used key is forgotten (that client starts afresh). @default 100000
   */
  readonly maxKeys?: number;
  /** Time source; `ManualClock` in tests. @default systemClock */
  readonly clock?: Clock;
}

/** The in-memory {@link RateLimitStore}: `size` tells how many keys it holds. */
export interface MemoryRateLimitStore extends RateLimitStore {
  readonly size: number;
}

/** How often, at most, a full scan drops keys whose quota is full again. */
const SWEEP_INTERVAL_MS = 10_000;

/**
 * Creates a {@link RateLimitStore} for one gateway process: a `Map` from key to its GCRA
 * theoretical arrival time (microseconds). A key whose quota is full again is the same as an absent one, so
 * such keys are swept (at most every 10 s, and whenever `maxKeys` is reached).
 *
 * @throws RangeError when `maxKeys` is not an integer >= 1
 * @example
 * ```ts
 * const store = createMemoryRateLimitStore();
 * const decision = await store.consume('ip:10.0.0.7', { limit: 10, periodMs: 1000 });
 * decision.allowed; // true
 * ```
 */
export function createMemoryRateLimitStore(options: MemoryRateLimitStoreOptions = {}): MemoryRateLimitStore {
  const maxKeys = options.maxKeys ?? 100_000;
  if (!Number.isInteger(maxKeys) || maxKeys < 1) {
    throw new RangeError(`memory rate-limit store: maxKeys must be an integer >= 1, got ${maxKeys}`);
  }
  const clock = options.clock ?? systemClock;
  const tats = new Map<string, number>();
  let nextSweep = clock.now() + SWEEP_INTERVAL_MS;

  function sweep(now: number): void {
    nextSweep = now + SWEEP_INTERVAL_MS;
    const nowUs = now * 1000;
    for (const [key, tat] of tats) if (tat <= nowUs) tats.delete(key);
  }

  function decide(key: string, request: RateLimitRequest): RateLimitDecision {
    const now = clock.now();
    if (now >= nextSweep) sweep(now);
    const step = gcra(tats.get(key), Math.round(now * 1000), request);
    if (step.tatUs !== undefined) {
      // Re-inserting keeps the Map in least-recently-admitted order for eviction.
      tats.delete(key);
      if (tats.size >= maxKeys) {
        sweep(now);
        if (tats.size >= maxKeys) {
          const oldest = tats.keys().next();
          if (oldest.done !== true) tats.delete(oldest.value);
        }
      }
      tats.set(key, step.tatUs);
    }
    return step.decision;
  }

  return {
    get size() {
      return tats.size;
    },
    consume(key, request) {
      try {
        return Promise.resolve(decide(key, request));
      } catch (err) {
        return Promise.reject(err);
      }
    },
  };
}
