import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import type { SagaRecord, SagaStore } from '@switchyard/saga';
import { sagaStoreContract } from '@switchyard/saga/testing';
import pg from 'pg';
import { quoteIdent } from './internal/connection.ts';
import { dropSchema, randomSchema, requirePostgres, TEST_POSTGRES_URL } from './internal/require-postgres.ts';
import { batchItem } from './internal/saga-rows.ts';
import { sagaStatements } from './internal/saga-schema.ts';
import { createPostgresSagaStore } from './postgres-saga-store.ts';

before(() => requirePostgres());

sagaStoreContract('postgres', async () => {
  const schema = randomSchema('saga');
  const open = () => createPostgresSagaStore({ url: TEST_POSTGRES_URL, schema, poolSize: 4 });
  const store = open();
  const others: SagaStore[] = [];
  return {
    store,
    second: async () => {
      const other = open();
      others.push(other);
      return other;
    },
    cleanup: async () => {
      await Promise.all([store, ...others].map((s) => s.close()));
      await dropSchema(schema);
    },
  };
});

const T0 = 1_700_000_000_000;

function saga(id: string, extra: Partial<SagaRecord> = {}): SagaRecord {
  return {
    id,
    name: 'order',
    status: 'running',
    input: { id },
    outputs: {},
    meta: {},
    createdAt: T0,
    updatedAt: T0,
    version: 1,
    ...extra,
  };
}

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('createPostgresSagaStore', () => {
  it('fails with SY_POSTGRES_UNAVAILABLE naming host:port when nothing listens', async () => {
    const port = await closedPort();
    const store = createPostgresSagaStore({ url: `postgres://postgres@127.0.0.1:${port}/test`, connectTimeout: '2s' });
    try {
      for (const call of [store.init(), store.get('x')]) {
        await assert.rejects(call, (err: unknown) => {
          assert.ok(isSwitchyardError(err, 'SY_POSTGRES_UNAVAILABLE'), String(err));
          assert.match((err as Error).message, new RegExp(`127\\.0\\.0\\.1:${port}`));
          assert.equal((err as { retryable: boolean }).retryable, true);
          return true;
        });
      }
    } finally {
      await store.close();
    }
  });

  it('rejects bad options with SY_CONFIG_INVALID naming the field', () => {
    const cases: [unknown, RegExp][] = [
      [{}, /postgres\.url: required/],
      [{ url: 'http://x' }, /postgres\.url: expected a postgres:\/\//],
      [{ url: TEST_POSTGRES_URL, schema: 'bad-name' }, /postgres\.schema: expected letters/],
      [{ url: TEST_POSTGRES_URL, poolSize: 0 }, /postgres\.poolSize/],
      [{ url: TEST_POSTGRES_URL, pool: {} }, /postgres\.pool: expected a pg Pool/],
      [{ url: TEST_POSTGRES_URL, shema: 'x' }, /postgres\.shema: unknown field \(did you mean "schema"\?\)/],
    ];
    for (const [input, pattern] of cases) {
      assert.throws(
        () => createPostgresSagaStore(input as never),
        (err: unknown) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && pattern.test((err as Error).message),
        `expected ${pattern} for ${JSON.stringify(input)}`,
      );
    }
  });

  describe('with a schema of its own', () => {
    const schema = randomSchema('saga_init');
    const stores: SagaStore[] = [];
    const open = (extra: { pool?: pg.Pool } = {}) => {
      const store =
        extra.pool === undefined
          ? createPostgresSagaStore({ url: TEST_POSTGRES_URL, schema, poolSize: 2 })
          : createPostgresSagaStore({ pool: extra.pool, schema });
      stores.push(store);
      return store;
    };
    after(async () => {
      await Promise.all(stores.map((s) => s.close()));
      await dropSchema(schema);
    });

    it('lets several stores initialise one new schema at once', async () => {
      const group = [open(), open(), open(), open()];
      await Promise.all(group.map((s) => s.init()));
      await group[0]?.create({ saga: saga('shared'), transitions: [] });
      assert.equal((await group[3]?.get('shared'))?.id, 'shared');
      const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
      await client.connect();
      try {
        const { rows } = await client.query(
          `SELECT component, version FROM "${schema}".migrations ORDER BY component, version`,
        );
        assert.deepEqual(rows, [
          { component: 'saga', version: 1 },
          { component: 'saga', version: 2 },
        ]);
      } finally {
        await client.end();
      }
    });

    it("uses a caller's pool without ending it", async () => {
      const pool = new pg.Pool({ connectionString: TEST_POSTGRES_URL, max: 2 });
      try {
        const store = open({ pool });
        await store.create({ saga: saga('pooled'), transitions: [] });
        await store.close();
        const { rows } = await pool.query(`SELECT id FROM "${schema}".sagas WHERE id = 'pooled'`);
        assert.equal(rows.length, 1);
      } finally {
        await pool.end();
      }
    });

    it('analyzes its tables as they grow, so the prepared batch is replanned for their size', async () => {
      const own = randomSchema('saga_analyze');
      const store = createPostgresSagaStore({ url: TEST_POSTGRES_URL, schema: own, poolSize: 3 });
      const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
      await client.connect();
      const analyzed = async () =>
        (
          await client.query(
            "SELECT count(*)::int AS n FROM pg_stat_user_tables WHERE schemaname = $1 AND last_analyze IS NOT NULL AND relname IN ('sagas', 'saga_transitions')",
            [own],
          )
        ).rows[0]?.n as number;
      try {
        await store.init();
        // Only the store analyzes here: autovacuum stays out of these tables.
        for (const table of ['sagas', 'saga_transitions'])
          await client.query(`ALTER TABLE "${own}".${table} SET (autovacuum_enabled = false)`);
        await Promise.all(
          Array.from({ length: 999 }, (_, i) => store.create({ saga: saga(`g-${i}`), transitions: [] })),
        );
        assert.equal(await analyzed(), 0, 'not before the first threshold');
        await store.create({ saga: saga('g-999'), transitions: [] });
        const deadline = Date.now() + 5000;
        while ((await analyzed()) < 2) {
          assert.ok(Date.now() < deadline, 'both tables analyzed after the 1,000th saga');
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      } finally {
        await store.close();
        await client.end();
        await dropSchema(own);
      }
    });

    it('plans its batch to look sagas up by key at any table size, not to scan the table', async () => {
      const own = randomSchema('saga_plan');
      const store = createPostgresSagaStore({ url: TEST_POSTGRES_URL, schema: own, poolSize: 3 });
      const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
      await client.connect();
      try {
        await store.init();
        // A few thousand sagas: the size at which a plan estimating the default 100 rows for
        // the batch preferred hashing a scan of the whole table over key lookups.
        await Promise.all(
          Array.from({ length: 3000 }, (_, i) => store.create({ saga: saga(`p-${i}`), transitions: [] })),
        );
        await client.query(`ANALYZE "${own}".sagas, "${own}".saga_transitions`);
        // The generic plan: the one a prepared statement settles on after its first executions.
        await client.query('SET plan_cache_mode = force_generic_plan');
        await client.query(`PREPARE batch (jsonb, bigint) AS ${sagaStatements(quoteIdent(own)).batch}`);
        const writes = Array.from({ length: 16 }, (_, i) =>
          batchItem(i, 'update', { saga: saga(`p-${i}`, { version: 2 }), transitions: [] }, 1),
        );
        const plan = (
          await client.query<{ 'QUERY PLAN': string }>(
            `EXPLAIN EXECUTE batch(${client.escapeLiteral(JSON.stringify(writes))}, 16)`,
          )
        ).rows
          .map((row) => row['QUERY PLAN'])
          .join('\n');
        assert.doesNotMatch(plan, /Seq Scan on sagas/, plan);
        assert.match(plan, /Index Scan using sagas_pkey on sagas/, plan);
      } finally {
        await store.close();
        await client.end();
        await dropSchema(own);
      }
    });

    it('keeps stores on two schemas apart when they share one pool (each its own prepared batch)', async () => {
      const other = randomSchema('saga_other');
      const pool = new pg.Pool({ connectionString: TEST_POSTGRES_URL, max: 1 });
      const a = createPostgresSagaStore({ pool, schema });
      const b = createPostgresSagaStore({ pool, schema: other });
      try {
        await a.init();
        await b.init();
        // One connection: both batch statements are prepared on it, under different names.
        for (let i = 0; i < 3; i++) {
          await a.create({ saga: saga(`in-a-${i}`), transitions: [] });
          await b.create({ saga: saga(`in-b-${i}`), transitions: [] });
        }
        assert.equal((await a.get('in-b-0'))?.id, undefined);
        assert.equal((await b.get('in-b-2'))?.id, 'in-b-2');
        const { rows } = await pool.query(`SELECT count(*)::int AS n FROM "${other}".sagas`);
        assert.equal(rows[0]?.n, 3);
      } finally {
        await a.close();
        await b.close();
        await pool.end();
        await dropSchema(other);
      }
    });

    it('refuses a schema migrated by a newer version', async () => {
      const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
      await client.connect();
      try {
        await client.query(
          `INSERT INTO "${schema}".migrations (component, version, name) VALUES ('saga', 99, 'future')`,
        );
        const newer = open();
        await assert.rejects(newer.init(), (err: unknown) => {
          assert.ok(isSwitchyardError(err, 'SY_POSTGRES_MIGRATION_FAILED'), String(err));
          assert.match((err as Error).message, /saga version 99, written by a newer Switchyard/);
          return true;
        });
      } finally {
        await client.query(`DELETE FROM "${schema}".migrations WHERE version = 99`);
        await client.end();
      }
    });

    it('isolates a write that breaks the batch (a duplicate transition seq)', async () => {
      const store = open();
      const ids = ['iso-1', 'iso-2', 'iso-3'];
      await Promise.all(
        ids.map((id) =>
          store.create({ saga: saga(id), transitions: [{ sagaId: id, seq: 1, kind: 'saga.started', at: T0 }] }),
        ),
      );
      const results = await Promise.allSettled(
        ids.map((id, i) =>
          store.update(
            {
              saga: saga(id, { version: 2 }),
              transitions: [{ sagaId: id, seq: i === 1 ? 1 : 2, kind: 'step.started', at: T0 }],
            },
            1,
          ),
        ),
      );
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'rejected', 'fulfilled'],
      );
      const failed = results[1] as PromiseRejectedResult;
      assert.ok(isSwitchyardError(failed.reason, 'SY_POSTGRES_QUERY_FAILED'), String(failed.reason));
      assert.equal((await store.get('iso-2'))?.version, 1, 'nothing of the failed write is kept');
      assert.equal((await store.get('iso-3'))?.version, 2);
    });
  });
});
