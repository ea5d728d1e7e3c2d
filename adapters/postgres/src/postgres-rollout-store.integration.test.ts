import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import { type RolloutStore, rolloutStoreContract } from '@switchyard/gateway';
import { dropSchema, randomSchema, requirePostgres, TEST_POSTGRES_URL } from './internal/require-postgres.ts';
import { createPostgresRolloutStore } from './postgres-rollout-store.ts';

const schemas: string[] = [];
before(() => requirePostgres());
after(async () => {
  for (const schema of schemas) await dropSchema(schema);
});

rolloutStoreContract(
  'postgres',
  async () => {
    const schema = randomSchema('rollout');
    schemas.push(schema);
    return createPostgresRolloutStore({ url: TEST_POSTGRES_URL, schema }) as RolloutStore;
  },
  { describe, it },
);

describe('postgres rollout store', () => {
  it('fails with SY_POSTGRES_UNAVAILABLE when PostgreSQL is not there', async () => {
    const store = createPostgresRolloutStore({ url: 'postgres://postgres@127.0.0.1:1/test', connectTimeout: '1s' });
    try {
      await assert.rejects(store.get('orders'), (err: unknown) => isSwitchyardError(err, 'SY_POSTGRES_UNAVAILABLE'));
    } finally {
      await store.close();
    }
  });

  it('names a bad option by path', () => {
    assert.throws(
      () => createPostgresRolloutStore({ url: TEST_POSTGRES_URL, schema: '1bad' }),
      (err: unknown) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && /postgres\.schema/.test(err.message),
    );
  });
});
