/**
 * Tests-only: an engine made by `createSagaEngine` has a method under this symbol that stops it
 * as a crash would: timers stop, calls are abandoned, nothing more is written, and leases are
 * NOT released (another engine takes the sagas over once they end). Not exported by the package.
 */
export const killEngine: unique symbol = Symbol('switchyard.saga.killEngine');

/** Kills `engine` as if its process died (see {@link killEngine}). */
export function crashEngine(engine: object): void {
  const kill = (engine as { [killEngine]?: () => void })[killEngine];
  if (kill === undefined) throw new TypeError('not a saga engine');
  kill();
}
