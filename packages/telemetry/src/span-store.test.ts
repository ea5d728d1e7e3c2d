import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ROOT_CONTEXT, type Span, SpanStatusCode, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOffSampler, TracerProvider } from '@opentelemetry/sdk-trace';
import { SpanStore, spanStoreProcessor } from './span-store.ts';

function tracerFor(store: SpanStore, service: string, sampled = true) {
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [spanStoreProcessor(store)],
    ...(sampled ? {} : { sampler: new AlwaysOffSampler() }),
  });
  return provider.getTracer('store-test');
}

describe('SpanStore', () => {
  it('keeps at most capacity spans, evicting the oldest', () => {
    const store = new SpanStore({ capacity: 5 });
    const tracer = tracerFor(store, 'svc');
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      const span = tracer.startSpan(`s${i}`);
      span.end();
      ids.push(span.spanContext().traceId);
    }
    assert.equal(store.size, 5);
    assert.deepEqual(
      store.spans().map((s) => s.name),
      ['s7', 's6', 's5', 's4', 's3'],
    );
    assert.deepEqual(store.trace(ids[0] as string), [], 'evicted');
    assert.equal(store.trace(ids[7] as string).length, 1);
    store.clear();
    assert.equal(store.size, 0);
    assert.deepEqual(store.recentTraces(), []);
  });

  it('returns a trace ordered by start time, JSON-safe', () => {
    const store = new SpanStore();
    const tracer = tracerFor(store, 'gateway');
    const root = tracer.startSpan('GET /orders', { startTime: [1_700_000_000, 0] });
    const child = tracer.startSpan(
      'upstream',
      { startTime: [1_700_000_000, 500_000_000], links: [{ context: root.spanContext() }] },
      under(root),
    );
    child.addEvent('retry', { attempt: 2 }, [1_700_000_000, 600_000_000]);
    child.setAttribute('weird', Number.NaN);
    child.end([1_700_000_000, 750_000_000]);
    root.setStatus({ code: SpanStatusCode.OK });
    root.end([1_700_000_001, 0]);

    const spans = store.trace(root.spanContext().traceId.toUpperCase());
    assert.deepEqual(
      spans.map((s) => s.name),
      ['GET /orders', 'upstream'],
    );
    const [r, c] = spans;
    assert.ok(r && c);
    assert.equal(r.parentSpanId, null);
    assert.equal(c.parentSpanId, r.spanId);
    assert.equal(r.startTimeUs, 1_700_000_000_000_000);
    assert.equal(r.endTimeUs, 1_700_000_001_000_000);
    assert.equal(r.durationMs, 1000);
    assert.equal(c.durationMs, 250);
    assert.deepEqual(r.status, { code: 'ok' });
    assert.deepEqual(c.events, [{ name: 'retry', timeUs: 1_700_000_000_600_000, attributes: { attempt: 2 } }]);
    assert.deepEqual(c.links, [{ traceId: r.traceId, spanId: r.spanId, attributes: {} }]);
    assert.equal(c.attributes.weird, 'NaN');
    assert.deepEqual(JSON.parse(JSON.stringify(spans)), spans, 'survives JSON');
  });

  it('lists recent traces with a root summary, filtered by service', () => {
    const store = new SpanStore();
    const gateway = tracerFor(store, 'gateway');
    const orders = tracerFor(store, 'orders');

    const first = gateway.startSpan('GET /a', { startTime: [1000, 0] });
    orders.startSpan('db', { startTime: [1000, 1000] }, under(first)).end([1000, 2000]);
    const failed = orders.startSpan('call', { startTime: [1000, 3000] }, under(first));
    failed.setStatus({ code: SpanStatusCode.ERROR, message: 'x' });
    failed.end([1000, 4000]);
    first.setStatus({ code: SpanStatusCode.ERROR });
    first.end([1000, 5_000_000]);

    const second = gateway.startSpan('GET /b', { startTime: [2000, 0] });
    second.end([2000, 1_000_000]);

    const all = store.recentTraces();
    assert.deepEqual(
      all.map((t) => ({ ...t, traceId: undefined })),
      [
        {
          traceId: undefined,
          name: 'GET /b',
          service: 'gateway',
          services: ['gateway'],
          startTimeUs: 2_000_000_000,
          durationMs: 1,
          status: 'unset',
          spanCount: 1,
          errorCount: 0,
        },
        {
          traceId: undefined,
          name: 'GET /a',
          service: 'gateway',
          services: ['gateway', 'orders'],
          startTimeUs: 1_000_000_000,
          durationMs: 5,
          status: 'error',
          spanCount: 3,
          errorCount: 2,
        },
      ],
    );
    assert.deepEqual(
      store.recentTraces({ service: 'orders' }).map((t) => t.name),
      ['GET /a'],
    );
    assert.deepEqual(
      store.recentTraces({ limit: 1 }).map((t) => t.name),
      ['GET /b'],
    );
    assert.deepEqual(
      store.spans({ service: 'orders' }).map((s) => s.name),
      ['call', 'db'],
    );
    assert.deepEqual(store.services(), ['gateway', 'orders']);
  });

  it('summarises a trace whose root has not ended yet by its earliest span', () => {
    const store = new SpanStore();
    const tracer = tracerFor(store, 'svc');
    const root = tracer.startSpan('root');
    tracer.startSpan('child', {}, under(root)).end();
    assert.equal(store.recentTraces()[0]?.name, 'child');
    root.end();
    assert.equal(store.recentTraces()[0]?.name, 'root');
  });

  it('stores only sampled spans and works as a SpanExporter', async () => {
    const store = new SpanStore();
    tracerFor(store, 'svc', false).startSpan('not sampled').end();
    assert.equal(store.size, 0);
    const collected = new SpanStore();
    tracerFor(collected, 'svc').startSpan('exported').end();
    const readable = collected.spans().length;
    assert.equal(readable, 1);
    // As an exporter (e.g. behind a BatchSpanProcessor) it stores what it is given.
    const results: number[] = [];
    const provider = new TracerProvider({
      spanProcessors: [
        {
          onStart() {},
          onEnd: (span) => store.export([span], (r) => results.push(r.code)),
          forceFlush: async () => {},
          shutdown: async () => {},
        },
      ],
    });
    provider.getTracer('t').startSpan('via export').end();
    assert.deepEqual(results, [0]);
    assert.deepEqual(
      store.spans().map((s) => s.name),
      ['via export'],
    );
    await store.forceFlush();
    await store.shutdown();
  });

  it('rejects a bad capacity', () => {
    assert.throws(() => new SpanStore({ capacity: 0 }), /capacity: expected an integer >= 1, got 0/);
  });
});

function under(parent: Span) {
  return trace.setSpan(ROOT_CONTEXT, parent);
}
