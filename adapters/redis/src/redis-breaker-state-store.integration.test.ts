import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import type { BreakerReport, SharedBreakerState } from '@switchyard/resilience';
import { breakerStateStoreContract } from '@switchyard/resilience/testing';
import { Redis } from 'ioredis';
import { deleteKeys, randomPrefix, requireRedis } from './internal/require-redis.ts';
import { createRedisBreakerStateStore } from './redis-breaker-state-store.ts';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

let redisUp: Promise<void> | undefined;
/** Checked once per file; every test that needs Redis fails with how to start it. */
const needRedis = () => {
  redisUp ??= requireRedis();
  return redisUp;
};

breakerStateStoreContract('redis', async () => {
  await needRedis();
  const prefix = randomPrefix('contract');
  const store = createRedisBreakerStateStore({ keyPrefix: prefix });
  return {
    store,
    realTime: true,
    // Redis time cannot be moved: wait it out, a little longer so timers firing early don't matter.
    advance: (ms) => sleep(ms + 3),
    cleanup: async () => {
      await store.close();
      await deleteKeys(prefix);
    },
  };
});

const tripped = (replicaId: string, extra: Partial<BreakerReport> = {}): BreakerReport => ({
  replicaId,
  tripped: true,
  ttlMs: 10_000,
  quorum: { min: 2, ratio: 0.5 },
  open: { baseMs: 1000, factor: 2, maxMs: 30_000 },
  ...extra,
});

async function expectCode(promise: Promise<unknown>, code: string): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    assert.ok(isSwitchyardError(err, code), `expected ${code}, got ${String((err as Error)?.stack ?? err)}`);
    return err;
  }
  assert.fail(`expected a rejection with ${code}`);
}

