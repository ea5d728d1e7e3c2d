import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { createMetrics, setGlobalMetrics } from '@switchyard/telemetry';
import { errorOf, send, startGateway, startUpstream, staticSource } from '../fixtures.test.ts';
import type { GatewayInput } from '../handler.ts';
import type { GatewayOptions } from '../options.ts';
import type { InstanceSource } from '../ports.ts';

interface Json {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Record<string, unknown>;
}

async function call(url: string | undefined, path: string, method = 'GET'): Promise<Json> {
  assert.ok(url, 'the admin API is running');
  const response = await send(url, path, { method });
  assert.match(String(response.headers['content-type']), /^application\/json/);
  return {
    status: response.status,
    headers: response.headers,
    body: JSON.parse(response.body) as Record<string, unknown>,
  };
}

const routes: GatewayOptions['routes'] = [
  { path: '/api/orders', service: 'orders', timeout: '2s', methods: ['GET'] },
  { name: 'users', path: '/api/users', service: 'users', match: 'exact' },
];

async function startWithAdmin(
  t: TestContext,
  discovery: InstanceSource,
  extra: Omit<GatewayInput, 'options' | 'discovery'> = {},
  options: Partial<GatewayOptions> = {},
) {
  return startGateway(t, { routes, admin: { host: '127.0.0.1', port: 0 }, ...options }, discovery, extra);
}

