import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isSwitchyardError, ManualClock, type ServiceInstance } from '@switchyard/core';
import fc from 'fast-check';
import { BalancerKind, createBalancer } from './balancer.ts';
import { createInstanceStats, type InstanceStats } from './instance-stats.ts';
import { seededRandom } from './internal/random.ts';
import {
  createOutlierDetector,
  type EjectionEvent,
  resolveOutlierDetectionOptions,
  withOutlierDetection,
} from './outlier-ejection.ts';

function instance(id: string): ServiceInstance {
  return { id, service: 'orders', address: '127.0.0.1', port: 8080, tags: [], meta: {}, status: 'passing', weight: 1 };
}

function pool(n: number): ServiceInstance[] {
  return Array.from({ length: n }, (_, i) => instance(`i${i}`));
}

function fail(stats: InstanceStats, target: ServiceInstance, times: number, statusCode = 503): void {
  for (let k = 0; k < times; k++) {
    stats.begin(target);
    stats.end(target, { statusCode, latencyMs: 1 });
  }
}

function setup(options = {}) {
  const clock = new ManualClock(0);
  const stats = createInstanceStats({}, { clock });
  const detector = createOutlierDetector(options, { stats });
  return { clock, stats, detector };
}

const ids = (list: readonly ServiceInstance[]) => list.map((i) => i.id);