/** A port on 127.0.0.1 with nothing listening. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('createRedisBreakerStateStore against Redis', () => {
  const prefix = randomPrefix('store');
  let admin: Redis;

  before(async () => {
    await needRedis();
    admin = new Redis({ lazyConnect: true, maxRetriesPerRequest: 0 });
    await admin.connect();
  });
  after(async () => {
    await deleteKeys(prefix);
    admin?.disconnect();
  });

  it('keeps one breaker in four hash-tagged keys, each expiring keyTtl after the last write', async () => {
    const store = createRedisBreakerStateStore({ keyPrefix: prefix, keyTtl: '2s' });
    try {
      await store.report('layout', tripped('a'));
      const opened = await store.report('layout', tripped('b'));
      assert.equal(opened.state, 'open');
      await sleep(opened.probeInMs + 5);
      assert.equal(
        (await store.acquireProbe('layout', { replicaId: 'a', generation: 1, maxProbes: 1, leaseMs: 300 })).granted,
        true,
      );
      const keys = (await admin.keys(`${prefix}*`)).sort();
      const base = `${prefix}{layout}`;
      assert.deepEqual(keys, [`${base}:leases`, `${base}:replicas`, `${base}:state`, `${base}:tripped`]);
      for (const key of keys) {
        const pttl = await admin.pttl(key);
        // keyTtl (2s) beyond the longest thing the key holds (a 10s replica report at most).
        assert.ok(pttl > 1000 && pttl <= 12_000, `${key} PTTL ${pttl}`);
      }
      const state = await admin.hgetall(`${base}:state`);
      assert.equal(state.open, '1');
      assert.equal(state.gen, '1');
      assert.equal(state.trips, '1');
      assert.equal((await admin.zrange(`${base}:leases`, '0', '-1'))[0], '1:a');
    } finally {
      await store.close();
    }
  });

  it('lets an abandoned breaker vanish: every key expires', async () => {
    const store = createRedisBreakerStateStore({ keyPrefix: prefix, keyTtl: '100ms' });
    try {
      await store.report('abandoned', tripped('a', { ttlMs: 100, tripped: false }));
      await store.reset('abandoned');
      const pattern = `${prefix}{abandoned}*`;
      assert.ok((await admin.keys(pattern)).length > 0);
      const deadline = Date.now() + 3000;
      while ((await admin.keys(pattern)).length > 0) {
        assert.ok(Date.now() < deadline, 'keys still there 3s after their expiry');
        await sleep(50);
      }
      const fresh = await store.read('abandoned');
      assert.equal(fresh.generation, 0);
    } finally {
      await store.close();
    }
  });

  it('watch hears transitions made by another replica (another connection)', async () => {
    const watcher = createRedisBreakerStateStore({ keyPrefix: prefix });
    const other = createRedisBreakerStateStore({ keyPrefix: prefix });
    const heard: SharedBreakerState[] = [];
    const watch = watcher.watch('watched', (state) => heard.push(state));
    try {
      const deadline = Date.now() + 3000;
      // The subscription takes a moment; transitions before it are not heard, so repeat.
      let last = await other.reset('watched');
      while (!heard.some((s) => s.generation === last.generation)) {
        assert.ok(Date.now() < deadline, 'no notification within 3s');
        await sleep(25);
        if (!heard.some((s) => s.generation === last.generation)) last = await other.reset('watched');
      }
      const opened = await other.report('watched', tripped('x'));
      assert.equal(opened.state, 'open');
      while (!heard.some((s) => s.generation === opened.generation)) {
        assert.ok(Date.now() < deadline, 'the opening was not heard within 3s');
        await sleep(10);
      }
      const note = heard.find((s) => s.generation === opened.generation);
      assert.equal(note?.state, 'open');
      assert.equal(note?.tripped, 1);
      assert.equal(note?.replicas, 1);
      assert.ok((note?.probeInMs ?? 0) > 900);
    } finally {
      watch.dispose();
      await watcher.close();
      await other.close();
    }
  });

  it('uses a client passed in, and leaves it open on close(); close() is idempotent', async () => {
    const client = new Redis({ lazyConnect: true, maxRetriesPerRequest: 0 });
    client.on('error', () => {});
    try {
      const store = createRedisBreakerStateStore({ client, keyPrefix: prefix });
      store.watch('client', () => {});
      assert.equal((await store.report('client', tripped('a'))).state, 'open');
      await Promise.all([store.close(), store.close()]);
      await store.close();
      assert.equal(await client.ping(), 'PONG');
      const err = await expectCode(store.read('client'), 'SY_REDIS_CLOSED');
      assert.match(err.message, /closed/);
      const watch = store.watch('client', () => assert.fail('closed stores notify nobody'));
      watch.dispose();
    } finally {
      client.disconnect();
    }
  });

  it('await using closes the store', async () => {
    let store: ReturnType<typeof createRedisBreakerStateStore> | undefined;
    {
      await using s = createRedisBreakerStateStore({ keyPrefix: prefix });
      store = s;
      await s.read('dispose');
    }
    await expectCode(store.read('dispose'), 'SY_REDIS_CLOSED');
  });

  it('reports a Redis error reply as SY_REDIS_COMMAND_FAILED', async () => {
    const store = createRedisBreakerStateStore({ keyPrefix: prefix });
    try {
      await admin.set(`${prefix}{wrongtype}:state`, 'not a hash');
      const err = await expectCode(store.read('wrongtype'), 'SY_REDIS_COMMAND_FAILED');
      assert.match(err.message, /WRONGTYPE/);
      assert.equal((err as { retryable?: boolean }).retryable, false);
    } finally {
      await store.close();
    }
  });
});

describe('createRedisBreakerStateStore without Redis', () => {
  it('fails fast with SY_REDIS_UNAVAILABLE when nothing listens, and hides the password', async () => {
    const port = await closedPort();
    const store = createRedisBreakerStateStore({ url: `redis://:s3cret@127.0.0.1:${port}`, commandTimeout: '3s' });
    try {
      const started = Date.now();
      const err = await expectCode(store.read('down'), 'SY_REDIS_UNAVAILABLE');
      assert.ok(Date.now() - started < 2500, `took ${Date.now() - started}ms`);
      assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
      assert.doesNotMatch(err.message, /s3cret/);
      assert.doesNotMatch(JSON.stringify(err), /s3cret/);
      assert.equal((err as { retryable?: boolean }).retryable, true);
      assert.deepEqual((err as { details?: unknown }).details, {
        operation: 'read',
        breaker: 'down',
        redis: `redis://:***@127.0.0.1:${port}`,
      });
    } finally {
      await store.close();
    }
  });

  it('fails with SY_REDIS_TIMEOUT when Redis does not answer within commandTimeout', async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    const store = createRedisBreakerStateStore({ url: `redis://127.0.0.1:${port}`, commandTimeout: '200ms' });
    try {
      const started = Date.now();
      const err = await expectCode(store.read('silent'), 'SY_REDIS_TIMEOUT');
      const took = Date.now() - started;
      assert.ok(took >= 190 && took < 2000, `took ${took}ms`);
      assert.match(err.message, /within 200ms/);
      assert.equal((err as { details?: { timeoutMs?: number } }).details?.timeoutMs, 200);
    } finally {
      await store.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('validates its options before connecting', () => {
    assert.throws(
      () => createRedisBreakerStateStore({ url: 'http://127.0.0.1:6379' }),
      (err: unknown) =>
        isSwitchyardError(err, 'SY_CONFIG_INVALID') && /redis\.url: expected a redis:\/\//.test(err.message),
    );
  });
});
