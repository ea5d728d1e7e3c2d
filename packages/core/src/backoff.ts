/** Options for {@link exponentialBackoff}. All times in milliseconds. */
export interface BackoffOptions {
  /** Delay before the first retry. @default 100 */
  initialMs?: number;
  /** Upper bound for any delay. @default 30000 */
  maxMs?: number;
  /** Growth factor per attempt. @default 2 */
  factor?: number;
  /**
   * `"full"` picks uniformly in [0, delay]; `"decorrelated"` picks in [initial, 3 × previous];
   * `"none"` is deterministic. @default "full"
   */
  jitter?: 'full' | 'decorrelated' | 'none';
  /** Source of randomness in [0, 1), for tests. @default Math.random */
  random?: () => number;
}

/**
 * The delay in milliseconds before retry number `attempt` (1-based). `previousMs` is the delay
 * this retry sequence used last time; only decorrelated jitter reads it.
 */
export type BackoffDelay = (attempt: number, previousMs?: number) => number;

/**
 * Returns a function giving the delay before retry number `attempt` (1-based), following
 * capped exponential backoff with jitter (AWS Architecture Blog, "Exponential Backoff And Jitter").
 *
 * The function keeps no state, so one of them may serve any number of retry sequences at the
 * same time (a retry policy shared by every request). Decorrelated jitter grows from the delay
 * used last: a sequence passes it back as `previousMs`. Without it, the capped exponential delay
 * of the attempt before stands in for it, which keeps the same growth.
 *
 * @example
 * ```ts
 * const delay = exponentialBackoff({ initialMs: 100, maxMs: 5000, jitter: 'none' });
 * delay(1); // 100
 * delay(4); // 800
 *
 * const decorrelated = exponentialBackoff({ initialMs: 100, maxMs: 5000, jitter: 'decorrelated' });
 * let previous: number | undefined;
 * for (let attempt = 1; attempt <= 3; attempt++) previous = decorrelated(attempt, previous); // each in [100, 3 × previous]
 * ```
 */
export function exponentialBackoff(options: BackoffOptions = {}): BackoffDelay {
  const initial = options.initialMs ?? 100;
  const max = options.maxMs ?? 30_000;
  const factor = options.factor ?? 2;
  const jitter = options.jitter ?? 'full';
  const random = options.random ?? Math.random;
  const capped = (attempt: number) => Math.min(max, initial * factor ** Math.max(0, attempt - 1));
  return (attempt, previousMs) => {
    switch (jitter) {
      case 'none':
        return capped(attempt);
      case 'full':
        return Math.floor(random() * capped(attempt));
      case 'decorrelated': {
        // AWS's "decorrelated jitter": sleep = min(cap, random_between(base, sleep * 3)).
        const previous = Math.max(initial, previousMs ?? (attempt <= 1 ? initial : capped(attempt - 1)));
        return Math.min(max, Math.floor(initial + random() * (previous * 3 - initial)));
      }
    }
  };
}
