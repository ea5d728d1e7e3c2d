import type { Clock } from '@switchyard/core';

/**
 * Waits `ms` on `clock`; resolves early (with false) when `signal` aborts, else with true.
 * The timer keeps the process alive: a backoff may be the only thing a script awaits.
 */
export function sleep(clock: Clock, ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      cancel();
      resolve(false);
    };
    const cancel = clock.setTimeout(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      },
      ms,
      { ref: true },
    );
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
