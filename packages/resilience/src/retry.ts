import { type Clock, cancelledError, exponentialBackoff, systemClock } from '@switchyard/core';
import { toContext } from './context.ts';
import { resilienceError } from './errors.ts';
import { Event } from './events.ts';
import { type ResolvedRetryOptions, type RetryOptions, resolveRetryOptions } from './retry-options.ts';
import type { Disposable, Listener, Operation, Policy, PolicyContext } from './types.ts';

/** What {@link createRetry} needs from its surroundings. */
export interface RetryDeps {
  /** Time source for backoff sleeps and deadlines. @default systemClock */
  readonly clock?: Clock;
  /** Source of randomness in [0, 1) for jitter. @default Math.random */
  readonly random?: () => number;
}

/** Emitted before each backoff sleep. */
export interface RetryEvent {
  /** The attempt about to be made after the sleep: 2 for the first retry. */
  readonly attempt: number;
  /** How long the policy waits before it, in milliseconds. */
  readonly delayMs: number;
  /** The error of the attempt that failed, when it threw. */
  readonly error?: unknown;
  /** The value of the attempt that failed, when `retryOn.result` judged it retryable. */
  readonly result?: unknown;
}

/** Why a retry policy stopped trying. */
export const GiveUpReason = {
  /** `maxAttempts` were made. */
  Attempts: 'attempts',
  /** The retry budget was spent (the call rejects with `SY_RESILIENCE_RETRY_BUDGET_EXHAUSTED`). */
  Budget: 'budget',
  /** The next attempt could not start before the context's deadline. */
  Deadline: 'deadline',
  /** The server asked to wait longer than `maxRetryAfter`. */
  RetryAfterTooLong: 'retry-after-too-long',
  /** `retryOn.error` judged the error not worth retrying. */
  NotRetryable: 'not-retryable',
} as const;
export type GiveUpReason = (typeof GiveUpReason)[keyof typeof GiveUpReason];

/** Emitted when a call ends in failure (the last error thrown, or the last retryable result returned). */
export interface GiveUpEvent {
  /** Attempts made, the first included. */
  readonly attempts: number;
  readonly reason: GiveUpReason;
  /** The last error, when the last attempt threw. */
  readonly error?: unknown;
  /** The last value, when the last attempt returned a value judged retryable. */
  readonly result?: unknown;
}

/** A retry policy. */
export interface RetryPolicy extends Policy {
  readonly options: ResolvedRetryOptions;
  /**
   * Runs `operation`, trying again after a retryable failure. Each attempt receives the
   * caller's signal and deadline with `attempt` = 1, 2, ...
   *
   * @returns the first value not judged retryable, or the last value when retries run out
   * @throws the last error, unchanged, when retries run out or it is not retryable
   * @throws SwitchyardError `SY_RESILIENCE_RETRY_BUDGET_EXHAUSTED` when a retry was due but the
   *   budget was spent; `cause` is the last error (or value)
   * @throws SwitchyardError `SY_CANCELLED` when the caller's signal aborts during a backoff
   *   sleep (at once; the timer is cleared), or before a retry
   */
  execute<T>(operation: Operation<T>, signal?: AbortSignal | PolicyContext): Promise<T>;
  /** Called before each backoff sleep. */
  onRetry(listener: Listener<RetryEvent>): Disposable;
  /** Called when a call fails for good (not when it succeeds, nor when the caller cancels). */
  onGiveUp(listener: Listener<GiveUpEvent>): Disposable;
}

/** The context handed over when the caller passes none; contexts are read-only, so one serves all. */
const idle: PolicyContext = Object.freeze(toContext(undefined));

/** A failed attempt's outcome: what it threw, or the value judged retryable. */
type Outcome = { readonly error: unknown; readonly threw: true } | { readonly result: unknown; readonly threw: false };

/**
 * Creates a retry policy: up to `maxAttempts` attempts, separated by capped exponential backoff
 * with jitter, honouring the server's `Retry-After`, the context's deadline and an optional
 * shared {@link RetryBudget}.
 *
 * The wait before retry n is the backoff delay, or, when the failure carries a `Retry-After`,
 * the larger of that and the un-jittered backoff delay (the server already chose when to come
 * back, so no jitter is added). A retry whose wait would end at or after the deadline is not
 * attempted: the call gives up at once with the last outcome rather than sleep for nothing.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming the field (`resilience.retry.maxAttempts: ...`)
 * @example
 * ```ts
 * import { createRetry } from '@switchyard/resilience';
 *
 * const retry = createRetry({ maxAttempts: 4, backoff: { initial: '200ms', max: '5s' } });
 * retry.onRetry(({ attempt, delayMs }) => console.log(`attempt ${attempt} in ${delayMs}ms`));
 * const res = await retry.execute(({ signal }) => fetch('http://127.0.0.1:8080/health', { signal }));
 * ```
 */
