import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { isSwitchyardError } from '@switchyard/core';
import { OtlpHttpSpanExporter, parseRetryAfter } from './otlp-http-exporter.ts';
import { setupTelemetry } from './setup-telemetry.ts';
import { startOtlpReceiver } from './testing/otlp-receiver.ts';
import { traced } from './traced.ts';
import { getTracer, SpanKind } from './tracer.ts';

async function finishedSpans(names: readonly string[]): Promise<ReadableSpan[]> {
  const memory = new InMemorySpanExporter();
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'orders' }),
    spanProcessors: [new SimpleSpanProcessor({ exporter: memory })],
  });
  const tracer = provider.getTracer('@switchyard/test', '1.0.0');
  for (const name of names) {
    tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes: { n: -3, tags: ['x', 'ÿ'], ok: true } }).end();
  }
  await provider.forceFlush();
  return memory.getFinishedSpans();
}

function exportOnce(exporter: OtlpHttpSpanExporter, spans: ReadableSpan[]): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(spans, resolve));
}

async function closedPortUrl(): Promise<string> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}/v1/traces`;
}

describe('OtlpHttpSpanExporter', () => {
  it('posts protobuf the receiver decodes, with the given headers, on keep-alive connections', async (t) => {
    const receiver = await startOtlpReceiver();
    t.after(() => receiver.close());
    const exporter = new OtlpHttpSpanExporter({ url: receiver.url, headers: { 'x-api-key': 'k' } });
    t.after(() => exporter.shutdown());
    for (const name of ['a', 'b', 'c']) {
      const result = await exportOnce(exporter, await finishedSpans([name]));
      assert.equal(result.code, ExportResultCode.SUCCESS);
    }
    const spans = await receiver.waitForSpans(() => true, 2000, 3);
    assert.deepEqual(
      spans.map((s) => s.name),
      ['a', 'b', 'c'],
    );
    assert.deepEqual(spans[0]?.attributes, { n: -3, tags: ['x', 'ÿ'], ok: true });
    assert.equal(spans[0]?.kind, 'client');
    assert.equal(spans[0]?.service, 'orders');
    assert.deepEqual(spans[0]?.scope, { name: '@switchyard/test', version: '1.0.0' });
    assert.equal(receiver.lastHeaders?.['content-type'], 'application/x-protobuf');
    assert.equal(receiver.lastHeaders?.['x-api-key'], 'k');
    assert.equal(receiver.lastHeaders?.connection, 'keep-alive');
  });

  it('gzip-compresses the body when asked', async (t) => {
    const receiver = await startOtlpReceiver();
    t.after(() => receiver.close());
    const exporter = new OtlpHttpSpanExporter({ url: receiver.url, compression: 'gzip' });
    t.after(() => exporter.shutdown());
    const result = await exportOnce(exporter, await finishedSpans(['zipped']));
    assert.equal(result.code, ExportResultCode.SUCCESS);
    assert.equal(receiver.lastHeaders?.['content-encoding'], 'gzip');
    assert.equal((await receiver.waitForSpans((s) => s.name === 'zipped')).length, 1);
  });

  it('retries a 503 after its Retry-After delay, then succeeds', async (t) => {
    const receiver = await startOtlpReceiver();
    t.after(() => receiver.close());
    const exporter = new OtlpHttpSpanExporter({ url: receiver.url, timeoutMs: 5000, initialBackoffMs: 10 });
    t.after(() => exporter.shutdown());
    receiver.respondWith(503, { retryAfter: '1', times: 1 });
    const started = Date.now();
    const result = await exportOnce(exporter, await finishedSpans(['retried']));
    assert.equal(result.code, ExportResultCode.SUCCESS);
    assert.equal(receiver.requests, 2);
    // Retry-After (1 s) wins over the 10 ms backoff.
    assert.ok(Date.now() - started >= 950, `retried after ${Date.now() - started}ms`);
    assert.equal((await receiver.waitForSpans((s) => s.name === 'retried')).length, 1);
  });

  it('retries 429, 502 and 504 with backoff up to maxAttempts, then fails with the status', async (t) => {
    const receiver = await startOtlpReceiver();
    t.after(() => receiver.close());
    const exporter = new OtlpHttpSpanExporter({
      url: receiver.url,
      timeoutMs: 5000,
      maxAttempts: 3,
      initialBackoffMs: 5,
    });
    t.after(() => exporter.shutdown());
    for (const status of [429, 502, 504]) {
      const before = receiver.requests;
      receiver.respondWith(status);
      const result = await exportOnce(exporter, await finishedSpans(['x']));
      assert.equal(result.code, ExportResultCode.FAILED);
      assert.ok(isSwitchyardError(result.error, 'SY_TELEMETRY_EXPORT_FAILED'));
      assert.match(String(result.error?.message), new RegExp(`HTTP ${status} \\(3 attempts\\)`));
      assert.equal(receiver.requests - before, 3);
    }
  });

  it('does not retry a 400, and gives up when Retry-After is past the deadline', async (t) => {
    const receiver = await startOtlpReceiver();
    t.after(() => receiver.close());
    const exporter = new OtlpHttpSpanExporter({ url: receiver.url, timeoutMs: 500, initialBackoffMs: 5 });
    t.after(() => exporter.shutdown());
    receiver.respondWith(400);
    let result = await exportOnce(exporter, await finishedSpans(['bad']));
    assert.equal(result.code, ExportResultCode.FAILED);
    assert.equal(receiver.requests, 1);
    receiver.respondWith(503, { retryAfter: '3' });
    const started = Date.now();
    result = await exportOnce(exporter, await finishedSpans(['later']));
    assert.equal(result.code, ExportResultCode.FAILED);
    assert.match(String(result.error?.message), /HTTP 503; no time left to retry/);
    assert.equal(receiver.requests, 2);
    assert.ok(Date.now() - started < 450, 'gave up without waiting for Retry-After');
  });

  it('fails (never throws) when the collector is down or does not answer in time', async (t) => {
    const down = new OtlpHttpSpanExporter({ url: await closedPortUrl(), timeoutMs: 1000 });
    t.after(() => down.shutdown());
    const refused = await exportOnce(down, await finishedSpans(['lost']));
    assert.equal(refused.code, ExportResultCode.FAILED);
    assert.ok(isSwitchyardError(refused.error, 'SY_TELEMETRY_EXPORT_FAILED'));
    assert.match(String(refused.error?.message), /ECONNREFUSED/);

    const silent = createServer(() => undefined); // accepts, never answers
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    t.after(() => {
      silent.closeAllConnections();
      silent.close();
    });
    const { port } = silent.address() as AddressInfo;
    const slow = new OtlpHttpSpanExporter({ url: `http://127.0.0.1:${port}/v1/traces`, timeoutMs: 200 });
    t.after(() => slow.shutdown());
    const started = Date.now();
    const timedOut = await exportOnce(slow, await finishedSpans(['slow']));
    assert.equal(timedOut.code, ExportResultCode.FAILED);
    assert.match(String(timedOut.error?.message), /no answer within/);
    assert.ok(Date.now() - started < 2000);
  });

  it('a result callback that throws does not become an unhandled rejection', async (t) => {
    const receiver = await startOtlpReceiver();
    t.after(() => receiver.close());
    const exporter = new OtlpHttpSpanExporter({ url: receiver.url });
    t.after(() => exporter.shutdown());
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    t.after(() => process.off('unhandledRejection', onUnhandled));
    let called = false;
    exporter.export(await finishedSpans(['x']), () => {
      called = true;
      throw new Error('callback bug');
    });
    await exporter.forceFlush();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(called, true);
    assert.deepEqual(unhandled, []);
  });

  it('after shutdown, exports fail at once', async (t) => {
    const receiver = await startOtlpReceiver();
    t.after(() => receiver.close());
    const exporter = new OtlpHttpSpanExporter({ url: receiver.url });
    await exporter.shutdown();
    await exporter.shutdown();
    const result = await exportOnce(exporter, await finishedSpans(['late']));
    assert.equal(result.code, ExportResultCode.FAILED);
    assert.equal(receiver.requests, 0);
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    assert.equal(parseRetryAfter('2'), 2000);
    assert.equal(parseRetryAfter(' 0 '), 0);
    assert.equal(parseRetryAfter(undefined), undefined);
    assert.equal(parseRetryAfter('soon'), undefined);
    const now = Date.parse('Wed, 21 Oct 2026 07:28:00 GMT');
    assert.equal(parseRetryAfter('Wed, 21 Oct 2026 07:28:03 GMT', now), 3000);
    assert.equal(parseRetryAfter('Wed, 21 Oct 2026 07:27:00 GMT', now), 0);
  });
});

