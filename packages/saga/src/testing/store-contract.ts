import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import type { SagaRecord, SagaStatus, SagaStore, SagaTransition, SagaWrite } from '../store.ts';

/** What the factory given to {@link sagaStoreContract} returns for each test. */
export interface SagaStoreFixture {
  /** A store over empty data. The suite calls `init()` on it before each test. */
  readonly store: SagaStore;
  /** Releases what the fixture created (connections, files, schemas). Runs after every test, even one that closed `store`. */
  cleanup(): Promise<void>;
  /**
   * Another store instance over the same data, as a second engine would have it (another
   * connection, pool or process view). When given, the suite checks that writes are visible
   * across instances and that concurrent claims from both never take the same saga. The
   * suite calls `init()` on it; `cleanup` must close it.
   */
  readonly second?: (() => Promise<SagaStore>) | undefined;
}

/** A base time far from 0, so `leaseUntil <= now` comparisons are real ones. */
const T0 = 1_700_000_000_000;

let idSeq = 0;
/** A saga id no other test uses, so suites may share one backing store. */
function freshId(label: string): string {
  idSeq++;
  return `contract-${label}-${idSeq}-${Math.random().toString(36).slice(2, 8)}`;
}

function record(id: string, extra: Partial<SagaRecord> = {}): SagaRecord {
  return {
    id,
    name: 'order',
    status: 'running',
    input: { orderId: id },
    outputs: {},
    meta: {},
    createdAt: T0,
    updatedAt: T0,
    version: 1,
    ...extra,
  };
}

function transition(sagaId: string, seq: number, extra: Partial<SagaTransition> = {}): SagaTransition {
  return { sagaId, seq, kind: 'step.started', at: T0 + seq, step: `step-${seq}`, attempt: 1, ...extra };
}

/** The next write of `saga`: version + 1, with the given changes and transitions. */
function next(saga: SagaRecord, extra: Partial<SagaRecord>, transitions: SagaTransition[] = []): SagaWrite {
  return { saga: { ...saga, version: saga.version + 1, updatedAt: saga.updatedAt + 1, ...extra }, transitions };
}

/** Drops `undefined` fields: a store may omit an optional field rather than keep `undefined`. */
function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isSwitchyardError(err, code), `expected ${code}, got ${String((err as Error)?.stack ?? err)}`);
    return true;
  });
}

/** Creates `count` sagas named `name`, `createdAt` T0, T0+1...; returns them oldest first. */
async function seed(store: SagaStore, count: number, extra: (i: number) => Partial<SagaRecord> = () => ({})) {
  const label = freshId('seed');
  const sagas = Array.from({ length: count }, (_, i) =>
    record(`${label}-${String(i).padStart(3, '0')}`, { createdAt: T0 + i, ...extra(i) }),
  );
  await Promise.all(sagas.map((saga) => store.create({ saga, transitions: [transition(saga.id, 1)] })));
  return sagas;
}

/**
 * The behaviour every {@link SagaStore} must show, as a `node:test` suite: lossless round
 * trips, optimistic versions (a conflict writes nothing and fails only its own write, also
 * when writes are committed together), history order, listing and paging, claims and lease
 * renewal (never the same saga to two claimers), and the lifecycle (`init` twice, `close`).
 * The memory, SQLite and PostgreSQL stores run it; a new store should too.
 *
 * Each test calls `factory` for a fresh fixture and `cleanup` afterwards.
 *
 * @param name - shown in the suite's title, e.g. `memory` or `sqlite`
 * @example
 * ```ts
 * import { createMemorySagaStore } from '@switchyard/saga';
 * import { sagaStoreContract } from '@switchyard/saga/testing';
 *
 * sagaStoreContract('memory', async () => {
 *   const store = createMemorySagaStore();
 *   return { store, cleanup: () => store.close() };
 * });
 * ```
 */
