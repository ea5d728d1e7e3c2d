import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSwitchyardError, ManualClock } from '@switchyard/core';
import fc from 'fast-check';
import { createRetryBudget, isRetryBudget } from './retry-budget.ts';

function withdrawAll(budget: { tryWithdraw(): boolean }, limit = 10_000): number {
  let n = 0;
  while (n < limit && budget.tryWithdraw()) n++;
  return n;
}

describe('createRetryBudget', () => {
  it('defaults to ratio 0.2, 10 retries per second, ttl 10s', () => {
    const budget = createRetryBudget({}, { clock: new ManualClock() });
    assert.deepEqual(budget.options, { ratio: 0.2, minRetriesPerSecond: 10, ttlMs: 10_000 });
    assert.equal(budget.balance, 100, 'the floor: 10/s over 10s');
    assert.ok(isRetryBudget(budget));
  });

  it('grants the floor with no traffic, then refuses', () => {
    const budget = createRetryBudget({ minRetriesPerSecond: 2, ttl: '5s' }, { clock: new ManualClock() });
    assert.equal(withdrawAll(budget), 10);
    assert.equal(budget.tryWithdraw(), false);
    assert.equal(budget.balance, 0);
  });

  it('adds ratio × calls on top of the floor', () => {
    const budget = createRetryBudget({ ratio: 0.2, minRetriesPerSecond: 0 }, { clock: new ManualClock() });
    for (let i = 0; i < 10; i++) budget.deposit();
    assert.equal(budget.balance, 2);
    assert.equal(withdrawAll(budget), 2);
    for (let i = 0; i < 4; i++) budget.deposit();
    assert.equal(budget.tryWithdraw(), false, '0.8 of a retry is not a retry');
    budget.deposit();
    assert.equal(budget.tryWithdraw(), true);
  });

  it('forgets deposits and withdrawals after ttl, so it refills over time', () => {
    const clock = new ManualClock();
    const budget = createRetryBudget({ ratio: 0.5, minRetriesPerSecond: 0.1, ttl: '10s' }, { clock });
    for (let i = 0; i < 20; i++) budget.deposit();
    assert.equal(budget.balance, 11);
    assert.equal(withdrawAll(budget), 11);
    clock.advance(5000);
    assert.equal(budget.balance, 0, 'still within the window');
    clock.advance(5000);
    // Deposits and withdrawals of the first bucket have expired: only the floor is left.
    assert.equal(budget.balance, 1);
    clock.advance(60_000);
    assert.equal(budget.balance, 1);
  });

  it('expires the window a bucket at a time', () => {
    const clock = new ManualClock();
    const budget = createRetryBudget({ ratio: 1, minRetriesPerSecond: 0, ttl: '10s' }, { clock });
    budget.deposit(); // t = 0
    clock.advance(4000);
    budget.deposit(); // t = 4000
    assert.equal(budget.balance, 2);
    clock.advance(6000); // t = 10000: the first deposit is out
    assert.equal(budget.balance, 1);
    clock.advance(4000); // t = 14000: the second too
    assert.equal(budget.balance, 0);
  });

  it('never lets retries exceed floor + ratio × calls within one ttl (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ dt: fc.integer({ min: 0, max: 3000 }), deposit: fc.boolean() }), { maxLength: 200 }),
        fc.double({ min: 0, max: 2, noNaN: true }),
        (steps, ratio) => {
          const clock = new ManualClock();
          const budget = createRetryBudget({ ratio, minRetriesPerSecond: 1, ttl: '10s' }, { clock });
          const deposits: number[] = [];
          const withdrawals: number[] = [];
          for (const step of steps) {
            clock.advance(step.dt);
            if (step.deposit) {
              budget.deposit();
              deposits.push(clock.now());
            } else if (budget.tryWithdraw()) {
              withdrawals.push(clock.now());
            }
            assert.ok(budget.balance >= 0);
            // Buckets are 1s wide, so a count lives between 9s and 10s: retries granted over
            // the last 9s stay within the floor plus what the calls of the last 11s fund.
            const now = clock.now();
            const granted = withdrawals.filter((t) => t > now - 9000).length;
            const funded = 10 + (Math.round(ratio * 1000) * deposits.filter((t) => t > now - 11_000).length) / 1000;
            assert.ok(granted <= funded + 1e-9, `${granted} retries granted, ${funded} funded`);
          }
        },
      ),
    );
  });

  it('rejects malformed options naming the field', () => {
    for (const [input, path] of [
      [{ ratio: -1 }, 'resilience.retryBudget.ratio'],
      [{ minRetriesPerSecond: -1 }, 'resilience.retryBudget.minRetriesPerSecond'],
      [{ ttl: '100ms' }, 'resilience.retryBudget.ttl'],
      [{ ttl: '2m' }, 'resilience.retryBudget.ttl'],
      [{ raito: 0.1 }, 'did you mean "ratio"'],
    ] as const) {
      assert.throws(
        () => createRetryBudget(input as never),
        (err) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && err.message.includes(path),
        path,
      );
    }
  });
});
