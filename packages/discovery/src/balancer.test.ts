import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ServiceInstance } from '@switchyard/core';
import fc from 'fast-check';
import { BalancerKind, balancerKinds, createBalancer, randomBalancer, roundRobin } from './balancer.ts';
import { createInstanceStats } from './instance-stats.ts';

function instance(id: string, weight = 1): ServiceInstance {
  return { id, service: 'orders', address: '127.0.0.1', port: 8080, tags: [], meta: {}, status: 'passing', weight };
}

describe('roundRobin', () => {
  test('returns undefined for an empty list', () => {
    assert.equal(roundRobin().pick([]), undefined);
  });

  test('alternates over the instances in order', () => {
    const rr = roundRobin();
    const list = [instance('a'), instance('b'), instance('c')];
    const picked = Array.from({ length: 7 }, () => rr.pick(list)?.id);
    assert.deepEqual(picked, ['a', 'b', 'c', 'a', 'b', 'c', 'a']);
  });

  test('survives the list shrinking under the cursor', () => {
    const rr = roundRobin();
    const four = [instance('a'), instance('b'), instance('c'), instance('d')];
    assert.deepEqual([rr.pick(four)?.id, rr.pick(four)?.id, rr.pick(four)?.id], ['a', 'b', 'c']);
    const two = [instance('a'), instance('b')];
    // The cursor (3) wraps to the new length instead of restarting at the first instance.
    const picked = Array.from({ length: 4 }, () => rr.pick(two)?.id);
    assert.deepEqual(picked, ['b', 'a', 'b', 'a']);
  });

  test('spreads picks evenly over any list (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 5 }), (size, rounds) => {
        const rr = roundRobin();
        const list = Array.from({ length: size }, (_, i) => instance(`i${i}`));
        const counts = new Map<string, number>();
        for (let i = 0; i < size * rounds; i++) {
          const id = rr.pick(list)?.id as string;
          counts.set(id, (counts.get(id) ?? 0) + 1);
        }
        return [...counts.values()].every((n) => n === rounds) && counts.size === size;
      }),
    );
  });
});

describe('randomBalancer', () => {
  test('returns undefined for an empty list', () => {
    assert.equal(randomBalancer(() => 0.5).pick([]), undefined);
  });

  test('honours weights: a weight-3 instance takes three quarters of the range', () => {
    const list = [instance('light', 1), instance('heavy', 3)];
    assert.equal(randomBalancer(() => 0.2).pick(list)?.id, 'light');
    assert.equal(randomBalancer(() => 0.25).pick(list)?.id, 'heavy');
    assert.equal(randomBalancer(() => 0.99).pick(list)?.id, 'heavy');
  });

  test('never picks a zero-weight instance while another has weight', () => {
    const list = [instance('drained', 0), instance('live', 1)];
    for (const r of [0, 0.3, 0.999]) assert.equal(randomBalancer(() => r).pick(list)?.id, 'live');
  });

  test('picks each instance in exact proportion to its weight over an even spread (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 4 }),
        (weights, k) => {
          const total = weights.reduce((a, b) => a + b, 0);
          fc.pre(total > 0);
          const list = weights.map((w, i) => instance(`i${i}`, w));
          const samples = total * k;
          const counts = new Map<string, number>();
          for (let i = 0; i < samples; i++) {
            // Evenly spaced points: each unit of weight receives exactly k of them.
            const value = (i + 0.5) / samples;
            const id = randomBalancer(() => value).pick(list)?.id as string;
            counts.set(id, (counts.get(id) ?? 0) + 1);
          }
          return weights.every((w, i) => (counts.get(`i${i}`) ?? 0) === w * k);
        },
      ),
    );
  });
});

describe('createBalancer', () => {
  test('builds the balancer named in config', () => {
    const list = [instance('a'), instance('b')];
    const rr = createBalancer(BalancerKind.RoundRobin);
    assert.deepEqual([rr.pick(list)?.id, rr.pick(list)?.id], ['a', 'b']);
    const picked = createBalancer(BalancerKind.Random).pick(list);
    assert.ok(picked !== undefined && list.includes(picked));
  });

  test('builds every kind, each picking from the list and nothing from an empty one', () => {
    const list = [instance('a'), instance('b'), instance('c')];
    for (const kind of balancerKinds) {
      const balancer = createBalancer(kind, { random: () => 0.5 });
      assert.equal(balancer.pick([]), undefined, kind);
      const picked = balancer.pick(list, { key: 'user-1' });
      assert.ok(picked !== undefined && list.includes(picked), kind);
    }
  });

  test('hands the given stats store to every balancer, so feedback reaches one store', () => {
    const stats = createInstanceStats();
    for (const kind of balancerKinds) assert.equal(createBalancer(kind, { stats }).stats, stats, kind);
  });

  test('an unknown kind falls back to round robin (config validation rejects it before)', () => {
    const list = [instance('a'), instance('b')];
    const rr = createBalancer('nope' as BalancerKind);
    assert.deepEqual([rr.pick(list)?.id, rr.pick(list)?.id], ['a', 'b']);
  });
});
