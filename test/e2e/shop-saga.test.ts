/**
 * The order saga through the gateway of a real `switchyard up` shop: an approved order, a
 * declined one, and the choreographed follow-up (inventory commits, payments records a
 * receipt) seen through each service's GET endpoints.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually, readJsonWhenPresent, root, runCli, type UpProcess } from './helpers.ts';

interface Ready {
  gateway: string;
}

interface OrderView {
  id: string;
  status: string;
  reason?: { code: string };
  saga: { status: string; steps: { name: string; status: string }[] };
}

describe('the order saga through switchyard up', { timeout: 90_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-saga-e2e-'));
  const readyFile = join(dir, 'ready.json');
  let up: UpProcess;
  let gateway: string;

  before(async () => {
    up = runCli(['up', '-c', `${root}examples/shop/switchyard.yaml`, '--ready-file', readyFile], {
      SWITCHYARD_GATEWAY_PORT: '0',
      SWITCHYARD_REGISTRY_PORT: '0',
      SHOP_DATA_DIR: join(dir, 'data'),
    });
    gateway = (
      await eventually(
        'the shop to report ready',
        () => {
          if (up.child.exitCode !== null) throw new Error(`switchyard up exited early:\n${up.output()}`);
          return readJsonWhenPresent<Ready>(readyFile);
        },
        45_000,
      )
    ).gateway;
  });

  after(async () => {
    if (up.child.exitCode === null) {
      up.child.kill('SIGTERM');
      const exit = await up.exited;
      assert.deepEqual(exit, { code: 0, signal: null }, up.output());
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const api = async <T>(
    path: string,
    init: RequestInit = {},
  ): Promise<{ status: number; headers: Headers; body: T }> => {
    const res = await fetch(`${gateway}${path}`, { ...init, signal: AbortSignal.timeout(15_000) });
    return { status: res.status, headers: res.headers, body: (await res.json()) as T };
  };
  const placeOrder = (body: unknown, headers: Record<string, string> = {}) =>
    api<OrderView>('/api/orders', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  it('approves an order and runs the choreography: the reservation is committed, a receipt recorded', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const placed = await placeOrder(
      { customer: 'ada', items: [{ sku: 'SKU-MOUSE', quantity: 2, price: 24.5 }], total: 49 },
      { 'idempotency-key': 'e2e-order-1', traceparent },
    );
    assert.equal(placed.status, 201, JSON.stringify(placed.body));
    assert.equal(placed.body.status, 'approved');
    assert.equal(placed.headers.get('location'), `/api/orders/${placed.body.id}`);

    const read = await api<OrderView>(`/api/orders/${placed.body.id}`);
    assert.equal(read.status, 200);
    assert.equal(read.body.saga.status, 'completed');
    assert.deepEqual(
      read.body.saga.steps.map((s) => `${s.name}:${s.status}`),
      ['createOrder:done', 'reserve:done', 'charge:done', 'approve:done'],
    );

    await eventually('inventory to commit the reservation', async () => {
      const { body } = await api<{ reservations: { status: string }[] }>(
        `/api/inventory/reservations?orderId=${placed.body.id}`,
      );
      return body.reservations.length === 1 && body.reservations[0]?.status === 'committed';
    });
    const receipt = await eventually('payments to record the receipt', async () => {
      const { body } = await api<{ notifications: { sagaId: string; traceparent: string }[] }>(
        `/api/payments/notifications?orderId=${placed.body.id}`,
      );
      return body.notifications[0];
    });
    assert.equal(receipt.sagaId, placed.body.id);
    // The receipt's event carries the order's trace on: the same trace id (with tracing on, as it
    // is under `up`, the parent is the span that published it, not the caller's).
    assert.equal(receipt.traceparent.split('-')[1], traceparent.split('-')[1]);
    assert.match(receipt.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });

  it('rejects a payment over the limit and releases its reservation', async () => {
    const before = await api<{ stock: number }>('/api/inventory/items/SKU-MONITOR');
    const placed = await placeOrder({
      customer: 'bob',
      items: [{ sku: 'SKU-MONITOR', quantity: 4, price: 299 }],
      total: 1196,
    });
    assert.equal(placed.status, 201);
    assert.equal(placed.body.status, 'rejected');
    assert.equal(placed.body.reason?.code, 'SY_SHOP_PAYMENT_DECLINED');
    assert.equal(placed.body.saga.status, 'compensated');
    const reservations = await api<{ reservations: { status: string }[] }>(
      `/api/inventory/reservations?orderId=${placed.body.id}`,
    );
    assert.deepEqual(
      reservations.body.reservations.map((r) => r.status),
      ['released'],
    );
    assert.equal((await api<{ stock: number }>('/api/inventory/items/SKU-MONITOR')).body.stock, before.body.stock);
    const payments = await api<{ payments: { status: string }[] }>(`/api/payments/payments?orderId=${placed.body.id}`);
    assert.deepEqual(
      payments.body.payments.map((p) => p.status),
      ['declined'],
    );
  });

  it('answers 202 with Location for Prefer: respond-async, and the order can be watched until it rests', async () => {
    const placed = await placeOrder(
      { customer: 'cy', items: [{ sku: 'SKU-CABLE', quantity: 1, price: 9.99 }], total: 9.99 },
      { prefer: 'respond-async' },
    );
    assert.equal(placed.status, 202);
    const location = placed.headers.get('location');
    assert.equal(location, `/api/orders/${placed.body.id}`);
    const done = await eventually('the order to rest', async () => {
      const { body } = await api<OrderView>(location as string);
      return body.status === 'pending' ? undefined : body;
    });
    assert.equal(done.status, 'approved');
  });
});
