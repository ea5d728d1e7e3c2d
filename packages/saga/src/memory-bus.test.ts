import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '@switchyard/core';
import type { Delivery } from './bus.ts';
import { createMemoryEventBus } from './memory-bus.ts';
import { eventBusContract } from './testing/bus-contract.ts';

eventBusContract(
  'memory',
  async () => {
    const bus = createMemoryEventBus();
    return { bus, topicPrefix: `t${Math.random().toString(36).slice(2, 8)}`, cleanup: () => bus.close() };
  },
  { secondConnection: false },
);

/** Lets queued microtasks and immediates (handler runs, settles) finish. */
async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

const fixed = { initial: 100, max: 100, factor: 1, jitter: 'none' } as const;

describe('createMemoryEventBus', () => {
  it('redelivers exactly when the backoff has passed on the injected clock', async () => {
    const clock = new ManualClock(1_000);
    const bus = createMemoryEventBus({ clock });
    const seen: Delivery[] = [];
    await bus.subscribe(
      'order.approved',
      async (d) => {
        seen.push(d);
        if (d.attempt === 1) throw new Error('first fails');
      },
      { group: 'billing', backoff: fixed },
    );
    await bus.publish('order.approved', { n: 1 });
    await flush();
    assert.deepEqual(
      seen.map((d) => d.attempt),
      [1],
    );
    assert.equal(seen[0]?.publishedAt, 1_000);
    clock.advance(99);
    await flush();
    assert.equal(seen.length, 1, 'not before the backoff');
    clock.advance(1);
    await flush();
    assert.deepEqual(
      seen.map((d) => d.attempt),
      [1, 2],
    );
    await bus.close();
  });

  it('aborts a handler at ackTimeout on the injected clock and redelivers it', async () => {
    const clock = new ManualClock(0);
    const bus = createMemoryEventBus({ clock });
    const signals: AbortSignal[] = [];
    await bus.subscribe(
      'slow.work',
      (_d, signal) => {
        signals.push(signal);
        return signals.length === 1 ? new Promise(() => {}) : Promise.resolve();
      },
      { group: 'g', ackTimeout: '5s', backoff: fixed },
    );
    await bus.publish('slow.work', 1);
    await flush();
    clock.advance(4_999);
    assert.equal(signals[0]?.aborted, false);
    clock.advance(1);
    assert.equal(signals[0]?.aborted, true);
    await flush();
    clock.advance(100);
    await flush();
    assert.equal(signals.length, 2, 'redelivered after the backoff although the first handler never settled');
    await bus.close();
  });

  it('shares a group round-robin between its members and fans out to every group', async () => {
    const bus = createMemoryEventBus();
    const a: string[] = [];
    const b: string[] = [];
    const audit: string[] = [];
    await bus.subscribe('x.y', async (d) => void a.push(d.id), { group: 'work' });
    await bus.subscribe('x.y', async (d) => void b.push(d.id), { group: 'work' });
    await bus.subscribe('x.y', async (d) => void audit.push(d.id), { group: 'audit' });
    for (let i = 0; i < 4; i++) await bus.publish('x.y', i, { id: `m${i}` });
    await flush();
    assert.deepEqual([a.length, b.length], [2, 2]);
    assert.deepEqual([...a, ...b].sort(), ['m0', 'm1', 'm2', 'm3']);
    assert.deepEqual(audit, ['m0', 'm1', 'm2', 'm3']);
    await bus.close();
  });

  it('drops messages published before a group first subscribed', async () => {
    const bus = createMemoryEventBus();
    await bus.publish('early.topic', 'lost');
    const got: unknown[] = [];
    await bus.subscribe('early.topic', async (d) => void got.push(d.payload), { group: 'late' });
    await bus.publish('early.topic', 'kept');
    await flush();
    assert.deepEqual(got, ['kept']);
    await bus.close();
  });

  it('a failure in one group leaves the other group alone', async () => {
    const clock = new ManualClock(0);
    const bus = createMemoryEventBus({ clock });
    let failing = 0;
    let healthy = 0;
    await bus.subscribe(
      'a.b',
      async () => {
        failing++;
        throw new Error('down');
      },
      { group: 'broken', backoff: fixed, maxDeliveries: 2 },
    );
    await bus.subscribe('a.b', async () => void healthy++, { group: 'fine' });
    await bus.publish('a.b', 1);
    await flush();
    clock.advance(100);
    await flush();
    assert.equal(failing, 2);
    assert.equal(healthy, 1);
    await bus.close();
  });

  it('gives a failed message to the remaining member after the first one closed', async () => {
    const clock = new ManualClock(0);
    const bus = createMemoryEventBus({ clock });
    const first = await bus.subscribe(
      'hand.over',
      async () => {
        throw new Error('member a fails');
      },
      { group: 'g', backoff: fixed },
    );
    await bus.publish('hand.over', 1);
    await flush();
    await first.close();
    const got: number[] = [];
    await bus.subscribe('hand.over', async (d) => void got.push(d.attempt), { group: 'g' });
    clock.advance(100);
    await flush();
    assert.deepEqual(got, [2]);
    await bus.close();
  });
});
