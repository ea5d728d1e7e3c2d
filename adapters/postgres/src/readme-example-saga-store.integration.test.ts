// The saga store example of adapters/postgres/README.md, run as a test.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createPostgresSagaStore } from '@switchyard/adapter-postgres';
import { dropSchema, randomSchema, requirePostgres, TEST_POSTGRES_URL } from './internal/require-postgres.ts';

it('README: PostgreSQL saga store', async () => {
  await requirePostgres();
  const url = TEST_POSTGRES_URL;
  const schema = randomSchema('readme');
  try {
    // README example starts
    // Two engines (here two stores in one process) share the sagas of one schema.
    const a = createPostgresSagaStore({ url, schema });
    const b = createPostgresSagaStore({ url, schema });
    await Promise.all([a.init(), b.init()]); // concurrent init is safe

    const now = Date.now();
    const saga = {
      id: 'order-42',
      name: 'place-order',
      status: 'running',
      input: { orderId: 42 },
      outputs: {},
      meta: {},
      createdAt: now,
      updatedAt: now,
      version: 1,
    } as const;
    await a.create({ saga, transitions: [{ sagaId: saga.id, seq: 1, kind: 'saga.started', at: now }] });

    const [mine] = await a.claim({ owner: 'engine-a', now, leaseUntil: now + 30_000, limit: 10 });
    // Engine A dies without renewing; once its lease ends, engine B takes the saga over.
    const later = now + 30_000;
    const [taken] = await b.claim({ owner: 'engine-b', now: later, leaseUntil: later + 30_000, limit: 10 });
    console.log(taken?.owner, taken?.version); // engine-b 3
    // A's stale write is refused: SY_SAGA_CONFLICT.
    const stale = a.update({ saga: { ...saga, status: 'completed', version: 3 }, transitions: [] }, 2);
    await stale.catch((err: { code: string }) => console.log(err.code)); // SY_SAGA_CONFLICT
    await Promise.all([a.close(), b.close()]);
    // README example ends
    assert.equal(mine?.owner, 'engine-a');
    assert.equal(taken?.owner, 'engine-b');
    await assert.rejects(stale, { code: 'SY_SAGA_CONFLICT' });
  } finally {
    await dropSchema(schema);
  }
});
