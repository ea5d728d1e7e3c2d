import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Delivery } from '@switchyard/saga';
import { activeSpan, getTracer, setupTelemetry, withSpan } from '@switchyard/telemetry';
import { queueNames } from './internal/queue-names.ts';
import { deleteTopology, randomExchange, requireRabbitMq } from './internal/require-rabbitmq.ts';
import { createRabbitMqEventBus } from './rabbitmq-event-bus.ts';

test('RabbitMQ bus: the consumer span continues the publisher trace through the message headers', async (t) => {
  await requireRabbitMq();
  const telemetry = setupTelemetry({ serviceName: 'rabbitmq-test', exporters: { memory: {}, otlp: false } });
  t.after(() => telemetry.shutdown());
  const spans = telemetry.spanStore;
  assert.ok(spans);
  const exchange = randomExchange('telemetry');
  const bus = await createRabbitMqEventBus({ exchange });
  t.after(async () => {
    await bus.close();
    const names = queueNames(exchange, 'billing', 'order.placed');
    await deleteTopology(exchange, [names.work, names.retry]);
  });
  const got: { delivery: Delivery; spanId: string | undefined }[] = [];
  await bus.subscribe(
    'order.placed',
    async (delivery) => void got.push({ delivery, spanId: activeSpan()?.spanContext().spanId }),
    {
      group: 'billing',
    },
  );
  const parent = getTracer('rabbitmq-test').startSpan('POST /orders');
  await withSpan(parent, () => bus.publish('order.placed', { orderId: 'o-1' }));
  parent.end();
  const { traceId } = parent.spanContext();
  const deadline = Date.now() + 5000;
  while (!spans.trace(traceId).some((s) => s.name === 'process order.placed')) {
    if (Date.now() > deadline) assert.fail(`no consumer span; got: ${spans.trace(traceId).map((s) => s.name)}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const trace = spans.trace(traceId);
  const send = trace.find((s) => s.name === 'send order.placed');
  const process = trace.find((s) => s.name === 'process order.placed');
  assert.equal(send?.parentSpanId, parent.spanContext().spanId);
  assert.equal(send?.attributes['messaging.system'], 'rabbitmq');
  assert.equal(process?.parentSpanId, send?.spanId);
  assert.equal(process?.kind, 'consumer');
  assert.equal(got[0]?.spanId, process?.spanId);
  assert.equal(got[0]?.delivery.headers.traceparent?.split('-')[2], send?.spanId);
});
