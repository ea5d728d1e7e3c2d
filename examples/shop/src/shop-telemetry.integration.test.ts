import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { globalMetrics, traced } from '@switchyard/telemetry';
import { startOtlpReceiver } from '@switchyard/telemetry/testing';
import { callService, type ServiceClient } from './orders/service-call.ts';
import { startShopTelemetry } from './shop-telemetry.ts';

describe('startShopTelemetry', () => {
  it('exports spans over OTLP as the service, publishes metrics, and flushes and restores on close', async (t) => {
    const receiver = await startOtlpReceiver();
    t.after(() => receiver.close());
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url.replace(/\/v1\/traces$/, '') };
    const telemetry = startShopTelemetry('inventory', 'inventory-7', { otlp: true, scheduledDelayMs: 60_000 }, env);
    t.after(() => telemetry.close());
    assert.equal(globalMetrics().enabled, true);
    traced('reserve stock', () => 1);
    // The schedule is a minute away: only close's flush can deliver the span now.
    await telemetry.close();
    const [span] = await receiver.waitForSpans((s) => s.name === 'reserve stock', 5000);
    assert.equal(span?.service, 'inventory');
    assert.equal(span?.resource['service.instance.id'], 'inventory-7');
    assert.equal(globalMetrics().enabled, false, 'the global metrics are restored');
  });

  it('takes OTEL_SERVICE_NAME over the service name, and can be set up again after close', async (t) => {
    const receiver = await startOtlpReceiver();
    t.after(() => receiver.close());
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url.replace(/\/v1\/traces$/, ''), OTEL_SERVICE_NAME: 'stock' };
    const telemetry = startShopTelemetry('inventory', 'inventory-1', { otlp: true, scheduledDelayMs: undefined }, env);
    traced('count', () => 1);
    await telemetry.close();
    await telemetry.close();
    const [span] = await receiver.waitForSpans((s) => s.name === 'count', 5000);
    assert.equal(span?.service, 'stock');
  });

  it('lets a saga call carry the active span in place of the saga’s traceparent', async (t) => {
    const telemetry = startShopTelemetry('orders', 'orders-1', { otlp: false, scheduledDelayMs: undefined }, {});
    t.after(() => telemetry.close());
    const sent: Array<Record<string, string>> = [];
    const client: ServiceClient = {
      async request(_service, options) {
        sent.push({ ...(options.headers as Record<string, string>) });
        return { statusCode: 200, body: { text: async () => '{}' } } as unknown as Awaited<
          ReturnType<ServiceClient['request']>
        >;
      },
    };
    const saga = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', tracestate: 'x=1' };
    const call = {
      service: 'inventory',
      method: 'POST',
      path: '/reservations',
      body: {},
      idempotencyKey: 'k',
    } as const;
    const stepSpanId = await traced('saga shop.order step reserve', async (span) => {
      await callService(client, { ...call, signal: AbortSignal.timeout(1000), headers: saga });
      return span.spanContext().spanId;
    });
    await callService(client, { ...call, signal: AbortSignal.timeout(1000), headers: saga });
    assert.match(sent[0]?.traceparent ?? '', new RegExp(`^00-[0-9a-f]{32}-${stepSpanId}-01$`));
    assert.equal(sent[0]?.tracestate, undefined, "the saga's tracestate belongs to its traceparent");
    assert.deepEqual(sent[1], { 'content-type': 'application/json', ...saga }, 'outside a span: the saga’s headers');
  });
});