describe('createOutlierDetector', () => {
  test('returns the same list, unchanged, while nothing is ejected', () => {
    const { detector, stats } = setup();
    const list = pool(3);
    fail(stats, list[0] as ServiceInstance, 4);
    assert.equal(detector.usable(list), list);
    assert.equal(detector.usable([]).length, 0);
  });

  test('ejects after consecutive 5xx and lets the instance back after the base time', () => {
    const { detector, stats, clock } = setup({ consecutiveFailures: 5, baseEjectionTime: '30s' });
    const list = pool(3);
    fail(stats, list[1] as ServiceInstance, 5);
    assert.deepEqual(ids(detector.usable(list)), ['i0', 'i2']);
    assert.ok(detector.isEjected('i1'));
    clock.advance(29_999);
    assert.deepEqual(ids(detector.usable(list)), ['i0', 'i2']);
    clock.advance(1);
    assert.equal(detector.usable(list), list);
    assert.equal(stats.get('i1')?.consecutiveFailures, 0);
  });

  test('connection failures count like 5xx; a success in between resets the run', () => {
    const { detector, stats } = setup({ consecutiveFailures: 3 });
    const list = pool(3);
    const target = list[0] as ServiceInstance;
    fail(stats, target, 2);
    stats.end(target, { statusCode: 200, latencyMs: 1 });
    fail(stats, target, 2, 500);
    assert.equal(detector.usable(list), list);
    stats.end(target, { error: new Error('ECONNREFUSED'), latencyMs: 1 });
    assert.deepEqual(ids(detector.usable(list)), ['i1', 'i2']);
  });

  test('each ejection lasts base x ejection count, capped at the max ejection time', () => {
    const { detector, stats, clock } = setup({
      consecutiveFailures: 1,
      baseEjectionTime: '10s',
      maxEjectionTime: '25s',
      interval: '1h',
    });
    const events: EjectionEvent[] = [];
    using _ = detector.onEjection((e) => events.push(e));
    const list = pool(2);
    const target = list[0] as ServiceInstance;
    for (let round = 0; round < 3; round++) {
      fail(stats, target, 1);
      detector.usable(list);
      clock.advance((events.at(-1)?.until ?? 0) - clock.now());
      assert.equal(detector.usable(list), list);
    }
    assert.deepEqual(
      events.map((e) => e.ejections),
      [1, 2, 3],
    );
    assert.deepEqual(
      events.map((e, i) => e.until - ([0, 10_000, 30_000][i] ?? 0)),
      [10_000, 20_000, 25_000],
    );
  });

  test('the ejection count decays by one per interval the instance stays in', () => {
    const { detector, stats, clock } = setup({ consecutiveFailures: 1, baseEjectionTime: '10s', interval: '10s' });
    const list = pool(2);
    const target = list[0] as ServiceInstance;
    fail(stats, target, 1);
    detector.usable(list);
    clock.advance(10_000);
    detector.usable(list); // returns at 10s
    fail(stats, target, 1);
    detector.usable(list);
    assert.equal(stats.get('i0')?.ejections, 2);
    clock.advance(20_000); // back at 30s
    detector.usable(list);
    clock.advance(20_000); // two intervals in: the count is back to 0
    const events: EjectionEvent[] = [];
    using _ = detector.onEjection((e) => events.push(e));
    fail(stats, target, 1);
    detector.usable(list);
    assert.deepEqual(events, [{ id: 'i0', ejections: 1, until: 60_000 }]);
  });

  test('never ejects more than the max percentage, but at least one, and never the last', () => {
    const cases: [n: number, failing: number, percent: number, ejected: number][] = [
      [10, 3, 10, 1],
      [20, 5, 10, 2],
      [3, 3, 10, 1],
      [4, 4, 100, 3],
      [1, 1, 100, 0],
      [5, 2, 0, 0],
    ];
    for (const [n, failing, percent, ejected] of cases) {
      const { detector, stats } = setup({ maxEjectionPercent: percent });
      const list = pool(n);
      for (let i = 0; i < failing; i++) fail(stats, list[i] as ServiceInstance, 5);
      assert.equal(n - detector.usable(list).length, ejected, `n=${n} failing=${failing} percent=${percent}`);
    }
  });

  test('ejects the waiting instance once a slot frees up', () => {
    const { detector, stats, clock } = setup({ baseEjectionTime: '10s' });
    const list = pool(5);
    fail(stats, list[0] as ServiceInstance, 5);
    fail(stats, list[1] as ServiceInstance, 5);
    assert.deepEqual(ids(detector.usable(list)), ['i1', 'i2', 'i3', 'i4']);
    clock.advance(10_000);
    assert.deepEqual(ids(detector.usable(list)), ['i0', 'i2', 'i3', 'i4']);
  });

  test('ejected count stays within the limit and the pool never empties (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 0, max: 100 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 20_000 })), { maxLength: 60 }),
        (n, percent, steps) => {
          const { detector, stats, clock } = setup({ consecutiveFailures: 2, maxEjectionPercent: percent });
          const list = pool(n);
          const limit = percent === 0 ? 0 : Math.min(n - 1, Math.max(1, Math.floor((n * percent) / 100)));
          for (const [which, wait] of steps) {
            fail(stats, list[which % n] as ServiceInstance, 2);
            clock.advance(wait);
            const usable = detector.usable(list);
            if (usable.length === 0 || n - usable.length > limit) return false;
          }
          return true;
        },
      ),
    );
  });

  test('a balancer wrapped with the detector never picks an ejected instance, then picks it again', () => {
    const { detector, stats, clock } = setup({ consecutiveFailures: 2, baseEjectionTime: '5s' });
    const list = pool(3);
    for (const balancer of [
      withOutlierDetection(createBalancer(BalancerKind.RoundRobin), detector),
      createBalancer(BalancerKind.LeastRequest, { outliers: detector, random: seededRandom(3) }),
    ]) {
      assert.equal(balancer.stats, stats);
      fail(stats, list[0] as ServiceInstance, 2);
      const picked = new Set(Array.from({ length: 12 }, () => balancer.pick(list)?.id));
      assert.ok(!picked.has('i0'), [...picked].join());
      clock.advance(5_000 * (stats.get('i0')?.ejections ?? 1));
      const later = new Set(Array.from({ length: 12 }, () => balancer.pick(list)?.id));
      assert.ok(later.has('i0'), [...later].join());
    }
  });

  test('listeners can be removed', () => {
    const { detector, stats } = setup({ consecutiveFailures: 1 });
    let calls = 0;
    const subscription = detector.onEjection(() => calls++);
    using _throws = detector.onEjection(() => {
      throw new Error('listener bug');
    });
    subscription[Symbol.dispose]();
    fail(stats, instance('i0'), 1);
    detector.usable(pool(2));
    assert.equal(calls, 0);
    assert.ok(detector.isEjected('i0'));
    assert.equal(detector.isEjected('unknown'), false);
  });

  test('rejects bad options naming the field path', () => {
    assert.throws(
      () => resolveOutlierDetectionOptions({ maxEjectionPercent: 150 }),
      (err) =>
        isSwitchyardError(err, 'SY_CONFIG_INVALID') &&
        /discovery\.outlierDetection\.maxEjectionPercent: /.test(err.message),
    );
    assert.throws(
      () => createOutlierDetector({ consecutiveFailures: 0 }, { stats: createInstanceStats() }),
      (err) =>
        isSwitchyardError(err, 'SY_CONFIG_INVALID') &&
        /discovery\.outlierDetection\.consecutiveFailures: /.test(err.message),
    );
    assert.equal(resolveOutlierDetectionOptions({ baseEjectionTime: '10s' }).baseEjectionTimeMs, 10_000);
  });
});
