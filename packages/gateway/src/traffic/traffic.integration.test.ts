import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { isSwitchyardError, type ServiceInstance } from '@switchyard/core';
import { createMetrics, setGlobalMetrics } from '@switchyard/telemetry';
import { routesView } from '../admin/views.ts';
import { closedPort, errorOf, instanceAt, send, startGateway, startUpstream, staticSource } from '../fixtures.test.ts';
import { createGatewayHandler } from '../handler.ts';
import type { GatewayOptions, RouteOptions } from '../options.ts';
import { resolveGatewayOptions } from '../options.ts';
import type { ResponseObservation } from './observation.ts';

const subsets = { orders: { v1: { meta: { version: 'v1' } }, v2: { meta: { version: 'v2' } } } };

function versioned(instance: ServiceInstance, version: string): ServiceInstance {
  return { ...instance, meta: { version } };
}

/** Two upstreams, orders v1 and v2, each answering with its version in `x-upstream`. */
async function twoVersions(t: TestContext) {
  const v1 = await startUpstream(t, 'v1');
  const v2 = await startUpstream(t, 'v2');
  const instances = [
    versioned(v1.instance('orders', 'orders-v1'), 'v1'),
    versioned(v2.instance('orders', 'orders-v2'), 'v2'),
  ];
  return { v1, v2, instances, discovery: staticSource({ orders: instances }) };
}

function ordersRoute(traffic: RouteOptions['traffic'], extra: Partial<RouteOptions> = {}): RouteOptions {
  return { name: 'orders', path: '/api/orders', service: 'orders', traffic, ...extra };
}

