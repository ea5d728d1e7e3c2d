import type { Subscription } from '../types.ts';

/** Wraps an idempotent teardown as a {@link Subscription} usable with `using`. */
export function subscription(teardown: () => void): Subscription {
  let disposed = false;
  const dispose = () => {
    if (disposed) return;
    disposed = true;
    teardown();
  };
  return { dispose, [Symbol.dispose]: dispose };
}

/** Calls `listener`, turning a throw into a process warning so one bad listener cannot break the others. */
export function callSafely<Args extends unknown[]>(listener: (...args: Args) => void, ...args: Args): void {
  try {
    listener(...args);
  } catch (err) {
    process.emitWarning(err instanceof Error ? err : String(err), 'SwitchyardDiscoveryWarning');
  }
}
