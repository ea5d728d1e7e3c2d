import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type OutgoingHttpHeaders, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { baggageEntries, extractContext, injectContext, withBaggage } from './propagation.ts';
import { setupTelemetry } from './setup-telemetry.ts';
import { activeSpan, getTracer, SpanKind, withContext, withSpan } from './tracer.ts';

const tracer = getTracer('@switchyard/test');
const remoteParent = {
  traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  tracestate: 'vendor=abc,other=1',
};

describe('context propagation', () => {
  it('without setup, inject writes nothing and extract finds no span', () => {
    const headers = injectContext<Record<string, string>>({});
    assert.deepEqual(headers, {});
    assert.equal(activeSpan(), undefined);
  });

  it('carries traceparent, tracestate and baggage across an HTTP hop into one trace', async (t) => {
    const telemetry = setupTelemetry({ serviceName: 'hop' }, {});
    t.after(() => telemetry.shutdown());
    const seen: { headers?: IncomingHttpHeaders; baggage?: Record<string, string>; traceState?: string | undefined } =
      {};

    const server = createServer((req, res) => {
      const parent = extractContext(req.headers);
      const span = tracer.startSpan('GET /inventory', { kind: SpanKind.SERVER }, parent);
      withContext(parent, () => {
        seen.baggage = baggageEntries();
      });
      seen.headers = req.headers;
      seen.traceState = span.spanContext().traceState?.serialize();
      withSpan(span, () => res.end('ok'));
      span.end();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    t.after(() => new Promise((resolve) => server.close(resolve)));
    const { port } = server.address() as AddressInfo;

    const incoming = withBaggage({ 'tenant.id': 'acme', 'user.tier': 'gold' }, extractContext(remoteParent));
    const client = tracer.startSpan('GET', { kind: SpanKind.CLIENT }, incoming);
    await withContext(incoming, () =>
      withSpan(client, async () => {
        const headers = injectContext<OutgoingHttpHeaders>({ accept: 'text/plain' });
        await new Promise<void>((resolve, reject) => {
          request({ host: '127.0.0.1', port, path: '/inventory', headers }, (res) => {
            res.resume();
            res.on('end', resolve);
          })
            .on('error', reject)
            .end();
        });
      }),
    );
    client.end();

    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    assert.match(String(seen.headers?.traceparent), new RegExp(`^00-${traceId}-${client.spanContext().spanId}-01$`));
    assert.equal(seen.headers?.tracestate, 'vendor=abc,other=1');
    assert.equal(seen.traceState, 'vendor=abc,other=1');
    assert.deepEqual(seen.baggage, { 'tenant.id': 'acme', 'user.tier': 'gold' });

    const spans = telemetry.spanStore?.trace(traceId) ?? [];
    assert.deepEqual(
      spans.map((s) => [s.name, s.kind, s.parentSpanId]),
      [
        ['GET', 'client', '00f067aa0ba902b7'],
        ['GET /inventory', 'server', client.spanContext().spanId],
      ],
    );
    assert.equal(telemetry.spanStore?.recentTraces().length, 1, 'one trace');
  });

  it('works with bus message headers, fetch Headers and repeated header values', async (t) => {
    const telemetry = setupTelemetry({ serviceName: 'bus' }, {});
    t.after(() => telemetry.shutdown());
    const producer = tracer.startSpan('orders publish', { kind: SpanKind.PRODUCER });
    const messageHeaders = withSpan(producer, () =>
      injectContext<Record<string, string>>({ 'content-type': 'application/json' }),
    );
    producer.end();
    assert.deepEqual(Object.keys(messageHeaders).sort(), ['content-type', 'traceparent']);

    const consumer = tracer.startSpan('orders process', { kind: SpanKind.CONSUMER }, extractContext(messageHeaders));
    assert.equal(consumer.spanContext().traceId, producer.spanContext().traceId);
    consumer.end();

    const fetchHeaders = withSpan(producer, () => injectContext(new Headers()));
    assert.equal(fetchHeaders.get('traceparent'), messageHeaders.traceparent);
    const fromFetch = tracer.startSpan('x', {}, extractContext(fetchHeaders));
    assert.equal(fromFetch.spanContext().traceId, producer.spanContext().traceId);
    fromFetch.end();

    // Node joins repeated tracestate headers into an array on some paths; both values count.
    const repeated = extractContext({ traceparent: remoteParent.traceparent, tracestate: ['a=1', 'b=2'] });
    const child = tracer.startSpan('child', {}, repeated);
    assert.equal(child.spanContext().traceState?.serialize(), 'a=1,b=2');
    child.end();
  });

  it('ignores malformed headers and starts a new trace', async (t) => {
    const telemetry = setupTelemetry({ serviceName: 'bad' }, {});
    t.after(() => telemetry.shutdown());
    const span = tracer.startSpan('x', {}, extractContext({ traceparent: 'garbage', baggage: '%%%' }));
    assert.equal(span.isRecording(), true);
    assert.notEqual(span.spanContext().traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
    span.end();
    assert.equal(telemetry.spanStore?.spans()[0]?.parentSpanId, null);
  });
});
