import type { Clock } from '@switchyard/core';
import { sagaError } from '../errors.ts';

/** One call of a step's `execute` or `compensate`. */
export interface AttemptRequest<T> {
  readonly clock: Clock;
  /** Aborts the call at once: the engine stopped or lost the saga. */
  readonly stopSignal: AbortSignal;
  readonly timeoutMs: number | undefined;
  /** For the timeout message: `saga "order" step "charge" (execute)`. */
  readonly what: string;
  readonly call: (signal: AbortSignal) => Promise<T> | T;
}

/**
 * Runs one attempt with its own signal, aborted on timeout (rejecting `SY_SAGA_STEP_TIMEOUT`)
 * or when `stopSignal` aborts (rejecting with its reason). The attempt settles at the timeout
 * or stop even if the user's function ignores its signal, so nothing waits on a hung call.
 */
export function runAttempt<T>(request: AttemptRequest<T>): Promise<T> {
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    const fail = (reason: unknown) => {
      controller.abort(reason);
      reject(reason);
    };
    const onStop = () => fail(request.stopSignal.reason);
    let cancelTimer = () => {};
    const cleanup = () => {
      cancelTimer();
      request.stopSignal.removeEventListener('abort', onStop);
    };
    if (request.stopSignal.aborted) {
      onStop();
      return;
    }
    request.stopSignal.addEventListener('abort', onStop, { once: true });
    const timeoutMs = request.timeoutMs;
    if (timeoutMs !== undefined) {
      cancelTimer = request.clock.setTimeout(() => {
        cleanup();
        fail(
          sagaError('SY_SAGA_STEP_TIMEOUT', `${request.what}: did not finish within ${timeoutMs}ms`, {
            details: { timeoutMs },
          }),
        );
      }, timeoutMs);
    }
    Promise.resolve()
      .then(() => request.call(controller.signal))
      .then(
        (value) => {
          cleanup();
          resolve(value);
        },
        (error: unknown) => {
          cleanup();
          reject(error);
        },
      );
  });
}
