/**
 * One variant of `npm run bench -- tracing-cost`: runs the telemetry calls the gateway makes for
 * one proxied request (a SERVER span continued from the request headers, a CLIENT span for the
 * attempt with the trace context injected into the upstream headers, both with the attributes
 * the gateway sets, both ended) in a loop, yielding to the event loop every 100 requests so
 * the batch processor exports, and prints `RESULT <ns of CPU per request>`.
 *
 * `VARIANT`: `off` (no setup), or parts joined by commas: `unsampled` (sampling ratio 0),
 * `sampled` (no exporter), `memory` (the in-memory span store), `otlp` (the built-in OTLP/HTTP
 * exporter to `OTLP_ENDPOINT`), `otel` (with `otlp`: OpenTelemetry's exporter instead).
 */
import { SpanKind } from '@opentelemetry/api';
import { extractContext, getTracer, injectContext, setupTelemetry, withSpan } from '@switchyard/telemetry';

const variant = process.env.VARIANT ?? 'off';
const requests = Number(process.env.REQUESTS ?? 300_000);
const parts = new Set(variant.split(','));
const telemetry =
  variant === 'off'
    ? undefined
    : setupTelemetry({
        serviceName: 'bench-tracing-cost',
        samplingRatio: parts.has('unsampled') ? 0 : 1,
        exporters: {
          otlp: parts.has('otlp') && {
            endpoint: process.env.OTLP_ENDPOINT ?? '',
            ...(parts.has('otel') ? { implementation: 'opentelemetry' as const } : {}),
          },
          memory: parts.has('memory') && { capacity: 10_000 },
        },
      });

const tracer = getTracer('bench');
const incoming = { host: 'localhost:8080', 'user-agent': 'wrk', accept: '*/*' };

function request(): void {
  const server = tracer.startSpan('GET', { kind: SpanKind.SERVER }, extractContext(incoming));
  if (server.isRecording()) {
    server.setAttributes({
      'http.request.method': 'GET',
      'url.path': '/small',
      'url.scheme': 'http',
      'server.address': 'localhost',
      'server.port': 8080,
      'client.address': '127.0.0.1',
      'user_agent.original': 'wrk',
    });
    server.updateName('GET root');
    server.setAttribute('http.route', '/');
    server.setAttribute('switchyard.route', 'root');
  }
  withSpan(server, () => {
    const client = tracer.startSpan('GET', { kind: SpanKind.CLIENT });
    if (client.isRecording()) {
      client.setAttribute('http.request.method', 'GET');
      client.setAttribute('server.address', '127.0.0.1');
      client.setAttribute('server.port', 9000);
      client.setAttribute('url.full', 'http://127.0.0.1:9000/small');
      client.setAttribute('switchyard.upstream.service', 'upstream');
      client.setAttribute('switchyard.upstream.instance', 'upstream-1');
    }
    const upstreamHeaders: Record<string, string> = {};
    withSpan(client, () => injectContext(upstreamHeaders));
    if (client.isRecording()) client.setAttribute('http.response.status_code', 200);
    client.end();
  });
  if (server.isRecording()) server.setAttribute('http.response.status_code', 200);
  server.end();
}

async function run(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    request();
    if (i % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
}

await run(20_000); // warm-up: the JIT, the exporter's connection
await telemetry?.forceFlush();
const before = process.cpuUsage();
await run(requests);
await telemetry?.forceFlush();
const used = process.cpuUsage(before);
console.log(`RESULT ${(((used.user + used.system) * 1000) / requests).toFixed(0)}`);
await telemetry?.shutdown();
process.exit(0);
