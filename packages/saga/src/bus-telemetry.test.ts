import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, it } from 'node:test';
import { activeSpan, getTracer, SpanKind, traced, withSpan } from '@switchyard/telemetry';
import type { Delivery, EventBus } from './bus.ts';
import { instrumentEventBus } from './bus-telemetry.ts';
import { createChoreographyTracker } from './choreography.ts';
import { defineChoreography } from './choreography-definition.ts';
import { eventually, metrics, one, sample, tracing } from './internal/telemetry-test-kit.ts';
import { createMemoryEventBus } from './memory-bus.ts';
import { createMemoryChoreographyStore } from './memory-choreography-store.ts';
import { createOutboxRelay } from './outbox-relay.ts';
import { withSagaHeaders } from './saga-headers.ts';
import { createSqliteEventBus } from './sqlite-bus.ts';
import { createSqliteOutbox } from './sqlite-outbox.ts';

const tracer = getTracer('bus-telemetry-test');
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const buses: [string, () => EventBus][] = [
  ['memory', () => createMemoryEventBus()],
  [
    'sqlite',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'sy-bus-tel-'));
      dirs.push(dir);
      return createSqliteEventBus({ path: join(dir, 'bus.db'), pollInterval: '20ms' });
    },
  ],
];

for (const [name, make] of buses) {
  describe(`${name} bus telemetry`, () => {
    it('continues the publisher trace: send span under the caller, process span under send', async (t) => {
      const spans = tracing(t);
      const bus = make();
      t.after(() => bus.close());
      const seen: { spanId: string | undefined; delivery: Delivery }[] = [];
      await bus.subscribe(
        'order.placed',
        async (delivery) => {
          seen.push({ spanId: activeSpan()?.spanContext().spanId, delivery });
          await traced('bill order', async () => {});
        },
        { group: 'billing' },
      );
      const parent = tracer.startSpan('POST /orders', { kind: SpanKind.SERVER });
      const id = await withSpan(parent, () =>
        bus.publish('order.placed', { orderId: 'o-1' }, { headers: withSagaHeaders({ tenant: 'acme' }, 's-1') }),
      );
      parent.end();
      const { traceId, spanId: parentId } = parent.spanContext();
      await eventually(() => spans.trace(traceId).some((s) => s.name === 'bill order'), 'the handler span');

      const trace = spans.trace(traceId);
      const send = one(trace, 'send order.placed');
      assert.equal(send.kind, 'producer');
      assert.equal(send.parentSpanId, parentId);
      assert.deepEqual(
        [
          send.attributes['messaging.system'],
          send.attributes['messaging.destination.name'],
          send.attributes['messaging.operation.type'],
          send.attributes['messaging.message.id'],
        ],
        ['switchyard', 'order.placed', 'send', id],
      );
      const process = one(trace, 'process order.placed');
      assert.equal(process.kind, 'consumer');
      assert.equal(process.parentSpanId, send.spanId, 'the consumer span is a child of the producer span');
      assert.deepEqual(
        process.links.map((l) => [l.traceId, l.spanId]),
        [[traceId, send.spanId]],
        'and links to it (the creation context)',
      );
      assert.equal(process.attributes['messaging.consumer.group.name'], 'billing');
      assert.equal(process.attributes['messaging.message.id'], id);
      assert.equal(process.attributes['switchyard.attempt'], 1);
      assert.equal(process.attributes['switchyard.saga.id'], 's-1');
      assert.equal(one(trace, 'bill order').parentSpanId, process.spanId);
      const [delivery] = seen;
      assert.equal(delivery?.spanId, process.spanId, 'the handler runs with the consumer span active');
      assert.equal(delivery?.delivery.headers.traceparent?.split('-')[2], send.spanId);
      assert.equal(delivery?.delivery.headers['sy-saga-id'], 's-1');
      assert.equal(delivery?.delivery.headers.tenant, 'acme');
    });

    it('counts publishes, acks, retries, redeliveries and dead letters, with an event on the last', async (t) => {
      const spans = tracing(t);
      const m = metrics(t);
      const bus = make();
      t.after(() => bus.close());
      const dead: Delivery[] = [];
      await bus.subscribe('dead-letter.order.placed', async (d) => void dead.push(d), { group: 'ops' });
      await bus.subscribe(
        'order.placed',
        async (delivery) => {
          if ((delivery.payload as { fail?: boolean }).fail) throw new Error('billing is down');
        },
        { group: 'billing', maxDeliveries: 2, backoff: { initial: 1, max: 1, jitter: 'none' } },
      );
      const parent = tracer.startSpan('job');
      await withSpan(parent, async () => {
        await bus.publish('order.placed', { fail: false });
        await bus.publish('order.placed', { fail: true });
      });
      parent.end();
      await eventually(() => dead.length === 1, 'the dead letter');
      const topic = { topic: 'order.placed', group: 'billing' };
      await eventually(
        async () => (await sample(m, 'switchyard_bus_consumed_total', { ...topic, outcome: 'dead_letter' })) === 1,
        'the dead-letter count',
      );
      assert.equal(await sample(m, 'switchyard_bus_published_total', { bus: name, topic: 'order.placed' }), 2);
      assert.equal(await sample(m, 'switchyard_bus_consumed_total', { ...topic, outcome: 'ack' }), 1);
      assert.equal(await sample(m, 'switchyard_bus_consumed_total', { ...topic, outcome: 'retry' }), 1);
      assert.equal(await sample(m, 'switchyard_bus_redelivered_total', topic), 1);

      const failing = spans
        .trace(parent.spanContext().traceId)
        .filter((s) => s.name === 'process order.placed' && s.status.code === 'error')
        .sort((a, b) => Number(a.attributes['switchyard.attempt']) - Number(b.attributes['switchyard.attempt']));
      assert.deepEqual(
        failing.map((s) => [s.attributes['switchyard.attempt'], s.attributes['error.type'], s.status.message]),
        [
          [1, 'Error', 'billing is down'],
          [2, 'Error', 'billing is down'],
        ],
      );
      assert.deepEqual(
        failing.map((s) => s.events.filter((e) => e.name === 'message.dead_lettered').length),
        [0, 1],
      );
      assert.equal(
        failing[1]?.events.find((e) => e.name === 'message.dead_lettered')?.attributes['switchyard.dead_letter.topic'],
        'dead-letter.order.placed',
      );
    });

    it('keeps one trace from outbox.add through the relay and the bus to the consumer', async (t) => {
      const spans = tracing(t);
      const bus = make();
      t.after(() => bus.close());
      const db = new DatabaseSync(':memory:');
      t.after(() => db.close());
      const outbox = createSqliteOutbox(db);
      outbox.migrate();
      const relay = createOutboxRelay({ source: outbox.source, bus });
      t.after(() => relay.stop());
      const got: Delivery[] = [];
      await bus.subscribe('order.approved', async (d) => void got.push(d), { group: 'shipping' });

      const request = tracer.startSpan('POST /orders');
      withSpan(request, () => {
        db.exec('BEGIN');
        outbox.add({ topic: 'order.approved', payload: { orderId: 'o-1' }, headers: { 'sy-saga-id': 'o-1' } });
        db.exec('COMMIT');
      });
      request.end();
      // The relay runs in its own trace (a loop, a timer): its publish must not join it.
      const round = tracer.startSpan('relay round');
      await withSpan(round, () => relay.flush());
      round.end();
      await eventually(() => got.length === 1, 'the delivery');
      const { traceId } = request.spanContext();
      await eventually(() => spans.trace(traceId).some((s) => s.name === 'process order.approved'), 'the process span');

      const trace = spans.trace(traceId);
      const send = one(trace, 'send order.approved');
      assert.equal(send.parentSpanId, request.spanContext().spanId, 'the relay publishes in the context of add()');
      assert.equal(one(trace, 'process order.approved').parentSpanId, send.spanId);
      assert.equal(spans.trace(round.spanContext().traceId).length, 1, 'nothing joined the relay round');
      assert.equal(got[0]?.headers['sy-saga-id'], 'o-1');
    });
  });
}

