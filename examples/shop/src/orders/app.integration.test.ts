import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { toNodeHandler } from '../http/node-handler.ts';
import { type ShopKit, startShopKit } from '../testing/shop-kit.ts';
import type { OrderView } from './order-view.ts';

describe('orders over HTTP', () => {
  let kit: ShopKit;
  let server: ReturnType<typeof createServer>;
  let base: string;
  before(async () => {
    kit = await startShopKit();
    server = createServer(toNodeHandler(kit.orders, { maxBodyBytes: 512 }));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    server.close();
    await kit.close();
  });

  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${base}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
      signal: AbortSignal.timeout(10_000),
    });

  it('answers malformed JSON with 400 SY_SHOP_MALFORMED_JSON', async () => {
    const res = await post('{"customer": "ada", ');
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
    const { error } = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(error.code, 'SY_SHOP_MALFORMED_JSON');
    assert.match(error.message, /^request body is not valid JSON: /);
  });

  it('answers a form body with 415 and a body over the limit with 413', async () => {
    const form = await post('customer=ada', { 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(form.status, 415);
    await form.body?.cancel();
    const big = await post(JSON.stringify({ customer: 'x'.repeat(1000) }));
    assert.equal(big.status, 413);
    assert.equal(((await big.json()) as { error: { code: string } }).error.code, 'SY_SHOP_BODY_TOO_LARGE');
  });

  it('names the field of a validation error', async () => {
    const res = await post(JSON.stringify({ customer: 'ada', items: [{ sku: 'A', quantity: 0, price: 1 }], total: 0 }));
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), {
      error: {
        code: 'SY_SHOP_INVALID_REQUEST',
        message: 'items[0].quantity: expected an integer >= 1, got 0',
        field: 'items[0].quantity',
      },
    });
  });

  it('places an order once per Idempotency-Key, with Location, and reads it back at the root', async () => {
    const body = JSON.stringify({
      customer: 'ada',
      items: [{ sku: 'SKU-MOUSE', quantity: 2, price: 24.5 }],
      total: 49,
    });
    const first = await post(body, { 'idempotency-key': 'order-1' });
    assert.equal(first.status, 201);
    assert.equal(first.headers.get('idempotent-replayed'), null);
    const order = (await first.json()) as OrderView;
    assert.equal(order.status, 'approved');
    assert.equal(first.headers.get('location'), `/api/orders/${order.id}`);
    const again = await post(body, { 'idempotency-key': 'order-1' });
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(await again.json(), order);
    // The gateway forwards GET /api/orders/<id> as GET /<id>.
    const read = await fetch(`${base}/${order.id}`, { signal: AbortSignal.timeout(5000) });
    assert.deepEqual(await read.json(), order);
    const list = await fetch(`${base}/orders?customer=ada`, { signal: AbortSignal.timeout(5000) });
    assert.deepEqual(
      ((await list.json()) as { orders: { id: string }[] }).orders.map((o) => o.id),
      [order.id],
    );
  });
});
