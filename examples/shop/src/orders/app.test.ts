import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type AppResponse, appRequest } from '../http/types.ts';
import type { InventoryItem } from '../inventory/app.ts';
import type { Payment } from '../payments/app.ts';
import type { Notification } from '../payments/notifications.ts';
import { type ShopKit, startShopKit } from '../testing/shop-kit.ts';
import type { OrderView } from './order-view.ts';

const valid = {
  customer: 'ada',
  items: [
    { sku: 'SKU-KEYBOARD', quantity: 3, price: 19.99 },
    { sku: 'SKU-MOUSE', quantity: 1, price: 0.1 },
  ],
  total: 60.07,
};

const seed: InventoryItem[] = [
  { sku: 'SKU-KEYBOARD', name: 'Keyboard', price: 19.99, stock: 100 },
  { sku: 'SKU-MOUSE', name: 'Mouse', price: 0.1, stock: 100 },
  { sku: 'SKU-RARE', name: 'Rare', price: 500, stock: 1 },
];

function errorOf(res: AppResponse): { code: string; message: string; field?: string } {
  return (res.body as { error: { code: string; message: string; field?: string } }).error;
}

/** Polls `fn` until it returns true, for at most `ms`. */
async function eventually(what: string, fn: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms}ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('orders app: the order saga', () => {
  let kit: ShopKit;
  const post = async (body: unknown, headers: Record<string, string> = {}) =>
    kit.orders.handle(appRequest('POST', '/orders', { body, headers }));
  const get = async (target: string) => kit.orders.handle(appRequest('GET', target));
  const stockOf = (sku: string) => (kit.inventory('GET', `/items/${sku}`).body as InventoryItem).stock;
  const paymentsOf = (orderId: string) =>
    (kit.payments('GET', `/payments?orderId=${orderId}`).body as { payments: Payment[] }).payments;
  const reservationsOf = (orderId: string) =>
    (kit.inventory('GET', `/reservations?orderId=${orderId}`).body as { reservations: { status: string }[] })
      .reservations;
  const stepsOf = (order: OrderView) => Object.fromEntries(order.saga.steps.map((s) => [s.name, s.status]));

  before(async () => {
    kit = await startShopKit({ seed, paymentsLimit: 1000 });
  });
  after(async () => {
    await kit.close();
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
      it(`answers ${what} with 400 naming ${field}`, async () => {
        const res = await post(body);
        assert.equal(res.status, 400);
        assert.deepEqual(errorOf(res), { code: 'SY_SHOP_INVALID_REQUEST', message, field });
      });
    }

    it('answers a missing body with 400 and starts no saga', async () => {
      const before = (await kit.orders.engine.list()).sagas.length;
      const res = await post(undefined);
      assert.equal(res.status, 400);
      assert.equal(errorOf(res).message, 'request body: expected an object, got no body');
      assert.equal((await kit.orders.engine.list()).sagas.length, before);
    });
  });

  it('approves an order: reserved, charged, approved; 201 with every step done', async () => {
    const keyboards = stockOf('SKU-KEYBOARD');
    const res = await post(valid, { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
    assert.equal(res.status, 201);
    const order = res.body as OrderView;
    assert.match(order.id, /^ord_[0-9a-f-]{36}$/);
    assert.equal(res.headers?.location, `/api/orders/${order.id}`);
    assert.equal(order.status, 'approved');
    assert.equal(order.saga.status, 'completed');
    assert.deepEqual(stepsOf(order), { createOrder: 'done', reserve: 'done', charge: 'done', approve: 'done' });
    assert.deepEqual(
      order.saga.history.map((t) => t.kind),
      [
        'saga.started',
        'step.started',
        'step.done',
        'step.started',
        'step.done',
        'step.started',
        'step.done',
        'step.started',
        'step.done',
        'saga.completed',
      ],
    );
    assert.equal(stockOf('SKU-KEYBOARD'), keyboards - 3);
    assert.deepEqual(
      paymentsOf(order.id).map((p) => [p.status, p.amount]),
      [['captured', 60.07]],
    );
    const read = await get(`/orders/${order.id}`);
    assert.equal(read.status, 200);
    assert.deepEqual(read.body, order);
  });

  it('runs the choreography: order.approved commits the reservation and records a receipt, once each', async () => {
    const order = (await post(valid)).body as OrderView;
    assert.equal(order.status, 'approved');
    await eventually('the reservation to be committed', () => reservationsOf(order.id)[0]?.status === 'committed');
    const notifications = () =>
      (kit.payments('GET', `/payments/notifications?orderId=${order.id}`).body as { notifications: Notification[] })
        .notifications;
    await eventually('the receipt', () => notifications().length === 1);
    const [receipt] = notifications();
    assert.equal(receipt?.sagaId, order.id);
    assert.equal(receipt?.id, `order.approved:${order.id}`);
    assert.match(receipt?.text ?? '', /order ord_.* is approved; 60\.07 was charged/);
    await eventually('the outbox to be empty', () => kit.orders.outbox.pending() === 0);
    // A second delivery of the same event changes nothing (the inboxes drop it).
    const [event] = kit.ordersDb
      .prepare('SELECT id, payload, headers FROM sy_outbox WHERE id = ?')
      .all(receipt?.id ?? '') as {
      id: string;
      payload: string;
      headers: string;
    }[];
    assert.ok(event);
    await kit.bus.publish('order.approved', JSON.parse(event.payload), {
      id: event.id,
      headers: JSON.parse(event.headers),
    });
    // Deliveries of a topic are in order: once a later order's receipt is in, the duplicate was handled.
    const later = (await post(valid)).body as OrderView;
    await eventually(
      'the later receipt',
      () =>
        (kit.payments('GET', `/payments/notifications?orderId=${later.id}`).body as { notifications: unknown[] })
          .notifications.length === 1,
    );
    assert.equal(notifications().length, 1);
    assert.deepEqual(
      reservationsOf(order.id).map((r) => r.status),
      ['committed'],
    );
  });

  it('rejects a declined payment: the reservation is released, nothing stays charged', async () => {
    const rare = stockOf('SKU-RARE');
    const body = { customer: 'bob', items: [{ sku: 'SKU-MOUSE', quantity: 2, price: 600 }], total: 1200 };
    const mice = stockOf('SKU-MOUSE');
    const res = await post(body);
    assert.equal(res.status, 201);
    const order = res.body as OrderView;
    assert.equal(order.status, 'rejected');
    assert.equal(order.reason?.code, 'SY_SHOP_PAYMENT_DECLINED');
    assert.equal(order.saga.status, 'compensated');
    assert.deepEqual(stepsOf(order), {
      createOrder: 'compensated',
      reserve: 'compensated',
      charge: 'compensated',
      approve: 'pending',
    });
    assert.equal(stockOf('SKU-MOUSE'), mice);
    assert.equal(stockOf('SKU-RARE'), rare);
    assert.deepEqual(
      reservationsOf(order.id).map((r) => r.status),
      ['released'],
    );
    assert.deepEqual(
      paymentsOf(order.id).map((p) => p.status),
      ['declined'],
    );
  });

  it('rejects an order over the stock: nothing reserved, nothing charged', async () => {
    const res = await post({ customer: 'cy', items: [{ sku: 'SKU-RARE', quantity: 2, price: 500 }], total: 1000 });
    const order = res.body as OrderView;
    assert.equal(order.status, 'rejected');
    assert.equal(order.reason?.code, 'SY_SHOP_INSUFFICIENT_STOCK');
    assert.deepEqual(stepsOf(order), {
      createOrder: 'compensated',
      reserve: 'compensated',
      charge: 'pending',
      approve: 'pending',
    });
    assert.equal(stockOf('SKU-RARE'), 1);
    assert.deepEqual(reservationsOf(order.id), []);
    assert.deepEqual(paymentsOf(order.id), []);
  });

  it('rejects an unknown SKU with its code', async () => {
    const res = await post({ customer: 'cy', items: [{ sku: 'SKU-NOPE', quantity: 1, price: 1 }], total: 1 });
    const order = res.body as OrderView;
    assert.equal(order.status, 'rejected');
    assert.equal(order.reason?.code, 'SY_SHOP_UNKNOWN_SKU');
  });

  it('places an order once per Idempotency-Key and answers a repeat with the same order', async () => {
    const first = await post(valid, { 'idempotency-key': 'order-ada-1' });
    const again = await post(valid, { 'idempotency-key': 'order-ada-1' });
    assert.equal(first.status, 201);
    assert.equal(again.status, 201);
    assert.equal(again.headers?.['idempotent-replayed'], 'true');
    assert.deepEqual(again.body, first.body);
    const id = (first.body as OrderView).id;
    assert.match(id, /^ord_[0-9a-f]{32}$/);
    assert.equal(paymentsOf(id).length, 1);
    const mismatch = await post({ ...valid, customer: 'eve' }, { 'idempotency-key': 'order-ada-1' });
    assert.equal(mismatch.status, 422);
    assert.equal(errorOf(mismatch).code, 'SY_SHOP_IDEMPOTENCY_MISMATCH');
  });

  it('answers 202 with Location at once for Prefer: respond-async, and GET shows the outcome', async () => {
    const res = await post(valid, { prefer: 'respond-async' });
    assert.equal(res.status, 202);
    const order = res.body as OrderView;
    assert.equal(order.status, 'pending');
    assert.equal(res.headers?.location, `/api/orders/${order.id}`);
    await eventually(
      'the saga to complete',
      async () => ((await get(`/${order.id}`)).body as OrderView).status === 'approved',
    );
  });

  it('answers an unknown order with 404 SY_SHOP_ORDER_NOT_FOUND', async () => {
    const res = await get('/orders/ord_nope');
    assert.equal(res.status, 404);
    assert.deepEqual(errorOf(res), { code: 'SY_SHOP_ORDER_NOT_FOUND', message: 'no order with id "ord_nope"' });
  });

  it('lists newest first, filtered by customer and cut at limit, at /orders and at the root', async () => {
    const ids: string[] = [];
    for (const customer of ['lister-a', 'lister-b', 'lister-a', 'lister-a']) {
      ids.push(((await post({ ...valid, customer })).body as OrderView).id);
    }
    const list = async (target: string) => ((await get(target)).body as { orders: OrderView[] }).orders;
    assert.deepEqual(
      (await list('/orders?customer=lister-a&limit=2')).map((o) => o.id),
      [ids[3], ids[2]],
    );
    assert.deepEqual(
      (await list('/?customer=lister-b')).map((o) => o.id),
      [ids[1]],
    );
    assert.deepEqual(await list('/orders?customer=carol'), []);
    for (const limit of ['0', '101', 'ten']) {
      const res = await get(`/orders?limit=${limit}`);
      assert.equal(res.status, 400, `limit=${limit}`);
      assert.equal(errorOf(res).field, 'query.limit');
    }
  });
});

describe('orders app: a dead payments service', () => {
  it('compensates: the charge fails, the reservation is released, the order rejected', async (t) => {
    const kit = await startShopKit({ seed });
    t.after(() => kit.close());
    await kit.stopPayments();
    const res = await kit.orders.handle(appRequest('POST', '/orders', { body: valid }));
    const order = res.body as OrderView;
    assert.equal(res.status, 201);
    assert.equal(order.status, 'rejected');
    assert.equal(order.reason?.code, 'SY_CLIENT_NO_INSTANCE');
    const charge = order.saga.steps.find((s) => s.name === 'charge');
    assert.equal(charge?.status, 'compensated');
    assert.equal(charge?.attempts, 4, 'the charge is retried before the saga turns back');
    assert.equal(charge?.compensationAttempts, 1, 'nothing was sent, so the refund is skipped, not retried');
    const reservations = kit.inventory('GET', `/reservations?orderId=${order.id}`).body as {
      reservations: { status: string }[];
    };
    assert.deepEqual(
      reservations.reservations.map((r) => r.status),
      ['released'],
    );
    assert.equal((kit.inventory('GET', '/items/SKU-KEYBOARD').body as InventoryItem).stock, 100);
  });
});