/** Sends `count` GETs, `concurrency` at a time, and counts the `x-upstream` answers. */
async function tally(
  url: string,
  count: number,
  headersOf: (i: number) => Record<string, string> = () => ({}),
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const response = await fetch(`${url}/api/orders/${i}`, {
        headers: headersOf(i),
        signal: AbortSignal.timeout(5_000),
      });
      await response.arrayBuffer();
      const upstream = response.headers.get('x-upstream') ?? `status-${response.status}`;
      counts.set(upstream, (counts.get(upstream) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return counts;
}

async function servedBy(url: string, headers: Record<string, string>): Promise<string> {
  const response = await send(url, '/api/orders/1', { headers });
  assert.equal(response.status, 200, response.body);
  return String(response.headers['x-upstream']);
}

describe('traffic splitting between subsets', () => {
  test('a 90/10 split sends 90% ± 3% of 2,000 requests to v1 and the rest to v2', async (t) => {
    const { discovery } = await twoVersions(t);
    const gateway = await startGateway(
      t,
      {
        subsets,
        routes: [
          ordersRoute({
            split: [
              { subset: 'v1', weight: 90 },
              { subset: 'v2', weight: 10 },
            ],
          }),
        ],
      },
      discovery,
    );
    const counts = await tally(gateway.url, 2_000);
    const v1 = counts.get('v1') ?? 0;
    const v2 = counts.get('v2') ?? 0;
    assert.equal(v1 + v2, 2_000, JSON.stringify([...counts]));
    assert.ok(Math.abs(v1 / 2_000 - 0.9) <= 0.03, `v1 got ${v1} of 2000`);
  });

  test('a header or a cookie pins a request to a subset; others take the split', async (t) => {
    const { discovery } = await twoVersions(t);
    const gateway = await startGateway(
      t,
      {
        subsets,
        routes: [
          ordersRoute({
            subset: 'v1',
            match: [
              { header: 'x-api-version', value: '2', subset: 'v2' },
              { cookie: 'beta', value: 'yes', subset: 'v2' },
            ],
            subsetHeader: true,
          }),
        ],
      },
      discovery,
    );
    for (let i = 0; i < 5; i++) {
      assert.equal(await servedBy(gateway.url, { 'x-api-version': '2' }), 'v2');
      assert.equal(await servedBy(gateway.url, { 'X-API-Version': '2' }), 'v2');
      assert.equal(await servedBy(gateway.url, { cookie: 'theme=dark; beta=yes' }), 'v2');
      assert.equal(await servedBy(gateway.url, { cookie: 'beta=no' }), 'v1');
      assert.equal(await servedBy(gateway.url, { 'x-api-version': '3' }), 'v1');
    }
    const response = await send(gateway.url, '/api/orders/1', { headers: { cookie: 'beta=yes' } });
    assert.equal(response.headers['x-switchyard-subset'], 'v2', 'subsetHeader adds the subset to the response');
  });

  test('a path-based version is a route with traffic.subset', async (t) => {
    const { discovery } = await twoVersions(t);
    const gateway = await startGateway(
      t,
      {
        subsets,
        routes: [
          ordersRoute({ subset: 'v1' }),
          { name: 'orders-v2', path: '/v2/orders', service: 'orders', traffic: { subset: 'v2' } },
        ],
      },
      discovery,
    );
    const response = await send(gateway.url, '/v2/orders/7');
    assert.equal(response.headers['x-upstream'], 'v2');
    assert.equal(JSON.parse(response.body).url, '/7');
    assert.equal(await servedBy(gateway.url, {}), 'v1');
  });

  test('sticky keys keep their subset when the canary grows from 10% to 50%; stable keys move only as its range grows', async (t) => {
    const { discovery } = await twoVersions(t);
    const gateway = await startGateway(
      t,
      {
        subsets,
        routes: [
          ordersRoute({
            split: [
              { subset: 'v1', weight: 90 },
              { subset: 'v2', weight: 10 },
            ],
            sticky: { header: 'x-user-id' },
          }),
        ],
      },
      discovery,
    );
    const keys = Array.from({ length: 200 }, (_, i) => `user-${i}`);
    const before = new Map<string, string>();
    for (const key of keys) before.set(key, await servedBy(gateway.url, { 'x-user-id': key }));
    for (const key of keys.slice(0, 20)) {
      assert.equal(await servedBy(gateway.url, { 'x-user-id': key }), before.get(key), 'the same key, the same subset');
    }
    gateway.traffic.setSplit('orders', [
      { subset: 'v2', weight: 50 },
      { subset: 'v1', weight: 50 },
    ]);
    assert.deepEqual(gateway.traffic.split('orders'), [
      { subset: 'v2', weight: 50 },
      { subset: 'v1', weight: 50 },
    ]);
    let moved = 0;
    let canary = 0;
    for (const key of keys) {
      const now = await servedBy(gateway.url, { 'x-user-id': key });
      if (before.get(key) === 'v2') assert.equal(now, 'v2', `${key} was on the canary and left it`);
      if (before.get(key) !== now) moved++;
      if (now === 'v2') canary++;
    }
    assert.ok(canary > 70 && canary < 130, `about half the keys on the canary, got ${canary}`);
    assert.ok(moved > 40 && moved < 120, `about 40% of keys moved, got ${moved}`);
    gateway.traffic.setSplit('orders', undefined);
    for (const key of keys.slice(0, 30))
      assert.equal(await servedBy(gateway.url, { 'x-user-id': key }), before.get(key));
  });
});

describe('subsets and instance health', () => {
  test('a subset with no healthy instance is a 503 naming it; other versions are not used', async (t) => {
    const { v1, v2 } = await twoVersions(t);
    const instances = [
      versioned(v1.instance('orders', 'orders-v1'), 'v1'),
      { ...versioned(v2.instance('orders', 'orders-v2'), 'v2'), status: 'critical' as const },
    ];
    const gateway = await startGateway(
      t,
      { subsets, routes: [ordersRoute({ subset: 'v2' })] },
      staticSource({ orders: instances }),
    );
    const response = await send(gateway.url, '/api/orders/1');
    assert.equal(response.status, 503);
    assert.equal(errorOf(response).code, 'SY_GATEWAY_NO_HEALTHY_INSTANCE');
    assert.equal(errorOf(response).message, 'no healthy instance of subset "v2" of service "orders" for route orders');
    assert.equal(v1.seen.length, 0);
    assert.equal(v2.seen.length, 0);
  });

  test('a WebSocket upgrade goes to the chosen subset only', async (t) => {
    const { v1, v2 } = await twoVersions(t);
    const instances = [
      versioned(v1.instance('orders', 'orders-v1'), 'v1'),
      { ...versioned(v2.instance('orders', 'orders-v2'), 'v2'), status: 'critical' as const },
    ];
    const gateway = await startGateway(
      t,
      { subsets, routes: [ordersRoute({ subset: 'v2' })] },
      staticSource({ orders: instances }),
    );
    const response = await send(gateway.url, '/api/orders/1', {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      },
    });
    assert.equal(response.status, 503);
    assert.equal(errorOf(response).message, 'no healthy instance of subset "v2" of service "orders" for route orders');
    assert.equal(v1.seen.length, 0);
  });

  test('retries stay within the subset', async (t) => {
    const v1 = await startUpstream(t, 'v1');
    const v2 = await startUpstream(t, 'v2');
    const dead = await closedPort();
    const withSpare = staticSource({
      orders: [
        versioned(v1.instance('orders', 'orders-v1'), 'v1'),
        versioned(instanceAt('orders', dead, 'orders-v2-dead'), 'v2'),
        versioned(v2.instance('orders', 'orders-v2'), 'v2'),
      ],
    });
    // A breaker that does not trip on the dead instance's few failures, so retries are what is seen.
    const patient = { trip: { type: 'consecutive' as const, failures: 1_000 } };
    const gateway = await startGateway(
      t,
      { subsets, routes: [ordersRoute({ subset: 'v2' }, { breaker: patient })] },
      withSpare,
    );
    for (let i = 0; i < 6; i++) assert.equal(await servedBy(gateway.url, {}), 'v2');
    assert.equal(v1.seen.length, 0);

    // The subset's only instance is down: the retry does not go to v1, the client gets the failure.
    const alone = staticSource({
      orders: [
        versioned(v1.instance('orders', 'orders-v1'), 'v1'),
        versioned(instanceAt('orders', dead, 'orders-v2-dead'), 'v2'),
      ],
    });
    const second = await startGateway(
      t,
      { subsets, routes: [ordersRoute({ subset: 'v2' }, { breaker: patient })] },
      alone,
    );
    const failed = await send(second.url, '/api/orders/1');
    assert.equal(failed.status, 502, failed.body);
    assert.equal(errorOf(failed).code, 'SY_GATEWAY_UPSTREAM_FAILED');
    assert.equal(v1.seen.length, 0);
  });
});

test("a failing subset opens its own breaker, not the stable version's", async (t) => {
  const v1 = await startUpstream(t, 'v1');
  const dead = await closedPort();
  const breaker = { trip: { type: 'consecutive' as const, failures: 2 } };
  const gateway = await startGateway(
    t,
    {
      subsets,
      routes: [
        ordersRoute({ subset: 'v1' }, { breaker }),
        { name: 'orders-v2', path: '/v2/orders', service: 'orders', breaker, retry: false, traffic: { subset: 'v2' } },
      ],
    },
    staticSource({
      orders: [
        versioned(v1.instance('orders', 'orders-v1'), 'v1'),
        versioned(instanceAt('orders', dead, 'orders-v2'), 'v2'),
      ],
    }),
  );
  for (let i = 0; i < 2; i++) assert.equal((await send(gateway.url, '/v2/orders/1')).status, 502);
  const open = await send(gateway.url, '/v2/orders/1');
  assert.equal(open.status, 503);
  assert.equal(errorOf(open).code, 'SY_RESILIENCE_CIRCUIT_OPEN');
  assert.match(errorOf(open).message, /"orders\/v2"/);
  assert.equal(await servedBy(gateway.url, {}), 'v1', 'v1 keeps serving');
});

describe('mirroring', () => {
  test('a slow or failing mirror changes neither the response nor its latency; outcomes are observed and counted', async (t) => {
    const metrics = createMetrics({ defaultMetrics: false });
    const restore = setGlobalMetrics(metrics);
    t.after(() => restore.dispose());
    let mirrorStatus = 200;
    const v1 = await startUpstream(t, 'v1');
    const v2 = await startUpstream(t, 'v2', (req, res, body) => {
      setTimeout(() => {
        res.writeHead(mirrorStatus, { 'x-upstream': 'v2' });
        res.end(`mirror saw ${req.headers['x-switchyard-mirror']} ${body}`);
      }, 1_000);
    });
    const instances = [
      versioned(v1.instance('orders', 'orders-v1'), 'v1'),
      versioned(v2.instance('orders', 'orders-v2'), 'v2'),
    ];
    const gateway = await startGateway(
      t,
      { subsets, routes: [ordersRoute({ subset: 'v1', mirror: { subset: 'v2', percent: 100, timeout: '2s' } })] },
      staticSource({ orders: instances }),
    );
    const seen: ResponseObservation[] = [];
    const watch = gateway.traffic.observe((o) => seen.push(o));
    t.after(() => watch.dispose());
    const waitFor = async (n: number) => {
      const deadline = Date.now() + 5_000;
      while (seen.filter((o) => o.mirrored).length < n) {
        if (Date.now() > deadline) throw new Error(`only ${seen.filter((o) => o.mirrored).length} mirror observations`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };

    const started = performance.now();
    const response = await send(gateway.url, '/api/orders/1', { method: 'POST', body: 'hello' });
    const took = performance.now() - started;
    assert.equal(response.status, 200);
    assert.equal(response.headers['x-upstream'], 'v1');
    assert.equal(JSON.parse(response.body).body, 'hello');
    assert.ok(took < 700, `the client waited ${took} ms for a mirror that takes 1000 ms`);
    await waitFor(1);
    assert.equal(v2.seen[0]?.body, 'hello', 'the mirror gets the body');
    assert.equal(v2.seen[0]?.headers['x-switchyard-mirror'], 'true');

    mirrorStatus = 500;
    const second = await send(gateway.url, '/api/orders/2');
    assert.equal(second.status, 200);
    await waitFor(2);

    const primary = seen.filter((o) => !o.mirrored);
    assert.deepEqual(
      primary.map((o) => [o.route, o.subset, o.status]),
      [
        ['orders', 'v1', 200],
        ['orders', 'v1', 200],
      ],
    );
    const mirrored = seen.filter((o) => o.mirrored);
    assert.deepEqual(
      mirrored.map((o) => [o.route, o.subset, o.status]),
      [
        ['orders', 'v2', 200],
        ['orders', 'v2', 500],
      ],
    );
    const text = await metrics.text();
    assert.match(text, /switchyard_gateway_mirror_total\{route="orders",outcome="match"\} 1/);
    assert.match(text, /switchyard_gateway_mirror_total\{route="orders",outcome="mismatch"\} 1/);
  });

  test('a mirror subset that is down is an error outcome, and the client still gets its answer', async (t) => {
    const metrics = createMetrics({ defaultMetrics: false });
    const restore = setGlobalMetrics(metrics);
    t.after(() => restore.dispose());
    const v1 = await startUpstream(t, 'v1');
    const dead = await closedPort();
    const gateway = await startGateway(
      t,
      { subsets, routes: [ordersRoute({ subset: 'v1', mirror: { subset: 'v2', percent: 100 } })] },
      staticSource({
        orders: [
          versioned(v1.instance('orders', 'orders-v1'), 'v1'),
          versioned(instanceAt('orders', dead, 'orders-v2'), 'v2'),
        ],
      }),
    );
    const mirrored: ResponseObservation[] = [];
    gateway.traffic.observe((o) => {
      if (o.mirrored) mirrored.push(o);
    });
    const response = await send(gateway.url, '/api/orders/1');
    assert.equal(response.status, 200);
    const deadline = Date.now() + 5_000;
    while (mirrored.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(
      mirrored.map((o) => [o.subset, o.status]),
      [['v2', 0]],
    );
    assert.match(await metrics.text(), /switchyard_gateway_mirror_total\{route="orders",outcome="error"\} 1/);
  });
});

describe('run-time splits and reload', () => {
  const base: GatewayOptions = {
    subsets,
    routes: [
      ordersRoute({
        split: [
          { subset: 'v1', weight: 100 },
          { subset: 'v2', weight: 0 },
        ],
      }),
      { name: 'plain', path: '/plain', service: 'users' },
    ],
  };

  test('setSplit refuses unknown routes and subsets and weights that do not add up to 100', async (t) => {
    const { discovery } = await twoVersions(t);
    const handler = createGatewayHandler({ options: base, discovery });
    t.after(() => handler.close());
    const refused = (route: string, split: { subset: string; weight: number }[], pattern: RegExp) => {
      assert.throws(
        () => handler.traffic.setSplit(route, split),
        (err: unknown) => isSwitchyardError(err, 'SY_GATEWAY_INVALID_SPLIT') && pattern.test(err.message),
      );
    };
    refused('nope', [{ subset: 'v1', weight: 100 }], /no route is named "nope"/);
    refused('plain', [{ subset: 'v1', weight: 100 }], /service "users" of route "plain" has no subsets/);
    refused('orders', [{ subset: 'v3', weight: 100 }], /\[0\]\.subset: unknown subset "v3"/);
    refused(
      'orders',
      [
        { subset: 'v1', weight: 60 },
        { subset: 'v2', weight: 30 },
      ],
      /weights must add up to 100, got 60 \+ 30 = 90/,
    );
    refused('orders', [{ subset: 'v1', weight: 99.5 }], /\[0\]\.weight: expected a whole percentage/);
    refused(
      'orders',
      [
        { subset: 'v1', weight: 50 },
        { subset: 'v1', weight: 50 },
      ],
      /\[1\]\.subset: "v1" repeats split\[0\]/,
    );
    assert.deepEqual(handler.traffic.split('orders'), [
      { subset: 'v1', weight: 100 },
      { subset: 'v2', weight: 0 },
    ]);
    assert.equal(handler.traffic.split('plain'), undefined);
  });

  test('an override survives a reload while its route and subsets exist, and is dropped with a log line otherwise', async (t) => {
    const { discovery } = await twoVersions(t);
    const warnings: string[] = [];
    const logger = { info() {}, warn: (_: unknown, msg: string) => warnings.push(msg), error() {} };
    const gateway = await startGateway(t, base, discovery, { logger });
    assert.equal(await servedBy(gateway.url, {}), 'v1');
    gateway.traffic.setSplit('orders', [
      { subset: 'v1', weight: 0 },
      { subset: 'v2', weight: 100 },
    ]);
    assert.equal(await servedBy(gateway.url, {}), 'v2');

    const listener = { host: '127.0.0.1', port: 0 };
    gateway.reload({ ...base, ...listener, timeout: '20s' });
    assert.equal(await servedBy(gateway.url, {}), 'v2', 'the override stays');
    assert.deepEqual(gateway.traffic.split('orders'), [
      { subset: 'v1', weight: 0 },
      { subset: 'v2', weight: 100 },
    ]);

    gateway.reload({
      ...listener,
      subsets: { orders: { v1: { meta: { version: 'v1' } } } },
      routes: [ordersRoute({ subset: 'v1' })],
    });
    assert.equal(await servedBy(gateway.url, {}), 'v1', 'the override named v2, which is gone');
    assert.deepEqual(gateway.traffic.split('orders'), [{ subset: 'v1', weight: 100 }]);
    assert.ok(
      warnings.some((w) => w.startsWith('traffic split override dropped on reload')),
      warnings.join('\n'),
    );
  });

  test('a route without traffic, of a service with subsets, takes a split at run time', async (t) => {
    const { discovery } = await twoVersions(t);
    const gateway = await startGateway(
      t,
      { subsets, routes: [{ name: 'orders', path: '/api/orders', service: 'orders' }] },
      discovery,
    );
    assert.equal(gateway.traffic.split('orders'), undefined);
    const both = await tally(gateway.url, 20);
    assert.equal(both.get('v1'), 10, 'round robin over every instance without a split');
    gateway.traffic.setSplit('orders', [{ subset: 'v2', weight: 100 }]);
    assert.deepEqual([...(await tally(gateway.url, 20))], [['v2', 20]]);
  });

  test('the admin routes view shows the traffic policy and the split in force', async (t) => {
    const { discovery } = await twoVersions(t);
    const handler = createGatewayHandler({ options: base, discovery });
    t.after(() => handler.close());
    handler.traffic.setSplit('orders', [
      { subset: 'v1', weight: 80 },
      { subset: 'v2', weight: 20 },
    ]);
    const routes = routesView(handler).routes as Record<string, unknown>[];
    assert.deepEqual(routes[0]?.split, [
      { subset: 'v1', weight: 80 },
      { subset: 'v2', weight: 20 },
    ]);
    assert.deepEqual((routes[0]?.traffic as { split: unknown } | undefined)?.split, [
      { subset: 'v1', weight: 100 },
      { subset: 'v2', weight: 0 },
    ]);
    assert.equal(routes[1]?.split, undefined);
  });
});

describe('traffic config errors name the path', () => {
  const issuesOf = (options: GatewayOptions): string[] => {
    try {
      resolveGatewayOptions(options);
    } catch (err) {
      assert.ok(isSwitchyardError(err, 'SY_CONFIG_INVALID'));
      return (err.details.issues as { path: string; message: string }[]).map((i) => `${i.path}: ${i.message}`);
    }
    assert.fail('expected SY_CONFIG_INVALID');
  };

  test('unknown subsets, weights off 100, a service without subsets, traffic on an upstreams route', () => {
    assert.deepEqual(
      issuesOf({
        subsets,
        routes: [
          ordersRoute({
            split: [
              { subset: 'v1', weight: 90 },
              { subset: 'v3', weight: 5 },
            ],
            match: [{ header: 'x-v', value: '9', subset: 'v9' }],
          }),
        ],
      }),
      [
        'gateway.routes[0].traffic.split: weights must add up to 100, got 90 + 5 = 95',
        'gateway.routes[0].traffic.split[1].subset: unknown subset "v3" of service "orders"; gateway.subsets.orders defines "v1", "v2"',
        'gateway.routes[0].traffic.match[0].subset: unknown subset "v9" of service "orders"; gateway.subsets.orders defines "v1", "v2"',
      ],
    );
    assert.deepEqual(issuesOf({ routes: [ordersRoute({ subset: 'v1' })] }), [
      'gateway.routes[0].traffic: service "orders" has no subsets: define them under gateway.subsets.orders',
    ]);
    assert.deepEqual(
      issuesOf({
        subsets,
        routes: [{ path: '/legacy', upstreams: ['http://127.0.0.1:9'], traffic: { subset: 'v1' } }],
      }),
      [
        "gateway.routes[0].traffic: needs a route with `service`: subsets are groups of a registry service's instances, and this route has `upstreams`",
      ],
    );
    assert.deepEqual(
      issuesOf({ subsets, routes: [ordersRoute({ subset: 'v1', split: [{ subset: 'v1', weight: 100 }] })] }),
      [
        'gateway.routes[0].traffic.split: give exactly one of `subset` (every request to one subset) or `split` (weights)',
      ],
    );
    assert.deepEqual(issuesOf({ subsets: { orders: { v1: {} } }, routes: [] }), [
      'gateway.subsets.orders.v1: give `meta` (key/value pairs the registration carries) and/or `tags` (all of which it carries)',
    ]);
  });
});
