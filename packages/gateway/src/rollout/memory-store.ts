import type { RolloutRecord, RolloutStore } from './types.ts';

/**
 * A {@link RolloutStore} in this process's memory: state is lost on restart and not shared
 * with other replicas. Pass one instance to several controllers to share it in one process.
 *
 * @example
 * ```ts
 * const store = createMemoryRolloutStore();
 * await store.compareAndSet({ ...record, version: 1 }, 0); // true
 * ```
 */
export function createMemoryRolloutStore(): RolloutStore {
  const records = new Map<string, RolloutRecord>();
  const leases = new Map<string, { holder: string; expiresAt: number }>();
  const copy = (r: RolloutRecord): RolloutRecord => structuredClone(r);
  return {
    async get(name) {
      const record = records.get(name);
      return record === undefined ? undefined : copy(record);
    },
    async list() {
      return [...records.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map(copy);
    },
    async compareAndSet(next, expectedVersion) {
      if (next.version !== expectedVersion + 1) {
        throw new RangeError(`rollout ${next.name}: next.version must be ${expectedVersion + 1}, got ${next.version}`);
      }
      if ((records.get(next.name)?.version ?? 0) !== expectedVersion) return false;
      records.set(next.name, copy(next));
      return true;
    },
    async acquireLease(name, holder, ttlMs, nowMs) {
      const lease = leases.get(name);
      if (lease !== undefined && lease.holder !== holder && lease.expiresAt > nowMs) return false;
      leases.set(name, { holder, expiresAt: nowMs + ttlMs });
      return true;
    },
    async releaseLease(name, holder) {
      if (leases.get(name)?.holder === holder) leases.delete(name);
    },
    async close() {},
  };
}
