import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { type InFlightLinks, InFlightList } from './in-flight-list.ts';

interface Entry extends InFlightLinks<Entry> {
  readonly id: number;
}

function entry(id: number): Entry {
  return { id, prev: undefined, next: undefined };
}

function ids(list: InFlightList<Entry>): number[] {
  return [...list].map((e) => e.id);
}

describe('InFlightList', () => {
  test('keeps entries in arrival order and counts them', () => {
    const list = new InFlightList<Entry>();
    const [a, b, c] = [entry(1), entry(2), entry(3)];
    list.add(a);
    list.add(b);
    list.add(c);
    assert.equal(list.size, 3);
    assert.deepEqual(ids(list), [1, 2, 3]);
  });

  test('deletes the head, the middle and the tail, and clears the deleted entry links', () => {
    const list = new InFlightList<Entry>();
    const entries = [1, 2, 3, 4].map(entry);
    for (const e of entries) list.add(e);
    const [one, two, three, four] = entries as [Entry, Entry, Entry, Entry];
    assert.equal(list.delete(two), true);
    assert.deepEqual(ids(list), [1, 3, 4]);
    // A finished request must point at no other request (nor be pointed at).
    assert.equal(two.prev, undefined);
    assert.equal(two.next, undefined);
    assert.equal(one.next, three);
    assert.equal(three.prev, one);
    assert.equal(list.delete(one), true);
    assert.equal(list.delete(four), true);
    assert.deepEqual(ids(list), [3]);
    assert.equal(list.delete(three), true);
    assert.equal(list.size, 0);
    assert.deepEqual(ids(list), []);
    // Usable again once empty.
    list.add(one);
    assert.deepEqual(ids(list), [1]);
  });

  test('deleting an entry twice, or one never added, changes nothing', () => {
    const list = new InFlightList<Entry>();
    const [a, b] = [entry(1), entry(2)];
    list.add(a);
    assert.equal(list.delete(b), false);
    assert.equal(list.delete(a), true);
    assert.equal(list.delete(a), false);
    assert.equal(list.size, 0);
    list.add(b);
    assert.equal(list.delete(a), false);
    assert.deepEqual(ids(list), [2]);
  });

  test('iteration visits every entry present when it started, even as they are deleted meanwhile', () => {
    const list = new InFlightList<Entry>();
    const entries = [1, 2, 3, 4].map(entry);
    for (const e of entries) list.add(e);
    const seen: number[] = [];
    for (const e of list) {
      seen.push(e.id);
      // Shutdown aborts each request in turn; a response closing deletes its entry, and the
      // next request may close with it.
      const next = e.next;
      list.delete(e);
      if (next !== undefined) list.delete(next);
    }
    assert.deepEqual(seen, [1, 2, 3, 4]);
    assert.equal(list.size, 0);
  });

  test('behaves like a Set under any sequence of adds and deletes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ add: fc.boolean(), id: fc.integer({ min: 0, max: 15 }) }), { maxLength: 200 }),
        (ops) => {
          const pool = Array.from({ length: 16 }, (_, id) => entry(id));
          const list = new InFlightList<Entry>();
          const model = new Set<Entry>();
          for (const op of ops) {
            const e = pool[op.id] as Entry;
            if (op.add) {
              // Entries are added once per request: never while already in the list.
              if (model.has(e)) continue;
              list.add(e);
              model.add(e);
            } else {
              assert.equal(list.delete(e), model.delete(e));
            }
            assert.equal(list.size, model.size);
          }
          assert.deepEqual([...list], [...model]);
        },
      ),
    );
  });
});
