import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Event } from './events.ts';

describe('Event', () => {
  it('calls listeners in order until disposed; dispose is idempotent', () => {
    const event = new Event<number>();
    const seen: string[] = [];
    const a = event.on((v) => seen.push(`a${v}`));
    event.on((v) => seen.push(`b${v}`));
    assert.equal(event.size, 2);
    event.emit(1);
    a.dispose();
    a.dispose();
    event.emit(2);
    assert.deepEqual(seen, ['a1', 'b1', 'b2']);
    assert.equal(event.size, 1);
  });

  it('emitting with no listener does nothing', () => {
    const event = new Event<number>();
    assert.equal(event.size, 0);
    event.emit(1);
  });

  it('disposing the same listener added twice removes one registration', () => {
    const event = new Event<number>();
    let calls = 0;
    const listener = () => calls++;
    const first = event.on(listener);
    event.on(listener);
    first[Symbol.dispose]();
    event.emit(0);
    assert.equal(calls, 1);
  });

  it('a listener disposing itself or adding another during emit does not disturb the loop', () => {
    const event = new Event<number>();
    const seen: string[] = [];
    const self = event.on(() => {
      seen.push('self');
      self.dispose();
      event.on(() => seen.push('late'));
    });
    event.on(() => seen.push('other'));
    event.emit(0);
    assert.deepEqual(seen, ['self', 'other']);
    event.emit(0);
    assert.deepEqual(seen, ['self', 'other', 'other', 'late']);
  });

  it('a throwing listener does not stop the others; its error is rethrown in a microtask', () => {
    const event = new Event<number>();
    const thrown: unknown[] = [];
    const original = globalThis.queueMicrotask;
    globalThis.queueMicrotask = (fn) => {
      try {
        fn();
      } catch (err) {
        thrown.push(err);
      }
    };
    let after = 0;
    try {
      event.on(() => {
        throw new Error('listener bug');
      });
      event.on(() => after++);
      event.emit(0);
    } finally {
      globalThis.queueMicrotask = original;
    }
    assert.equal(after, 1);
    assert.match(String(thrown[0]), /listener bug/);
  });

  it('clear() removes every listener', () => {
    const event = new Event<number>();
    let calls = 0;
    event.on(() => calls++);
    event.clear();
    event.emit(0);
    assert.equal(calls, 0);
  });
});
