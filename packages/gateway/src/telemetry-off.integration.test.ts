import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { globalMetrics } from '@switchyard/telemetry';
import { errorOf, send, startGateway, startUpstream, staticSource } from './fixtures.test.ts';

// This file never sets telemetry up: the gateway must behave as it did before it was instrumented.
describe('gateway without telemetry', () => {
  test('no trace context is made or changed, and /metrics on the admin port says metrics are not set up', async (t) => {
    assert.equal(globalMetrics().enabled, false, 'this process has no metrics');
    const upstream = await startUpstream(t, 'plain');
    const gateway = await startGateway(
      t,
      {
        routes: [{ name: 'plain', path: '/plain', service: 'plain' }],
        admin: { host: '127.0.0.1', port: 0 },
      },
      staticSource({ plain: [upstream.instance('plain')] }),
    );
    assert.equal((await send(gateway.url, '/plain')).status, 200);
    assert.equal(upstream.seen[0]?.headers.traceparent, undefined, 'no traceparent invented');

    // A caller's trace context is relayed as it came: the gateway made no span of its own.
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    assert.equal((await send(gateway.url, '/plain', { headers: { traceparent } })).status, 200);
    assert.equal(upstream.seen[1]?.headers.traceparent, traceparent);

    assert.ok(gateway.adminUrl);
    const metrics = await send(gateway.adminUrl, '/metrics');
    assert.equal(metrics.status, 404);
    assert.equal(errorOf(metrics).code, 'SY_GATEWAY_ROUTE_NOT_FOUND');
    assert.match(errorOf(metrics).message, /metrics are not set up.*setGlobalMetrics\(createMetrics\(\)\)/);
  });
});
