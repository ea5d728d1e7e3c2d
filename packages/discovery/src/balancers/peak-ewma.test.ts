import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock, type ServiceInstance } from '@switchyard/core';
import fc from 'fast-check';
import { createInstanceStats, type InstanceStats } from '../instance-stats.ts';
import { seededRandom } from '../internal/random.ts';
import { peakEwma } from './peak-ewma.ts';

function instance(id: string): ServiceInstance {
  return { id, service: 'orders', address: '127.0.0.1', port: 8080, tags: [], meta: {}, status: 'passing', weight: 1 };
}

/**
 * Sends `requests` one after another through `balancer`, each taking `latency(id)` ms of clock
 * time and answering `status(id)`; returns how many went to each instance.
 */
function drive(
  stats: InstanceStats,
  clock: ManualClock,
  list: readonly ServiceInstance[],
  balancer: ReturnType<typeof peakEwma>,
  requests: number,
  latency: (id: string) => number,
  status: (id: string) => number = () => 200,
): Map<string, number> {
  const counts = new Map<string, number>();
  for (let k = 0; k < requests; k++) {
    const target = balancer.pick(list) as ServiceInstance;
    counts.set(target.id, (counts.get(target.id) ?? 0) + 1);
    stats.begin(target);
    const ms = latency(target.id);
    clock.advance(ms);
    stats.end(target, { statusCode: status(target.id), latencyMs: ms });
  }
  return counts;
}

describe('peakEwma (power of two choices)', () => {
  test('returns undefined for an empty list and the only instance of a one-item list', () => {
    const balancer = peakEwma({ stats: createInstanceStats() });
    assert.equal(balancer.pick([]), undefined);
    assert.equal(balancer.pick([instance('a')])?.id, 'a');
  });

  test('shifts traffic away from an instance that turns slow', () => {
    const clock = new ManualClock(0);
    const stats = createInstanceStats({}, { clock });
    const list = [instance('a'), instance('b'), instance('c')];
    const balancer = peakEwma({ stats, random: seededRandom(1) });
    const even = drive(stats, clock, list, balancer, 300, () => 10);
    assert.ok((even.get('b') ?? 0) > 60, `before: ${JSON.stringify([...even])}`);
    const after = drive(stats, clock, list, balancer, 300, (id) => (id === 'b' ? 200 : 10));
    // One slow answer is enough to lose every comparison until its estimate decays.
    assert.ok((after.get('b') ?? 0) < 15, `after: ${JSON.stringify([...after])}`);
  });

  test('a fast-failing instance (503 in 1 ms) does not attract traffic', () => {
    const clock = new ManualClock(0);
    const stats = createInstanceStats({}, { clock });
    const list = [instance('a'), instance('b'), instance('c')];
    const balancer = peakEwma({ stats, random: seededRandom(2) });
    const counts = drive(
      stats,
      clock,
      list,
      balancer,
      600,
      (id) => (id === 'b' ? 1 : 20),
      (id) => (id === 'b' ? 503 : 200),
    );
    assert.ok((counts.get('b') ?? 0) < 30, JSON.stringify([...counts]));
  });

  test('weighs requests in flight: an idle slow instance beats a busy fast one', () => {
    const clock = new ManualClock(0);
    const stats = createInstanceStats({}, { clock });
    const [fast, slow] = [instance('fast'), instance('slow')];
    stats.begin(fast);
    stats.end(fast, { statusCode: 200, latencyMs: 10 });
    stats.begin(slow);
    stats.end(slow, { statusCode: 200, latencyMs: 40 });
    for (let k = 0; k < 5; k++) stats.begin(fast); // 10 ms x 6 = 60 > 40 x 1
    const balancer = peakEwma({ stats, random: () => 0 });
    assert.equal(balancer.pick([fast, slow])?.id, 'slow');
  });

  test('the chosen instance never has the higher load of the two drawn (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 0, max: 5 })), {
          minLength: 2,
          maxLength: 20,
        }),
        fc.nat(),
        (specs, seed) => {
          const clock = new ManualClock(0);
          const stats = createInstanceStats({}, { clock });
          const list = specs.map((_, i) => instance(`i${i}`));
          specs.forEach(([latency, pending], i) => {
            const target = list[i] as ServiceInstance;
            stats.begin(target);
            stats.end(target, { statusCode: 200, latencyMs: latency });
            for (let k = 0; k < pending; k++) stats.begin(target);
          });
          const draws: number[] = [];
          const source = seededRandom(seed);
          const random = () => {
            const r = source();
            draws.push(r);
            return r;
          };
          const balancer = peakEwma({ stats, random });
          for (let k = 0; k < 50; k++) {
            draws.length = 0;
            const picked = balancer.pick(list) as ServiceInstance;
            const i = Math.floor((draws[0] as number) * list.length);
            let j = Math.floor((draws[1] as number) * (list.length - 1));
            if (j >= i) j++;
            const a = list[i] as ServiceInstance;
            const b = list[j] as ServiceInstance;
            const other = picked === a ? b : a;
            if (stats.load(picked.id, clock.now()) > stats.load(other.id, clock.now())) return false;
          }
          return true;
        },
      ),
    );
  });
});
