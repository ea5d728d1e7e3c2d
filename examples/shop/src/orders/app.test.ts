import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { beforeEach, describe, it } from 'node:test';
import { ManualClock } from '@switchyard/core';
import { type App, type AppResponse, appRequest } from '../http/types.ts';
import { createOrdersApp, type Order } from './app.ts';

const valid = {
  customer: 'ada',
  items: [
    { sku: 'SKU-KEYBOARD', quantity: 3, price: 19.99 },
    { sku: 'SKU-MOUSE', quantity: 1, price: 0.1 },
  ],
  total: 60.07,
};

function errorOf(res: AppResponse): { code: string; message: string; field?: string } {
  return (res.body as { error: { code: string; message: string; field?: string } }).error;
}

describe('orders app', () => {
  let app: App;
  let clock: ManualClock;
  const create = (body: unknown, key?: string) =>
    app.handle(
      appRequest('POST', '/orders', key === undefined ? { body } : { body, headers: { 'idempotency-key': key } }),
    );

  beforeEach(() => {
    clock = new ManualClock(Date.parse('2026-01-02T03:04:05.000Z'));
    app = createOrdersApp(new DatabaseSync(':memory:'), { clock, onError: () => {} });
  });

  describe('POST /orders validation', () => {
    const cases: [string, unknown, string, string][] = [
      ['a missing customer', { items: valid.items, total: valid.total }, 'customer', 'customer: required'],
      [
        'an empty customer',
        { ...valid, customer: '' },
        'customer',
        'customer: expected a string of 1..200 characters, got ""',
      ],
      [
        'items of the wrong type',
        { ...valid, items: 'many' },
        'items',
        'items: expected an array of 1..100 items, got "many"',
      ],
      [
        'no items',
        { ...valid, items: [] },
        'items',
        'items: expected an array of 1..100 items, got an array of 0 items',
      ],
      [
        'a zero quantity',
        { ...valid, items: [{ sku: 'A', quantity: 0, price: 1 }], total: 0 },
        'items[0].quantity',
        'items[0].quantity: expected an integer >= 1, got 0',
      ],
      [
        'a price as a string',
        { ...valid, items: [{ sku: 'A', quantity: 1, price: '1' }], total: 1 },
        'items[0].price',
        'items[0].price: expected a number >= 0, got "1"',
      ],
      [
        'a missing sku',
        { ...valid, items: [{ quantity: 1, price: 1 }], total: 1 },
        'items[0].sku',
        'items[0].sku: required',
      ],
      ['a negative total', { ...valid, total: -1 }, 'total', 'total: expected a number >= 0, got -1'],
      [
        'a total that is not the sum',
        { ...valid, total: 60.08 },
        'total',
        'total: expected 60.07 (the sum of quantity × price), got 60.08',
      ],
      ['an unknown field', { ...valid, coupon: 'FREE' }, 'coupon', 'coupon: unknown field'],
    ];
    for (const [what, body, field, message] of cases) {
      it(`answers ${what} with 400 naming ${field}`, () => {
        const res = create(body);
        assert.equal(res.status, 400);
        assert.deepEqual(errorOf(res), { code: 'SY_SHOP_INVALID_REQUEST', message, field });
      });
    }

    it('answers a missing body with 400', () => {
      const res = create(undefined);
      assert.equal(res.status, 400);
      assert.equal(errorOf(res).message, 'request body: expected an object, got no body');
    });

    it('stores nothing for a rejected order', () => {
      create({ ...valid, total: 1 });
      assert.deepEqual(app.handle(appRequest('GET', '/orders')).body, { orders: [] });
    });
  });

  it('creates an order with 201 and reads it back', () => {
    const res = create(valid);
    assert.equal(res.status, 201);
    const order = res.body as Order;
    assert.match(order.id, /^ord_[0-9a-f-]{36}$/);
    assert.deepEqual(
      { ...order, id: 'x' },
      { id: 'x', ...valid, status: 'created', createdAt: '2026-01-02T03:04:05.000Z' },
    );
    assert.deepEqual(app.handle(appRequest('GET', `/orders/${order.id}`)), { status: 200, body: order });
  });

  it('answers an unknown order with 404 SY_SHOP_ORDER_NOT_FOUND', () => {
    const res = app.handle(appRequest('GET', '/orders/ord_nope'));
    assert.equal(res.status, 404);
    assert.deepEqual(errorOf(res), { code: 'SY_SHOP_ORDER_NOT_FOUND', message: 'no order with id "ord_nope"' });
  });

  it('lists newest first, filtered by customer and cut at limit', () => {
    const ids: string[] = [];
    for (const customer of ['ada', 'bob', 'ada', 'ada']) {
      ids.push((create({ ...valid, customer }).body as Order).id);
      clock.advance(1000);
    }
    const list = (target: string) => (app.handle(appRequest('GET', target)).body as { orders: Order[] }).orders;
    assert.deepEqual(
      list('/orders').map((o) => o.id),
      [...ids].reverse(),
    );
    assert.deepEqual(
      list('/orders?customer=ada&limit=2').map((o) => o.id),
      [ids[3], ids[2]],
    );
    assert.deepEqual(list('/orders?customer=carol'), []);
  });

  it('answers a bad limit with 400 naming query.limit', () => {
    for (const limit of ['0', '101', 'ten', '1.5', '']) {
      const res = app.handle(appRequest('GET', `/orders?limit=${limit}`));
      assert.equal(res.status, 400, `limit=${limit}`);
      assert.equal(errorOf(res).field, 'query.limit');
    }
    assert.equal(app.handle(appRequest('GET', '/orders?limit=100')).status, 200);
  });

  it('creates one order for a repeated Idempotency-Key and replays the first answer', () => {
    const first = create(valid, 'order-ada-1');
    const second = create(valid, 'order-ada-1');
    assert.equal(second.status, 201);
    assert.deepEqual(second.body, first.body);
    assert.equal(second.headers?.['idempotent-replayed'], 'true');
    assert.equal((app.handle(appRequest('GET', '/orders')).body as { orders: Order[] }).orders.length, 1);
    const mismatch = create({ ...valid, customer: 'eve' }, 'order-ada-1');
    assert.equal(mismatch.status, 422);
    assert.equal(errorOf(mismatch).code, 'SY_SHOP_IDEMPOTENCY_MISMATCH');
  });

  it('serves the same endpoints at the root, as a gateway that strips /api/orders forwards them', () => {
    const created = app.handle(appRequest('POST', '/', { body: valid }));
    assert.equal(created.status, 201);
    const order = created.body as Order;
    assert.deepEqual(app.handle(appRequest('GET', `/${order.id}`)).body, order);
    assert.deepEqual(app.handle(appRequest('GET', '/?limit=1')).body, { orders: [order] });
    assert.deepEqual(app.handle(appRequest('GET', '/orders')).body, { orders: [order] });
  });

  it('creates two orders for two requests without a key', () => {
    create(valid);
    create(valid);
    assert.equal((app.handle(appRequest('GET', '/orders')).body as { orders: Order[] }).orders.length, 2);
  });
});
