import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import { Redis } from 'ioredis';
import { redisErrorCodes } from './errors.ts';
import { resolveRedisBreakerStateStoreOptions } from './options.ts';

function issues(input: unknown): { path: string; message: string }[] {
  try {
    resolveRedisBreakerStateStoreOptions(input as never);
  } catch (err) {
    assert.ok(isSwitchyardError(err, 'SY_CONFIG_INVALID'), String(err));
    return err.details.issues as { path: string; message: string }[];
  }
  assert.fail('expected SY_CONFIG_INVALID');
}

describe('resolveRedisBreakerStateStoreOptions', () => {
  it('fills in the defaults, durations in milliseconds, frozen', () => {
    const resolved = resolveRedisBreakerStateStoreOptions();
    assert.deepEqual(resolved, {
      url: 'redis://127.0.0.1:6379',
      client: undefined,
      keyPrefix: 'switchyard:breaker:',
      commandTimeoutMs: 1000,
      keyTtlMs: 3_600_000,
    });
    assert.ok(Object.isFrozen(resolved));
  });

  it('accepts duration strings and a rediss:// URL', () => {
    const resolved = resolveRedisBreakerStateStoreOptions({
      url: 'rediss://user:pw@cache.internal:6380/2',
      commandTimeout: '250ms',
      keyTtl: '10m',
      keyPrefix: 'shop:',
    });
    assert.equal(resolved.commandTimeoutMs, 250);
    assert.equal(resolved.keyTtlMs, 600_000);
    assert.equal(resolved.keyPrefix, 'shop:');
  });

  it('keeps a client passed in as it is (not frozen), without a URL', () => {
    const client = new Redis({ lazyConnect: true });
    try {
      const resolved = resolveRedisBreakerStateStoreOptions({ client });
      assert.equal(resolved.client, client);
      assert.equal(resolved.url, undefined);
      assert.equal(Object.isFrozen(client), false);
    } finally {
      client.disconnect();
    }
  });

  it('names each bad field under redis.', () => {
    assert.deepEqual(issues({ url: 'http://127.0.0.1:6379' }), [
      { path: 'redis.url', message: 'expected a redis:// or rediss:// URL, such as "redis://127.0.0.1:6379"' },
    ]);
    assert.deepEqual(issues({ commandTimeout: 0 }), [
      { path: 'redis.commandTimeout', message: 'expected a duration > 0, such as "1s"' },
    ]);
    assert.equal(issues({ keyTtl: 'soon' })[0]?.path, 'redis.keyTtl');
    assert.equal(issues({ keyPrefix: '' })[0]?.path, 'redis.keyPrefix');
    assert.deepEqual(issues({ client: { get: () => {} } }), [
      { path: 'redis.client', message: 'expected an ioredis Redis instance' },
    ]);
    assert.deepEqual(issues({ urll: 'redis://127.0.0.1' }), [
      { path: 'redis.urll', message: 'unknown field (did you mean "url"?)' },
    ]);
  });

  it('refuses url and client together', () => {
    const client = new Redis({ lazyConnect: true });
    try {
      assert.deepEqual(issues({ url: 'redis://127.0.0.1:6379', client }), [
        { path: 'redis.url', message: 'give either url or client, not both' },
      ]);
    } finally {
      client.disconnect();
    }
  });
});

describe('redisErrorCodes', () => {
  it('uses the SY_REDIS_ area', () => {
    for (const code of Object.keys(redisErrorCodes)) assert.match(code, /^SY_REDIS_[A-Z_]+$/);
  });
});