describe('setupTelemetry with each OTLP implementation', () => {
  const tracer = getTracer('@switchyard/gateway', '0.1.0');

  for (const implementation of ['switchyard', 'opentelemetry'] as const) {
    it(`${implementation}: spans, counts and gzip reach the receiver alike`, async (t) => {
      const receiver = await startOtlpReceiver();
      t.after(() => receiver.close());
      const telemetry = setupTelemetry(
        {
          serviceName: 'gateway',
          instanceId: 'gw-1',
          exporters: { otlp: { endpoint: receiver.url, implementation, compression: 'gzip' }, memory: false },
        },
        {},
      );
      t.after(() => telemetry.shutdown());
      traced('GET /orders', () => {
        tracer.startSpan('GET', { kind: SpanKind.CLIENT, attributes: { 'switchyard.attempt': 1 } }).end();
      });
      await telemetry.forceFlush();
      const spans = await receiver.waitForSpans(() => true, 5000, 2);
      const client = spans.find((s) => s.name === 'GET');
      const server = spans.find((s) => s.name === 'GET /orders');
      assert.ok(client && server);
      assert.equal(client.parentSpanId, server.spanId);
      assert.deepEqual(client.attributes, { 'switchyard.attempt': 1 });
      assert.equal(client.resource['service.instance.id'], 'gw-1');
      assert.equal(receiver.lastHeaders?.['content-encoding'], 'gzip');
      assert.deepEqual(telemetry.exportStats(), { exported: 2, failed: 0, dropped: 0 });
    });
  }

  it('a 503 with Retry-After is retried within the export; nothing counts as failed', async (t) => {
    const receiver = await startOtlpReceiver();
    t.after(() => receiver.close());
    const telemetry = setupTelemetry(
      { serviceName: 'svc', exporters: { otlp: { endpoint: receiver.url, timeout: '5s' }, memory: false } },
      {},
    );
    t.after(() => telemetry.shutdown());
    receiver.respondWith(503, { retryAfter: '1', times: 1 });
    traced('once-refused', () => undefined);
    await telemetry.forceFlush();
    await receiver.waitForSpans((s) => s.name === 'once-refused');
    assert.equal(receiver.requests, 2);
    assert.deepEqual(telemetry.exportStats(), { exported: 1, failed: 0, dropped: 0 });
  });
});
