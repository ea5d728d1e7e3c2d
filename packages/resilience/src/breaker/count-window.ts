import type { ResolvedCountTrip } from '../breaker-options.ts';
import { type TripStrategy, type WindowStats, windowTrips } from './strategy.ts';

const FAILURE = 1;
const SLOW = 2;

/**
 * The last `size` calls in a ring buffer of one byte per call (bit 0 failure, bit 1 slow),
 * with running totals: recording a call replaces the oldest and adjusts the totals, O(1) with
 * no allocation.
 */
export class CountWindow implements TripStrategy {
  readonly usesTime = false;
  readonly slowCallMs: number | undefined;
  readonly #options: ResolvedCountTrip;
  readonly #ring: Uint8Array;
  /** Next slot to write. */
  #next = 0;
  /** Slots written, up to the ring's size. */
  #filled = 0;
  #failures = 0;
  #slow = 0;
  #consecutive = 0;

  constructor(options: ResolvedCountTrip) {
    this.#options = options;
    this.slowCallMs = options.slowCallDurationMs;
    this.#ring = new Uint8Array(options.size);
  }

  record(failure: boolean, slow: boolean): boolean {
    const ring = this.#ring;
    const index = this.#next;
    if (this.#filled === ring.length) {
      const old = ring[index] as number;
      if (old & FAILURE) this.#failures--;
      if (old & SLOW) this.#slow--;
    } else {
      this.#filled++;
    }
    ring[index] = (failure ? FAILURE : 0) | (slow ? SLOW : 0);
    this.#next = index + 1 === ring.length ? 0 : index + 1;
    if (failure) {
      this.#failures++;
      this.#consecutive++;
    } else {
      this.#consecutive = 0;
    }
    if (slow) this.#slow++;
    const o = this.#options;
    return windowTrips(this.#filled, this.#failures, this.#slow, o.minimumCalls, o.failureRate, o.slowCallRate);
  }

  reset(): void {
    this.#ring.fill(0);
    this.#next = 0;
    this.#filled = 0;
    this.#failures = 0;
    this.#slow = 0;
    this.#consecutive = 0;
  }

  stats(): WindowStats {
    return {
      calls: this.#filled,
      failures: this.#failures,
      slowCalls: this.#slow,
      consecutiveFailures: this.#consecutive,
    };
  }
}
