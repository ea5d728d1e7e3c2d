import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import type { ServiceInstance } from '@switchyard/core';
import { createGateway, type Gateway } from '../gateway.ts';
import type { GatewayOptions } from '../options.ts';

const READ_TOKEN = 'read-token-0123456789';
const WRITE_TOKEN = 'write-token-0123456789';

async function upstream(t: TestContext, status: number, body: string): Promise<number> {
  const server: Server = createServer((req, res) => {
    req.resume();
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}

function instance(version: string, port: number): ServiceInstance {
  return {
    id: `orders-${version}`,
    service: 'orders',
    address: '127.0.0.1',
    port,
    tags: [],
    meta: { version },
    status: 'passing',
    weight: 1,
  };
}

async function startSystem(t: TestContext, canaryStatus: number, rollout: Record<string, unknown> = {}) {
  const v1 = await upstream(t, 200, 'v1');
  const v2 = await upstream(t, canaryStatus, 'v2');
  const options = {
    port: 0,
    admin: {
      host: '127.0.0.1',
      port: 0,
      auth: {
        tokens: [
          { token: READ_TOKEN, scope: 'read' },
          { token: WRITE_TOKEN, scope: 'write' },
        ],
      },
    },
    subsets: { orders: { v1: { meta: { version: 'v1' } }, v2: { meta: { version: 'v2' } } } },
    routes: [{ path: '/api/orders', name: 'orders', service: 'orders', retry: false, traffic: { subset: 'v1' } }],
    rollouts: {
      orders: {
        route: 'orders',
        stable: 'v1',
        canary: 'v2',
        steps: [50, 100],
        pause: '200ms',
        analysis: { window: '5s', minRequests: 5, maxErrorRate: 0.1 },
        ...rollout,
      },
    },
  } as GatewayOptions;
  const gateway = await createGateway({
    options,
    discovery: { instances: async () => [instance('v1', v1), instance('v2', v2)] },
  });
  t.after(() => gateway.close());
  return gateway;
}

interface AdminBody {
  readonly rollouts?: readonly { readonly name: string; readonly phase: string }[];
  readonly rollout?: {
    readonly phase: string;
    readonly canaryWeight: number;
    readonly history: readonly { readonly reason: string }[];
  };
  readonly error?: { readonly code: string };
}

async function admin(gateway: Gateway, method: string, path: string, token = WRITE_TOKEN) {
  const res = await fetch(`${gateway.adminUrl}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as AdminBody };
}

/** Sends requests until `done` says so or the deadline passes; returns the bodies seen. */
async function drive(gateway: Gateway, done: () => Promise<boolean>, deadlineMs = 8000): Promise<Set<string>> {
  const bodies = new Set<string>();
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    for (let i = 0; i < 10; i++) {
      const res = await fetch(`${gateway.url}/api/orders`);
      bodies.add(await res.text());
    }
    if (await done()) return bodies;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('deadline passed');
}

async function phaseOf(gateway: Gateway): Promise<string | undefined> {
  return (await admin(gateway, 'GET', '/admin/rollouts/orders')).body.rollout?.phase;
}

describe('rollouts on a real gateway', () => {
  it('rolls a canary answering 500 back and sends all traffic to v1 again', async (t) => {
    const gateway = await startSystem(t, 500);
    const before = await admin(gateway, 'GET', '/admin/rollouts', READ_TOKEN);
    assert.equal(before.status, 200);
    assert.deepEqual(
      before.body.rollouts?.map((r) => [r.name, r.phase]),
      [['orders', 'idle']],
    );
    const started = await admin(gateway, 'POST', '/admin/rollouts/orders/start');
    assert.equal(started.status, 200);
    assert.equal(started.body.rollout?.canaryWeight, 50);
    const seen = await drive(gateway, async () => (await phaseOf(gateway)) === 'rolled-back');
    assert.ok(seen.has('v1') && seen.has('v2'), 'both versions served during the step');
    const view = (await admin(gateway, 'GET', '/admin/rollouts/orders')).body.rollout;
    assert.match(view?.history.at(-1)?.reason ?? '', /^canary error rate 1 > 0\.1 over/);
    for (let i = 0; i < 20; i++) assert.equal(await (await fetch(`${gateway.url}/api/orders`)).text(), 'v1');
    assert.deepEqual(gateway.traffic.split('orders'), [
      { subset: 'v1', weight: 100 },
      { subset: 'v2', weight: 0 },
    ]);
  });

  it('takes a healthy canary to 100%', async (t) => {
    const gateway = await startSystem(t, 200);
    await admin(gateway, 'POST', '/admin/rollouts/orders/start');
    await drive(gateway, async () => (await phaseOf(gateway)) === 'promoted');
    for (let i = 0; i < 20; i++) assert.equal(await (await fetch(`${gateway.url}/api/orders`)).text(), 'v2');
  });

  it('answers the admin actions with codes: unknown 404, conflict 409, read token 403', async (t) => {
    const gateway = await startSystem(t, 200, { pause: '1h' });
    const unknown = await admin(gateway, 'GET', '/admin/rollouts/nope');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error?.code, 'SY_GATEWAY_ROLLOUT_NOT_FOUND');
    const early = await admin(gateway, 'POST', '/admin/rollouts/orders/promote');
    assert.equal(early.status, 409);
    assert.equal(early.body.error?.code, 'SY_GATEWAY_ROLLOUT_CONFLICT');
    const forbidden = await admin(gateway, 'POST', '/admin/rollouts/orders/start', READ_TOKEN);
    assert.equal(forbidden.status, 403);
    const wrongMethod = await admin(gateway, 'GET', '/admin/rollouts/orders/start');
    assert.equal(wrongMethod.status, 405);
    await admin(gateway, 'POST', '/admin/rollouts/orders/start');
    const aborted = await admin(gateway, 'POST', '/admin/rollouts/orders/abort?reason=wrong%20build');
    assert.equal(aborted.status, 200);
    assert.equal(aborted.body.rollout?.phase, 'aborted');
    assert.equal(aborted.body.rollout?.history.at(-1)?.reason, 'wrong build');
    assert.equal(gateway.admin.has('/admin/rollouts/orders/promote'), true);
    assert.equal(gateway.admin.has('/admin/rollouts/orders/bogus'), false);
  });
});
