import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TIMEOUT_HEADER } from '@switchyard/resilience';
import {
  errorOf,
  instanceAt,
  send,
  startGateway,
  startRawUpstream,
  startUpstream,
  staticSource,
} from './fixtures.test.ts';

describe('gateway deadlines (switchyard-timeout-ms)', () => {
  test('a spent budget is a JSON 504 and never reaches the upstream', async (t) => {
    const orders = await startUpstream(t, 'orders');
    const gateway = await startGateway(
      t,
      { routes: [{ path: '/api/orders', service: 'orders' }] },
      staticSource({ orders: [orders.instance('orders')] }),
    );
    const response = await send(gateway.url, '/api/orders/1', { headers: { [TIMEOUT_HEADER]: '0' } });
    assert.equal(response.status, 504);
    assert.equal(errorOf(response).code, 'SY_RESILIENCE_DEADLINE_EXCEEDED');
    assert.match(errorOf(response).message, /already spent/);
    assert.equal(orders.seen.length, 0);
  });

  test('a malformed budget is a JSON 400', async (t) => {
    const orders = await startUpstream(t, 'orders');
    const gateway = await startGateway(
      t,
      { routes: [{ path: '/api/orders', service: 'orders' }] },
      staticSource({ orders: [orders.instance('orders')] }),
    );
    for (const value of ['soon', '10, 20']) {
      const response = await send(gateway.url, '/api/orders/1', { headers: { [TIMEOUT_HEADER]: value } });
      assert.equal(response.status, 400, value);
      assert.equal(errorOf(response).code, 'SY_GATEWAY_BAD_TIMEOUT_HEADER', value);
      assert.match(errorOf(response).message, /^switchyard-timeout-ms: /);
    }
    assert.equal(orders.seen.length, 0);
  });

  test('the remaining budget is forwarded upstream; without one, none is sent', async (t) => {
    const orders = await startUpstream(t, 'orders');
    const gateway = await startGateway(
      t,
      { routes: [{ path: '/api/orders', service: 'orders' }] },
      staticSource({ orders: [orders.instance('orders')] }),
    );
    assert.equal((await send(gateway.url, '/api/orders/1', { headers: { [TIMEOUT_HEADER]: '2000' } })).status, 200);
    const forwarded = Number(orders.seen[0]?.headers[TIMEOUT_HEADER]);
    assert.ok(forwarded > 1_500 && forwarded <= 2_000, `forwarded ${forwarded}`);
    assert.equal((await send(gateway.url, '/api/orders/1')).status, 200);
    assert.equal(orders.seen[1]?.headers[TIMEOUT_HEADER], undefined);
  });

  test('a budget shorter than the route timeout becomes the timeout', async (t) => {
    const held = await startRawUpstream(t, () => {
      // Never answers.
    });
    const gateway = await startGateway(
      t,
      { routes: [{ path: '/slow', service: 'slow', timeout: '10s' }] },
      staticSource({ slow: [instanceAt('slow', held.port, 'slow-1')] }),
    );
    const started = Date.now();
    const response = await send(gateway.url, '/slow', { headers: { [TIMEOUT_HEADER]: '300' } });
    const elapsed = Date.now() - started;
    assert.equal(response.status, 504);
    assert.equal(errorOf(response).code, 'SY_GATEWAY_UPSTREAM_TIMEOUT');
    assert.match(
      errorOf(response).message,
      new RegExp(`^upstream slow \\(127\\.0\\.0\\.1:${held.port}\\) did not send headers within \\d+ms$`),
    );
    assert.ok(elapsed >= 250 && elapsed < 3_000, `answered after ${elapsed}ms`);
  });
});

describe('gateway circuit breaker', () => {
  test('a service failing half its requests opens its breaker: JSON 503 with Retry-After, upstream spared', async (t) => {
    const failing = await startUpstream(t, 'failing', (_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('broken');
    });
    const gateway = await startGateway(
      t,
      { routes: [{ path: '/api', service: 'failing' }] },
      staticSource({ failing: [failing.instance('failing')] }),
    );
    // The default breaker trips once 10 calls within 10 s were at least half failures.
    for (let i = 0; i < 10; i++) assert.equal((await send(gateway.url, '/api')).status, 500, 'relayed as is');
    const refused = await send(gateway.url, '/api');
    assert.equal(refused.status, 503);
    assert.equal(errorOf(refused).code, 'SY_RESILIENCE_CIRCUIT_OPEN');
    assert.ok(Number(refused.headers['retry-after']) >= 1);
    assert.equal(failing.seen.length, 10);
  });
});
