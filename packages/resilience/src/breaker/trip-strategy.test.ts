import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ConsecutiveFailures } from './consecutive.ts';
import { CountWindow } from './count-window.ts';
import { openPeriodMs } from './open-period.ts';
import { windowTrips } from './strategy.ts';
import { TimeWindow } from './time-window.ts';
import { createTripStrategy } from './trip-strategy.ts';

describe('ConsecutiveFailures', () => {
  it('trips at the threshold; a success resets the run', () => {
    const s = new ConsecutiveFailures(2);
    assert.equal(s.record(true), false);
    assert.equal(s.record(false), false);
    assert.equal(s.record(true), false);
    assert.equal(s.record(true), true);
    assert.deepEqual(s.stats(), { calls: 4, failures: 3, slowCalls: 0, consecutiveFailures: 2 });
    s.reset();
    assert.deepEqual(s.stats(), { calls: 0, failures: 0, slowCalls: 0, consecutiveFailures: 0 });
  });
});

describe('windowTrips', () => {
  it('needs minimumCalls, then compares rates at or above the threshold', () => {
    assert.equal(windowTrips(0, 0, 0, 0, 0.5, undefined), false);
    assert.equal(windowTrips(4, 4, 0, 5, 0.5, undefined), false);
    assert.equal(windowTrips(10, 5, 0, 5, 0.5, undefined), true);
    assert.equal(windowTrips(10, 4, 0, 5, 0.5, undefined), false);
    assert.equal(windowTrips(10, 0, 8, 5, 0.5, 0.8), true);
    assert.equal(windowTrips(10, 0, 7, 5, 0.5, 0.8), false);
    assert.equal(windowTrips(10, 0, 10, 5, 0.5, undefined), false, 'slow calls untracked');
  });

  it('does not miss a threshold to float rounding (3 of 10 at 0.3)', () => {
    assert.equal(windowTrips(10, 3, 0, 1, 0.3, undefined), true);
    assert.equal(windowTrips(10, 7, 0, 1, 0.7, undefined), true);
  });
});

describe('CountWindow', () => {
  it('counts the last `size` calls exactly (model check)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.array(fc.tuple(fc.boolean(), fc.boolean()), { maxLength: 60 }),
        (size, calls) => {
          const w = new CountWindow({ type: 'count', size, minimumCalls: 1, failureRate: 1 });
          calls.forEach(([failure, slow]) => {
            w.record(failure, slow);
          });
          const last = calls.slice(-size);
          const stats = w.stats();
          assert.equal(stats.calls, last.length);
          assert.equal(stats.failures, last.filter(([f]) => f).length);
          assert.equal(stats.slowCalls, last.filter(([, s]) => s).length);
        },
      ),
    );
  });

  it('reset() empties it', () => {
    const w = new CountWindow({ type: 'count', size: 3, minimumCalls: 1, failureRate: 0.5 });
    assert.equal(w.record(true, false), true);
    w.reset();
    assert.deepEqual(w.stats(), { calls: 0, failures: 0, slowCalls: 0, consecutiveFailures: 0 });
    assert.equal(w.record(false, false), false);
  });
});

describe('TimeWindow', () => {
  const options = { type: 'time', windowMs: 1000, buckets: 4, minimumCalls: 1, failureRate: 1 } as const;

  it('counts the calls of the last `buckets` bucket epochs (model check)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 700 }), fc.boolean()), { maxLength: 40 }), (steps) => {
        let now = 5000;
        const w = new TimeWindow(options, now);
        const log: Array<[number, boolean]> = [];
        for (const [advance, failure] of steps) {
          now += advance;
          w.record(failure, false, now);
          log.push([now, failure]);
        }
        const epoch = Math.floor(now / 250);
        const inWindow = log.filter(([t]) => Math.floor(t / 250) > epoch - 4);
        const stats = w.stats(now);
        assert.equal(stats.calls, inWindow.length);
        assert.equal(stats.failures, inWindow.filter(([, f]) => f).length);
      }),
    );
  });

  it('keeps counting into the current bucket when the clock steps back', () => {
    const w = new TimeWindow(options, 10_000);
    w.record(true, false, 10_000);
    w.record(true, false, 9_000);
    assert.equal(w.stats(10_000).calls, 2);
  });

  it('is built by createTripStrategy for each trip type', () => {
    assert.ok(createTripStrategy({ type: 'consecutive', failures: 1 }, 0) instanceof ConsecutiveFailures);
    assert.ok(
      createTripStrategy({ type: 'count', size: 1, minimumCalls: 1, failureRate: 1 }, 0) instanceof CountWindow,
    );
    assert.ok(createTripStrategy(options, 0) instanceof TimeWindow);
  });
});

describe('openPeriodMs', () => {
  it('grows by factor per trip, capped, in whole milliseconds', () => {
    const open = { baseMs: 1000, factor: 1.5, maxMs: 3000 };
    assert.deepEqual(
      [1, 2, 3, 4].map((t) => openPeriodMs(open, t)),
      [1000, 1500, 2250, 3000],
    );
    assert.equal(openPeriodMs({ baseMs: 500, factor: 1, maxMs: 500 }, 9), 500);
    assert.equal(openPeriodMs({ baseMs: 1000, factor: 2, maxMs: 60_000 }, 10_000), 60_000, 'no overflow to Infinity');
  });
});
