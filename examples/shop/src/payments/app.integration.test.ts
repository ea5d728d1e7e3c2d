import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, it } from 'node:test';
import { toNodeHandler } from '../http/node-handler.ts';
import { createPaymentsApp, type Payment } from './app.ts';

describe('payments over HTTP', () => {
  const db = new DatabaseSync(':memory:');
  const server = createServer(toNodeHandler(createPaymentsApp(db, { limit: 1000 })));
  let base: string;
  before(async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
    db.close();
  });

  const post = (path: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(5000),
    });

  it('declines an amount over the limit with 402', async () => {
    const res = await post('/payments', { orderId: 'ord_1', customer: 'ada', amount: 1200 });
    assert.equal(res.status, 402);
    assert.deepEqual(await res.json(), {
      error: { code: 'SY_SHOP_PAYMENT_DECLINED', message: 'amount 1200 exceeds the limit of 1000', field: 'amount' },
    });
  });

  it('captures, refunds, replays the refund for its key, and refuses a second refund', async () => {
    const captured = await post('/payments', { orderId: 'ord_2', customer: 'ada', amount: 99.5 });
    assert.equal(captured.status, 201);
    const payment = (await captured.json()) as Payment;
    const refund = await post(`/payments/${payment.id}/refund`, undefined, { 'idempotency-key': 'refund-ord_2' });
    assert.equal(refund.status, 200);
    assert.equal(((await refund.json()) as Payment).status, 'refunded');
    const replay = await post(`/payments/${payment.id}/refund`, undefined, { 'idempotency-key': 'refund-ord_2' });
    assert.equal(replay.status, 200);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    await replay.body?.cancel();
    const twice = await post(`/payments/${payment.id}/refund`);
    assert.equal(twice.status, 409);
    assert.equal(((await twice.json()) as { error: { code: string } }).error.code, 'SY_SHOP_ALREADY_REFUNDED');
  });
});