export function createRetry(input: RetryOptions = {}, deps: RetryDeps = {}): RetryPolicy {
  const options = resolveRetryOptions(input);
  const clock = deps.clock ?? systemClock;
  const delay = exponentialBackoff({ ...options.backoff, random: deps.random ?? Math.random });
  const nominal = exponentialBackoff({ ...options.backoff, jitter: 'none' });
  const { maxAttempts, budget, maxRetryAfterMs, retryAfter } = options;
  const retryOnError = options.retryOn.error;
  const retryOnResult = options.retryOn.result;
  const retried = new Event<RetryEvent>();
  const gaveUp = new Event<GiveUpEvent>();

  function giveUp<T>(outcome: Outcome, attempts: number, reason: GiveUpReason): T {
    if (gaveUp.size > 0) {
      gaveUp.emit(
        outcome.threw ? { attempts, reason, error: outcome.error } : { attempts, reason, result: outcome.result },
      );
    }
    if (reason === GiveUpReason.Budget) {
      throw resilienceError(
        'SY_RESILIENCE_RETRY_BUDGET_EXHAUSTED',
        `retry budget exhausted after ${attempts} attempt(s); not retrying`,
        { cause: outcome.threw ? outcome.error : outcome.result, details: { attempts } },
      );
    }
    if (outcome.threw) throw outcome.error;
    return outcome.result as T;
  }

  /**
   * Decides what follows failed attempt `attempt`: the wait in milliseconds before the next one,
   * or why the call gives up. Throws `SY_CANCELLED` when the caller has left.
   */
  function decide(
    outcome: Outcome,
    attempt: number,
    context: PolicyContext,
    previousMs: number | undefined,
  ): number | GiveUpReason {
    if (context.signal.aborted) throw cancelledError(context.signal);
    if (attempt >= maxAttempts) return GiveUpReason.Attempts;
    const asked = retryAfter(outcome.threw ? outcome.error : outcome.result);
    let wait: number;
    if (asked === undefined) {
      wait = delay(attempt, previousMs);
    } else {
      if (asked > maxRetryAfterMs) return GiveUpReason.RetryAfterTooLong;
      wait = Math.max(asked, nominal(attempt));
    }
    if (context.deadline !== undefined && clock.now() + wait >= context.deadline) return GiveUpReason.Deadline;
    // Withdraw last, so a retry that is not made for another reason costs no budget.
    if (budget !== undefined && !budget.tryWithdraw()) return GiveUpReason.Budget;
    if (retried.size > 0) {
      retried.emit(
        outcome.threw
          ? { attempt: attempt + 1, delayMs: wait, error: outcome.error }
          : { attempt: attempt + 1, delayMs: wait, result: outcome.result },
      );
    }
    return wait;
  }

  /** Attempts 2 and later: the slow path, entered only after a retryable failure. */
  async function retryAfterFailure<T>(operation: Operation<T>, context: PolicyContext, first: Outcome): Promise<T> {
    let outcome = first;
    let previousMs: number | undefined;
    for (let attempt = 1; ; attempt++) {
      const wait = decide(outcome, attempt, context, previousMs);
      if (typeof wait === 'string') return giveUp(outcome, attempt, wait);
      await sleep(clock, wait, context.signal);
      previousMs = wait;
      const next = attempt + 1;
      try {
        const value = await operation({ signal: context.signal, attempt: next, deadline: context.deadline });
        if (retryOnResult === undefined || !retryOnResult(value, next)) return value;
        outcome = { result: value, threw: false };
      } catch (err) {
        if (!retryOnError(err, next)) return giveUp({ error: err, threw: true }, next, GiveUpReason.NotRetryable);
        outcome = { error: err, threw: true };
      }
    }
  }

  function onFirstError<T>(operation: Operation<T>, context: PolicyContext, err: unknown): Promise<T> {
    if (!retryOnError(err, 1)) return giveUp({ error: err, threw: true }, 1, GiveUpReason.NotRetryable);
    return retryAfterFailure(operation, context, { error: err, threw: true });
  }

  function onFirstValue<T>(operation: Operation<T>, context: PolicyContext, value: T): T | Promise<T> {
    if (retryOnResult === undefined || !retryOnResult(value, 1)) return value;
    return retryAfterFailure(operation, context, { result: value, threw: false });
  }

  return {
    options,
    execute<T>(operation: Operation<T>, from?: AbortSignal | PolicyContext): Promise<T> {
      // A bare signal is checked here; a context's signal is left unread on the way in (an
      // enclosing timeout makes its AbortController only when someone reads it), and the first
      // attempt, or the policy inside, checks it.
      if (from instanceof AbortSignal && from.aborted) return Promise.reject(cancelledError(from));
      const context = from === undefined ? idle : toContext(from);
      budget?.deposit();
      // The first attempt gets the incoming context itself when it already says attempt 1.
      const first =
        context.attempt === 1 ? context : { signal: context.signal, attempt: 1, deadline: context.deadline };
      let result: Promise<T> | T;
      try {
        result = operation(first);
      } catch (err) {
        return settle(() => onFirstError(operation, context, err));
      }
      if (!isThenable(result)) return settle(() => onFirstValue(operation, context, result));
      if (retryOnResult === undefined) {
        return Promise.resolve(result).then(undefined, (err: unknown) => onFirstError(operation, context, err));
      }
      return Promise.resolve(result).then(
        (value) => onFirstValue(operation, context, value),
        (err: unknown) => onFirstError(operation, context, err),
      );
    },
    onRetry: (listener) => retried.on(listener),
    onGiveUp: (listener) => gaveUp.on(listener),
  };
}

/** Runs `fn` into a promise, turning a synchronous throw into a rejection. */
function settle<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err);
  }
}

function isThenable<T>(value: Promise<T> | T): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/**
 * Waits `ms` on `clock`; rejects with `SY_CANCELLED` at once when `signal` aborts, clearing the
 * timer, and leaves no listener behind either way.
 */
function sleep(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(cancelledError(signal));
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      cancel();
      reject(cancelledError(signal));
    };
    // Ref'd: the sleep may be the only thing the caller awaits, and an unref'd timer would
    // let a script exit in the middle of its retries.
    const cancel = clock.setTimeout(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      ms,
      { ref: true },
    );
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
