import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type Attributes,
  type HrTime,
  type Link,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
} from '@opentelemetry/api';
import { type InstrumentationScope, TraceState } from '@opentelemetry/core';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { ExportTraceServiceRequest } from './internal/otlp-trace-proto.ts';
import { decodeOtlpTraces } from './otlp-receiver.ts';
import { encodeOtlpTraceRequest } from './otlp-trace-encoder.ts';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

function decoded(bytes: Uint8Array): unknown {
  return ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(bytes), {
    longs: String,
    bytes: String,
    enums: Number,
    defaults: true,
    arrays: true,
  });
}

/** Ours and the OpenTelemetry serializer's encodings decode to the same message (and bytes). */
function assertSameAsLibrary(spans: ReadableSpan[]): void {
  const ours = encodeOtlpTraceRequest(spans);
  const theirs = ProtobufTraceSerializer.serializeRequest(spans);
  assert.ok(theirs);
  assert.deepEqual(decoded(ours), decoded(theirs));
  assert.ok(Buffer.from(theirs).equals(ours), 'byte-identical to ProtobufTraceSerializer');
}

const resource = resourceFromAttributes({ 'service.name': 'orders', 'service.version': 'ünï', 'host.cpus': 2 });
const scope: InstrumentationScope = { name: '@switchyard/gateway', version: '0.1.0' };

function context(spanId: string, extra: Partial<SpanContext> = {}): SpanContext {
  return { traceId: TRACE_ID, spanId, traceFlags: 1, ...extra };
}

/** A hand-built finished span, so every field can be set to an edge value. */
function span(overrides: Partial<Omit<ReadableSpan, 'spanContext'>> & { ctx?: SpanContext } = {}): ReadableSpan {
  const { ctx = context('00f067aa0ba902b7'), ...rest } = overrides;
  return {
    name: 'GET /orders/:id',
    kind: SpanKind.SERVER,
    spanContext: () => ctx,
    startTime: [1_700_000_000, 123_456_789],
    endTime: [1_700_000_001, 5],
    status: { code: SpanStatusCode.UNSET },
    attributes: {},
    links: [],
    events: [],
    duration: [1, 0],
    ended: true,
    resource,
    instrumentationScope: scope,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
    ...rest,
  };
}

const everyType: Attributes = {
  str: 'GET',
  empty: '',
  unicode: 'naïve café ✓ 𝄞 日本語',
  long: 'x'.repeat(300),
  longUnicode: 'é'.repeat(100),
  int: 42,
  zero: 0,
  negative: -7,
  bigNegative: -9_007_199_254_740_991,
  big: 2 ** 40,
  beyondUint32: 4_294_967_296,
  double: 0.5,
  negativeDouble: -1.25e-10,
  nan: Number.NaN,
  inf: Number.POSITIVE_INFINITY,
  huge: 1e300,
  yes: true,
  no: false,
  strings: ['a', '', 'ü'],
  ints: [1, -1, 300],
  doubles: [0.1, 2.5],
  bools: [true, false, true],
  sparse: ['a', null, undefined, 'b'],
  emptyArray: [],
};

