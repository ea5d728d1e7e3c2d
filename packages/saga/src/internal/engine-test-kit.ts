/**
 * Helpers for the engine's own tests (not exported by the package): a store that counts and
 * can fail writes, deferred promises, polling with a deadline, and a saga that parks.
 */
import { defineSaga } from '../definition.ts';
import type { SagaStore, SagaWrite } from '../store.ts';

/** A store wrapper counting `create`/`update` calls, with a switch to make writes fail. */
export interface CountingStore extends SagaStore {
  readonly writes: { create: number; update: number };
  /** While set, `create`/`update` reject with this error before reaching the store. */
  failWrites: Error | undefined;
  /** Called before each update reaches the store. */
  beforeUpdate: ((write: SagaWrite) => void) | undefined;
}

/** Wraps `store` in a {@link CountingStore}. */
export function countingStore(store: SagaStore): CountingStore {
  const counting: CountingStore = {
    ...store,
    writes: { create: 0, update: 0 },
    failWrites: undefined,
    beforeUpdate: undefined,
    async create(write) {
      counting.writes.create++;
      if (counting.failWrites) throw counting.failWrites;
      return store.create(write);
    },
    async update(write, expectedVersion) {
      counting.writes.update++;
      if (counting.failWrites) throw counting.failWrites;
      counting.beforeUpdate?.(write);
      return store.update(write, expectedVersion);
    },
  };
  return counting;
}

/** A promise with its resolve and reject. */
export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets pending promise reactions run. */
export const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Polls `condition` (after flushing reactions) until true, failing after `ms` of real time. */
export async function until(condition: () => boolean | Promise<boolean>, what: string, ms = 2_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await flush();
  }
}

/**
 * `refund`: pay (whose compensation fails while `state.refundDown`), then ship, which always
 * fails, so the saga compensates pay and parks once its compensation attempts run out.
 */
export function parkingSaga() {
  const state = { refundDown: true, refunds: 0 };
  const saga = defineSaga<{ order: string }>('refund')
    .step('pay', {
      execute: () => ({ paid: 10 }),
      compensate: () => {
        state.refunds++;
        if (state.refundDown) throw new Error('refund service down');
      },
    })
    .step('ship', {
      execute: () => {
        throw new Error('no truck');
      },
    })
    .build();
  return { state, saga };
}
