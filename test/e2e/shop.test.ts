import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { alive, eventually, readJsonWhenPresent, root, runCli, type UpProcess } from './helpers.ts';

interface Ready {
  gateway: string;
  registry: string;
  instances: Array<{ id: string; service: string; pid: number }>;
}

describe('switchyard up with the example shop', { timeout: 90_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-e2e-'));
  const readyFile = join(dir, 'ready.json');
  let up: UpProcess;
  let ready: Ready;

  before(async () => {
    up = runCli(['up', '-c', `${root}examples/shop/switchyard.yaml`, '--ready-file', readyFile], {
      SWITCHYARD_GATEWAY_PORT: '0',
      SWITCHYARD_REGISTRY_PORT: '0',
      SHOP_DATA_DIR: join(dir, 'data'),
    });
    ready = await eventually(
      'the system to report ready',
      () => {
        if (up.child.exitCode !== null) throw new Error(`switchyard up exited early:\n${up.output()}`);
        return readJsonWhenPresent<Ready>(readyFile);
      },
      45_000,
    );
  });

  after(async () => {
    if (up.child.exitCode === null) {
      up.child.kill('SIGKILL');
      await up.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints a status table with every instance and a curl line', () => {
    const out = up.output();
    for (const id of ['orders-1', 'inventory-1', 'inventory-2', 'payments-1'])
      assert.match(out, new RegExp(`${id}\\s+http://127\\.0\\.0\\.1:\\d+\\s+passing`));
    assert.match(out, /try: curl -s http:\/\/127\.0\.0\.1:\d+\/api\/orders/);
  });

  it('routes a request to each service through the gateway', async () => {
    const orders = await fetch(`${ready.gateway}/api/orders/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customer: 'ada', items: [{ sku: 'SKU-1', quantity: 2, price: 5 }], total: 10 }),
    });
    assert.equal(orders.status, 201, await orders.clone().text());
    const order = (await orders.json()) as { id: string };
    const fetched = await fetch(`${ready.gateway}/api/orders/orders/${order.id}`);
    assert.equal(fetched.status, 200);
    assert.equal(((await fetched.json()) as { customer: string }).customer, 'ada');

    const items = await fetch(`${ready.gateway}/api/inventory/items`);
    assert.equal(items.status, 200);
    const { items: list } = (await items.json()) as { items: Array<{ sku: string; stock: number }> };
    assert.ok(list.length > 0 && list.every((i) => typeof i.sku === 'string' && i.stock >= 0));
    assert.ok(items.headers.get('x-request-id'));

    const payment = await fetch(`${ready.gateway}/api/payments/payments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ orderId: order.id, customer: 'ada', amount: 5000 }),
    });
    assert.equal(payment.status, 402, 'over the configured PAYMENTS_LIMIT of 1000');
  });

  it('alternates between the two inventory instances', async () => {
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${ready.gateway}/api/inventory/items`);
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      seen.push(res.headers.get('x-instance-id') ?? '?');
    }
    assert.deepEqual(new Set(seen), new Set(['inventory-1', 'inventory-2']));
    for (let i = 1; i < seen.length; i++) assert.notEqual(seen[i], seen[i - 1], `not alternating: ${seen.join(',')}`);
  });

  it('answers an unknown path with the JSON 404', async () => {
    const res = await fetch(`${ready.gateway}/nope`);
    assert.equal(res.status, 404);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    const body = (await res.json()) as { error: { code: string; requestId: string } };
    assert.equal(body.error.code, 'SY_GATEWAY_ROUTE_NOT_FOUND');
    assert.ok(body.error.requestId);
  });

  it('stops sending to a killed instance once its check fails, and requests keep succeeding', async () => {
    const victim = ready.instances.find((i) => i.id === 'inventory-2');
    assert.ok(victim);
    process.kill(victim.pid, 'SIGKILL');
    const statuses: number[] = [];
    await eventually(
      'the registry to drop inventory-2 from passing instances',
      async () => {
        const res = await fetch(`${ready.registry}/v1/health/service/inventory?passing=true`);
        const entries = (await res.json()) as Array<{ Service: { ID: string } }>;
        return entries.length === 1 && entries[0]?.Service.ID === 'inventory-1';
      },
      10_000,
    );
    for (let i = 0; i < 8; i++) {
      const res = await fetch(`${ready.gateway}/api/inventory/items`);
      await res.arrayBuffer();
      statuses.push(res.status);
      assert.equal(res.headers.get('x-instance-id'), 'inventory-1');
    }
    assert.deepEqual(statuses, Array(8).fill(200));
    assert.match(up.output(), /inventory-2 exited \(signal SIGKILL\)/);
  });

  it('stops cleanly on SIGTERM: exit code 0 and no child process left', async () => {
    up.child.kill('SIGTERM');
    const exit = await up.exited;
    assert.deepEqual(exit, { code: 0, signal: null }, up.output());
    for (const instance of ready.instances) assert.equal(alive(instance.pid), false, `${instance.id} still running`);
    // stdout is a pipe, so `up` logs JSON lines.
    assert.match(up.output(), /"stream":"supervisor","msg":"stopped"\}/);
  });
});
