import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { beforeEach, describe, it } from 'node:test';
import { createMemoryEventBus } from '@switchyard/saga';
import { type App, type AppResponse, appRequest } from '../http/types.ts';
import { createPaymentsApp, type Payment } from './app.ts';
import { type Notification, subscribeReceipts } from './notifications.ts';

function errorOf(res: AppResponse): { code: string; message: string; field?: string } {
  return (res.body as { error: { code: string; message: string; field?: string } }).error;
}

describe('payments: the order saga endpoints', () => {
  let db: DatabaseSync;
  let app: App;
  const call = (method: string, target: string, body?: unknown, key?: string) =>
    app.handle(
      appRequest(method, target, {
        ...(body === undefined ? {} : { body }),
        ...(key === undefined ? {} : { headers: { 'idempotency-key': key } }),
      }),
    );
  const charge = (orderId: string, amount = 50) =>
    call('POST', '/payments', { orderId, customer: 'ada', amount }, `${orderId}:charge:execute`);
  const paymentsOf = (orderId: string) =>
    (call('GET', `/payments?orderId=${orderId}`).body as { payments: Payment[] }).payments;

  beforeEach(() => {
    db = new DatabaseSync(':memory:');
    app = createPaymentsApp(db, { limit: 100, onError: () => {} });
  });

  it('charges once per saga idempotency key', () => {
    const first = charge('ord_1');
    const again = charge('ord_1');
    assert.equal(first.status, 201);
    assert.deepEqual(again.body, first.body);
    assert.equal(again.headers?.['idempotent-replayed'], 'true');
    assert.equal(paymentsOf('ord_1').length, 1);
  });

  it('refunds an order once; a repeat replays, and a new key refunds nothing more', () => {
    const payment = charge('ord_1').body as Payment;
    const refunded = call('POST', '/payments/refunds', { orderId: 'ord_1' }, 'ord_1:charge:compensate');
    assert.deepEqual(refunded, { status: 200, body: { orderId: 'ord_1', refunded: [payment.id] } });
    const replay = call('POST', '/payments/refunds', { orderId: 'ord_1' }, 'ord_1:charge:compensate');
    assert.equal(replay.headers?.['idempotent-replayed'], 'true');
    assert.deepEqual(call('POST', '/payments/refunds', { orderId: 'ord_1' }, 'other').body, {
      orderId: 'ord_1',
      refunded: [],
    });
    assert.deepEqual(
      paymentsOf('ord_1').map((p) => p.status),
      ['refunded'],
    );
  });

  it('refunds nothing successfully (a declined or a missing payment), then refuses a late charge', () => {
    assert.equal(charge('ord_2', 500).status, 402);
    assert.deepEqual(call('POST', '/payments/refunds', { orderId: 'ord_2' }).body, { orderId: 'ord_2', refunded: [] });
    assert.deepEqual(call('POST', '/payments/refunds', { orderId: 'ord_3' }).body, { orderId: 'ord_3', refunded: [] });
    // A charge whose saga attempt timed out lands after the compensation: refused, nothing captured.
    const late = call('POST', '/payments', { orderId: 'ord_3', customer: 'ada', amount: 10 }, 'late');
    assert.equal(late.status, 409);
    assert.equal(errorOf(late).code, 'SY_SHOP_ORDER_CLOSED');
    assert.deepEqual(paymentsOf('ord_3'), []);
  });

  it('records one receipt per order.approved, with the saga id and trace context, however often delivered', async () => {
    const bus = createMemoryEventBus();
    const subscription = await subscribeReceipts(bus, db);
    try {
      const payload = {
        orderId: 'ord_9',
        customer: 'ada',
        total: 49,
        items: [],
        reservationId: 'r',
        paymentId: 'pay_1',
      };
      const headers = { 'sy-saga-id': 'ord_9', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
      await bus.publish('order.approved', payload, { id: 'order.approved:ord_9', headers });
      await bus.publish('order.approved', payload, { id: 'order.approved:ord_9', headers });
      await bus.publish('order.approved', { ...payload, orderId: 'ord_10' }, { id: 'order.approved:ord_10' });
      const list = (target: string) => (call('GET', target).body as { notifications: Notification[] }).notifications;
      const deadline = Date.now() + 5000;
      while (list('/payments/notifications').length < 2) {
        assert.ok(Date.now() < deadline, 'the receipts were not recorded within 5 s');
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const [receipt, ...rest] = list('/payments/notifications?orderId=ord_9');
      assert.deepEqual(rest, []);
      assert.equal(receipt?.id, 'order.approved:ord_9');
      assert.equal(receipt?.sagaId, 'ord_9');
      assert.equal(receipt?.traceparent, headers.traceparent);
      assert.equal(receipt?.kind, 'receipt');
      assert.match(
        receipt?.text ?? '',
        /^Thank you, ada: order ord_9 is approved; 49\.00 was charged \(payment pay_1\)\.$/,
      );
      assert.equal(list('/notifications?orderId=ord_10').length, 1, 'served at the root too');
    } finally {
      await subscription.close();
      await bus.close();
    }
  });
});
