import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { exponentialBackoff } from './backoff.ts';

const unit = fc.double({ min: 0, max: 0.999999, noNaN: true });

describe('exponentialBackoff', () => {
  it('grows by the factor and caps', () => {
    const delay = exponentialBackoff({ initialMs: 100, maxMs: 1000, jitter: 'none' });
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map((n) => delay(n)),
      [100, 200, 400, 800, 1000, 1000],
    );
  });

  it('uses the factor given', () => {
    const delay = exponentialBackoff({ initialMs: 10, maxMs: 10_000, factor: 3, jitter: 'none' });
    assert.deepEqual(
      [1, 2, 3].map((n) => delay(n)),
      [10, 30, 90],
    );
  });

  it('full jitter stays within [0, capped exponential] (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), unit, (attempt, r) => {
        const delay = exponentialBackoff({ initialMs: 50, maxMs: 5000, random: () => r })(attempt);
        assert.ok(delay >= 0 && delay <= Math.min(5000, 50 * 2 ** (attempt - 1)));
      }),
    );
  });

  it('decorrelated jitter stays within [initial, 3 × previous] capped at max (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 100_000 }),
        fc.array(unit, { minLength: 1, maxLength: 30 }),
        (initial, span, draws) => {
          const max = initial + span;
          let i = 0;
          const delay = exponentialBackoff({
            initialMs: initial,
            maxMs: max,
            jitter: 'decorrelated',
            random: () => draws[i++ % draws.length] as number,
          });
          let previous: number | undefined;
          for (let attempt = 1; attempt <= draws.length; attempt++) {
            const d = delay(attempt, previous);
            const upper = Math.min(max, 3 * (previous ?? initial));
            assert.ok(d >= initial && d <= upper, `attempt ${attempt}: ${d} not in [${initial}, ${upper}]`);
            previous = d;
          }
        },
      ),
    );
  });

  it('keeps no state: concurrent sequences sharing one function do not disturb each other', () => {
    const delay = exponentialBackoff({ initialMs: 100, maxMs: 100_000, jitter: 'decorrelated', random: () => 0.99 });
    const alone: number[] = [];
    let previous: number | undefined;
    for (let attempt = 1; attempt <= 5; attempt++) {
      previous = delay(attempt, previous);
      alone.push(previous);
    }

    // Two sequences interleaved on the same function get the same schedule as one alone.
    const a: number[] = [];
    const b: number[] = [];
    let pa: number | undefined;
    let pb: number | undefined;
    for (let attempt = 1; attempt <= 5; attempt++) {
      pa = delay(attempt, pa);
      pb = delay(attempt, pb);
      a.push(pa);
      b.push(pb);
    }
    assert.deepEqual(a, alone);
    assert.deepEqual(b, alone);
    assert.equal(delay(1), delay(1), 'same inputs, same delay');
  });

  it('decorrelated without previousMs grows from the capped exponential of the attempt before', () => {
    const delay = exponentialBackoff({ initialMs: 100, maxMs: 10_000, jitter: 'decorrelated', random: () => 0.999999 });
    // attempt 4: previous stands in as 100 × 2^2 = 400, so the upper bound is 1200.
    assert.equal(delay(4), 1199);
    assert.equal(delay(1), 299);
  });
});
