import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { createMetrics } from './create-metrics.ts';
import { metricsHandler } from './metrics-handler.ts';

async function serve(t: TestContext, handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const timeout = () => AbortSignal.timeout(5000);

describe('metricsHandler', () => {
  it('answers GET /metrics with the text exposition and its content type', async (t) => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.http.route('orders').observe('GET', 200, 0.01);
    const base = await serve(t, metricsHandler(metrics));
    const res = await fetch(`${base}/metrics?x=1`, { signal: timeout() });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    const body = await res.text();
    assert.match(body, /^switchyard_http_server_requests_total\{route="orders",method="GET",status_class="2xx"\} 1$/m);
    const head = await fetch(`${base}/metrics`, { method: 'HEAD', signal: timeout() });
    assert.equal(head.status, 200);
  });

  it('answers 405 with Allow to another method, 404 to another path', async (t) => {
    const base = await serve(t, metricsHandler(createMetrics({ defaultMetrics: false })));
    const post = await fetch(`${base}/metrics`, { method: 'POST', body: 'x', signal: timeout() });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    await post.text();
    const other = await fetch(`${base}/metricsx`, { signal: timeout() });
    assert.equal(other.status, 404);
    await other.text();
  });

  it('serves another path when told, and answers 500 without throwing when collecting fails', async (t) => {
    const failing = {
      contentType: 'text/plain; version=0.0.4; charset=utf-8',
      text: () => Promise.reject(new Error('collector broke')),
    };
    const base = await serve(t, metricsHandler(failing, { path: '/admin/metrics' }));
    const res = await fetch(`${base}/admin/metrics`, { signal: timeout() });
    assert.equal(res.status, 500);
    assert.match(await res.text(), /collector broke/);
  });
});
