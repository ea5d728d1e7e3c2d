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
 * Returns a function giving the delay before retry number `attempt` (1-based), following
 * capped exponential backoff with jitter (AWS Architecture Blog, "Exponential Backoff And Jitter").
 *
 * @example
 * ```ts
 * const delay = exponentialBackoff({ initialMs: 100, maxMs: 5000, jitter: 'none' });
 * delay(1); // 100
 * delay(4); // 800
 * ```
 */
export function exponentialBackoff(options: BackoffOptions = {}): (attempt: number) => number {
  const initial = options.initialMs ?? 100;
  const max = options.maxMs ?? 30_000;
  const factor = options.factor ?? 2;
  const jitter = options.jitter ?? 'full';
  const random = options.random ?? Math.random;
  let previous = initial;
  return (attempt) => {
    const exp = Math.min(max, initial * factor ** Math.max(0, attempt - 1));
    switch (jitter) {
      case 'none':
        return exp;
      case 'full':
        return Math.floor(random() * exp);
      case 'decorrelated': {
        previous = Math.min(max, Math.floor(initial + random() * (previous * 3 - initial)));
        return previous;
      }
    }
  };
}
