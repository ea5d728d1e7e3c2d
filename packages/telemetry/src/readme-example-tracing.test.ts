/**
 * The README's tracing example, run as a test: a service sets up telemetry, handles a request
 * under a server span continued from the caller's headers, calls its own code with traced(),
 * logs inside the span, and the admin view reads the trace back from the span store.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createLogger,
  extractContext,
  getTracer,
  HttpAttributes,
  injectContext,
  recordError,
  SpanKind,
  setupTelemetry,
  traced,
  withSpan,
} from '@switchyard/telemetry';

test('README tracing example', async () => {
  const lines: string[] = [];
  // --- README example starts ---
  const telemetry = setupTelemetry({ serviceName: 'orders', serviceVersion: '1.0.0' });
  const tracer = getTracer('orders-service');
  const log = createLogger({ component: 'orders', destination: { write: (line) => lines.push(line) } });

  async function handle(headers: Record<string, string>): Promise<number> {
    const span = tracer.startSpan(
      'GET /orders/:id',
      {
        kind: SpanKind.SERVER,
        attributes: { [HttpAttributes.REQUEST_METHOD]: 'GET', [HttpAttributes.ROUTE]: '/orders/:id' },
      },
      extractContext(headers),
    );
    try {
      return await withSpan(span, async () => {
        const total = await traced('price-order', async () => 42);
        log.info({ total }, 'priced');
        span.setAttribute(HttpAttributes.RESPONSE_STATUS_CODE, 200);
        return total;
      });
    } catch (err) {
      recordError(span, err);
      throw err;
    } finally {
      span.end();
    }
  }

  // A caller in another service would inject its context; here we fake one hop.
  const caller = tracer.startSpan('caller', { kind: SpanKind.CLIENT });
  const headers = withSpan(caller, () => injectContext<Record<string, string>>({}));
  await handle(headers);
  caller.end();

  const [latest] = telemetry.spanStore?.recentTraces({ service: 'orders' }) ?? [];
  const spans = telemetry.spanStore?.trace(latest?.traceId ?? '') ?? [];
  await telemetry.shutdown();
  // --- README example ends ---

  assert.equal(latest?.name, 'caller');
  assert.equal(latest?.spanCount, 3);
  assert.deepEqual(
    spans.map((s) => s.name),
    ['caller', 'GET /orders/:id', 'price-order'],
  );
  const record = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
  assert.equal(record.trace_id, latest?.traceId);
  assert.equal(record.msg, 'priced');
});