describe('admin API', () => {
  it('runs only when configured', async (t) => {
    const gateway = await startGateway(t, { routes }, staticSource({}));
    assert.equal(gateway.adminUrl, undefined);
  });

  it('answers /healthz and /readyz with 200 while serving', async (t) => {
    const gateway = await startWithAdmin(t, staticSource({}));
    assert.notEqual(gateway.adminUrl, gateway.url);
    const health = await call(gateway.adminUrl, '/healthz');
    assert.equal(health.status, 200);
    assert.deepEqual(health.body, { status: 'ok' });
    const ready = await call(gateway.adminUrl, '/readyz');
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.body, { status: 'ready', configVersion: 1 });
  });

  it('lists every route with its match fields, target, timeout and middleware kinds', async (t) => {
    const gateway = await startWithAdmin(t, staticSource({}));
    const { status, body } = await call(gateway.adminUrl, '/admin/routes');
    assert.equal(status, 200);
    assert.equal(body.configVersion, 1);
    assert.deepEqual(body.middleware, []);
    const listed = body.routes as Array<Record<string, unknown>>;
    assert.equal(listed.length, 2);
    assert.deepEqual(
      {
        name: listed[0]?.name,
        path: listed[0]?.path,
        match: listed[0]?.match,
        methods: listed[0]?.methods,
        service: listed[0]?.service,
        timeoutMs: listed[0]?.timeoutMs,
        middleware: listed[0]?.middleware,
      },
      {
        name: '/api/orders',
        path: '/api/orders',
        match: 'prefix',
        methods: ['GET'],
        service: 'orders',
        timeoutMs: 2000,
        middleware: [],
      },
    );
    assert.equal(listed[1]?.name, 'users');
    assert.equal(listed[1]?.match, 'exact');
  });

  it('shows each service instances with stats, ejection and breaker state', async (t) => {
    const upstream = await startUpstream(t, 'one');
    const discovery = staticSource({ orders: [upstream.instance('orders', 'orders-1')] });
    const gateway = await startWithAdmin(t, discovery);
    assert.equal((await send(gateway.url, '/api/orders/1')).status, 200);

    const { status, body } = await call(gateway.adminUrl, '/admin/upstreams');
    assert.equal(status, 200);
    const upstreams = body.upstreams as Array<Record<string, unknown>>;
    assert.deepEqual(
      upstreams.map((u) => u.service),
      ['orders', 'users'],
    );
    const orders = upstreams[0] as { instances: Array<Record<string, unknown>>; breaker: Record<string, unknown> };
    assert.equal(orders.instances.length, 1);
    const instance = orders.instances[0] as Record<string, unknown>;
    assert.equal(instance.id, 'orders-1');
    assert.equal(instance.port, upstream.port);
    assert.equal(instance.status, 'passing');
    assert.equal(instance.ejected, false);
    assert.equal((instance.stats as Record<string, unknown>).requests, 1);
    assert.equal(orders.breaker.state, 'closed');
    assert.equal(orders.breaker.name, 'orders');
    assert.deepEqual(upstreams[1]?.instances, []);
    assert.equal(upstreams[1]?.breaker, null);
    assert.ok(body.outlierDetection);

    const breakers = await call(gateway.adminUrl, '/admin/breakers');
    assert.equal(breakers.status, 200);
    assert.deepEqual(
      (breakers.body.breakers as Array<{ name: string }>).map((b) => b.name),
      ['orders'],
    );
  });

  it('reports a discovery failure per service instead of failing the whole view', async (t) => {
    const discovery: InstanceSource = {
      instances: async (service) => {
        if (service === 'users') throw new Error('registry down');
        return [];
      },
    };
    const gateway = await startWithAdmin(t, discovery);
    const { status, body } = await call(gateway.adminUrl, '/admin/upstreams');
    assert.equal(status, 200);
    const users = (body.upstreams as Array<Record<string, unknown>>)[1] as { error: { message: string } };
    assert.match(users.error.message, /registry down/);
  });

  it('shows the configured rate limits and the resolved config', async (t) => {
    const gateway = await startWithAdmin(t, staticSource({}));
    const limits = await call(gateway.adminUrl, '/admin/rate-limits');
    assert.equal(limits.status, 200);
    assert.deepEqual(limits.body, { configVersion: 1, gateway: [], routes: [], rejections: 0, decisions: [] });
    const config = await call(gateway.adminUrl, '/admin/config');
    assert.equal(config.status, 200);
    assert.equal(config.body.configVersion, 1);
    assert.equal(typeof config.body.loadedAt, 'string');
    const resolved = config.body.config as Record<string, unknown>;
    assert.equal(resolved.timeoutMs, 30_000);
    assert.deepEqual(resolved.admin, { host: '127.0.0.1', port: 0 });
  });

  it('counts rate-limit rejections per route when metrics are set up', async (t) => {
    const metrics = setGlobalMetrics(createMetrics());
    t.after(() => metrics.dispose());
    const upstream = await startUpstream(t, 'one');
    const discovery = staticSource({ orders: [upstream.instance('orders', 'orders-1')] });
    const gateway = await startWithAdmin(
      t,
      discovery,
      {},
      {
        routes: [
          {
            path: '/api/orders',
            name: 'orders',
            service: 'orders',
            middleware: [{ rateLimit: { limit: 1, period: '1h', key: 'ip' } }],
          },
        ],
      },
    );
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await send(gateway.url, '/api/orders')).status);
    assert.deepEqual(statuses, [200, 429, 429]);
    const { body } = await call(gateway.adminUrl, '/admin/rate-limits');
    assert.equal(body.rejections, 2);
    const route = (body.routes as Array<{ route: string; rejections: number }>)[0];
    assert.equal(route?.route, 'orders');
    assert.equal(route?.rejections, 2);
    assert.deepEqual(body.decisions, [{ route: 'orders', allowed: 1, limited: 2, error: 0, rejections: 2 }]);
  });

  it('reloads through the embedder callback: 200 with the new version, 400 listing every problem', async (t) => {
    let next: GatewayOptions = {
      host: '127.0.0.1',
      port: 0,
      admin: { host: '127.0.0.1', port: 0 },
      routes: [{ path: '/api/orders', service: 'orders' }],
    };
    const gateway = await startWithAdmin(t, staticSource({}), { loadConfig: () => next });
    const ok = await call(gateway.adminUrl, '/admin/reload', 'POST');
    assert.equal(ok.status, 200);
    assert.equal(ok.body.configVersion, 2);
    assert.equal(gateway.configVersion, 2);
    assert.equal(gateway.options.routes.length, 1);

    next = { ...next, port: 1, routes: [{ path: '/api/orders' }] } as GatewayOptions;
    const bad = await call(gateway.adminUrl, '/admin/reload', 'POST');
    assert.equal(bad.status, 400);
    const error = bad.body.error as { code: string; details: { issues: Array<{ path: string }> } };
    assert.equal(error.code, 'SY_CONFIG_INVALID');
    assert.deepEqual(
      error.details.issues.map((i) => i.path),
      ['gateway.routes[0].service'],
    );
    next = { ...next, port: 1, routes: [{ path: '/api/orders', service: 'orders' }] };
    const moved = await call(gateway.adminUrl, '/admin/reload', 'POST');
    assert.equal(moved.status, 400);
    assert.match((moved.body.error as { message: string }).message, /gateway\.port: cannot change on reload/);
    assert.equal(gateway.configVersion, 2, 'the refused reloads kept the running config');
  });

  it('answers a reload without a callback with 501 SY_GATEWAY_RELOAD_UNAVAILABLE', async (t) => {
    const gateway = await startWithAdmin(t, staticSource({}));
    const response = await call(gateway.adminUrl, '/admin/reload', 'POST');
    assert.equal(response.status, 501);
    assert.equal((response.body.error as { code: string }).code, 'SY_GATEWAY_RELOAD_UNAVAILABLE');
  });

  it('answers an unknown path with 404 and a wrong method with 405 and Allow', async (t) => {
    const gateway = await startWithAdmin(t, staticSource({}));
    const missing = await send(gateway.adminUrl ?? '', '/admin/nope');
    assert.equal(missing.status, 404);
    assert.equal(errorOf(missing).code, 'SY_GATEWAY_ROUTE_NOT_FOUND');
    const wrong = await send(gateway.adminUrl ?? '', '/admin/routes', { method: 'DELETE' });
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.allow, 'GET, HEAD');
    assert.equal(errorOf(wrong).code, 'SY_GATEWAY_METHOD_NOT_ALLOWED');
    const getReload = await send(gateway.adminUrl ?? '', '/admin/reload');
    assert.equal(getReload.status, 405);
    assert.equal(getReload.headers.allow, 'POST');
  });

  it('turns /readyz to 503 while draining, then closes with the gateway', async (t) => {
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let arrived: () => void = () => {};
    const arrival = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const upstream = await startUpstream(t, 'slow', (_req, res) => {
      arrived();
      void held.then(() => res.end('done'));
    });
    const gateway = await startWithAdmin(t, staticSource({ orders: [upstream.instance('orders')] }));
    const adminUrl = gateway.adminUrl ?? '';
    const inFlight = send(gateway.url, '/api/orders/1');
    await arrival;
    const closing = gateway.close();
    const draining = await call(adminUrl, '/readyz');
    assert.equal(draining.status, 503);
    assert.deepEqual(draining.body, { status: 'not_ready', reason: 'draining' });
    assert.equal((await call(adminUrl, '/healthz')).status, 200, 'alive while draining');
    release();
    assert.equal((await inFlight).body, 'done');
    await closing;
    await assert.rejects(send(adminUrl, '/healthz'), /ECONNREFUSED/);
  });

  it('fails to start with SY_GATEWAY_LISTEN_FAILED when the admin port is taken', async (t) => {
    const first = await startWithAdmin(t, staticSource({}));
    const port = Number(new URL(first.adminUrl ?? '').port);
    await assert.rejects(
      startGateway(t, { routes, admin: { host: '127.0.0.1', port } }, staticSource({})),
      (err: Error & { code?: string }) => err.code === 'SY_GATEWAY_LISTEN_FAILED' && /admin API/.test(err.message),
    );
  });
});
