import assert from 'node:assert/strict';
import { MAX_ROLLOUT_HISTORY, RolloutPhase, type RolloutRecord, type RolloutStore } from './types.ts';

/** The test functions the suite registers with: pass `node:test`'s. */
export interface ContractTestApi {
  readonly describe: (name: string, fn: () => void) => unknown;
  readonly it: (name: string, fn: () => Promise<void>) => unknown;
}

function record(name: string, version: number, extra: Partial<RolloutRecord> = {}): RolloutRecord {
  return {
    name,
    version,
    phase: RolloutPhase.Progressing,
    step: 0,
    canaryWeight: 5,
    stepStartedAt: 1_700_000_000_000,
    updatedAt: 1_700_000_000_000 + version,
    history: [
      {
        at: 1_700_000_000_000,
        from: RolloutPhase.Idle,
        to: RolloutPhase.Progressing,
        step: 0,
        canaryWeight: 5,
        reason: 'started: canary 5% — “ü”',
        by: 'operator',
      },
    ],
    ...extra,
  };
}

/**
 * The behaviour every {@link RolloutStore} must have, as a `node:test` suite: the memory and
 * SQLite stores and the Redis and PostgreSQL adapters run it. `factory` returns a fresh, empty
 * store (its own key prefix or schema) each time it is called; the suite closes what it opens.
 *
 * @example
 * ```ts
 * import { describe, it } from 'node:test';
 * rolloutStoreContract('memory', async () => createMemoryRolloutStore(), { describe, it });
 * ```
 */
export function rolloutStoreContract(
  name: string,
  factory: () => Promise<RolloutStore>,
  { describe, it }: ContractTestApi,
): void {
  const withStore = (fn: (store: RolloutStore) => Promise<void>) => async () => {
    const store = await factory();
    try {
      await fn(store);
    } finally {
      await store.close();
    }
  };
  describe(`RolloutStore contract: ${name}`, () => {
    it(
      'reads nothing for a rollout never written, and lists nothing',
      withStore(async (store) => {
        assert.equal(await store.get('orders'), undefined);
        assert.deepEqual(await store.list(), []);
      }),
    );
    it(
      'creates with expected version 0 once, and reads back exactly what was written',
      withStore(async (store) => {
        const first = record('orders', 1);
        assert.equal(await store.compareAndSet(first, 0), true);
        assert.deepEqual(await store.get('orders'), first);
        assert.equal(await store.compareAndSet(record('orders', 1, { canaryWeight: 50 }), 0), false);
        assert.equal((await store.get('orders'))?.canaryWeight, 5);
      }),
    );
    it(
      'compare-and-set writes only over the expected version',
      withStore(async (store) => {
        await store.compareAndSet(record('orders', 1), 0);
        assert.equal(await store.compareAndSet(record('orders', 2, { canaryWeight: 25 }), 1), true);
        assert.equal(
          await store.compareAndSet(record('orders', 2, { canaryWeight: 50 }), 1),
          false,
          'stale writer loses',
        );
        const stored = await store.get('orders');
        assert.equal(stored?.version, 2);
        assert.equal(stored?.canaryWeight, 25);
      }),
    );
    it(
      'of two concurrent writers over one version exactly one wins',
      withStore(async (store) => {
        await store.compareAndSet(record('orders', 1), 0);
        const results = await Promise.all(
          [10, 20, 30, 40].map((w) => store.compareAndSet(record('orders', 2, { canaryWeight: w }), 1)),
        );
        assert.equal(results.filter(Boolean).length, 1);
      }),
    );
    it(
      'rejects a next version that is not expected + 1',
      withStore(async (store) => {
        await assert.rejects(store.compareAndSet(record('orders', 3), 0), RangeError);
      }),
    );
    it(
      'lists every record by name and keeps rollouts apart',
      withStore(async (store) => {
        await store.compareAndSet(record('users', 1), 0);
        await store.compareAndSet(record('orders', 1, { phase: RolloutPhase.Promoted, canaryWeight: 100 }), 0);
        const list = await store.list();
        assert.deepEqual(
          list.map((r) => [r.name, r.phase]),
          [
            ['orders', 'promoted'],
            ['users', 'progressing'],
          ],
        );
      }),
    );
    it(
      'keeps a long history intact',
      withStore(async (store) => {
        const history = Array.from({ length: MAX_ROLLOUT_HISTORY }, (_, i) => ({
          at: i,
          from: RolloutPhase.Progressing,
          to: RolloutPhase.Progressing,
          step: i,
          canaryWeight: i % 100,
          reason: `step ${i}`,
          by: 'controller:a',
        }));
        await store.compareAndSet(record('orders', 1, { history }), 0);
        assert.deepEqual((await store.get('orders'))?.history, history);
      }),
    );
    it(
      'grants a lease to one holder until it expires, renews it for that holder, and hands it over after',
      withStore(async (store) => {
        const t = 1_700_000_000_000;
        assert.equal(await store.acquireLease('orders', 'a', 1000, t), true);
        assert.equal(await store.acquireLease('orders', 'b', 1000, t + 10), false);
        assert.equal(await store.acquireLease('orders', 'a', 1000, t + 500), true, 'renewed');
        assert.equal(await store.acquireLease('orders', 'b', 1000, t + 1200), false, 'the renewal moved expiry');
        assert.equal(await store.acquireLease('users', 'b', 1000, t + 1200), true, 'leases are per rollout');
        assert.equal(await store.acquireLease('orders', 'b', 1000, t + 1501), true, 'expired lease taken over');
        assert.equal(await store.acquireLease('orders', 'a', 1000, t + 1502), false);
      }),
    );
    it(
      'releases only the holder’s own lease',
      withStore(async (store) => {
        const t = 1_700_000_000_000;
        await store.acquireLease('orders', 'a', 60_000, t);
        await store.releaseLease('orders', 'b');
        assert.equal(await store.acquireLease('orders', 'b', 60_000, t + 1), false);
        await store.releaseLease('orders', 'a');
        assert.equal(await store.acquireLease('orders', 'b', 60_000, t + 2), true);
      }),
    );
    it(
      'of concurrent lease takers exactly one wins',
      withStore(async (store) => {
        const t = 1_700_000_000_000;
        const results = await Promise.all(['a', 'b', 'c', 'd'].map((h) => store.acquireLease('orders', h, 5000, t)));
        assert.equal(results.filter(Boolean).length, 1);
      }),
    );
    it(
      'close is idempotent',
      withStore(async (store) => {
        await store.close();
        await store.close();
      }),
    );
  });
}
