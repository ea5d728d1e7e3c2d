import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { beforeEach, describe, it } from 'node:test';
import { createMemoryEventBus } from '@switchyard/saga';
import { type App, type AppResponse, appRequest } from '../http/types.ts';
import { createInventoryApp, type InventoryItem, type Reservation } from './app.ts';
import { subscribeCommitOnApproval } from './order-approved.ts';

function errorOf(res: AppResponse): { code: string; message: string; field?: string } {
  return (res.body as { error: { code: string; message: string; field?: string } }).error;
}

const seed: InventoryItem[] = [
  { sku: 'SKU-A', name: 'A', price: 1, stock: 3 },
  { sku: 'SKU-B', name: 'B', price: 2, stock: 5 },
];

describe('inventory: the order saga endpoints', () => {
  let db: DatabaseSync;
  let app: App;
  const call = (method: string, target: string, body?: unknown, key?: string) =>
    app.handle(
      appRequest(method, target, {
        ...(body === undefined ? {} : { body }),
        ...(key === undefined ? {} : { headers: { 'idempotency-key': key } }),
      }),
    );
  const reserve = (orderId: string, key = `${orderId}:reserve:execute`) =>
    call('POST', '/reservations', { orderId, items: [{ sku: 'SKU-A', quantity: 2 }] }, key);
  const stockOf = (sku: string) => (call('GET', `/items/${sku}`).body as InventoryItem).stock;
  const statusesOf = (orderId: string) =>
    (call('GET', `/reservations?orderId=${orderId}`).body as { reservations: Reservation[] }).reservations.map(
      (r) => r.status,
    );

  beforeEach(() => {
    db = new DatabaseSync(':memory:');
    app = createInventoryApp(db, { instanceId: 'inventory-1', seed, onError: () => {} });
  });

  it('reserves once per saga idempotency key', () => {
    const first = reserve('ord_1');
    const again = reserve('ord_1');
    assert.equal(first.status, 201);
    assert.equal(again.headers?.['idempotent-replayed'], 'true');
    assert.deepEqual(again.body, first.body);
    assert.equal(stockOf('SKU-A'), 1);
    assert.deepEqual(statusesOf('ord_1'), ['reserved']);
  });

  it('releases an order: the stock comes back once, and a repeat or a new key changes nothing', () => {
    reserve('ord_1');
    const released = call('POST', '/reservations/release', { orderId: 'ord_1' }, 'ord_1:reserve:compensate');
    assert.equal(released.status, 200);
    assert.equal((released.body as { released: string[] }).released.length, 1);
    assert.equal(stockOf('SKU-A'), 3);
    const replay = call('POST', '/reservations/release', { orderId: 'ord_1' }, 'ord_1:reserve:compensate');
    assert.equal(replay.headers?.['idempotent-replayed'], 'true');
    assert.deepEqual(call('POST', '/reservations/release', { orderId: 'ord_1' }).body, {
      orderId: 'ord_1',
      released: [],
    });
    assert.equal(stockOf('SKU-A'), 3);
    assert.deepEqual(statusesOf('ord_1'), ['released']);
  });

  it('releases nothing successfully, and then refuses a late reservation for the order', () => {
    const released = call('POST', '/reservations/release', { orderId: 'ord_2' }, 'ord_2:reserve:compensate');
    assert.deepEqual(released, {
      status: 200,
      body: { orderId: 'ord_2', released: [] },
      headers: { 'x-instance-id': 'inventory-1' },
    });
    // The reservation that timed out in the saga arrives after the compensation.
    const late = reserve('ord_2');
    assert.equal(late.status, 409);
    assert.equal(errorOf(late).code, 'SY_SHOP_ORDER_CLOSED');
    assert.equal(errorOf(late).field, 'orderId');
    assert.equal(stockOf('SKU-A'), 3);
    assert.deepEqual(statusesOf('ord_2'), []);
  });

  it('commits an order once; a committed order cannot be released', () => {
    reserve('ord_3');
    assert.deepEqual(call('POST', '/reservations/commit', { orderId: 'ord_3' }).body, {
      orderId: 'ord_3',
      committed: [
        (call('GET', '/reservations?orderId=ord_3').body as { reservations: Reservation[] }).reservations[0]?.id,
      ],
    });
    assert.deepEqual(call('POST', '/reservations/commit', { orderId: 'ord_3' }).body, {
      orderId: 'ord_3',
      committed: [],
    });
    assert.deepEqual(statusesOf('ord_3'), ['committed']);
    const release = call('POST', '/reservations/release', { orderId: 'ord_3' });
    assert.equal(release.status, 409);
    assert.equal(errorOf(release).code, 'SY_SHOP_RESERVATION_COMMITTED');
    const id = (call('GET', '/reservations?orderId=ord_3').body as { reservations: Reservation[] }).reservations[0]?.id;
    const single = call('DELETE', `/reservations/${id}`);
    assert.equal(single.status, 409);
    assert.equal(errorOf(single).code, 'SY_SHOP_RESERVATION_COMMITTED');
    assert.equal(stockOf('SKU-A'), 1, 'committed stock has left for good');
  });

  it('validates the order id and requires it to list reservations', () => {
    const bad = call('POST', '/reservations/release', { orderId: '' });
    assert.equal(bad.status, 400);
    assert.equal(errorOf(bad).field, 'orderId');
    const list = call('GET', '/reservations');
    assert.equal(list.status, 400);
    assert.equal(errorOf(list).field, 'query.orderId');
  });

  it('commits on order.approved from the bus, once however often it is delivered', async () => {
    const bus = createMemoryEventBus();
    const subscription = await subscribeCommitOnApproval(bus, db);
    try {
      reserve('ord_4');
      const payload = { orderId: 'ord_4', customer: 'ada', total: 2, items: [], reservationId: 'r', paymentId: 'p' };
      await bus.publish('order.approved', payload, { id: 'order.approved:ord_4' });
      await bus.publish('order.approved', payload, { id: 'order.approved:ord_4' });
      const handled = () =>
        (db.prepare("SELECT count(*) AS n FROM sy_inbox WHERE consumer_group = 'inventory'").get() as { n: number }).n;
      const deadline = Date.now() + 5000;
      while (statusesOf('ord_4')[0] !== 'committed' || handled() !== 1) {
        assert.ok(Date.now() < deadline, 'order.approved was not handled within 5 s');
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      assert.deepEqual(statusesOf('ord_4'), ['committed']);
    } finally {
      await subscription.close();
      await bus.close();
    }
  });

  it('migrates a reservations table from before commits existed', () => {
    const old = new DatabaseSync(':memory:');
    old.exec(`CREATE TABLE reservations (
      id TEXT PRIMARY KEY, order_id TEXT NOT NULL, items TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('reserved', 'released'))) STRICT;
      INSERT INTO reservations VALUES ('res_old', 'ord_old', '[{"sku":"SKU-A","quantity":1}]', 'reserved');`);
    const migrated = createInventoryApp(old, { instanceId: 'inventory-1', seed, onError: () => {} });
    const res = migrated.handle(appRequest('POST', '/reservations/commit', { body: { orderId: 'ord_old' } }));
    assert.deepEqual(res.body, { orderId: 'ord_old', committed: ['res_old'] });
  });
});
