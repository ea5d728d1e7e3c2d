import { type Clock, cancelledError, systemClock } from '@switchyard/core';
import { attachDeadline, toContext } from './context.ts';
import { resilienceError } from './errors.ts';
import { type ResolvedTimeoutOptions, resolveTimeoutOptions, type TimeoutOptions } from './options.ts';
import { DeadlineQueue, type Expiring } from './timeout-queue.ts';
import type { Operation, Policy, PolicyContext } from './types.ts';

/** What {@link createTimeout} needs from its surroundings. */
export interface TimeoutDeps {
  /** Time source. @default systemClock */
  readonly clock?: Clock;
}

/** A cooperative timeout around async work, with a deadline that nested calls inherit. */
export interface TimeoutPolicy extends Policy {
  readonly options: ResolvedTimeoutOptions;
  /**
   * Runs `operation` with a context whose `signal` aborts when time is up and whose `deadline`
   * is the moment it does. The time allowed is the shorter of the policy's own timeout and
   * what is left of the deadline handed in (an enclosing timeout's, or one attached to the
   * caller's signal with `attachDeadline`).
   *
   * The policy rejects as soon as time is up, without waiting for the operation to notice its
   * aborted signal: a caller never waits past the deadline.
   *
   * @throws SwitchyardError `SY_RESILIENCE_TIMEOUT` when time runs out (`details.timeoutMs`;
   *   `details.inherited: true` when the inherited deadline, not the own timeout, ran out)
   * @throws SwitchyardError `SY_RESILIENCE_DEADLINE_EXCEEDED` at once, without running the
   *   operation, when the deadline handed in is already spent
   * @throws SwitchyardError `SY_CANCELLED` when the caller's signal aborts (at once, without
   *   running the operation, when it already has)
   */
  execute<T>(operation: Operation<T>, signal?: AbortSignal | PolicyContext): Promise<T>;
}

/** The context handed over when the caller passes none; contexts are read-only, so one serves all. */
const idle: PolicyContext = Object.freeze(toContext(undefined));

/**
 * One call under a timeout; it is also the {@link PolicyContext} the operation receives.
 *
 * The `AbortController` is made only when someone reads `signal`: an operation that never
 * looks at it (or finishes first) costs no controller and no deadline bookkeeping. An expiry
 * before that records the reason, and the signal is born aborted.
 */
class TimeoutRun<T> implements PolicyContext, Expiring {
  readonly attempt: number;
  readonly deadline: number;
  settled = false;
  readonly #timeoutMs: number;
  readonly #inherited: boolean;
  readonly #resolve: (value: T) => void;
  readonly #reject: (reason: unknown) => void;
  readonly #incoming: AbortSignal | undefined;
  readonly #queue: DeadlineQueue;
  #cancelTimer: (() => void) | undefined;
  #controller: AbortController | undefined;
  #abortReason: unknown;
  #aborted = false;

