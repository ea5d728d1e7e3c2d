import type { TripStrategy, WindowStats } from './strategy.ts';

/** Trips after `threshold` failures in a row; any success starts over. */
export class ConsecutiveFailures implements TripStrategy {
  readonly usesTime = false;
  readonly slowCallMs = undefined;
  readonly #threshold: number;
  #consecutive = 0;
  #calls = 0;
  #failures = 0;

  constructor(threshold: number) {
    this.#threshold = threshold;
  }

  record(failure: boolean): boolean {
    this.#calls++;
    if (!failure) {
      this.#consecutive = 0;
      return false;
    }
    this.#failures++;
    return ++this.#consecutive >= this.#threshold;
  }

  reset(): void {
    this.#consecutive = 0;
    this.#calls = 0;
    this.#failures = 0;
  }

  stats(): WindowStats {
    return { calls: this.#calls, failures: this.#failures, slowCalls: 0, consecutiveFailures: this.#consecutive };
  }
}
