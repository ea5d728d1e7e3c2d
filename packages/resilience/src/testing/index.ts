/**
 * `@switchyard/resilience/testing`: contract suites for the package's ports, built on
 * `node:test`. Run one against your implementation so it behaves as the built-in ones do.
 *
 * @example
 * ```ts
 * import { ManualClock } from '@switchyard/core';
 * import { createMemoryBreakerStateStore } from '@switchyard/resilience';
 * import { breakerStateStoreContract } from '@switchyard/resilience/testing';
 *
 * breakerStateStoreContract('memory', async () => {
 *   const clock = new ManualClock(1_000_000);
 *   return {
 *     store: createMemoryBreakerStateStore({ clock }),
 *     advance: async (ms) => clock.advance(ms),
 *     cleanup: async () => {},
 *   };
 * });
 * ```
 *
 * @packageDocumentation
 */

export type { BreakerStateStoreFixture } from './breaker-state-store-contract.ts';
export { breakerStateStoreContract } from './breaker-state-store-contract.ts';
