import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '@switchyard/core';
import fc from 'fast-check';
import { gcra } from './gcra.ts';
import { createMemoryRateLimitStore } from './memory-store.ts';

const setup = (maxKeys?: number) => {
  const clock = new ManualClock(1_000_000);
  const store = createMemoryRateLimitStore(maxKeys === undefined ? { clock } : { clock, maxKeys });
  return { clock, store };
};

describe('GCRA', () => {
  test('a fresh key admits `burst` at once, then denies with the exact wait', async () => {
    const { store } = setup();
    const request = { limit: 10, periodMs: 1000 };
    const remaining: number[] = [];
    for (let i = 0; i < 10; i++) {
      const d = await store.consume('k', request);
      assert.equal(d.allowed, true);
      assert.equal(d.retryAfterMs, 0);
      remaining.push(d.remaining);
    }
    assert.deepEqual(remaining, [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    const denied = await store.consume('k', request);
    assert.deepEqual(denied, { allowed: false, remaining: 0, resetMs: 1000, retryAfterMs: 100 });
  });

  test('steady rate: one request per emission interval always passes, one faster does not', async () => {
    const { clock, store } = setup();
    const request = { limit: 5, periodMs: 1000, burst: 1 };
    for (let i = 0; i < 20; i++) {
      assert.equal((await store.consume('k', request)).allowed, true, `request ${i}`);
      const early = await store.consume('k', request);
      assert.equal(early.allowed, false);
      assert.equal(early.retryAfterMs, 200);
      clock.advance(200);
    }
  });

  test('refill: after the retry-after the request passes, a millisecond earlier it does not', async () => {
    const { clock, store } = setup();
    const request = { limit: 3, periodMs: 3000 };
    for (let i = 0; i < 3; i++) await store.consume('k', request);
    const denied = await store.consume('k', request);
    assert.equal(denied.retryAfterMs, 1000);
    clock.advance(999);
    assert.equal((await store.consume('k', request)).allowed, false);
    clock.advance(1);
    const admitted = await store.consume('k', request);
    assert.equal(admitted.allowed, true);
    assert.equal(admitted.remaining, 0);
    clock.advance(3000);
    assert.equal((await store.consume('k', request)).remaining, 2, 'full again after a whole period');
  });

  test('burst below limit: fewer at once, same sustained rate', async () => {
    const { clock, store } = setup();
    const request = { limit: 100, periodMs: 1000, burst: 5 };
    let admitted = 0;
    for (let i = 0; i < 20; i++) if ((await store.consume('k', request)).allowed) admitted++;
    assert.equal(admitted, 5);
    clock.advance(50);
    admitted = 0;
    for (let i = 0; i < 20; i++) if ((await store.consume('k', request)).allowed) admitted++;
    assert.equal(admitted, 5, '50 ms refills 5 at 100/s');
  });

  test('cost takes several units; more than burst is a RangeError', async () => {
    const { store } = setup();
    const request = { limit: 10, periodMs: 1000, cost: 4 };
    assert.equal((await store.consume('k', request)).remaining, 6);
    assert.equal((await store.consume('k', request)).remaining, 2);
    const denied = await store.consume('k', request);
    assert.equal(denied.allowed, false);
    assert.equal(denied.retryAfterMs, 200, 'two more units are needed, 100 ms each');
    await assert.rejects(store.consume('k', { limit: 10, periodMs: 1000, cost: 11 }), RangeError);
  });

  test('quota semantics: limit 1000 per hour admits exactly 1000 of 5000 fired at once', async () => {
    const { store } = setup();
    const request = { limit: 1000, periodMs: 3_600_000 };
    const decisions = await Promise.all(Array.from({ length: 5000 }, () => store.consume('k', request)));
    assert.equal(decisions.filter((d) => d.allowed).length, 1000);
  });

  test('any limit and period: a burst at the current epoch admits exactly `limit` (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 500 }), fc.integer({ min: 1, max: 10_000_000 }), (limit, periodMs) => {
        let tat: number | undefined;
        let admitted = 0;
        for (let i = 0; i < limit + 3; i++) {
          const step = gcra(tat, 1_764_000_000_000_000, { limit, periodMs });
          if (step.decision.allowed) admitted++;
          tat = step.tatUs ?? tat;
        }
        return admitted === limit;
      }),
    );
  });

  test('keys are independent; keys full again are swept; maxKeys evicts the least recent', async () => {
    const { clock, store } = setup(2);
    const request = { limit: 1, periodMs: 1000 };
    assert.equal((await store.consume('a', request)).allowed, true);
    assert.equal((await store.consume('b', request)).allowed, true);
    assert.equal((await store.consume('a', request)).allowed, false);
    assert.equal(store.size, 2);
    assert.equal((await store.consume('c', request)).allowed, true);
    assert.equal(store.size, 2, 'a was evicted');
    assert.equal((await store.consume('a', request)).allowed, true, 'an evicted key starts afresh');
    clock.advance(10_000);
    await store.consume('d', request);
    assert.equal(store.size, 1, 'the sweep dropped every key whose quota was full again');
    assert.throws(() => createMemoryRateLimitStore({ maxKeys: 0 }), RangeError);
  });
});
