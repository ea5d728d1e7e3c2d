import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import { isSwitchyardError, type JsonValue } from '@switchyard/core';
import type { EventBus, PublishOptions } from './bus.ts';
import { compensationId, createChoreographyTracker } from './choreography.ts';
import { defineChoreography } from './choreography-definition.ts';
import type { ChoreographyStore } from './choreography-store.ts';
import { createMemoryEventBus } from './memory-bus.ts';
import { createMemoryChoreographyStore } from './memory-choreography-store.ts';
import { createOutboxRelay } from './outbox-relay.ts';
import { propagationHeaders, sagaIdOf, withSagaHeaders } from './saga-headers.ts';
import { createSqliteChoreographyStore } from './sqlite-choreography-store.ts';
import { createSqliteInbox } from './sqlite-inbox.ts';
import { createSqliteOutbox } from './sqlite-outbox.ts';

const orderSaga = defineChoreography({
  name: 'order',
  startedOn: 'order.created',
  steps: [
    { name: 'reserve', completedOn: 'inventory.reserved', compensateWith: 'inventory.release' },
    { name: 'charge', completedOn: 'payment.charged', compensateWith: 'payment.refund' },
    { name: 'notify', completedOn: 'customer.notified' },
  ],
  failedOn: ['payment.declined', 'shipping.failed'],
  completedOn: 'order.approved',
});

const traceparent = `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`;

interface Sent {
  topic: string;
  id: string;
  payload: JsonValue;
  headers: Record<string, string>;
}

/** The memory bus, with every publish recorded in order (the tracker's and the test's). */
function recordedBus() {
  const inner = createMemoryEventBus();
  const sent: Sent[] = [];
  const bus: EventBus = {
    guarantees: inner.guarantees,
    async publish<T extends JsonValue>(topic: string, payload: T, options?: PublishOptions) {
      const id = await inner.publish(topic, payload, options);
      sent.push({ topic, id, payload, headers: { ...options?.headers } });
      return id;
    },
    subscribe: (topic, handler, options) => inner.subscribe(topic, handler, options),
    close: () => inner.close(),
    [Symbol.asyncDispose]: () => inner.close(),
  };
  return { bus, sent };
}

