import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import { BalancerKind, createBalancer, createInstanceStats, createOutlierDetector } from '@switchyard/discovery';
import {
  closedPort,
  instanceAt,
  startRawServer,
  startServer,
  staticDiscovery,
  status,
  within,
} from './fixtures.test.ts';
import { createHttpClient, type HttpClient } from './http-client.ts';
import type { HttpClientOptions } from './options.ts';

function clientFor(t: TestContext, options: HttpClientOptions): HttpClient {
  const client = createHttpClient(options);
  t.after(() => client.close());
  return client;
}

describe('balancer feedback', () => {
  test("each attempt's status and latency reach the balancer's stats; nothing stays in flight", async (t) => {
    const a = await startServer(t, 'a');
    const b = await startServer(t, 'b', status('b', 500));
    const stats = createInstanceStats();
    const client = clientFor(t, {
      retry: false,
      discovery: staticDiscovery({ orders: [a.instance('orders'), b.instance('orders')] }),
      balancer: () => createBalancer(BalancerKind.RoundRobin, { stats }),
    });
    for (let i = 0; i < 4; i++) {
      const res = await client.request('orders', { path: '/' });
      await res.body.dump();
    }
    assert.deepEqual(
      [stats.get('orders-a')?.requests, stats.get('orders-a')?.consecutiveFailures, stats.inFlight('orders-a')],
      [2, 0, 0],
    );
    assert.deepEqual(
      [stats.get('orders-b')?.requests, stats.get('orders-b')?.consecutiveFailures, stats.inFlight('orders-b')],
      [2, 2, 0],
    );
  });

  test('an instance that keeps failing (5xx or refused) is ejected and gets no more requests', async (t) => {
    const a = await startServer(t, 'a');
    const dead = instanceAt('orders', await closedPort(), 'orders-dead');
    const b = await startServer(t, 'b', status('b', 503));
    const stats = createInstanceStats();
    const outliers = createOutlierDetector({ consecutiveFailures: 2, maxEjectionPercent: 100 }, { stats });
    const client = clientFor(t, {
      retry: false,
      discovery: staticDiscovery({ orders: [a.instance('orders'), dead, b.instance('orders')] }),
      balancer: () => createBalancer(BalancerKind.RoundRobin, { stats, outliers }),
    });
    const served: string[] = [];
    for (let i = 0; i < 12; i++) {
      try {
        const res = await client.request('orders', { path: '/' });
        served.push(res.instance.id);
        await res.body.dump();
      } catch (err) {
        assert.ok(isSwitchyardError(err), String(err));
        served.push('error');
      }
    }
    assert.ok(outliers.isEjected('orders-dead') && outliers.isEjected('orders-b'));
    // Two failures each eject them; from then on only `a` serves.
    assert.deepEqual(served.slice(-4), ['orders-a', 'orders-a', 'orders-a', 'orders-a']);
  });

  test("the caller's abort only ends the in-flight count", async (t) => {
    let received!: () => void;
    const arrived = new Promise<void>((resolve) => {
      received = resolve;
    });
    const hanging = await startRawServer(t, () => received());
    const stats = createInstanceStats();
    const client = clientFor(t, {
      retry: false,
      timeout: 0,
      discovery: staticDiscovery({ orders: [hanging.instance('orders')] }),
      balancer: () => createBalancer(BalancerKind.LeastRequest, { stats }),
    });
    const controller = new AbortController();
    const pending = client.request('orders', { path: '/', signal: controller.signal });
    await within(arrived, 5_000, 'the request to reach the server');
    assert.equal(stats.inFlight('orders-raw'), 1);
    controller.abort();
    await assert.rejects(pending, (err) => isSwitchyardError(err, 'SY_CANCELLED'));
    assert.deepEqual([stats.inFlight('orders-raw'), stats.get('orders-raw')?.consecutiveFailures], [0, 0]);
  });
});
