/**
 * `npm run bench -- telemetry-encode`: microseconds per span to encode a batch of finished
 * spans as an OTLP `ExportTraceServiceRequest` (protobuf), with `@switchyard/telemetry`'s
 * `encodeOtlpTraceRequest()` against OpenTelemetry JS's `ProtobufTraceSerializer` (the
 * serializer of `@opentelemetry/exporter-trace-otlp-proto`). The spans are what the gateway
 * records per request: a server span (method, route, status, peer...) and a client span
 * (server address and port, attempt, status), from a real `TracerProvider`.
 *
 * Options: `--batch N` spans per request (default 512, the exporter's default batch),
 * `--seconds S` per measurement (default 2), `--rounds N` alternating rounds (default 3; the
 * score is the median). Target: ours at least 2x faster.
 */
import { parseArgs } from 'node:util';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { encodeOtlpTraceRequest } from '@switchyard/telemetry';
import { reportTargets } from '../target.ts';

const { values } = parseArgs({
  options: {
    batch: { type: 'string', default: '512' },
    seconds: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
  },
});
const batch = Number(values.batch);
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);

function gatewaySpans(count: number): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      'service.name': 'bench-gateway',
      'service.instance.id': '8f7c1d52-3a0e-4d0b-9d59-0a4a3c7e2b11',
      'telemetry.sdk.language': 'nodejs',
      'telemetry.sdk.name': 'opentelemetry',
      'telemetry.sdk.version': '3.1.1',
    }),
    spanProcessors: [new SimpleSpanProcessor({ exporter: memory })],
  });
  const tracer = provider.getTracer('@switchyard/gateway', '0.1.0');
  const clientTracer = provider.getTracer('@switchyard/client', '0.1.0');
  for (let i = 0; i < count / 2; i++) {
    const server = tracer.startSpan('GET /', {
      kind: SpanKind.SERVER,
      attributes: {
        'http.request.method': 'GET',
        'http.route': '/',
        'switchyard.route': 'route-0',
        'url.path': '/small',
        'url.scheme': 'http',
        'server.address': '127.0.0.1',
        'network.peer.address': '127.0.0.1',
      },
    });
    const client = clientTracer.startSpan(
      'GET',
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'http.request.method': 'GET',
          'server.address': '127.0.0.1',
          'server.port': 38_211,
          'switchyard.upstream.service': 'upstream',
          'switchyard.upstream.instance': 'upstream-1',
          'switchyard.attempt': 1,
        },
      },
      trace.setSpan(context.active(), server),
    );
    client.setAttribute('http.response.status_code', 200);
    client.end();
    server.setAttribute('http.response.status_code', 200);
    server.end();
  }
  return memory.getFinishedSpans();
}

/** Mean microseconds per span over `seconds` of back-to-back encodes. */
function measure(encode: (spans: ReadableSpan[]) => Uint8Array | undefined, spans: ReadableSpan[]): number {
  let n = 0;
  let bytes = 0;
  const started = performance.now();
  const until = started + seconds * 1000;
  let now = started;
  while (now < until) {
    bytes += encode(spans)?.length ?? 0;
    n++;
    now = performance.now();
  }
  if (bytes === 0) throw new Error('the encoder produced nothing');
  return ((now - started) * 1000) / (n * spans.length);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const spans = gatewaySpans(batch);
const ours = (s: ReadableSpan[]) => encodeOtlpTraceRequest(s);
const theirs = (s: ReadableSpan[]) => ProtobufTraceSerializer.serializeRequest(s);
const a = ours(spans);
const b = theirs(spans);
if (b === undefined || !Buffer.from(b).equals(a)) throw new Error('the two encodings differ');
console.log(
  `telemetry-encode: ${spans.length} spans per request (${(a.length / spans.length).toFixed(0)} B/span), ${seconds} s x ${rounds} rounds, node ${process.version}`,
);
// Warm both up before measuring.
measure(ours, spans);
measure(theirs, spans);
const oursUs: number[] = [];
const theirsUs: number[] = [];
for (let r = 0; r < rounds; r++) {
  oursUs.push(measure(ours, spans));
  theirsUs.push(measure(theirs, spans));
}
const o = median(oursUs);
const t = median(theirsUs);
console.log(`encodeOtlpTraceRequest (@switchyard/telemetry)         ${o.toFixed(3)} µs/span`);
console.log(`ProtobufTraceSerializer (@opentelemetry/otlp-transformer) ${t.toFixed(3)} µs/span`);
console.log('');
reportTargets([
  {
    what: 'OTLP protobuf encode speed-up vs ProtobufTraceSerializer',
    measured: t / o,
    goal: 2,
    kind: 'min',
    unit: 'x',
  },
]);
