// The README's metrics example, run as a test so it cannot rot.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { it } from 'node:test';
import { createMetrics } from './create-metrics.ts';
import { globalMetrics, setGlobalMetrics } from './global-metrics.ts';
import { metricsHandler } from './metrics-handler.ts';

it('README: metrics on the admin port', async (t) => {
  // At startup: create the process's metrics, publish them, serve /metrics on the admin port.
  const metrics = createMetrics({ defaultMetrics: true });
  const published = setGlobalMetrics(metrics);
  t.after(() => published.dispose());
  const admin = createServer(metricsHandler(metrics));
  await new Promise<void>((resolve) => admin.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => admin.close(() => resolve())));

  // In a component, once when it is built: resolve the handles.
  const m = globalMetrics();
  const route = m.http.route('orders');
  const upstream = m.upstream.service('orders');

  // Per request: no label strings, no lookups.
  const started = m.enabled ? performance.now() : 0;
  route.start();
  upstream.instance('orders-1').succeeded();
  route.end('GET', 200, m.enabled ? (performance.now() - started) / 1000 : 0);

  const { port } = admin.address() as AddressInfo;
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) });
  const body = await res.text();
  assert.match(body, /^switchyard_http_server_requests_total\{route="orders",method="GET",status_class="2xx"\} 1$/m);
  assert.match(
    body,
    /^switchyard_upstream_attempts_total\{service="orders",instance="orders-1",outcome="success"\} 1$/m,
  );
  assert.match(body, /^process_cpu_seconds_total \d/m);
});
