/** What a trip strategy has counted, for snapshots and metrics. */
export interface WindowStats {
  /** Calls counted (successes + failures; ignored calls are not counted). */
  readonly calls: number;
  readonly failures: number;
  /** Calls slower than the slow-call threshold (0 when slow calls are not tracked). */
  readonly slowCalls: number;
  /** Failures since the last success. */
  readonly consecutiveFailures: number;
}

/**
 * Decides when a closed breaker trips. One instance per breaker; every method is O(1) (the
 * time window clears at most `buckets` stale buckets after an idle spell) and allocates
 * nothing, except {@link TripStrategy.stats}.
 */
export interface TripStrategy {
  /** True when {@link TripStrategy.record} needs the current time (the time window). */
  readonly usesTime: boolean;
  /** Calls taking longer than this (ms) are slow; `undefined` when slow calls are not tracked. */
  readonly slowCallMs: number | undefined;
  /**
   * Counts one finished call and says whether the breaker should trip now.
   *
   * @param now - the clock's time, read only when {@link TripStrategy.usesTime} or
   *   {@link TripStrategy.slowCallMs} ask for it (0 otherwise)
   */
  record(failure: boolean, slow: boolean, now: number): boolean;
  /** Forgets every call (on each change of state). */
  reset(now: number): void;
  /** The counts as of `now` (stale buckets of the time window no longer count). */
  stats(now: number): WindowStats;
}

/**
 * The shared trip rule of the window strategies: enough calls, and the failure rate or the
 * slow-call rate at or above its threshold (resilience4j's rule).
 */
export function windowTrips(
  calls: number,
  failures: number,
  slowCalls: number,
  minimumCalls: number,
  failureRate: number,
  slowCallRate: number | undefined,
): boolean {
  if (calls === 0 || calls < minimumCalls) return false;
  // Rates as quotients: products such as 0.3 × 10 = 3.0000000000000004 would miss the threshold.
  if (failures / calls >= failureRate) return true;
  return slowCallRate !== undefined && slowCalls / calls >= slowCallRate;
}
