import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ServiceInstance } from '@switchyard/core';
import fc from 'fast-check';
import { hash32, ringHash } from './ring-hash.ts';

function instance(id: string, weight = 1): ServiceInstance {
  return { id, service: 'orders', address: '127.0.0.1', port: 8080, tags: [], meta: {}, status: 'passing', weight };
}

const keys = Array.from({ length: 2000 }, (_, i) => `user-${i}`);

function assign(list: readonly ServiceInstance[]): string[] {
  const balancer = ringHash();
  return keys.map((key) => balancer.pick(list, { key })?.id as string);
}

describe('ringHash', () => {
  test('returns undefined for an empty list', () => {
    assert.equal(ringHash().pick([], { key: 'k' }), undefined);
  });

  test('sends the same key to the same instance, whatever the order of the list', () => {
    const list = [instance('a'), instance('b'), instance('c'), instance('d')];
    const balancer = ringHash();
    const first = keys.map((key) => balancer.pick(list, { key })?.id);
    const again = keys.map((key) => balancer.pick([...list], { key })?.id);
    const reversed = keys.map((key) => balancer.pick([...list].reverse(), { key })?.id);
    assert.deepEqual(again, first);
    assert.deepEqual(reversed, first);
  });

  test('when an instance joins, only about 1/n of keys move, all to the newcomer (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 15 }), fc.string({ minLength: 1, maxLength: 6 }), (n, prefix) => {
        const before = Array.from({ length: n }, (_, i) => instance(`${prefix}-${i}`));
        const newcomer = instance(`${prefix}-new`);
        const a = assign(before);
        const b = assign([...before, newcomer]);
        let moved = 0;
        for (let k = 0; k < keys.length; k++) {
          if (a[k] === b[k]) continue;
          if (b[k] !== newcomer.id) return false;
          moved++;
        }
        // Expected share 1/(n+1); 160 points per instance keep the spread well inside +60%.
        return moved / keys.length <= 1.6 / (n + 1);
      }),
      { numRuns: 40 },
    );
  });

  test('when an instance leaves, only its keys move', () => {
    const list = Array.from({ length: 8 }, (_, i) => instance(`orders-${i}`));
    const a = assign(list);
    const b = assign(list.filter((i) => i.id !== 'orders-3'));
    for (let k = 0; k < keys.length; k++) if (a[k] !== 'orders-3') assert.equal(b[k], a[k]);
  });

  test('spreads keys evenly, and in proportion to weight', () => {
    const list = [instance('a'), instance('b'), instance('c', 2)];
    const counts = new Map<string, number>();
    for (const id of assign(list)) counts.set(id, (counts.get(id) ?? 0) + 1);
    const share = (id: string) => (counts.get(id) ?? 0) / keys.length;
    for (const [id, expected] of [
      ['a', 0.25],
      ['b', 0.25],
      ['c', 0.5],
    ] as const) {
      assert.ok(Math.abs(share(id) - expected) < 0.06, `${id}: ${share(id)}`);
    }
  });

  test('gives no keys to a drained (weight 0) instance, and all instances a share when all are 0', () => {
    assert.ok(!assign([instance('a'), instance('drained', 0)]).includes('drained'));
    const both = new Set(assign([instance('a', 0), instance('b', 0)]));
    assert.deepEqual([...both].sort(), ['a', 'b']);
  });

  test('picks at random without a key', () => {
    const list = [instance('a'), instance('b')];
    assert.equal(ringHash({ random: () => 0.1 }).pick(list)?.id, 'a');
    assert.equal(ringHash({ random: () => 0.9 }).pick(list)?.id, 'b');
  });

  test('hash32 is stable and spreads near-identical strings', () => {
    assert.equal(hash32('a'), hash32('a'));
    const buckets = new Array(16).fill(0);
    for (let i = 0; i < 1600; i++) buckets[hash32(`orders-1#${i}`) >>> 28]++;
    for (const count of buckets) assert.ok(count > 60 && count < 140, `buckets: ${buckets.join(',')}`);
  });
});
