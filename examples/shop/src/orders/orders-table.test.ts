import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import { createOrdersTable } from './orders-table.ts';

const order = {
  id: 'ord_1',
  customer: 'ada',
  items: [{ sku: 'SKU-MOUSE', quantity: 1, price: 24.5 }],
  total: 24.5,
  createdAt: '2026-01-02T03:04:05.000Z',
};

describe('orders table', () => {
  it('approves a pending order once, running the callback inside the transaction', () => {
    const db = new DatabaseSync(':memory:');
    const orders = createOrdersTable(db);
    orders.insertPending(order);
    orders.insertPending({ ...order, customer: 'eve' }); // a repeated step changes nothing
    let inTransaction = false;
    assert.equal(
      orders.approve(order.id, () => {
        inTransaction = db.isTransaction;
      }),
      true,
    );
    assert.equal(inTransaction, true);
    assert.equal(
      orders.approve(order.id, () => assert.fail('approved twice')),
      false,
    );
    assert.deepEqual(orders.get(order.id), { ...order, status: 'approved' });
    assert.throws(() => orders.reject(order, undefined), /SY_SHOP_ORDER_CLOSED|was approved; it cannot be rejected/);
  });

  it('rolls the approval back when the callback throws (no status without its event)', () => {
    const orders = createOrdersTable(new DatabaseSync(':memory:'));
    orders.insertPending(order);
    assert.throws(
      () =>
        orders.approve(order.id, () => {
          throw new Error('outbox full');
        }),
      /outbox full/,
    );
    assert.equal(orders.get(order.id)?.status, 'pending');
  });

  it('rejects with a reason, inserting the order when its first step never ran', () => {
    const orders = createOrdersTable(new DatabaseSync(':memory:'));
    const reason = { code: 'SY_SHOP_PAYMENT_DECLINED', message: 'amount 1200 exceeds the limit of 1000' };
    orders.reject(order, reason);
    assert.deepEqual(orders.get(order.id), { ...order, status: 'rejected', reason });
    assert.throws(() => orders.approve(order.id, () => {}), /was rejected; it cannot be approved/);
  });

  it('adds the reason column to a table from before the saga, and reads old orders as pending', () => {
    const db = new DatabaseSync(':memory:');
    db.exec(`CREATE TABLE orders (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, customer TEXT NOT NULL,
      items TEXT NOT NULL, total REAL NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL) STRICT;
      INSERT INTO orders (id, customer, items, total, status, created_at)
      VALUES ('ord_old', 'ada', '[]', 0, 'created', '2026-01-01T00:00:00.000Z');`);
    const orders = createOrdersTable(db);
    assert.equal(orders.get('ord_old')?.status, 'pending');
    orders.reject({ ...order, id: 'ord_old' }, undefined);
    assert.equal(orders.get('ord_old')?.status, 'rejected');
  });
});
