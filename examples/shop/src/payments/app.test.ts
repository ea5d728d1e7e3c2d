import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { beforeEach, describe, it } from 'node:test';
import { type App, type AppResponse, appRequest } from '../http/types.ts';
import { createPaymentsApp, type Payment } from './app.ts';

function errorOf(res: AppResponse): { code: string; message: string; field?: string } {
  return (res.body as { error: { code: string; message: string; field?: string } }).error;
}

const valid = { orderId: 'ord_1', customer: 'ada', amount: 250.5 };

describe('payments app', () => {
  let app: App;
  const pay = (body: unknown, key?: string) =>
    app.handle(
      appRequest('POST', '/payments', key === undefined ? { body } : { body, headers: { 'idempotency-key': key } }),
    );
  const refund = (id: string, key?: string) =>
    app.handle(
      appRequest('POST', `/payments/${id}/refund`, key === undefined ? {} : { headers: { 'idempotency-key': key } }),
    );
  const paymentsOf = (orderId: string) =>
    (app.handle(appRequest('GET', `/payments?orderId=${orderId}`)).body as { payments: Payment[] }).payments;

  beforeEach(() => {
    app = createPaymentsApp(new DatabaseSync(':memory:'), { limit: 1000, onError: () => {} });
  });

  describe('POST /payments validation', () => {
    const cases: [string, unknown, string, string][] = [
      ['a missing amount', { orderId: 'o', customer: 'c' }, 'amount', 'amount: required'],
      ['a zero amount', { ...valid, amount: 0 }, 'amount', 'amount: expected a number > 0, got 0'],
      ['an amount as a string', { ...valid, amount: '10' }, 'amount', 'amount: expected a number > 0, got "10"'],
      ['a missing customer', { orderId: 'o', amount: 1 }, 'customer', 'customer: required'],
      [
        'an orderId of the wrong type',
        { ...valid, orderId: 12 },
        'orderId',
        'orderId: expected a string of 1..200 characters, got 12',
      ],
      ['an unknown field', { ...valid, amuont: 1 }, 'amuont', 'amuont: unknown field (did you mean "amount"?)'],
    ];
    for (const [what, body, field, message] of cases) {
      it(`answers ${what} with 400 naming ${field}`, () => {
        const res = pay(body);
        assert.equal(res.status, 400);
        assert.deepEqual(errorOf(res), { code: 'SY_SHOP_INVALID_REQUEST', message, field });
      });
    }
  });

  it('refuses a limit that is not a number > 0', () => {
    for (const limit of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => createPaymentsApp(new DatabaseSync(':memory:'), { limit }), { code: 'SY_CONFIG_INVALID' });
    }
  });

  it('declines an amount over the limit with 402 and records the declined payment', () => {
    const res = pay({ ...valid, amount: 1200 });
    assert.equal(res.status, 402);
    assert.deepEqual(errorOf(res), {
      code: 'SY_SHOP_PAYMENT_DECLINED',
      message: 'amount 1200 exceeds the limit of 1000',
      field: 'amount',
    });
    const [declined, ...rest] = paymentsOf('ord_1');
    assert.deepEqual(rest, []);
    assert.deepEqual(
      { ...declined, id: 'x' },
      { id: 'x', ...valid, amount: 1200, status: 'declined', reason: 'amount 1200 exceeds the limit of 1000' },
    );
  });

  it('captures an amount at the limit with 201', () => {
    const res = pay({ ...valid, amount: 1000 });
    assert.equal(res.status, 201);
    const payment = res.body as Payment;
    assert.match(payment.id, /^pay_/);
    assert.deepEqual({ ...payment, id: 'x' }, { id: 'x', ...valid, amount: 1000, status: 'captured' });
    assert.deepEqual(app.handle(appRequest('GET', `/payments/${payment.id}`)).body, payment);
  });

  it('records one declined payment for a repeated key and replays the 402', () => {
    const first = pay({ ...valid, amount: 5000 }, 'pay-ord_1');
    const second = pay({ ...valid, amount: 5000 }, 'pay-ord_1');
    assert.deepEqual([first.status, second.status], [402, 402]);
    assert.equal(second.headers?.['idempotent-replayed'], 'true');
    assert.equal(paymentsOf('ord_1').length, 1);
  });

  it('captures once for a repeated key, twice without one', () => {
    const first = pay(valid, 'pay-ord_1');
    const replay = pay(valid, 'pay-ord_1');
    assert.deepEqual(replay.body, first.body);
    assert.equal(replay.headers?.['idempotent-replayed'], 'true');
    assert.equal(pay({ ...valid, amount: 1 }, 'pay-ord_1').status, 422);
    assert.equal(paymentsOf('ord_1').length, 1);
    pay(valid);
    pay(valid);
    assert.equal(paymentsOf('ord_1').length, 3);
  });

  it('refunds a captured payment once; a second refund is a 409', () => {
    const payment = pay(valid).body as Payment;
    const first = refund(payment.id);
    assert.equal(first.status, 200);
    assert.deepEqual(first.body, { ...payment, status: 'refunded' });
    const second = refund(payment.id);
    assert.equal(second.status, 409);
    assert.deepEqual(errorOf(second), {
      code: 'SY_SHOP_ALREADY_REFUNDED',
      message: `payment "${payment.id}" is already refunded`,
    });
    assert.equal((app.handle(appRequest('GET', `/payments/${payment.id}`)).body as Payment).status, 'refunded');
  });

  it('replays a refund for its Idempotency-Key instead of answering 409', () => {
    const payment = pay(valid).body as Payment;
    assert.equal(refund(payment.id, 'refund-1').status, 200);
    const replay = refund(payment.id, 'refund-1');
    assert.equal(replay.status, 200);
    assert.equal(replay.headers?.['idempotent-replayed'], 'true');
    assert.equal(refund(payment.id, 'refund-2').status, 409);
  });

  it('answers refunding an unknown payment with 404 and a declined one with 409', () => {
    const unknown = refund('pay_nope');
    assert.equal(unknown.status, 404);
    assert.equal(errorOf(unknown).code, 'SY_SHOP_PAYMENT_NOT_FOUND');
    const declined = pay({ ...valid, amount: 2000 });
    const [payment] = paymentsOf('ord_1');
    assert.equal(declined.status, 402);
    const res = refund((payment as Payment).id);
    assert.equal(res.status, 409);
    assert.equal(errorOf(res).code, 'SY_SHOP_NOT_REFUNDABLE');
  });

  it('accepts an empty object as a refund body and rejects anything else', () => {
    const payment = pay(valid).body as Payment;
    const bad = app.handle(appRequest('POST', `/payments/${payment.id}/refund`, { body: { amount: 1 } }));
    assert.equal(bad.status, 400);
    assert.equal(errorOf(bad).field, 'amount');
    assert.equal(app.handle(appRequest('POST', `/payments/${payment.id}/refund`, { body: {} })).status, 200);
  });

  it('serves the same endpoints at the root, as a gateway that strips /api/payments forwards them', () => {
    const created = app.handle(appRequest('POST', '/', { body: valid }));
    assert.equal(created.status, 201);
    const payment = created.body as Payment;
    assert.deepEqual(app.handle(appRequest('GET', `/${payment.id}`)).body, payment);
    assert.equal(app.handle(appRequest('POST', `/${payment.id}/refund`)).status, 200);
    assert.equal((app.handle(appRequest('GET', '/?orderId=ord_1')).body as { payments: Payment[] }).payments.length, 1);
  });

  it('requires orderId to list payments', () => {
    const res = app.handle(appRequest('GET', '/payments'));
    assert.equal(res.status, 400);
    assert.equal(errorOf(res).field, 'query.orderId');
  });
});
