/**
 * The README's telemetry example, run as a test: a saga begun inside a request span, whose
 * step publishes an event, yields one trace (saga, step, producer and consumer spans) and the
 * saga and bus metrics, with no telemetry code in the saga or the handler.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMemoryEventBus, createMemorySagaStore, createSagaEngine, defineSaga } from '@switchyard/saga';
import { createMetrics, setGlobalMetrics, setupTelemetry, traced } from '@switchyard/telemetry';

test('README telemetry example', async () => {
  // --- README example starts ---
  const telemetry = setupTelemetry({ serviceName: 'orders', exporters: { otlp: false } });
  const metrics = createMetrics({ defaultMetrics: false });
  using _published = setGlobalMetrics(metrics); // before building the engine and the bus

  const bus = createMemoryEventBus();
  let shipped!: () => void;
  const delivered = new Promise<void>((resolve) => {
    shipped = resolve;
  });
  await bus.subscribe('order.approved', async () => shipped(), { group: 'shipping' });

  const order = defineSaga<{ orderId: string }>('order')
    .step('reserve', { execute: () => ({ reservationId: 'r-1' }), compensate: () => {} })
    .step('approve', { execute: (ctx) => bus.publish('order.approved', { orderId: ctx.input.orderId }) })
    .build();
  const engine = createSagaEngine({ store: createMemorySagaStore(), sagas: [order] });
  await engine.start();

  await traced('POST /orders', () => engine.run(order, { orderId: 'o-1' }));
  await delivered;

  const [latest] = telemetry.spanStore?.recentTraces({ limit: 1 }) ?? [];
  const names = (telemetry.spanStore?.trace(latest?.traceId ?? '') ?? []).map((s) => s.name);
  // [ 'POST /orders', 'saga order', 'saga order step reserve', 'saga order step approve',
  //   'send order.approved', 'process order.approved' ]
  const exposition = await metrics.text();
  // switchyard_saga_completed_total{saga="order"} 1
  // switchyard_bus_consumed_total{topic="order.approved",group="shipping",outcome="ack"} 1

  await engine.stop();
  await bus.close();
  await telemetry.shutdown();
  // --- README example ends ---

  // The store orders spans by start time; the consumer may start within the same microsecond
  // as its producer, so the set is compared, and the order only where it is causal.
  assert.deepEqual([...names].sort(), [
    'POST /orders',
    'process order.approved',
    'saga order',
    'saga order step approve',
    'saga order step reserve',
    'send order.approved',
  ]);
  assert.deepEqual(names.slice(0, 4), [
    'POST /orders',
    'saga order',
    'saga order step reserve',
    'saga order step approve',
  ]);
  assert.match(exposition, /^switchyard_saga_completed_total\{saga="order"\} 1$/m);
  assert.match(
    exposition,
    /^switchyard_bus_consumed_total\{topic="order.approved",group="shipping",outcome="ack"\} 1$/m,
  );
});
