import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { exponentialBackoff } from './backoff.ts';
import { ManualClock } from './clock.ts';

describe('ManualClock', () => {
  it('fires timers in time order only when advanced', () => {
    const clock = new ManualClock(1000);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('b'), 200);
    clock.setTimeout(() => fired.push('a'), 100);
    const cancel = clock.setTimeout(() => fired.push('never'), 150);
    cancel();
    clock.advance(99);
    assert.deepEqual(fired, []);
    clock.advance(1);
    assert.deepEqual(fired, ['a']);
    assert.equal(clock.now(), 1100);
    clock.advance(500);
    assert.deepEqual(fired, ['a', 'b']);
    assert.equal(clock.pending, 0);
  });

  it('runs timers scheduled by timers within the same advance', () => {
    const clock = new ManualClock();
    const fired: number[] = [];
    clock.setTimeout(() => {
      fired.push(clock.now());
      clock.setTimeout(() => fired.push(clock.now()), 10);
    }, 10);
    clock.advance(25);
    assert.deepEqual(fired, [10, 20]);
  });
});

describe('exponentialBackoff', () => {
  it('grows by the factor and caps', () => {
    const delay = exponentialBackoff({ initialMs: 100, maxMs: 1000, jitter: 'none' });
    assert.deepEqual([1, 2, 3, 4, 5, 6].map(delay), [100, 200, 400, 800, 1000, 1000]);
  });

  it('full jitter stays within [0, capped exponential] (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (attempt, r) => {
        const delay = exponentialBackoff({ initialMs: 50, maxMs: 5000, random: () => r })(attempt);
        assert.ok(delay >= 0 && delay <= Math.min(5000, 50 * 2 ** (attempt - 1)));
      }),
    );
  });

  it('decorrelated jitter stays within [initial, max]', () => {
    const delay = exponentialBackoff({ initialMs: 100, maxMs: 2000, jitter: 'decorrelated', random: () => 0.99 });
    for (let i = 1; i < 20; i++) {
      const d = delay(i);
      assert.ok(d >= 100 && d <= 2000, String(d));
    }
  });
});
