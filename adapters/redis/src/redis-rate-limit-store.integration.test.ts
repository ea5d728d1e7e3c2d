/**
 * The Redis rate-limit store against the real Redis: the GCRA decisions, key expiry, errors
 * when Redis is unreachable, and a fleet of gateway processes sharing one quota exactly.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isSwitchyardError } from '@switchyard/core';
import { Redis } from 'ioredis';
import { deleteKeys, randomPrefix, requireRedis } from './internal/require-redis.ts';
import { DEFAULT_REDIS_URL } from './options.ts';
import { createRedisRateLimitStore, type RedisRateLimitStore } from './redis-rate-limit-store.ts';

const fixture = fileURLToPath(new URL('./fixtures/rate-limit-gateway.ts', import.meta.url));

interface FireResult {
  admitted: number;
  denied: number;
  failed: number;
}

/** One gateway process with a request/response channel. */
class GatewayProcess {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;
  #seq = 0;
  #pending = new Map<number, (reply: FireResult) => void>();

  constructor(prefix: string) {
    // NODE_OPTIONS (with --conditions=@switchyard/source, from scripts/test.ts) is inherited.
    this.child = spawn(process.execPath, [fixture, prefix], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    this.ready = new Promise((resolve, reject) => {
      this.child.once('error', reject);
      this.child.once('exit', (code, signal) => reject(new Error(`gateway process exited early (${code ?? signal})`)));
      this.#pending.set(0, () => resolve());
    });
    this.child.on('message', (message: FireResult & { id: number }) => {
      const settle = this.#pending.get(message.id);
      this.#pending.delete(message.id);
      settle?.(message);
    });
  }

  request(body: Record<string, unknown>, timeoutMs = 20_000): Promise<FireResult> {
    const id = ++this.#seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`gateway process did not answer ${JSON.stringify(body)} within ${timeoutMs}ms`));
      }, timeoutMs);
      this.#pending.set(id, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      this.child.send({ id, ...body });
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    await this.request({ cmd: 'close' }, 5000).catch(() => this.child.kill('SIGKILL'));
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('Redis rate-limit store', () => {
  const prefix = randomPrefix('ratelimit');
  let store: RedisRateLimitStore;
  let redis: Redis;

  before(async () => {
    await requireRedis();
    store = createRedisRateLimitStore({ keyPrefix: prefix });
    redis = new Redis(DEFAULT_REDIS_URL);
  });
  after(async () => {
    await store?.close();
    redis?.disconnect();
    await deleteKeys(prefix);
  });

  it('admits the burst, then denies with the wait; a denial writes nothing', async () => {
    const request = { limit: 10, periodMs: 3_600_000 };
    const remaining: number[] = [];
    for (let i = 0; i < 10; i++) {
      const d = await store.consume('burst', request);
      assert.equal(d.allowed, true);
      remaining.push(d.remaining);
    }
    assert.deepEqual(remaining, [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    const tat = await redis.get(`${prefix}burst`);
    const denied = await store.consume('burst', request);
    assert.equal(denied.allowed, false);
    assert.equal(denied.remaining, 0);
    assert.ok(denied.retryAfterMs > 359_000 && denied.retryAfterMs <= 360_000, String(denied.retryAfterMs));
    assert.ok(denied.resetMs > 3_599_000 && denied.resetMs <= 3_600_000, String(denied.resetMs));
    assert.equal(await redis.get(`${prefix}burst`), tat, 'a denial leaves the TAT alone');
    const ttl = await redis.pttl(`${prefix}burst`);
    assert.ok(ttl > 3_590_000 && ttl <= 3_600_000, `the key outlives its TAT by at most the tolerance (${ttl} ms)`);
  });

  it('refills at the sustained rate, timed by Redis', async () => {
    const request = { limit: 20, periodMs: 1000, burst: 1 };
    assert.equal((await store.consume('refill', request)).allowed, true);
    const denied = await store.consume('refill', request);
    assert.equal(denied.allowed, false);
    assert.ok(denied.retryAfterMs >= 1 && denied.retryAfterMs <= 50);
    await new Promise((resolve) => setTimeout(resolve, denied.retryAfterMs + 5));
    assert.equal((await store.consume('refill', request)).allowed, true);
  });

  it('cost takes several units; cost above burst is a RangeError', async () => {
    const request = { limit: 10, periodMs: 3_600_000, cost: 4 };
    assert.equal((await store.consume('cost', request)).remaining, 6);
    assert.equal((await store.consume('cost', request)).remaining, 2);
    assert.equal((await store.consume('cost', request)).allowed, false);
    await assert.rejects(store.consume('cost', { limit: 10, periodMs: 1000, cost: 11 }), RangeError);
  });

  it('a Redis that lost the script (SCRIPT FLUSH, a restart) gets it again through EVAL', async () => {
    await redis.script('FLUSH');
    const d = await store.consume('flushed', { limit: 2, periodMs: 1000 });
    assert.equal(d.allowed, true);
    assert.equal(d.remaining, 1);
    assert.equal((await store.consume('flushed', { limit: 2, periodMs: 1000 })).remaining, 0);
  });

  it('Redis unreachable: SY_REDIS_UNAVAILABLE, promptly; after close: SY_REDIS_CLOSED', async () => {
    const down = createRedisRateLimitStore({ url: `redis://127.0.0.1:${await closedPort()}`, commandTimeout: '300ms' });
    const started = Date.now();
    await assert.rejects(down.consume('k', { limit: 1, periodMs: 1000 }), (err: unknown) => {
      assert.ok(isSwitchyardError(err), String(err));
      assert.match(err.code, /^SY_REDIS_(UNAVAILABLE|TIMEOUT)$/);
      return true;
    });
    assert.ok(Date.now() - started < 3000, 'it fails fast instead of queueing');
    await down.close();
    await down.close();
    await assert.rejects(down.consume('k', { limit: 1, periodMs: 1000 }), (err: unknown) =>
      isSwitchyardError(err, 'SY_REDIS_CLOSED'),
    );
  });

  it('bad options fail with SY_CONFIG_INVALID naming the field', () => {
    assert.throws(
      () => createRedisRateLimitStore({ url: 'http://x' }),
      (err: unknown) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && /redis\.url: /.test(err.message),
    );
    assert.throws(
      () => createRedisRateLimitStore({ commandTimeout: 0 }),
      (err: unknown) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && /redis\.commandTimeout: /.test(err.message),
    );
  });

  it('four gateway processes, 5000 attempts at once on one key, limit 1000: exactly 1000 admitted, 3 trials', async () => {
    const fleet = Array.from({ length: 4 }, () => new GatewayProcess(prefix));
    try {
      await Promise.all(fleet.map((p) => p.ready));
      for (let trial = 0; trial < 3; trial++) {
        const key = `fleet:${trial}`;
        const results = await Promise.all(
          fleet.map((p) => p.request({ cmd: 'fire', key, attempts: 1250, limit: 1000, periodMs: 3_600_000 })),
        );
        const sum = (f: keyof FireResult) => results.reduce((n, r) => n + r[f], 0);
        assert.equal(sum('failed'), 0, `trial ${trial}: no decision failed`);
        assert.equal(sum('admitted'), 1000, `trial ${trial}: ${JSON.stringify(results)}`);
        assert.equal(sum('denied'), 4000);
      }
    } finally {
      await Promise.all(fleet.map((p) => p.stop()));
    }
  });
});