export function sagaStoreContract(name: string, factory: () => Promise<SagaStoreFixture>): void {
  /** Runs `body` with a fresh, initialised fixture, always cleaning up. */
  async function withStore(body: (store: SagaStore, fixture: SagaStoreFixture) => Promise<void>): Promise<void> {
    const fixture = await factory();
    try {
      await fixture.store.init();
      await body(fixture.store, fixture);
    } finally {
      await fixture.cleanup();
    }
  }

  /** The fixture's second store, initialised, or the first one when there is none. */
  async function secondOf(fixture: SagaStoreFixture): Promise<SagaStore> {
    if (fixture.second === undefined) return fixture.store;
    const other = await fixture.second();
    await other.init();
    return other;
  }

  describe(`SagaStore contract: ${name}`, () => {
    describe('create and get', () => {
      it('round-trips every field of the record and the transitions', () =>
        withStore(async (store) => {
          const id = freshId('round-trip');
          const saga = record(id, {
            name: 'checkout.v2',
            status: 'parked',
            input: { customer: { name: 'Zoë 李 🚀', tags: ['a', 'b'] }, amount: 12.5, none: null, ok: true, n: -3 },
            outputs: { reserve: { sku: ['x', 1, null, { deep: [[{}]] }] }, pay: 'paid ✓', zero: 0, nul: null },
            error: {
              code: 'SY_SAGA_COMPENSATION_FAILED',
              message: 'refund failed: "ü" \\ \n',
              details: { attempts: 3, nested: { why: ['timeout'] } },
              retryable: true,
            },
            parkedDirection: 'backward',
            meta: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', baggage: 'k=v' },
            createdAt: T0 + 5,
            updatedAt: T0 + 9,
            version: 7,
            owner: 'engine-a',
            leaseUntil: T0 + 30_000,
          });
          const transitions: SagaTransition[] = [
            { sagaId: id, seq: 1, kind: 'saga.started', at: T0 + 5, owner: 'engine-a' },
            transition(id, 2, { kind: 'step.done', output: { ids: [1, 2], label: 'été' } }),
            transition(id, 3, { kind: 'step.done', step: 'nothing', output: null }),
            transition(id, 4, {
              kind: 'step.failed',
              attempt: 2,
              error: { code: 'SY_SAGA_STEP_FAILED', message: 'boom' },
            }),
            { sagaId: id, seq: 5, kind: 'saga.parked', at: T0 + 9, reason: 'operator: ops@example.com' },
          ];
          await store.create({ saga, transitions });
          assert.deepEqual(await store.get(id), plain(saga));
          assert.deepEqual(await store.history(id), plain(transitions));
        }));

      it('keeps a record with no optional fields without inventing any', () =>
        withStore(async (store) => {
          const id = freshId('minimal');
          const saga = record(id, { input: null });
          await store.create({ saga, transitions: [] });
          const got = await store.get(id);
          assert.deepEqual(plain(got), plain(saga));
          for (const key of ['error', 'parkedDirection', 'owner', 'leaseUntil'] as const) {
            assert.equal(got?.[key], undefined, `${key} should be absent`);
          }
          assert.deepEqual(await store.history(id), []);
        }));

      it('returns undefined and an empty history for an unknown id', () =>
        withStore(async (store) => {
          assert.equal(await store.get(freshId('unknown')), undefined);
          assert.deepEqual(await store.history(freshId('unknown')), []);
        }));

      it('rejects a duplicate id with SY_SAGA_DUPLICATE_ID and leaves the original untouched', () =>
        withStore(async (store) => {
          const id = freshId('dup');
          const saga = record(id);
          await store.create({ saga, transitions: [transition(id, 1)] });
          await rejectsWith(
            store.create({ saga: record(id, { name: 'other', input: 'changed' }), transitions: [transition(id, 2)] }),
            'SY_SAGA_DUPLICATE_ID',
          );
          assert.deepEqual(await store.get(id), plain(saga));
          assert.deepEqual(await store.history(id), plain([transition(id, 1)]));
        }));

      it('returns copies: changing a returned record changes nothing stored', () =>
        withStore(async (store) => {
          const id = freshId('copy');
          await store.create({ saga: record(id, { outputs: { a: { n: 1 } } }), transitions: [] });
          const got = (await store.get(id)) as unknown as { outputs: Record<string, { n: number }> };
          (got.outputs.a as { n: number }).n = 99;
          assert.deepEqual((await store.get(id))?.outputs, { a: { n: 1 } });
        }));
    });

    describe('update', () => {
      it('replaces the record and appends the transitions when the version matches', () =>
        withStore(async (store) => {
          const id = freshId('update');
          const saga = record(id, { owner: 'engine-a', leaseUntil: T0 + 1000 });
          await store.create({ saga, transitions: [transition(id, 1)] });
          const write = next(
            saga,
            { status: 'compensating', outputs: { reserve: { ok: true } }, error: { code: 'X', message: 'y' } },
            [transition(id, 2, { kind: 'step.failed' }), transition(id, 3, { kind: 'saga.compensating' })],
          );
          await store.update(write, 1);
          assert.deepEqual(await store.get(id), plain(write.saga));
          assert.deepEqual(await store.history(id), plain([transition(id, 1), ...write.transitions]));
        }));

      it('can clear optional fields (error, owner, lease, parkedDirection)', () =>
        withStore(async (store) => {
          const id = freshId('clear');
          const saga = record(id, {
            status: 'parked',
            error: { code: 'X', message: 'y' },
            parkedDirection: 'forward',
            owner: 'engine-a',
            leaseUntil: T0 + 1,
          });
          await store.create({ saga, transitions: [] });
          const cleared: SagaRecord = record(id, { status: 'running', version: 2 });
          await store.update({ saga: cleared, transitions: [] }, 1);
          const got = await store.get(id);
          assert.deepEqual(plain(got), plain(cleared));
          assert.equal(got?.error, undefined);
          assert.equal(got?.owner, undefined);
        }));

      it('rejects a wrong version with SY_SAGA_CONFLICT and writes nothing', () =>
        withStore(async (store) => {
          const id = freshId('conflict');
          const saga = record(id, { version: 3 });
          await store.create({ saga, transitions: [transition(id, 1)] });
          for (const expected of [2, 4]) {
            await rejectsWith(
              store.update(next(saga, { status: 'completed' }, [transition(id, 2)]), expected),
              'SY_SAGA_CONFLICT',
            );
          }
          assert.deepEqual(await store.get(id), plain(saga));
          assert.deepEqual(await store.history(id), plain([transition(id, 1)]));
        }));

      it('rejects an unknown id with SY_SAGA_NOT_FOUND', () =>
        withStore(async (store) => {
          const id = freshId('missing');
          await rejectsWith(store.update(next(record(id), {}, [transition(id, 1)]), 1), 'SY_SAGA_NOT_FOUND');
          assert.equal(await store.get(id), undefined);
          assert.deepEqual(await store.history(id), []);
        }));

      it('keeps the history in seq order across many updates', () =>
        withStore(async (store) => {
          const id = freshId('history');
          let saga = record(id);
          await store.create({ saga, transitions: [transition(id, 1)] });
          let seq = 1;
          for (let i = 0; i < 30; i++) {
            const transitions = Array.from({ length: (i % 3) + 1 }, () => transition(id, ++seq));
            const write = next(saga, { outputs: { ...saga.outputs, [`s${i}`]: i } }, transitions);
            await store.update(write, saga.version);
            saga = write.saga;
          }
          const history = await store.history(id);
          assert.deepEqual(
            history.map((t) => t.seq),
            Array.from({ length: seq }, (_, i) => i + 1),
          );
          assert.deepEqual(await store.get(id), plain(saga));
        }));

      it('commits 100 concurrent updates of different sagas, each on its own', () =>
        withStore(async (store) => {
          const sagas = await seed(store, 100);
          const writes = sagas.map((saga, i) =>
            next(saga, { status: 'completed', outputs: { n: i } }, [
              transition(saga.id, 2, { kind: 'saga.completed' }),
            ]),
          );
          await Promise.all(writes.map((write) => store.update(write, 1)));
          for (const write of writes) {
            assert.deepEqual(await store.get(write.saga.id), plain(write.saga));
            assert.equal((await store.history(write.saga.id)).length, 2);
          }
        }));

      it('lets exactly one of two concurrent updates with the same expected version win', () =>
        withStore(async (store) => {
          const [saga] = (await seed(store, 1)) as [SagaRecord];
          const a = next(saga, { owner: 'a' }, [transition(saga.id, 2, { owner: 'a' })]);
          const b = next(saga, { owner: 'b' }, [transition(saga.id, 2, { owner: 'b' })]);
          const results = await Promise.allSettled([store.update(a, 1), store.update(b, 1)]);
          const won = results.filter((r) => r.status === 'fulfilled');
          assert.equal(won.length, 1, 'exactly one update wins');
          const lost = results.find((r) => r.status === 'rejected');
          assert.ok(isSwitchyardError(lost?.reason, 'SY_SAGA_CONFLICT'), String(lost?.reason));
          const winner = results[0]?.status === 'fulfilled' ? a : b;
          assert.deepEqual(await store.get(saga.id), plain(winner.saga));
          assert.deepEqual(await store.history(saga.id), plain([transition(saga.id, 1), ...winner.transitions]));
        }));

      it('fails only the conflicting writes among concurrent ones', () =>
        withStore(async (store) => {
          const sagas = await seed(store, 10);
          const taken = record(freshId('taken'));
          const fresh = record(freshId('fresh'));
          await store.create({ saga: taken, transitions: [] });
          const calls = [
            ...sagas.map((saga, i) =>
              store.update(next(saga, { outputs: { i } }, [transition(saga.id, 2)]), i === 3 ? 5 : 1),
            ),
            store.update(next(record(freshId('ghost')), {}), 1),
            store.create({ saga: record(taken.id, { name: 'again' }), transitions: [] }),
            store.create({ saga: fresh, transitions: [transition(fresh.id, 1)] }),
          ];
          const results = await Promise.allSettled(calls);
          const codes = results.map((r) =>
            r.status === 'fulfilled' ? 'ok' : ((r.reason as { code?: string }).code ?? String(r.reason)),
          );
          assert.deepEqual(codes, [
            ...sagas.map((_, i) => (i === 3 ? 'SY_SAGA_CONFLICT' : 'ok')),
            'SY_SAGA_NOT_FOUND',
            'SY_SAGA_DUPLICATE_ID',
            'ok',
          ]);
          assert.deepEqual(await store.get(sagas[3]?.id ?? ''), plain(sagas[3]));
          assert.equal((await store.history(sagas[3]?.id ?? '')).length, 1);
          assert.deepEqual((await store.get(sagas[4]?.id ?? ''))?.outputs, { i: 4 });
          assert.equal((await store.get(taken.id))?.name, 'order');
        }));
    });

    describe('list', () => {
      it('filters by status (one or several) and name, newest first', () =>
        withStore(async (store) => {
          const statuses: SagaStatus[] = ['running', 'completed', 'parked', 'compensating'];
          const sagas = await seed(store, 12, (i) => ({
            status: statuses[i % 4] as SagaStatus,
            name: i < 6 ? 'alpha' : 'beta',
          }));
          const ids = (page: { sagas: readonly SagaRecord[] }) => page.sagas.map((s) => s.id);
          const newestFirst = (filter: (s: SagaRecord) => boolean) =>
            sagas
              .filter(filter)
              .reverse()
              .map((s) => s.id);
          assert.deepEqual(
            ids(await store.list()),
            newestFirst(() => true),
          );
          assert.deepEqual(
            ids(await store.list({ status: 'parked' })),
            newestFirst((s) => s.status === 'parked'),
          );
          assert.deepEqual(
            ids(await store.list({ status: ['running', 'compensating'] })),
            newestFirst((s) => s.status === 'running' || s.status === 'compensating'),
          );
          assert.deepEqual(
            ids(await store.list({ name: 'beta', status: ['completed'] })),
            newestFirst((s) => s.name === 'beta' && s.status === 'completed'),
          );
          assert.deepEqual(ids(await store.list({ name: 'nope' })), []);
          assert.deepEqual(
            ids(await store.list({ status: [] })),
            newestFirst(() => true),
          );
          assert.deepEqual((await store.list()).sagas[0], plain(sagas.at(-1)));
        }));

      it('pages with a cursor over every saga exactly once, ties ordered by id', () =>
        withStore(async (store) => {
          // Three sagas share each createdAt, so the cursor must carry the id too.
          const sagas = await seed(store, 23, (i) => ({ createdAt: T0 + Math.floor(i / 3) }));
          const seen: string[] = [];
          let cursor: string | undefined;
          for (let page = 0; page < 10; page++) {
            const result = await store.list({ limit: 5, cursor });
            seen.push(...result.sagas.map((s) => s.id));
            cursor = result.nextCursor;
            if (cursor === undefined) break;
            assert.equal(result.sagas.length, 5);
          }
          assert.equal(cursor, undefined, 'the last page has no nextCursor');
          const expected = [...sagas]
            .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1))
            .map((s) => s.id);
          assert.deepEqual(seen, expected);
          const exact = await store.list({ limit: 23 });
          assert.equal(exact.sagas.length, 23);
          assert.equal(exact.nextCursor, undefined);
        }));

      it('rejects a bad cursor or limit with SY_SAGA_INVALID_QUERY', () =>
        withStore(async (store) => {
          await seed(store, 2);
          await rejectsWith(store.list({ cursor: 'not a cursor' }), 'SY_SAGA_INVALID_QUERY');
          await rejectsWith(
            store.list({ cursor: Buffer.from('{"a":1}').toString('base64url') }),
            'SY_SAGA_INVALID_QUERY',
          );
          for (const limit of [0, -1, 1.5, Number.NaN]) {
            await rejectsWith(store.list({ limit }), 'SY_SAGA_INVALID_QUERY');
          }
        }));
    });

    describe('claim and renew', () => {
      it('claims only active, unowned or expired sagas, oldest first, up to the limit', () =>
        withStore(async (store) => {
          const now = T0 + 10_000;
          const sagas = await seed(store, 9, (i) => {
            const shapes: Partial<SagaRecord>[] = [
              { status: 'running' }, // 0 claimable
              { status: 'completed' }, // 1 final
              { status: 'compensating', owner: 'old', leaseUntil: now }, // 2 lease ends exactly now: claimable
              { status: 'running', owner: 'live', leaseUntil: now + 1 }, // 3 leased
              { status: 'parked' }, // 4 parked
              { status: 'running', owner: 'dead', leaseUntil: now - 5000 }, // 5 expired
              { status: 'aborted' }, // 6
              { status: 'compensated' }, // 7
              { status: 'running' }, // 8 claimable, newest
            ];
            return shapes[i] ?? {};
          });
          const [s0, , s2, s3, , s5, , , s8] = sagas as SagaRecord[] as [
            SagaRecord,
            SagaRecord,
            SagaRecord,
            SagaRecord,
            SagaRecord,
            SagaRecord,
            SagaRecord,
            SagaRecord,
            SagaRecord,
          ];
          const first = await store.claim({ owner: 'engine-b', now, leaseUntil: now + 30_000, limit: 3 });
          assert.deepEqual(
            first.map((s) => s.id),
            [s0.id, s2.id, s5.id],
          );
          for (const claimed of first) {
            assert.equal(claimed.owner, 'engine-b');
            assert.equal(claimed.leaseUntil, now + 30_000);
            assert.equal(claimed.version, 2);
            assert.deepEqual(await store.get(claimed.id), claimed);
          }
          const rest = await store.claim({ owner: 'engine-b', now, leaseUntil: now + 30_000, limit: 10 });
          assert.deepEqual(
            rest.map((s) => s.id),
            [s8.id],
          );
          assert.deepEqual(await store.claim({ owner: 'engine-c', now, leaseUntil: now + 1, limit: 10 }), []);
          assert.equal((await store.get(s3.id))?.owner, 'live');
          assert.equal((await store.get(s3.id))?.version, 1);
        }));

      it('claims only the given names', () =>
        withStore(async (store) => {
          const sagas = await seed(store, 6, (i) => ({ name: ['a', 'b', 'c'][i % 3] as string }));
          const now = T0 + 100;
          const claimed = await store.claim({ owner: 'e', now, leaseUntil: now + 1000, limit: 10, names: ['a', 'c'] });
          assert.deepEqual(
            claimed.map((s) => s.id),
            sagas.filter((s) => s.name !== 'b').map((s) => s.id),
          );
          assert.deepEqual(await store.claim({ owner: 'e', now, leaseUntil: now + 1, limit: 10, names: [] }), []);
        }));

      it('never gives one saga to two concurrent claims', () =>
        withStore(async (store, fixture) => {
          const other = await secondOf(fixture);
          const sagas = await seed(store, 40);
          const now = T0 + 100;
          const claims = Array.from({ length: 8 }, (_, i) =>
            (i % 2 === 0 ? store : other).claim({ owner: `engine-${i}`, now, leaseUntil: now + 60_000, limit: 7 }),
          );
          const results = await Promise.all(claims);
          const ids = results.flat().map((s) => s.id);
          assert.equal(new Set(ids).size, ids.length, 'a saga was claimed twice');
          assert.deepEqual([...ids].sort(), sagas.map((s) => s.id).sort(), 'every saga claimed once');
          for (const [i, result] of results.entries()) {
            for (const saga of result) assert.equal((await other.get(saga.id))?.owner, `engine-${i}`);
          }
        }));

      it('renews only the leases the owner holds, without bumping the version', () =>
        withStore(async (store) => {
          const now = T0 + 100;
          const [a1, a2, b1] = (await seed(store, 3)) as [SagaRecord, SagaRecord, SagaRecord];
          await store.claim({ owner: 'a', now, leaseUntil: now + 1000, limit: 2 });
          await store.claim({ owner: 'b', now, leaseUntil: now + 1000, limit: 1 });
          const renewed = await store.renew('a', [a1.id, b1.id, a2.id, freshId('gone')], now + 5000);
          assert.deepEqual([...renewed].sort(), [a1.id, a2.id].sort());
          for (const id of [a1.id, a2.id]) {
            const got = await store.get(id);
            assert.equal(got?.leaseUntil, now + 5000);
            assert.equal(got?.version, 2, 'renew does not bump the version');
          }
          assert.equal((await store.get(b1.id))?.leaseUntil, now + 1000);
          assert.deepEqual(await store.renew('a', [], now + 9000), []);
        }));

      it("conflicts the old owner's update after another engine claimed the saga", () =>
        withStore(async (store, fixture) => {
          const other = await secondOf(fixture);
          const now = T0 + 100;
          const [saga] = (await seed(store, 1)) as [SagaRecord];
          const [mine] = await store.claim({ owner: 'a', now, leaseUntil: now + 1000, limit: 1 });
          assert.equal(mine?.version, 2);
          const [theirs] = await other.claim({ owner: 'b', now: now + 1000, leaseUntil: now + 9000, limit: 1 });
          assert.equal(theirs?.id, saga.id);
          assert.equal(theirs?.version, 3);
          await rejectsWith(
            store.update(next(mine as SagaRecord, { status: 'completed' }, [transition(saga.id, 2)]), 2),
            'SY_SAGA_CONFLICT',
          );
          assert.deepEqual(await store.renew('a', [saga.id], now + 99_999), []);
          await other.update(next(theirs as SagaRecord, { status: 'completed' }, [transition(saga.id, 2)]), 3);
          assert.equal((await store.get(saga.id))?.status, 'completed');
          assert.equal((await store.history(saga.id)).length, 2);
        }));
    });

    describe('lifecycle', () => {
      it('keeps the data when init() runs again', () =>
        withStore(async (store, fixture) => {
          const [saga] = (await seed(store, 1)) as [SagaRecord];
          await store.init();
          const other = await secondOf(fixture);
          await other.init();
          assert.deepEqual(await store.get(saga.id), plain(saga));
          assert.deepEqual(await other.get(saga.id), plain(saga));
        }));

      it('makes writes of one instance visible to another over the same data', () =>
        withStore(async (store, fixture) => {
          const other = await secondOf(fixture);
          const [saga] = (await seed(store, 1)) as [SagaRecord];
          const write = next(saga, { status: 'completed' }, [transition(saga.id, 2)]);
          await other.update(write, 1);
          assert.deepEqual(await store.get(saga.id), plain(write.saga));
          assert.equal((await store.history(saga.id)).length, 2);
        }));

      it('closes idempotently; later calls reject SY_SAGA_STORE_CLOSED', () =>
        withStore(async (store) => {
          const [saga] = (await seed(store, 1)) as [SagaRecord];
          await store.close();
          await store.close();
          const calls: Promise<unknown>[] = [
            store.init(),
            store.create({ saga: record(freshId('late')), transitions: [] }),
            store.update(next(saga, {}), 1),
            store.get(saga.id),
            store.history(saga.id),
            store.list(),
            store.claim({ owner: 'x', now: T0, leaseUntil: T0 + 1, limit: 1 }),
            store.renew('x', [saga.id], T0),
          ];
          for (const call of calls) await rejectsWith(call, 'SY_SAGA_STORE_CLOSED');
        }));

      it('settles writes already in flight when closed', () =>
        withStore(async (store, fixture) => {
          const sagas = Array.from({ length: 5 }, () => record(freshId('inflight')));
          const writes = sagas.map((saga) => store.create({ saga, transitions: [] }));
          const closing = store.close();
          const results = await Promise.allSettled(writes);
          await closing;
          for (const result of results) {
            if (result.status === 'rejected') assert.ok(isSwitchyardError(result.reason, 'SY_SAGA_STORE_CLOSED'));
          }
          if (fixture.second !== undefined) {
            const other = await secondOf(fixture);
            for (const [i, result] of results.entries()) {
              const stored = await other.get(sagas[i]?.id ?? '');
              assert.equal(stored !== undefined, result.status === 'fulfilled', 'a resolved create is stored');
            }
          }
        }));
    });
  });
}
