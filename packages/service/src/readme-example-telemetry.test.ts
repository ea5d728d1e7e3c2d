/**
 * The README's telemetry example, run as a test: a service with `telemetry: true`, a route
 * template per request, a span of its own inside the handler, and `/metrics` on its port.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { traced } from '@switchyard/telemetry';
// In the README this comes from '@switchyard/service'.
import { startService } from './start-service.ts';

test('README telemetry example', async () => {
  // --- README example starts ---
  const service = await startService({
    name: 'orders',
    // setupTelemetry() + createMetrics() for this process; OTLP export turns on from
    // OTEL_EXPORTER_OTLP_ENDPOINT (switchyard up passes it with a `telemetry:` section).
    telemetry: true,
    // Bounded route names: a template, never the raw path.
    routeOf: (req) => (/^\/orders\/[^/]+$/.test(req.url?.split('?')[0] ?? '') ? '/orders/:id' : undefined),
    handler: async (_req, res) => {
      // Runs inside the request's server span: this span is its child.
      const order = await traced('load-order', async () => ({ id: 42, total: 1999 }));
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(order));
    },
  });
  // --- README example ends ---
  try {
    const order = await fetch(`${service.url}/orders/42`);
    assert.deepEqual(await order.json(), { id: 42, total: 1999 });
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    assert.match(
      metrics,
      /^switchyard_http_server_requests_total\{route="\/orders\/:id",method="GET",status_class="2xx"\} 1$/m,
    );
  } finally {
    await service.close();
  }
});
