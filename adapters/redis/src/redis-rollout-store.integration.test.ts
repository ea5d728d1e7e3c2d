import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import { type RolloutStore, rolloutStoreContract } from '@switchyard/gateway';
import { deleteKeys, randomPrefix, requireRedis } from './internal/require-redis.ts';
import { createRedisRolloutStore } from './redis-rollout-store.ts';

const prefixes: string[] = [];
before(() => requireRedis());
after(async () => {
  for (const prefix of prefixes) await deleteKeys(prefix);
});

rolloutStoreContract(
  'redis',
  async () => {
    const keyPrefix = randomPrefix('rollout');
    prefixes.push(keyPrefix);
    return createRedisRolloutStore({ keyPrefix }) as RolloutStore;
  },
  { describe, it },
);

describe('redis rollout store', () => {
  it('fails with SY_REDIS_UNAVAILABLE when Redis is not there, and SY_REDIS_CLOSED after close', async () => {
    const store = createRedisRolloutStore({ url: 'redis://127.0.0.1:1', commandTimeout: '500ms' });
    await assert.rejects(store.get('orders'), (err: unknown) => isSwitchyardError(err, 'SY_REDIS_UNAVAILABLE'));
    await store.close();
    await assert.rejects(store.list(), (err: unknown) => isSwitchyardError(err, 'SY_REDIS_CLOSED'));
  });

  it('names a bad option by path', () => {
    assert.throws(
      () => createRedisRolloutStore({ keyPrefix: '' }),
      (err: unknown) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && /redis\.keyPrefix/.test(err.message),
    );
  });
});