describe('encodeOtlpTraceRequest', () => {
  it('encodes attributes of every value type as ProtobufTraceSerializer does', () => {
    assertSameAsLibrary([span({ attributes: everyType })]);
  });

  it('round-trips through the OTLP receiver: values, ids, times and parents come back', () => {
    const child = span({
      ctx: context('1111111111111111'),
      parentSpanContext: context('00f067aa0ba902b7'),
      kind: SpanKind.CLIENT,
      name: 'GET',
      attributes: { negative: -7, bools: [true, false], double: 0.5, unicode: '𝄞', big: 2 ** 40 },
      startTime: [1_700_000_000, 999_999_999],
      endTime: [4_102_444_800, 1],
    });
    const [root, decodedChild] = decodeOtlpTraces(encodeOtlpTraceRequest([span(), child]));
    assert.ok(root && decodedChild);
    assert.equal(root.parentSpanId, null);
    assert.equal(root.traceId, TRACE_ID);
    assert.equal(decodedChild.parentSpanId, '00f067aa0ba902b7');
    assert.equal(decodedChild.kind, 'client');
    assert.deepEqual(decodedChild.attributes, {
      negative: -7,
      bools: [true, false],
      double: 0.5,
      unicode: '𝄞',
      big: 2 ** 40,
    });
    assert.equal(root.startTimeUnixNano, 1_700_000_000_123_456_789n);
    assert.equal(decodedChild.startTimeUnixNano, 1_700_000_000_999_999_999n);
    // Past 2^53 ns and past 2^32 s * 1e9: the fixed64 stays exact.
    assert.equal(decodedChild.endTimeUnixNano, 4_102_444_800_000_000_001n);
    assert.equal(root.service, 'orders');
    assert.equal(root.resource['service.version'], 'ünï');
  });

  it('encodes events, links, status, kinds, flags, trace state and dropped counts', () => {
    const links: Link[] = [
      { context: context('2222222222222222', { isRemote: true, traceFlags: 0 }), attributes: { a: 1 } },
      {
        context: context('3333333333333333', { traceState: new TraceState('vendor=x,other=y') }),
        droppedAttributesCount: 3,
      },
    ];
    const spans = [
      span({
        ctx: context('00f067aa0ba902b7', { traceState: new TraceState('congo=t61rcWkgMzE') }),
        parentSpanContext: context('aaaaaaaaaaaaaaaa', { isRemote: true }),
        status: { code: SpanStatusCode.ERROR, message: 'upstream timed out ✗' },
        events: [
          { name: 'exception', time: [1_700_000_000, 5], attributes: { 'exception.message': 'boom' } },
          { name: '', time: [0, 0], droppedAttributesCount: 2 },
        ],
        links,
        droppedAttributesCount: 4,
        droppedEventsCount: 5,
        droppedLinksCount: 300,
      }),
      span({ kind: SpanKind.INTERNAL, status: { code: SpanStatusCode.OK }, name: '' }),
      span({ kind: SpanKind.PRODUCER, parentSpanContext: context('bbbbbbbbbbbbbbbb', { isRemote: false }) }),
      span({ kind: SpanKind.CONSUMER, ctx: context('cccccccccccccccc', { traceFlags: 0 }) }),
    ];
    assertSameAsLibrary(spans);
  });

  it('groups by resource and scope in first-seen order', () => {
    const other = resourceFromAttributes({ 'service.name': 'payments' });
    const scopeB: InstrumentationScope = { name: 'b', schemaUrl: 'https://opentelemetry.io/schemas/1.30.0' };
    const scopeC: InstrumentationScope = { name: 'c', version: '' };
    const spans = [
      span({ name: 'a1' }),
      span({ name: 'b1', instrumentationScope: scopeB }),
      span({ name: 'p1', resource: other }),
      span({ name: 'a2' }),
      span({ name: 'c1', instrumentationScope: scopeC, resource: other }),
      span({ name: 'b2', instrumentationScope: scopeB }),
    ];
    assertSameAsLibrary(spans);
    const message = ExportTraceServiceRequest.toObject(
      ExportTraceServiceRequest.decode(encodeOtlpTraceRequest(spans)),
    ) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<{ name: string }> }> }> };
    const names = message.resourceSpans.map((r) => r.scopeSpans.map((s) => s.spans.map((x) => x.name)));
    assert.deepEqual(names, [
      [
        ['a1', 'a2'],
        ['b1', 'b2'],
      ],
      [['p1'], ['c1']],
    ]);
  });

  it('encodes a resource with a schema URL and no spans to an empty request', () => {
    const withSchema = resourceFromAttributes({ 'service.name': 's' }, { schemaUrl: 'https://example.com/s' });
    assertSameAsLibrary([span({ resource: withSchema })]);
    assert.equal(encodeOtlpTraceRequest([]).length, 0);
  });

  it('encodes a large batch (lengths past one and two varint bytes) as the library does', () => {
    const spans: ReadableSpan[] = [];
    for (let i = 0; i < 600; i++) {
      spans.push(
        span({
          ctx: context(i.toString(16).padStart(16, '0')),
          attributes: { i, body: 'y'.repeat(i % 200), list: Array.from({ length: i % 50 }, (_, j) => j * 1.5) },
        }),
      );
    }
    assertSameAsLibrary(spans);
  });

  it('encodes spans from the SDK as the library does', async () => {
    const memory = new InMemorySpanExporter();
    const provider = new TracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor({ exporter: memory })] });
    const tracer = provider.getTracer('@switchyard/client', '1.0.0');
    const parent = tracer.startSpan('GET /x', { kind: SpanKind.SERVER, attributes: everyType });
    parent.addEvent('retry', { attempt: 2 }, [1_700_000_000, 1] as HrTime);
    parent.recordException(new Error('unicode ✓ error'));
    parent.setStatus({ code: SpanStatusCode.ERROR, message: 'failed' });
    parent.end();
    tracer.startSpan('plain').end();
    await provider.forceFlush();
    const spans = memory.getFinishedSpans();
    assert.equal(spans.length, 2);
    assertSameAsLibrary(spans);
    await provider.shutdown();
  });
});
