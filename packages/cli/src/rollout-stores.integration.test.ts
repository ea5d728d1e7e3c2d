import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import type { ServiceInstance } from '@switchyard/core';
import { createGateway, type Gateway, type GatewayOptions } from '@switchyard/gateway';
import { gatewayRolloutStores } from './rollout-stores.ts';

const POSTGRES_URL = process.env.SWITCHYARD_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function upstream(t: TestContext, body: string): Promise<number> {
  const server = createServer((req, res) => {
    req.resume();
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}

const instance = (version: string, port: number): ServiceInstance => ({
  id: `orders-${version}`,
  service: 'orders',
  address: '127.0.0.1',
  port,
  tags: [],
  meta: { version },
  status: 'passing',
  weight: 1,
});

/** One gateway replica whose rollout `name` keeps its state in `store`. */
async function replica(t: TestContext, name: string, store: string, ports: { v1: number; v2: number }) {
  const options = {
    port: 0,
    admin: { host: '127.0.0.1', port: 0 },
    subsets: { orders: { v1: { meta: { version: 'v1' } }, v2: { meta: { version: 'v2' } } } },
    routes: [{ path: '/api/orders', name: 'orders', service: 'orders', traffic: { subset: 'v1' } }],
    rollouts: { [name]: { route: 'orders', stable: 'v1', canary: 'v2', steps: [20, 100], pause: '1h', store } },
  } as GatewayOptions;
  const gateway: Gateway = await createGateway({
    options,
    discovery: { instances: async () => [instance('v1', ports.v1), instance('v2', ports.v2)] },
    rolloutStores: gatewayRolloutStores(),
  });
  t.after(() => gateway.close());
  return gateway;
}

async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('rollout stores named in switchyard.yaml by URL', () => {
  for (const [label, store, cleanup] of [
    ['redis://', 'redis://127.0.0.1:6379', async () => {}],
    [
      'postgres://',
      POSTGRES_URL,
      // The rollout's rows, removed with psql (drivers stay in adapters/).
      async (name: string) => {
        const sql = `DELETE FROM switchyard.rollouts WHERE name = '${name}'; DELETE FROM switchyard.rollout_leases WHERE name = '${name}';`;
        await promisify(execFile)('psql', [POSTGRES_URL, '-qc', sql]);
      },
    ],
  ] as const) {
    it(`${label}: a rollout started on one replica moves the other's weights`, async (t) => {
      const name = `r${randomUUID().slice(0, 8)}`;
      t.after(() => cleanup(name));
      const ports = { v1: await upstream(t, 'v1'), v2: await upstream(t, 'v2') };
      const a = await replica(t, name, store, ports);
      const b = await replica(t, name, store, ports);
      const started = await fetch(`${a.adminUrl}/admin/rollouts/${name}/start`, { method: 'POST' });
      assert.equal(started.status, 200, await started.text());
      const split = (g: Gateway) => JSON.stringify(g.traffic.split('orders'));
      const expected = JSON.stringify([
        { subset: 'v1', weight: 80 },
        { subset: 'v2', weight: 20 },
      ]);
      await until('replica a to apply 20%', () => split(a) === expected);
      await until('replica b to follow through the store', () => split(b) === expected);
    });
  }
});
