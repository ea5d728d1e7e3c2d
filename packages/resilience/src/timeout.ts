import { type Clock, cancelledError, systemClock } from '@switchyard/core';
import { resilienceError } from './errors.ts';
import { type ResolvedTimeoutOptions, resolveTimeoutOptions, type TimeoutOptions } from './options.ts';

/** The work a policy runs: it receives a signal that aborts when the policy gives up. */
export type Operation<T> = (signal: AbortSignal) => Promise<T>;

/** A cooperative timeout around async work. */
export interface TimeoutPolicy {
  readonly options: ResolvedTimeoutOptions;
  /**
   * Runs `operation`, aborting its signal and rejecting with `SY_RESILIENCE_TIMEOUT` when it
   * runs past the timeout, or with `SY_CANCELLED` when `signal` aborts first.
   *
   * The policy rejects as soon as time is up, without waiting for the operation to notice
   * its aborted signal: a caller never waits longer than the timeout.
   */
  execute<T>(operation: Operation<T>, signal?: AbortSignal): Promise<T>;
}

/**
 * Creates a timeout policy.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` for a malformed `timeout`
 * @example
 * ```ts
 * import { createTimeout } from '@switchyard/resilience';
 *
 * const timeout = createTimeout({ timeout: '2s' });
 * const body = await timeout.execute((signal) => fetch('http://127.0.0.1:8080/health', { signal }));
 * ```
 */
export function createTimeout(input: TimeoutOptions, clock: Clock = systemClock): TimeoutPolicy {
  const options = resolveTimeoutOptions(input);
  return {
    options,
    execute<T>(operation: Operation<T>, signal?: AbortSignal): Promise<T> {
      if (signal?.aborted) return Promise.reject(cancelledError(signal));
      const controller = new AbortController();
      return new Promise<T>((resolve, reject) => {
        let settled = false;
        const finish = (fn: () => void) => {
          if (settled) return;
          settled = true;
          cancelTimer();
          signal?.removeEventListener('abort', onAbort);
          fn();
        };
        const onAbort = () => {
          const reason = cancelledError(signal as AbortSignal);
          controller.abort(reason);
          finish(() => reject(reason));
        };
        const cancelTimer = clock.setTimeout(() => {
          const reason = resilienceError('SY_RESILIENCE_TIMEOUT', `operation timed out after ${options.timeoutMs}ms`, {
            details: { timeoutMs: options.timeoutMs },
          });
          controller.abort(reason);
          finish(() => reject(reason));
        }, options.timeoutMs);
        signal?.addEventListener('abort', onAbort, { once: true });
        let pending: Promise<T>;
        try {
          pending = operation(controller.signal);
        } catch (err) {
          finish(() => reject(err));
          return;
        }
        pending.then(
          (value) => finish(() => resolve(value)),
          (err: unknown) => finish(() => reject(err)),
        );
      });
    },
  };
}