describe('bus telemetry without setupTelemetry', () => {
  it('adds no headers and hands the publish options through', async (t) => {
    const bus = createMemoryEventBus();
    t.after(() => bus.close());
    const got: Delivery[] = [];
    await bus.subscribe('order.placed', async (d) => void got.push(d), { group: 'billing' });
    await bus.publish('order.placed', {}, { headers: { 'sy-saga-id': 's-1' } });
    await eventually(() => got.length === 1, 'the delivery');
    assert.deepEqual(got[0]?.headers, { 'sy-saga-id': 's-1' });
  });

  it('instruments a bus once, however often it is asked', async () => {
    const bus = createMemoryEventBus();
    const publish = bus.publish;
    assert.equal(instrumentEventBus(bus, { system: 'switchyard' }), bus);
    assert.equal(bus.publish, publish);
    await bus.close();
  });
});

describe('choreography telemetry', () => {
  it('publishes owed compensations in the trace of the failure that made them owed', async (t) => {
    const spans = tracing(t);
    const bus = createMemoryEventBus();
    t.after(() => bus.close());
    const definition = defineChoreography({
      name: 'order',
      startedOn: 'order.created',
      steps: [{ name: 'reserve', completedOn: 'inventory.reserved', compensateWith: 'inventory.release' }],
      failedOn: ['payment.declined'],
      completedOn: 'order.approved',
    });
    const tracker = createChoreographyTracker({ definition, bus, store: createMemoryChoreographyStore() });
    await tracker.start();
    t.after(() => tracker.close());
    const released: Delivery[] = [];
    await bus.subscribe('inventory.release', async (d) => void released.push(d), { group: 'inventory' });

    const headers = withSagaHeaders({}, 's-9');
    await bus.publish('order.created', {}, { headers });
    await bus.publish('inventory.reserved', {}, { headers });
    const payments = tracer.startSpan('payments: decline');
    await withSpan(payments, () => bus.publish('payment.declined', {}, { headers }));
    payments.end();
    await eventually(() => released.length === 1, 'the compensation');
    const { traceId } = payments.spanContext();
    await eventually(() => spans.trace(traceId).some((s) => s.name === 'process inventory.release'), 'its span');

    const trace = spans.trace(traceId);
    const trackerSpan = trace.find(
      (s) =>
        s.name === 'process payment.declined' && s.attributes['messaging.consumer.group.name'] === 'choreography.order',
    );
    assert.ok(trackerSpan, 'the tracker handled the failure in this trace');
    const release = one(trace, 'send inventory.release');
    assert.equal(release.parentSpanId, trackerSpan.spanId, 'the compensation is sent from the tracker span');
    assert.equal(released[0]?.headers['sy-compensates'], 'reserve');
  });
});
