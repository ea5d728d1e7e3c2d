import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { coreError } from '@switchyard/core';
import { recordError } from './record-error.ts';
import { HttpAttributes, SwitchyardAttributes } from './semconv.ts';
import { setupTelemetry } from './setup-telemetry.ts';
import { startOtlpReceiver } from './testing/otlp-receiver.ts';
import { traced } from './traced.ts';
import { getTracer, SpanKind, withSpan } from './tracer.ts';

const tracer = getTracer('@switchyard/gateway', '0.1.0');

async function closedPortUrl(): Promise<string> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}/v1/traces`;
}

describe('OTLP/HTTP protobuf export', () => {
  it('exports spans through the real exporter; the receiver decodes resource, attributes, parents, events', async (t) => {
    const receiver = await startOtlpReceiver();
    t.after(() => receiver.close());
    const telemetry = setupTelemetry(
      {
        serviceName: 'gateway',
        serviceVersion: '0.1.0',
        instanceId: 'gw-1',
        resourceAttributes: { 'deployment.environment.name': 'test' },
        exporters: { otlp: { endpoint: receiver.url, headers: { 'x-api-key': 'k' } } },
      },
      {},
    );
    t.after(() => telemetry.shutdown());

    const server = tracer.startSpan('GET /orders/:id', {
      kind: SpanKind.SERVER,
      attributes: {
        [HttpAttributes.REQUEST_METHOD]: 'GET',
        [HttpAttributes.ROUTE]: '/orders/:id',
        [SwitchyardAttributes.ROUTE]: 'orders',
      },
    });
    withSpan(server, () => {
      const client = tracer.startSpan('GET', {
        kind: SpanKind.CLIENT,
        attributes: {
          [HttpAttributes.RESPONSE_STATUS_CODE]: 504,
          [SwitchyardAttributes.ATTEMPT]: 1,
          tags: ['a', 'b'],
          ok: false,
          ratio: 0.5,
        },
      });
      recordError(client, coreError('SY_CANCELLED', 'upstream call cancelled'));
      client.end();
    });
    server.setAttribute(HttpAttributes.RESPONSE_STATUS_CODE, 200);
    server.end();
    await telemetry.forceFlush();

    const spans = await receiver.waitForSpans(() => true, 5000, 2);
    const serverSpan = spans.find((s) => s.kind === 'server');
    const clientSpan = spans.find((s) => s.kind === 'client');
    assert.ok(serverSpan && clientSpan);
    assert.equal(serverSpan.name, 'GET /orders/:id');
    assert.equal(serverSpan.parentSpanId, null);
    assert.equal(clientSpan.traceId, serverSpan.traceId);
    assert.equal(clientSpan.parentSpanId, serverSpan.spanId);
    assert.match(serverSpan.traceId, /^[0-9a-f]{32}$/);
    assert.deepEqual(serverSpan.attributes, {
      'http.request.method': 'GET',
      'http.route': '/orders/:id',
      'switchyard.route': 'orders',
      'http.response.status_code': 200,
    });
    assert.deepEqual(clientSpan.attributes, {
      'http.response.status_code': 504,
      'switchyard.attempt': 1,
      tags: ['a', 'b'],
      ok: false,
      ratio: 0.5,
      'error.type': 'SY_CANCELLED',
    });
    assert.deepEqual(clientSpan.status, { code: 'error', message: 'upstream call cancelled' });
    assert.equal(clientSpan.events[0]?.name, 'exception');
    assert.equal(clientSpan.events[0]?.attributes['exception.message'], 'upstream call cancelled');
    assert.equal(serverSpan.service, 'gateway');
    assert.equal(serverSpan.resource['service.version'], '0.1.0');
    assert.equal(serverSpan.resource['service.instance.id'], 'gw-1');
    assert.equal(serverSpan.resource['deployment.environment.name'], 'test');
    assert.deepEqual(serverSpan.scope, { name: '@switchyard/gateway', version: '0.1.0' });
    assert.ok(serverSpan.endTimeUnixNano >= serverSpan.startTimeUnixNano);
    assert.deepEqual(telemetry.exportStats(), { exported: 2, failed: 0, dropped: 0 });
    // The memory store, on by default, saw the same spans.
    assert.equal(telemetry.spanStore?.trace(serverSpan.traceId).length, 2);
  });

  it('with the endpoint down, spans are dropped and counted; requests are never blocked or failed', async (t) => {
    const telemetry = setupTelemetry(
      {
        serviceName: 'gateway',
        exporters: {
          otlp: {
            endpoint: await closedPortUrl(),
            timeout: 200,
            maxQueueSize: 20,
            maxExportBatchSize: 10,
            scheduledDelay: 5,
          },
          memory: false,
        },
      },
      {},
    );
    t.after(() => telemetry.shutdown());

    const app = createServer((_req, res) => {
      traced('GET /', () => res.end('ok'), { kind: SpanKind.SERVER });
    });
    app.listen(0, '127.0.0.1');
    await once(app, 'listening');
    t.after(() => new Promise((resolve) => app.close(resolve)));
    const { port } = app.address() as AddressInfo;

    // Many spans in one synchronous burst: the export queue (20) overflows at once.
    for (let i = 0; i < 300; i++) traced('burst', () => i);
    // Requests still answer while exports fail.
    for (let i = 0; i < 5; i++) {
      const body = await new Promise<string>((resolve, reject) => {
        request({ port, host: '127.0.0.1', path: '/' }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            text += c;
          });
          res.on('end', () => resolve(text));
        })
          .on('error', reject)
          .end();
      });
      assert.equal(body, 'ok');
    }
    await telemetry.forceFlush();
    const stats = telemetry.exportStats();
    assert.equal(stats.exported, 0);
    assert.ok(stats.dropped > 0, `expected drops, got ${JSON.stringify(stats)}`);
    assert.ok(stats.failed > 0, `expected failed exports, got ${JSON.stringify(stats)}`);
    assert.equal(stats.dropped + stats.failed, 305, `every span is accounted for: ${JSON.stringify(stats)}`);
    await telemetry.shutdown();
  });

  it('counts failed exports when the collector rejects them, and exports again once it recovers', async (t) => {
    const receiver = await startOtlpReceiver();
    t.after(() => receiver.close());
    const telemetry = setupTelemetry(
      { serviceName: 'svc', exporters: { otlp: { endpoint: receiver.url, timeout: 300 } } },
      {},
    );
    t.after(() => telemetry.shutdown());
    receiver.respondWith(400);
    traced('rejected', () => undefined);
    await telemetry.forceFlush();
    assert.deepEqual(telemetry.exportStats(), { exported: 0, failed: 1, dropped: 0 });
    receiver.respondWith(200);
    traced('accepted', () => undefined);
    await telemetry.forceFlush();
    await receiver.waitForSpans((s) => s.name === 'accepted');
    assert.deepEqual(telemetry.exportStats(), { exported: 1, failed: 1, dropped: 0 });
  });
});
