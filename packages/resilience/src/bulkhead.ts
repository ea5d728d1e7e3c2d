import { type Clock, cancelledError, systemClock } from '@switchyard/core';
import { type BulkheadOptions, type ResolvedBulkheadOptions, resolveBulkheadOptions } from './bulkhead-options.ts';
import { toContext } from './context.ts';
import { resilienceError } from './errors.ts';
import { Event } from './events.ts';
import type { Disposable, Listener, Operation, Policy, PolicyContext } from './types.ts';

/** What {@link createBulkhead} needs from its surroundings. */
export interface BulkheadDeps {
  /** Time source for `queueTimeout`. @default systemClock */
  readonly clock?: Clock;
}

/** How busy a bulkhead is. */
export interface BulkheadStats {
  /** Calls running now. */
  readonly active: number;
  /** Calls waiting for a slot. */
  readonly queued: number;
}

/** Emitted when a bulkhead refuses a call. */
export interface BulkheadRejectedEvent extends BulkheadStats {
  /** `full`: no slot and no place in the queue; `queue-timeout`: waited `queueTimeout` in vain. */
  readonly reason: 'full' | 'queue-timeout';
}

/** A bulkhead: at most `maxConcurrent` calls at once, and a bounded queue of calls waiting. */
export interface BulkheadPolicy extends Policy {
  readonly options: ResolvedBulkheadOptions;
  /** Calls running and waiting now. */
  readonly stats: BulkheadStats;
  /**
   * Runs `operation` in a free slot, or queues it (first in, first out) until one frees.
   *
   * @throws SwitchyardError `SY_RESILIENCE_BULKHEAD_FULL` at once when every slot and every
   *   place in the queue is taken (`details: { maxConcurrent, maxQueue }`), or when the call
   *   waited `queueTimeout` in the queue (`details.queued: true`)
   * @throws SwitchyardError `SY_CANCELLED` when the caller's signal aborts while the call waits
   *   (it leaves the queue), or had already aborted
   */
  execute<T>(operation: Operation<T>, signal?: AbortSignal | PolicyContext): Promise<T>;
  /** Called each time a call is refused. */
  onRejected(listener: Listener<BulkheadRejectedEvent>): Disposable;
}

/** A call waiting for a slot. */
class Waiter<T> {
  /** True once it left the queue (given a slot, cancelled or timed out). */
  done = false;
  cancelTimer: (() => void) | undefined;
  readonly operation: Operation<T>;
  readonly context: PolicyContext;
  readonly resolve: (value: Promise<T>) => void;
  readonly reject: (reason: unknown) => void;
  /** Set by the bulkhead: leaves the queue when the caller's signal aborts. */
  onAbort: (() => void) | undefined;

  constructor(
    operation: Operation<T>,
    context: PolicyContext,
    resolve: (value: Promise<T>) => void,
    reject: (reason: unknown) => void,
  ) {
    this.operation = operation;
    this.context = context;
    this.resolve = resolve;
    this.reject = reject;
  }

  /** Leaves the queue: clears its timer and its listener; false when it already had. */
  leave(): boolean {
    if (this.done) return false;
    this.done = true;
    this.cancelTimer?.();
    if (this.onAbort !== undefined) this.context.signal.removeEventListener('abort', this.onAbort);
    return true;
  }
}

/** The context handed over when the caller passes none; contexts are read-only, so one serves all. */
const idle: PolicyContext = Object.freeze(toContext(undefined));

/**
 * Creates a bulkhead: it isolates a dependency by bounding the calls in flight to it, so a slow
 * dependency ties up `maxConcurrent` callers at most instead of all of them.
 *
 * A call queued for longer than `queueTimeout` is refused with `SY_RESILIENCE_BULKHEAD_FULL`
 * (`details.queued: true`) rather than `SY_RESILIENCE_TIMEOUT`: it never ran, nothing was
 * aborted, and the cause is the same as a refusal at the door (no capacity), so callers handle
 * one code for "the bulkhead had no room".
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming the field (`resilience.bulkhead.maxConcurrent: ...`)
 * @example
 * ```ts
 * import { createBulkhead } from '@switchyard/resilience';
 *
 * const bulkhead = createBulkhead({ maxConcurrent: 10, maxQueue: 100, queueTimeout: '1s' });
 * const res = await bulkhead.execute(({ signal }) => fetch('http://127.0.0.1:8080/report', { signal }));
 * ```
 */
