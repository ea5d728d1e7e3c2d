import { type Clock, systemClock } from '@switchyard/core';
import {
  type ResolvedRetryBudgetOptions,
  type RetryBudgetOptions,
  resolveRetryBudgetOptions,
} from './retry-budget-options.ts';

/**
 * Caps retries to a share of recent calls, so that when a dependency fails, retries add at most
 * `ratio` to its load instead of multiplying it (three attempts per call would triple it). One
 * budget may be shared by many retry policies, one per route or service, to cap them together.
 *
 * Implementations given to `createRetry({ budget })` are kept by reference, never frozen.
 */
export interface RetryBudget {
  readonly options: ResolvedRetryBudgetOptions;
  /** Records a call (a first attempt); a retry policy deposits once per `execute`. */
  deposit(): void;
  /** Takes one retry from the budget: true when one was available, false when it is spent. */
  tryWithdraw(): boolean;
  /** Whole retries available now. */
  readonly balance: number;
}

/** What {@link createRetryBudget} needs from its surroundings. */
export interface RetryBudgetDeps {
  /** Time source. @default systemClock */
  readonly clock?: Clock;
}

/** Fixed-point scale: one retry is worth this many tokens, so `ratio` adds exact integers. */
const scale = 1000;
/** The window is kept as this many time buckets, each expiring as a whole (Finagle's 10 slices). */
const bucketCount = 10;

/**
 * The budget: a windowed token count. Deposits add `ratio` retries' worth of tokens; a retry
 * takes one retry's worth; both expire `ttl` after they happened, so an old burst neither
 * funds nor blocks today's retries. A reserve of `minRetriesPerSecond × ttl` retries stands
 * beside the window. Every call is O(1): the window is a ring of buckets cleared as time moves.
 */
class WindowedRetryBudget implements RetryBudget {
  readonly options: ResolvedRetryBudgetOptions;
  readonly #clock: Clock;
  readonly #bucketMs: number;
  readonly #depositTokens: number;
  readonly #reserveTokens: number;
  readonly #buckets = new Float64Array(bucketCount);
  /** Sum of the buckets: deposits minus withdrawals within the window. */
  #sum = 0;
  /** Index (time / bucketMs) of the bucket written last. */
  #epoch: number;

  constructor(options: ResolvedRetryBudgetOptions, clock: Clock) {
    this.options = options;
    this.#clock = clock;
    this.#bucketMs = options.ttlMs / bucketCount;
    this.#depositTokens = Math.round(options.ratio * scale);
    this.#reserveTokens = Math.round(options.minRetriesPerSecond * (options.ttlMs / 1000) * scale);
    this.#epoch = Math.floor(clock.now() / this.#bucketMs);
  }

  deposit(): void {
    this.#add(this.#depositTokens);
  }

  tryWithdraw(): boolean {
    this.#advance();
    if (this.#reserveTokens + this.#sum < scale) return false;
    this.#add(-scale);
    return true;
  }

  get balance(): number {
    this.#advance();
    return Math.max(0, Math.floor((this.#reserveTokens + this.#sum) / scale));
  }

  #add(tokens: number): void {
    this.#advance();
    const slot = this.#epoch % bucketCount;
    this.#buckets[slot] = (this.#buckets[slot] as number) + tokens;
    this.#sum += tokens;
  }

  /** Clears the buckets that fell out of the window since the last call (at most all of them). */
  #advance(): void {
    const epoch = Math.floor(this.#clock.now() / this.#bucketMs);
    // A clock that went back keeps writing into the current bucket rather than erasing history.
    if (epoch <= this.#epoch) return;
    const steps = Math.min(epoch - this.#epoch, bucketCount);
    for (let i = 1; i <= steps; i++) {
      const slot = (this.#epoch + i) % bucketCount;
      this.#sum -= this.#buckets[slot] as number;
      this.#buckets[slot] = 0;
    }
    this.#epoch = epoch;
  }
}

/**
 * Creates a retry budget (Finagle's `RetryBudget`, Linkerd's `retryBudget`): within any `ttl`,
 * retries may number `ratio` × the calls deposited plus `minRetriesPerSecond` × `ttl`.
 * A retry policy given the budget deposits once per call and withdraws once per retry; when the
 * budget is spent it gives up with `SY_RESILIENCE_RETRY_BUDGET_EXHAUSTED` instead of retrying.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming the field (`resilience.retryBudget.ttl: ...`)
 * @example
 * ```ts
 * import { createRetry, createRetryBudget } from '@switchyard/resilience';
 *
 * // One budget for every route of a client: retries add at most 20% load (plus 10/s).
 * const budget = createRetryBudget({ ratio: 0.2, minRetriesPerSecond: 10, ttl: '10s' });
 * const users = createRetry({ maxAttempts: 3, budget });
 * const orders = createRetry({ maxAttempts: 5, budget });
 * ```
 */
export function createRetryBudget(input: RetryBudgetOptions = {}, deps: RetryBudgetDeps = {}): RetryBudget {
  // Frozen: the state lives in private fields, and retry options may be frozen around it.
  return Object.freeze(new WindowedRetryBudget(resolveRetryBudgetOptions(input), deps.clock ?? systemClock));
}

/** True when `value` has the shape of a {@link RetryBudget}. */
export function isRetryBudget(value: unknown): value is RetryBudget {
  if (typeof value !== 'object' || value === null) return false;
  const budget = value as Record<string, unknown>;
  return typeof budget.deposit === 'function' && typeof budget.tryWithdraw === 'function';
}
