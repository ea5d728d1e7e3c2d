import type { Clock } from '@switchyard/core';
import { resilienceError } from '../errors.ts';

/**
 * Runs one breaker-state-store call with a time limit. Rejects with the store's error (a
 * synchronous throw included) or with `SY_RESILIENCE_TIMEOUT` when it does not settle within
 * `timeoutMs`. A call that settles after its time is up is observed and dropped, so a slow
 * store never leaves an unhandled rejection behind.
 */
export function callWithTimeout<T>(call: () => Promise<T>, timeoutMs: number, clock: Clock, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let pending: Promise<T>;
    try {
      pending = Promise.resolve(call());
    } catch (err) {
      reject(err);
      return;
    }
    const cancel = clock.setTimeout(() => {
      reject(
        resilienceError('SY_RESILIENCE_TIMEOUT', `breaker state store: ${what} did not answer within ${timeoutMs}ms`, {
          details: { operation: what, timeoutMs },
        }),
      );
    }, timeoutMs);
    pending.then(
      (value) => {
        cancel();
        resolve(value);
      },
      (err: unknown) => {
        cancel();
        reject(err);
      },
    );
  });
}
