/**
 * A `SagaStore` that counts the calls it passes on, so the benchmark can report store writes
 * per saga (`create` + `update`) without touching the store under test.
 */
import type { SagaStore } from '@switchyard/saga';

/** Calls seen so far, by method. */
export interface StoreCounts {
  creates: number;
  updates: number;
  reads: number;
  claims: number;
  renewals: number;
}

/** Wraps `store`; every call is delegated unchanged and counted in the returned `counts`. */
export function countingStore(store: SagaStore): { store: SagaStore; counts: StoreCounts } {
  const counts: StoreCounts = { creates: 0, updates: 0, reads: 0, claims: 0, renewals: 0 };
  const counted: SagaStore = {
    init: () => store.init(),
    create: (write) => {
      counts.creates++;
      return store.create(write);
    },
    update: (write, expectedVersion) => {
      counts.updates++;
      return store.update(write, expectedVersion);
    },
    get: (id) => {
      counts.reads++;
      return store.get(id);
    },
    history: (id) => {
      counts.reads++;
      return store.history(id);
    },
    list: (query) => {
      counts.reads++;
      return store.list(query);
    },
    claim: (request) => {
      counts.claims++;
      return store.claim(request);
    },
    renew: (owner, ids, leaseUntil) => {
      counts.renewals++;
      return store.renew(owner, ids, leaseUntil);
    },
    close: () => store.close(),
  };
  return { store: counted, counts };
}

/** Writes (`create` + `update`) counted so far. */
export const writesOf = (counts: StoreCounts): number => counts.creates + counts.updates;
