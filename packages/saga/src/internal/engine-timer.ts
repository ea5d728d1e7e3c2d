import type { Clock } from '@switchyard/core';

/**
 * Runs `task` every `ms` on `clock` (the next run is armed after the previous one settles, so
 * runs never overlap), reporting failures to `onError`. Returns a function that stops it. The
 * timers do not keep the process alive.
 */
export function every(
  clock: Clock,
  ms: number,
  task: () => Promise<unknown>,
  onError: (error: unknown) => void,
): () => void {
  let stopped = false;
  let cancel = () => {};
  const arm = () => {
    if (stopped) return;
    cancel = clock.setTimeout(() => {
      task()
        .catch((error: unknown) => {
          if (!stopped) onError(error);
        })
        .finally(arm);
    }, ms);
  };
  arm();
  return () => {
    stopped = true;
    cancel();
  };
}
