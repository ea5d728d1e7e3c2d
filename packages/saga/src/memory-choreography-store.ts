import type { ChoreographyRecord, ChoreographyStore } from './choreography-store.ts';

/**
 * A {@link ChoreographyStore} in process memory, for tests: nothing survives the process.
 * Records are copied in and out.
 *
 * @example
 * ```ts
 * const tracker = createChoreographyTracker({ definition, bus, store: createMemoryChoreographyStore() });
 * ```
 */
export function createMemoryChoreographyStore(): ChoreographyStore {
  const records = new Map<string, ChoreographyRecord>();
  const key = (name: string, sagaId: string): string => `${name}\u0000${sagaId}`;
  return {
    enqueues: false,
    async init() {},
    async get(name, sagaId) {
      const record = records.get(key(name, sagaId));
      return record === undefined ? undefined : structuredClone(record);
    },
    async update(name, sagaId, change) {
      const current = records.get(key(name, sagaId));
      const next = change(current === undefined ? undefined : structuredClone(current));
      if (next === undefined) return current === undefined ? undefined : structuredClone(current);
      records.set(key(name, sagaId), structuredClone(next.record));
      return structuredClone(next.record);
    },
  };
}
