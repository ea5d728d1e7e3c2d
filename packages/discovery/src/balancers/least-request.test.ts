import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ServiceInstance } from '@switchyard/core';
import fc from 'fast-check';
import { createInstanceStats } from '../instance-stats.ts';
import { seededRandom } from '../internal/random.ts';
import { leastRequest } from './least-request.ts';

function instance(id: string): ServiceInstance {
  return { id, service: 'orders', address: '127.0.0.1', port: 8080, tags: [], meta: {}, status: 'passing', weight: 1 };
}

describe('leastRequest (power of two choices)', () => {
  test('returns undefined for an empty list and the only instance of a one-item list', () => {
    const balancer = leastRequest({ stats: createInstanceStats() });
    assert.equal(balancer.pick([]), undefined);
    assert.equal(balancer.pick([instance('a')])?.id, 'a');
  });

  test('of the two drawn, takes the one with fewer requests in flight', () => {
    const stats = createInstanceStats();
    const list = [instance('a'), instance('b'), instance('c')];
    stats.begin(list[0] as ServiceInstance);
    // Draws a (index 0) then b: a is busier, so b.
    const draws = [0, 0];
    const balancer = leastRequest({ stats, random: () => draws.shift() ?? 0 });
    assert.equal(balancer.pick(list)?.id, 'b');
  });

  test('never picks the loaded instance while another is drawn with it (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 50 }), fc.nat(), fc.integer({ min: 1, max: 100 }), (n, seed, load) => {
        const stats = createInstanceStats();
        const list = Array.from({ length: n }, (_, i) => instance(`i${i}`));
        const loaded = list[seed % n] as ServiceInstance;
        for (let k = 0; k < load; k++) stats.begin(loaded);
        const balancer = leastRequest({ stats, random: seededRandom(seed) });
        for (let k = 0; k < 200; k++) if (balancer.pick(list) === loaded) return false;
        return true;
      }),
    );
  });

  test('keeps in-flight counts level when requests pile up', () => {
    const stats = createInstanceStats();
    const list = Array.from({ length: 10 }, (_, i) => instance(`i${i}`));
    const balancer = leastRequest({ stats, random: seededRandom(7) });
    for (let k = 0; k < 1000; k++) stats.begin(balancer.pick(list) as ServiceInstance);
    const counts = list.map((i) => stats.inFlight(i.id));
    assert.ok(Math.max(...counts) - Math.min(...counts) <= 3, `in flight: ${counts.join(', ')}`);
  });

  test('draws two distinct instances, so each of two is always compared with the other', () => {
    const stats = createInstanceStats();
    const list = [instance('a'), instance('b')];
    stats.begin(list[1] as ServiceInstance);
    const balancer = leastRequest({ stats, random: () => 0.99 });
    assert.equal(balancer.pick(list)?.id, 'a');
  });
});