  constructor(
    context: PolicyContext,
    incoming: AbortSignal | undefined,
    deadline: number,
    timeoutMs: number,
    inherited: boolean,
    queue: DeadlineQueue,
    resolve: (value: T) => void,
    reject: (reason: unknown) => void,
  ) {
    this.attempt = context.attempt;
    this.deadline = deadline;
    this.#timeoutMs = timeoutMs;
    this.#inherited = inherited;
    this.#incoming = incoming;
    this.#queue = queue;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      attachDeadline(this.#controller.signal, this.deadline);
      if (this.#aborted) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  /** Times the run: on the policy's shared queue, or on a timer of its own when out of order. */
  start(clock: Clock, now: number): void {
    if (this.#incoming !== undefined) this.#incoming.addEventListener('abort', this);
    if (!this.#queue.add(this)) this.#cancelTimer = clock.setTimeout(() => this.expire(), this.deadline - now);
  }

  succeed(value: T): void {
    if (this.#finish()) this.#resolve(value);
  }

  fail(error: unknown): void {
    if (this.#finish()) this.#reject(error);
  }

  /** The deadline passed. */
  expire(): void {
    if (!this.#finish()) return;
    const reason = this.#inherited
      ? resilienceError(
          'SY_RESILIENCE_TIMEOUT',
          `operation timed out after ${this.#timeoutMs}ms (the deadline inherited from the caller)`,
          { details: { timeoutMs: this.#timeoutMs, inherited: true } },
        )
      : resilienceError('SY_RESILIENCE_TIMEOUT', `operation timed out after ${this.#timeoutMs}ms`, {
          details: { timeoutMs: this.#timeoutMs },
        });
    this.#abort(reason);
    this.#reject(reason);
  }

  /** The caller's signal aborted (an `EventListener` object, so no closure per call). */
  handleEvent(): void {
    if (!this.#finish()) return;
    const reason = cancelledError(this.#incoming as AbortSignal);
    this.#abort(reason);
    this.#reject(reason);
  }

  #abort(reason: unknown): void {
    this.#aborted = true;
    this.#abortReason = reason;
    this.#controller?.abort(reason);
  }

  /** Marks the run settled and releases its timer and listener; false when it already was. */
  #finish(): boolean {
    if (this.settled) return false;
    this.settled = true;
    if (this.#incoming !== undefined) this.#incoming.removeEventListener('abort', this);
    if (this.#cancelTimer === undefined) this.#queue.remove(this);
    else this.#cancelTimer();
    return true;
  }
}

/**
 * Creates a timeout policy.
 *
 * Cancellation is cooperative: the operation receives `{ signal, attempt, deadline }` and should
 * pass `signal` to its I/O. Deadlines nest: a timeout inside another (or inside a call whose
 * signal carries a deadline) never allows more than what is left of the outer one, and it
 * hands its own deadline on, in the context and attached to the signal (`deadlineOf(signal)`).
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` for a malformed `timeout` (`resilience.timeout.timeout: ...`)
 * @example
 * ```ts
 * import { createTimeout } from '@switchyard/resilience';
 *
 * const timeout = createTimeout({ timeout: '2s' });
 * const res = await timeout.execute(({ signal }) => fetch('http://127.0.0.1:8080/health', { signal }));
 * ```
 */
export function createTimeout(input: TimeoutOptions, deps: TimeoutDeps = {}): TimeoutPolicy {
  const options = resolveTimeoutOptions(input);
  const clock = deps.clock ?? systemClock;
  const never = idle.signal;
  const queue = new DeadlineQueue(clock);
  const ownMs = options.timeoutMs;
  return {
    options,
    execute<T>(operation: Operation<T>, from?: AbortSignal | PolicyContext): Promise<T> {
      const context = from === undefined ? idle : toContext(from);
      const signal = context.signal;
      if (signal !== never && signal.aborted) return Promise.reject(cancelledError(signal));
      const now = clock.now();
      let deadline = now + ownMs;
      let timeoutMs = ownMs;
      let inherited = false;
      const outer = context.deadline;
      if (outer !== undefined && outer < deadline) {
        if (outer <= now) {
          return Promise.reject(
            resilienceError(
              'SY_RESILIENCE_DEADLINE_EXCEEDED',
              `deadline already spent ${now - outer}ms ago; the operation was not run`,
              { details: { timeoutMs: ownMs, overdueMs: now - outer } },
            ),
          );
        }
        deadline = outer;
        timeoutMs = outer - now;
        inherited = true;
      }
      return new Promise<T>((resolve, reject) => {
        const run = new TimeoutRun<T>(
          context,
          signal === never ? undefined : signal,
          deadline,
          timeoutMs,
          inherited,
          queue,
          resolve,
          reject,
        );
        run.start(clock, now);
        let result: Promise<T> | T;
        try {
          result = operation(run);
        } catch (err) {
          run.fail(err);
          return;
        }
        if (isThenable(result)) {
          Promise.resolve(result).then(
            (value) => run.succeed(value),
            (err: unknown) => run.fail(err),
          );
        } else {
          run.succeed(result);
        }
      });
    },
  };
}

function isThenable<T>(value: Promise<T> | T): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
