import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { it } from 'node:test';
import {
  createChoreographyTracker,
  createMemoryEventBus,
  createOutboxRelay,
  createSqliteChoreographyStore,
  createSqliteInbox,
  createSqliteOutbox,
  defineChoreography,
  propagationHeaders,
  withSagaHeaders,
} from '@switchyard/saga';

it('README: an order saga choreographed over an outbox, an inbox and a tracker', async () => {
  const bus = createMemoryEventBus();

  // The orders service: the order and its event commit together.
  const orders = new DatabaseSync(':memory:');
  orders.exec('CREATE TABLE orders (id TEXT PRIMARY KEY, sku TEXT NOT NULL)');
  const outbox = createSqliteOutbox(orders);
  outbox.migrate();
  const relay = createOutboxRelay({ source: outbox.source, bus, pollInterval: '1s' });
  relay.start();

  function placeOrder(id: string, sku: string, traceparent: string): void {
    orders.exec('BEGIN');
    try {
      orders.prepare('INSERT INTO orders (id, sku) VALUES (?, ?)').run(id, sku);
      outbox.add({
        topic: 'order.created',
        payload: { orderId: id, sku },
        headers: withSagaHeaders({ traceparent }, id),
      });
      orders.exec('COMMIT');
    } catch (error) {
      orders.exec('ROLLBACK');
      throw error;
    }
    relay.notify(); // publish now rather than at the next poll
  }

  // The inventory service: each order.created reserves stock once, however often it arrives.
  const inventory = new DatabaseSync(':memory:');
  inventory.exec('CREATE TABLE reservations (order_id TEXT PRIMARY KEY, sku TEXT NOT NULL)');
  const inbox = createSqliteInbox(inventory);
  inbox.migrate();
  const inventoryOutbox = createSqliteOutbox(inventory);
  inventoryOutbox.migrate();
  const inventoryRelay = createOutboxRelay({ source: inventoryOutbox.source, bus });
  inventoryRelay.start();
  await bus.subscribe<{ orderId: string; sku: string }>(
    'order.created',
    async (message) => {
      inbox.handleOnce(message, (db) => {
        db.prepare('INSERT INTO reservations (order_id, sku) VALUES (?, ?)').run(
          message.payload.orderId,
          message.payload.sku,
        );
        inventoryOutbox.add({
          topic: 'inventory.reserved',
          payload: { orderId: message.payload.orderId },
          headers: propagationHeaders(message), // trace context and saga id carry on
        });
      });
      inventoryRelay.notify();
    },
    { group: 'inventory' },
  );
  const released: string[] = [];
  await bus.subscribe<{ orderId: string }>('inventory.release', async (m) => void released.push(m.payload.orderId), {
    group: 'inventory',
  });

  // The saga: its tracker records the steps and, on a failure, publishes the compensations.
  const orderSaga = defineChoreography({
    name: 'order',
    startedOn: 'order.created',
    steps: [{ name: 'reserve', completedOn: 'inventory.reserved', compensateWith: 'inventory.release' }],
    failedOn: 'payment.declined',
    completedOn: 'order.approved',
  });
  const tracker = createChoreographyTracker({
    definition: orderSaga,
    bus,
    store: createSqliteChoreographyStore(orders, { outbox }), // compensations go out through the outbox
    onEnqueued: () => relay.notify(),
  });
  await tracker.start();

  placeOrder('o-1', 'sku-1', `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`);
  const deadline = Date.now() + 5000;
  while ((await tracker.get('o-1'))?.steps.length !== 1) {
    assert.ok(Date.now() < deadline, 'timed out waiting for the reservation');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await bus.publish('payment.declined', { orderId: 'o-1' }, { headers: withSagaHeaders({}, 'o-1') });
  while (released.length === 0) {
    assert.ok(Date.now() < deadline, 'timed out waiting for the compensation');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.deepEqual(released, ['o-1']);
  assert.equal((await tracker.get('o-1'))?.status, 'compensated');

  await tracker.close();
  await Promise.all([relay.stop(), inventoryRelay.stop()]);
  await bus.close();
});