async function waitFor<T>(probe: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 3000;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

const stores: [string, () => ChoreographyStore][] = [
  ['memory store', () => createMemoryChoreographyStore()],
  ['sqlite store', () => createSqliteChoreographyStore(new DatabaseSync(':memory:'))],
];

for (const [label, makeStore] of stores) {
  describe(`choreography tracker (${label})`, () => {
    async function setup() {
      const { bus, sent } = recordedBus();
      const tracker = createChoreographyTracker({ definition: orderSaga, bus, store: makeStore() });
      await tracker.start();
      const emit = (topic: string, sagaId: string, payload: JsonValue = {}, id?: string) =>
        bus.publish(topic, payload, { id, headers: withSagaHeaders({ traceparent }, sagaId) });
      const compensations = () => sent.filter((s) => s.topic === 'inventory.release' || s.topic === 'payment.refund');
      return { bus, sent, tracker, emit, compensations };
    }

    it('follows a saga to completion and publishes no compensation', async () => {
      const { bus, tracker, emit, compensations } = await setup();
      try {
        await emit('order.created', 'o-1');
        await emit('inventory.reserved', 'o-1', { reservationId: 'r-1' });
        await emit('payment.charged', 'o-1', { chargeId: 'c-1' });
        await waitFor(
          () => tracker.get('o-1'),
          (r) => r?.steps.length === 2,
          'two steps',
        );
        await emit('order.approved', 'o-1');
        const record = await waitFor(
          () => tracker.get('o-1'),
          (r) => r?.status === 'completed',
          'completion',
        );
        assert.deepEqual(
          record?.steps.map((s) => s.name),
          ['reserve', 'charge'],
        );
        assert.equal(typeof record?.startedAt, 'number');
        assert.deepEqual(compensations(), []);
        assert.equal(await tracker.get('unknown'), undefined);
      } finally {
        await tracker.close();
        await bus.close();
      }
    });

    it('on failure publishes the compensations in reverse order, once, even when the failure arrives twice', async () => {
      const { bus, tracker, emit, compensations } = await setup();
      try {
        await emit('order.created', 'o-2');
        await emit('inventory.reserved', 'o-2', { reservationId: 'r-2' });
        await emit('payment.charged', 'o-2', { chargeId: 'c-2' });
        await emit('customer.notified', 'o-2');
        await waitFor(
          () => tracker.get('o-2'),
          (r) => r?.steps.length === 3,
          'three steps',
        );
        // At-least-once delivery: the same failure message arrives twice.
        await emit('shipping.failed', 'o-2', { reason: 'no courier' }, 'failure-1');
        await emit('shipping.failed', 'o-2', { reason: 'no courier' }, 'failure-1');
        // One member sees a topic in publish order: once this later event is handled, so is the copy.
        await emit('shipping.failed', 'sentinel');
        await waitFor(
          () => tracker.get('sentinel'),
          (r) => r !== undefined,
          'the duplicate to be handled',
        );
        const record = await tracker.get('o-2');
        assert.equal(record?.status, 'compensated');
        assert.deepEqual(
          compensations().map((c) => [c.topic, c.payload]),
          [
            ['payment.refund', { chargeId: 'c-2' }],
            ['inventory.release', { reservationId: 'r-2' }],
          ],
        );
        const refund = compensations()[0];
        assert.equal(refund?.id, compensationId('order', 'o-2', 'charge'));
        assert.equal(refund?.headers['sy-saga-id'], 'o-2');
        assert.equal(refund?.headers.traceparent, traceparent);
        assert.deepEqual(record?.failure?.topic, 'shipping.failed');
        assert.ok(record?.compensations.every((c) => c.published));
      } finally {
        await tracker.close();
        await bus.close();
      }
    });

    it('compensates a step that completes after the failure', async () => {
      const { bus, tracker, emit, compensations } = await setup();
      try {
        await emit('order.created', 'o-3');
        await emit('payment.declined', 'o-3');
        await waitFor(
          () => tracker.get('o-3'),
          (r) => r?.status === 'compensated',
          'failure with nothing to undo',
        );
        assert.deepEqual(compensations(), []);
        await emit('inventory.reserved', 'o-3', { reservationId: 'r-3' });
        await waitFor(
          () => Promise.resolve(compensations()),
          (c) => c.length === 1,
          'the late compensation',
        );
        assert.equal(compensations()[0]?.topic, 'inventory.release');
        assert.equal((await tracker.get('o-3'))?.status, 'compensated');
      } finally {
        await tracker.close();
        await bus.close();
      }
    });
  });
}

describe('choreography tracker with a SQLite outbox', () => {
  it('writes the compensations with the failure in one transaction; the relay publishes them', async () => {
    const db = new DatabaseSync(':memory:');
    const outbox = createSqliteOutbox(db);
    const store = createSqliteChoreographyStore(db, { outbox });
    const { bus, sent } = recordedBus();
    const tracker = createChoreographyTracker({ definition: orderSaga, bus, store });
    await tracker.start();
    try {
      const headers = withSagaHeaders({ traceparent }, 'o-4');
      await bus.publish('inventory.reserved', { reservationId: 'r-4' }, { headers });
      await bus.publish('payment.charged', { chargeId: 'c-4' }, { headers });
      await waitFor(
        () => tracker.get('o-4'),
        (r) => r?.steps.length === 2,
        'two steps',
      );
      await bus.publish('payment.declined', {}, { headers });
      await waitFor(
        () => tracker.get('o-4'),
        (r) => r?.status === 'compensated',
        'compensated',
      );
      assert.equal(outbox.pending(), 2);
      assert.equal(sent.filter((s) => s.topic === 'payment.refund').length, 0, 'nothing published before the relay');
      const relay = createOutboxRelay({ source: outbox.source, bus });
      assert.equal(await relay.flush(), 2);
      assert.deepEqual(
        sent.slice(-2).map((s) => [s.topic, s.id]),
        [
          ['payment.refund', compensationId('order', 'o-4', 'charge')],
          ['inventory.release', compensationId('order', 'o-4', 'reserve')],
        ],
      );
    } finally {
      await tracker.close();
      await bus.close();
    }
  });
});

describe('choreography tracker crash between publishing and recording it', () => {
  it('republishes the compensation with the same id on redelivery; the inbox runs it once', async () => {
    const { bus, sent } = recordedBus();
    const inner = createMemoryChoreographyStore();
    let failMarks = 1;
    const store: ChoreographyStore = {
      enqueues: false,
      init: () => inner.init(),
      get: (name, sagaId) => inner.get(name, sagaId),
      update(name, sagaId, change) {
        return inner.update(name, sagaId, (current) => {
          const next = change(current);
          const marking = next?.record.compensations.some(
            (c, i) => c.published && !current?.compensations[i]?.published,
          );
          if (marking && failMarks-- > 0) throw new Error('process died after publishing');
          return next;
        });
      },
    };
    const tracker = createChoreographyTracker({
      definition: orderSaga,
      bus,
      store,
      subscribe: { backoff: { initial: 1, max: 1 } },
    });
    await tracker.start();
    const consumer = new DatabaseSync(':memory:');
    consumer.exec('CREATE TABLE releases (reservation TEXT NOT NULL)');
    const inbox = createSqliteInbox(consumer);
    inbox.migrate();
    let deliveries = 0;
    await bus.subscribe(
      'inventory.release',
      async (delivery) => {
        deliveries++;
        inbox.handleOnce(delivery, (db) => {
          db.prepare('INSERT INTO releases (reservation) VALUES (?)').run(
            (delivery.payload as { reservationId: string }).reservationId,
          );
        });
      },
      { group: 'inventory' },
    );
    try {
      const headers = withSagaHeaders({}, 'o-5');
      await bus.publish('inventory.reserved', { reservationId: 'r-5' }, { headers });
      await waitFor(
        () => tracker.get('o-5'),
        (r) => r?.steps.length === 1,
        'the step',
      );
      await bus.publish('payment.declined', {}, { headers });
      await waitFor(
        () => tracker.get('o-5'),
        (r) => r?.status === 'compensated',
        'compensated after redelivery',
      );
      const releases = sent.filter((s) => s.topic === 'inventory.release');
      assert.equal(releases.length, 2);
      assert.equal(releases[0]?.id, releases[1]?.id);
      await waitFor(
        () => Promise.resolve(deliveries),
        (n) => n === 2,
        'both copies at the inventory consumer',
      );
      assert.equal(consumer.prepare('SELECT count(*) AS n FROM releases').get()?.n, 1);
    } finally {
      await tracker.close();
      await bus.close();
    }
  });
});

describe('choreography definition and headers', () => {
  it('rejects a topic with two roles and a duplicate step, naming the fields', () => {
    assert.throws(
      () =>
        defineChoreography({
          name: 'order',
          startedOn: 'order.created',
          steps: [
            { name: 'a', completedOn: 'x.done' },
            { name: 'a', completedOn: 'order.created' },
          ],
          failedOn: 'x.failed',
          completedOn: 'x.ok',
        }),
      (err) =>
        isSwitchyardError(err, 'SY_CONFIG_INVALID') &&
        /choreography\.steps\[1\]\.name/.test(err.message) &&
        /choreography\.steps\[1\]\.completedOn/.test(err.message),
    );
    assert.throws(
      () => defineChoreography({ name: 'order', startedOn: 'a.b', steps: [], failedOn: 'c.d', completedOn: 'order.*' }),
      (err) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && /choreography\.steps/.test(err.message),
    );
  });

  it('carries the saga id and trace context between messages', () => {
    const headers = withSagaHeaders({ traceparent, other: 'x' }, 's-1');
    assert.equal(sagaIdOf({ headers }), 's-1');
    assert.equal(sagaIdOf({ headers: {} }), undefined);
    assert.deepEqual(propagationHeaders({ headers }), { traceparent, 'sy-saga-id': 's-1' });
    assert.match(
      compensationId('order', 's-1', 'reserve'),
      /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    assert.notEqual(compensationId('order', 's-1', 'reserve'), compensationId('order', 's-2', 'reserve'));
  });
});