export function createBulkhead(input: BulkheadOptions, deps: BulkheadDeps = {}): BulkheadPolicy {
  const options = resolveBulkheadOptions(input);
  const clock = deps.clock ?? systemClock;
  const { maxConcurrent, maxQueue, queueTimeoutMs } = options;
  const rejected = new Event<BulkheadRejectedEvent>();
  // FIFO queue: an array read from `head`, never shifted; a waiter that left early stays in
  // place flagged `done` and is skipped. `queued` counts the waiters still waiting.
  let waiters: (Waiter<unknown> | undefined)[] = [];
  let head = 0;
  let active = 0;
  let queued = 0;

  function release(): void {
    active--;
    while (active < maxConcurrent && head < waiters.length) {
      const waiter = waiters[head] as Waiter<unknown>;
      waiters[head] = undefined; // let a long queue's finished waiters be collected
      head++;
      if (!waiter.leave()) continue;
      queued--;
      active++;
      waiter.resolve(run(waiter.operation, waiter.context));
    }
    if (head === waiters.length) {
      waiters = [];
      head = 0;
    } else if (head >= 1024 && head * 2 >= waiters.length) {
      waiters = waiters.slice(head);
      head = 0;
    }
  }

  // Shared settle handlers: no closure per call on the way out.
  const releaseValue = <T>(value: T): T => {
    release();
    return value;
  };
  const releaseError = (err: unknown): never => {
    release();
    throw err;
  };

  /** Runs `operation` in a slot already counted in `active`. */
  function run<T>(operation: Operation<T>, context: PolicyContext): Promise<T> {
    let result: Promise<T> | T;
    try {
      result = operation(context);
    } catch (err) {
      release();
      return Promise.reject(err);
    }
    if (typeof (result as { then?: unknown } | null)?.then !== 'function') {
      release();
      return Promise.resolve(result);
    }
    return Promise.resolve(result).then(releaseValue, releaseError);
  }

  function refuse(reason: BulkheadRejectedEvent['reason']): Error {
    if (rejected.size > 0) rejected.emit({ reason, active, queued });
    return reason === 'full'
      ? resilienceError(
          'SY_RESILIENCE_BULKHEAD_FULL',
          `bulkhead full: ${maxConcurrent} call(s) running and ${maxQueue} queued`,
          { details: { maxConcurrent, maxQueue } },
        )
      : resilienceError(
          'SY_RESILIENCE_BULKHEAD_FULL',
          `bulkhead full: no slot freed within the queue timeout of ${queueTimeoutMs}ms`,
          { details: { maxConcurrent, maxQueue, queued: true, queueTimeoutMs: queueTimeoutMs ?? 0 } },
        );
  }

  function enqueue<T>(operation: Operation<T>, context: PolicyContext): Promise<T> {
    const signal = context.signal;
    if (signal.aborted) return Promise.reject(cancelledError(signal));
    return new Promise<T>((resolve, reject) => {
      const waiter = new Waiter<T>(operation, context, resolve, reject);
      const leaveWith = (error: () => Error) => {
        if (!waiter.leave()) return;
        queued--;
        reject(error());
      };
      // The shared signal of a call made without one never aborts: no listener needed.
      if (signal !== idle.signal) {
        waiter.onAbort = () => leaveWith(() => cancelledError(signal));
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      if (queueTimeoutMs !== undefined) {
        waiter.cancelTimer = clock.setTimeout(() => leaveWith(() => refuse('queue-timeout')), queueTimeoutMs);
      }
      waiters.push(waiter as Waiter<unknown>);
      queued++;
    });
  }

  return {
    options,
    get stats(): BulkheadStats {
      return { active, queued };
    },
    execute<T>(operation: Operation<T>, from?: AbortSignal | PolicyContext): Promise<T> {
      if (from instanceof AbortSignal && from.aborted) return Promise.reject(cancelledError(from));
      const context = from === undefined ? idle : toContext(from);
      if (active < maxConcurrent) {
        active++;
        return run(operation, context);
      }
      if (queued >= maxQueue) return Promise.reject(refuse('full'));
      return enqueue(operation, context);
    },
    onRejected: (listener) => rejected.on(listener),
  };
}
