import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { isSwitchyardError } from '@switchyard/core';
import { ExportTraceServiceRequest } from './internal/otlp-trace-proto.ts';
import { decodeOtlpTraces, decodeOtlpTracesJson, receiveOtlpTraces, toStoredFromOtlp } from './otlp-receiver.ts';
import { SpanStore } from './span-store.ts';

const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';

function request(service: string, spanId: string, parent?: string) {
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [
          {
            scope: { name: 'scope-a', version: '1' },
            spans: [
              {
                traceId,
                spanId,
                ...(parent ? { parentSpanId: parent } : {}),
                name: `op ${service}`,
                kind: 'SPAN_KIND_CLIENT',
                startTimeUnixNano: '1700000000000000000',
                endTimeUnixNano: '1700000000002500000',
                attributes: [
                  { key: 'n', value: { intValue: '7' } },
                  { key: 'list', value: { arrayValue: { values: [{ stringValue: 'a' }, { boolValue: true }] } } },
                  { key: 'map', value: { kvlistValue: { values: [{ key: 'k', value: { doubleValue: 1.5 } }] } } },
                ],
                events: [{ name: 'exception', timeUnixNano: '1700000000001000000', attributes: [] }],
                status: { code: 2, message: 'boom' },
              },
            ],
          },
        ],
      },
    ],
  };
}

function protobufOf(json: ReturnType<typeof request>): Uint8Array {
  // protobufjs' fromObject takes bytes as base64 and enums by name or number.
  const withBytes = structuredClone(json) as unknown as {
    resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<Record<string, unknown>> }> }>;
  };
  for (const rs of withBytes.resourceSpans)
    for (const ss of rs.scopeSpans)
      for (const span of ss.spans)
        for (const key of ['traceId', 'spanId', 'parentSpanId'])
          if (typeof span[key] === 'string') span[key] = Buffer.from(span[key] as string, 'hex');
  return ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(withBytes)).finish();
}

function fakeRequest(body: Buffer | string, headers: Record<string, string>): IncomingMessage {
  const stream = Readable.from([Buffer.from(body)]) as unknown as IncomingMessage;
  stream.headers = headers;
  return stream;
}

describe('OTLP trace receiver', () => {
  it('decodes protobuf and JSON to the same spans', () => {
    const json = request('orders', '00f067aa0ba902b7');
    const fromJson = decodeOtlpTracesJson(JSON.stringify(json));
    const fromProto = decodeOtlpTraces(protobufOf(json));
    assert.deepEqual(fromProto, fromJson);
    const [span] = fromJson;
    assert.equal(span?.service, 'orders');
    assert.equal(span?.kind, 'client');
    assert.equal(span?.status.code, 'error');
    assert.deepEqual(span?.attributes, { n: 7, list: ['a', true], map: { k: 1.5 } });
  });

  it('converts to stored spans: microseconds, JSON-safe attributes, status', () => {
    const [span] = decodeOtlpTracesJson(JSON.stringify(request('orders', '00f067aa0ba902b7')));
    assert.ok(span !== undefined);
    const stored = toStoredFromOtlp(span);
    assert.equal(stored.startTimeUs, 1_700_000_000_000_000);
    assert.equal(stored.durationMs, 2.5);
    assert.deepEqual(stored.status, { code: 'error', message: 'boom' });
    assert.deepEqual(stored.attributes, { n: 7, list: ['a', true], map: '{"k":1.5}' });
    assert.equal(stored.events[0]?.timeUs, 1_700_000_000_001_000);
  });

  it('feeds a span store that summarises foreign traces like its own', async () => {
    const store = new SpanStore();
    await receiveOtlpTraces(
      fakeRequest(Buffer.from(protobufOf(request('gateway', '00f067aa0ba902b7'))), {
        'content-type': 'application/x-protobuf',
      }),
      store,
    );
    const reply = await receiveOtlpTraces(
      fakeRequest(gzipSync(JSON.stringify(request('orders', '00f067aa0ba902b8', '00f067aa0ba902b7'))), {
        'content-type': 'application/json; charset=utf-8',
        'content-encoding': 'gzip',
      }),
      store,
    );
    assert.equal(reply.spans, 1);
    assert.equal(reply.contentType, 'application/json');
    const [summary] = store.recentTraces();
    assert.equal(summary?.name, 'op gateway');
    assert.deepEqual(summary?.services, ['gateway', 'orders']);
    assert.equal(summary?.errorCount, 2);
    assert.deepEqual(
      store.trace(traceId.toUpperCase()).map((s) => s.service),
      ['gateway', 'orders'],
    );
    assert.deepEqual(store.services(), ['gateway', 'orders']);
  });

  it('rejects malformed bodies, bad ids, big bodies and other media types with their codes', async () => {
    const store = new SpanStore();
    const expectCode = async (req: IncomingMessage, code: string, message?: RegExp) => {
      await assert.rejects(receiveOtlpTraces(req, store, { maxBodyBytes: 1000 }), (err: unknown) => {
        assert.ok(isSwitchyardError(err, code), String(err));
        if (message) assert.match(err.message, message);
        return true;
      });
    };
    await expectCode(
      fakeRequest(Buffer.from([0x0a, 0xff, 0xff]), { 'content-type': 'application/x-protobuf' }),
      'SY_TELEMETRY_OTLP_INVALID',
      /not an OTLP ExportTraceServiceRequest in protobuf/,
    );
    await expectCode(fakeRequest('{', { 'content-type': 'application/json' }), 'SY_TELEMETRY_OTLP_INVALID', /JSON/);
    const badId = request('x', '00f067aa0ba902b7');
    (badId.resourceSpans[0]?.scopeSpans[0]?.spans[0] as { spanId: string }).spanId = '0000000000000000';
    await expectCode(
      fakeRequest(JSON.stringify(badId), { 'content-type': 'application/json' }),
      'SY_TELEMETRY_OTLP_INVALID',
      /resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.spanId: expected 16 hex characters/,
    );
    await expectCode(
      fakeRequest('x'.repeat(2000), { 'content-type': 'application/json' }),
      'SY_TELEMETRY_OTLP_TOO_LARGE',
    );
    await expectCode(
      fakeRequest(gzipSync(' '.repeat(5000)), { 'content-type': 'application/json', 'content-encoding': 'gzip' }),
      'SY_TELEMETRY_OTLP_TOO_LARGE',
    );
    await expectCode(fakeRequest('x', { 'content-type': 'text/plain' }), 'SY_TELEMETRY_OTLP_UNSUPPORTED_MEDIA_TYPE');
    assert.equal(store.size, 0);
  });
});
