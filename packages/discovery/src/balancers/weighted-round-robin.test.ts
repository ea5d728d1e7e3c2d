import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ServiceInstance } from '@switchyard/core';
import fc from 'fast-check';
import { instanceWeight, weightedRoundRobin } from './weighted-round-robin.ts';

function instance(id: string, weight = 1, meta: Record<string, string> = {}): ServiceInstance {
  return { id, service: 'orders', address: '127.0.0.1', port: 8080, tags: [], meta, status: 'passing', weight };
}

describe('weightedRoundRobin', () => {
  test('interleaves picks as nginx does: weights 5, 1, 1 give a a b a c a a', () => {
    const wrr = weightedRoundRobin();
    const list = [instance('a', 5), instance('b', 1), instance('c', 1)];
    const picked = Array.from({ length: 14 }, () => wrr.pick(list)?.id).join(' ');
    assert.equal(picked, 'a a b a c a a a a b a c a a');
  });

  test('picks each instance exactly weight times per cycle of total weight (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 10 }), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 5 }),
        (weights, cycles) => {
          const total = weights.reduce((a, b) => a + b, 0);
          fc.pre(total > 0);
          const wrr = weightedRoundRobin();
          const list = weights.map((w, i) => instance(`i${i}`, w));
          const counts = new Map<string, number>();
          for (let k = 0; k < total * cycles; k++) {
            const id = wrr.pick(list)?.id as string;
            counts.set(id, (counts.get(id) ?? 0) + 1);
          }
          return weights.every((w, i) => (counts.get(`i${i}`) ?? 0) === w * cycles);
        },
      ),
    );
  });

  test('keeps its place in the cycle when the list is refreshed with the same instances', () => {
    const wrr = weightedRoundRobin();
    const first = [instance('a', 2), instance('b', 1)];
    const before = [wrr.pick(first)?.id, wrr.pick(first)?.id];
    const refreshed = [instance('a', 2), instance('b', 1)];
    const after = [wrr.pick(refreshed)?.id, wrr.pick(refreshed)?.id, wrr.pick(refreshed)?.id, wrr.pick(refreshed)?.id];
    assert.deepEqual([...before, ...after], ['a', 'b', 'a', 'a', 'b', 'a']);
  });

  test('a meta weight overrides the registration weight; weight 0 drains the instance', () => {
    const wrr = weightedRoundRobin();
    const list = [instance('a', 1, { weight: '3' }), instance('b', 1), instance('drained', 0, { weight: '9' })];
    const counts = new Map<string, number>();
    for (let i = 0; i < 400; i++) {
      const id = wrr.pick(list)?.id as string;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    assert.deepEqual(Object.fromEntries(counts), { a: 300, b: 100 });
  });

  test('ignores a meta weight that is not a non-negative number', () => {
    assert.equal(instanceWeight(instance('a', 2, { weight: 'heavy' })), 2);
    assert.equal(instanceWeight(instance('a', 2, { weight: '-1' })), 2);
    assert.equal(instanceWeight(instance('a', 2, { weight: ' ' })), 2);
    assert.equal(instanceWeight(instance('a', 2, { w: '7' }), 'w'), 7);
  });

  test('falls back to round robin when every weight is 0, and handles an empty list', () => {
    const wrr = weightedRoundRobin();
    assert.equal(wrr.pick([]), undefined);
    const list = [instance('a', 0), instance('b', 0)];
    const picked = new Set(Array.from({ length: 4 }, () => wrr.pick(list)?.id));
    assert.deepEqual([...picked].sort(), ['a', 'b']);
  });
});
