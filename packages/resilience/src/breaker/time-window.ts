import type { ResolvedTimeTrip } from '../breaker-options.ts';
import { type TripStrategy, type WindowStats, windowTrips } from './strategy.ts';

/**
 * The calls of the last `windowMs`, counted in `buckets` buckets of `windowMs / buckets` each,
 * kept in a ring of typed arrays with running totals.
 *
 * Buckets are aligned to clock time (bucket `floor(now / bucketMs)`), so the window covers the
 * current, partial bucket and the `buckets - 1` before it. Moving to a later bucket clears the
 * buckets skipped while idle (all of them after an idle spell longer than the window): at
 * most `buckets` steps, then O(1) per call, with no allocation.
 */
export class TimeWindow implements TripStrategy {
  readonly usesTime = true;
  readonly slowCallMs: number | undefined;
  readonly #options: ResolvedTimeTrip;
  readonly #bucketMs: number;
  readonly #calls: Uint32Array;
  readonly #failures: Uint32Array;
  readonly #slow: Uint32Array;
  /** Ring index of the current bucket. */
  #head = 0;
  /** `floor(now / bucketMs)` of the current bucket. */
  #epoch: number;
  #totalCalls = 0;
  #totalFailures = 0;
  #totalSlow = 0;
  #consecutive = 0;

  constructor(options: ResolvedTimeTrip, now: number) {
    this.#options = options;
    this.slowCallMs = options.slowCallDurationMs;
    this.#bucketMs = options.windowMs / options.buckets;
    this.#calls = new Uint32Array(options.buckets);
    this.#failures = new Uint32Array(options.buckets);
    this.#slow = new Uint32Array(options.buckets);
    this.#epoch = Math.floor(now / this.#bucketMs);
  }

  record(failure: boolean, slow: boolean, now: number): boolean {
    this.#rotate(now);
    const head = this.#head;
    (this.#calls[head] as number)++;
    this.#totalCalls++;
    if (failure) {
      (this.#failures[head] as number)++;
      this.#totalFailures++;
      this.#consecutive++;
    } else {
      this.#consecutive = 0;
    }
    if (slow) {
      (this.#slow[head] as number)++;
      this.#totalSlow++;
    }
    const o = this.#options;
    return windowTrips(
      this.#totalCalls,
      this.#totalFailures,
      this.#totalSlow,
      o.minimumCalls,
      o.failureRate,
      o.slowCallRate,
    );
  }

  reset(now: number): void {
    this.#calls.fill(0);
    this.#failures.fill(0);
    this.#slow.fill(0);
    this.#totalCalls = 0;
    this.#totalFailures = 0;
    this.#totalSlow = 0;
    this.#consecutive = 0;
    this.#head = 0;
    this.#epoch = Math.floor(now / this.#bucketMs);
  }

  stats(now: number): WindowStats {
    this.#rotate(now);
    return {
      calls: this.#totalCalls,
      failures: this.#totalFailures,
      slowCalls: this.#totalSlow,
      consecutiveFailures: this.#consecutive,
    };
  }

  /** Makes the bucket of `now` current, clearing the ones it passes. */
  #rotate(now: number): void {
    const epoch = Math.floor(now / this.#bucketMs);
    // A clock that stepped back keeps counting into the current bucket.
    if (epoch <= this.#epoch) return;
    const size = this.#calls.length;
    const steps = Math.min(epoch - this.#epoch, size);
    let head = this.#head;
    for (let i = 0; i < steps; i++) {
      head = head + 1 === size ? 0 : head + 1;
      this.#totalCalls -= this.#calls[head] as number;
      this.#totalFailures -= this.#failures[head] as number;
      this.#totalSlow -= this.#slow[head] as number;
      this.#calls[head] = 0;
      this.#failures[head] = 0;
      this.#slow[head] = 0;
    }
    this.#head = head;
    this.#epoch = epoch;
  }
}
