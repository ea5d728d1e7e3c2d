/**
 * The orchestrator example of the package README, run as a test: keep the two in step.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createMemorySagaStore, createSagaEngine, defineSaga } from '@switchyard/saga';

// A payment service that honours idempotency keys: a repeated call has one effect.
const charges = new Map<string, number>();
const payments = {
  async charge(key: string, amount: number) {
    if (!charges.has(key)) charges.set(key, amount);
    return { chargeId: key };
  },
  async refund(key: string) {
    charges.delete(key.replace(/:compensate$/, ':execute')); // nothing to undo is fine
  },
};

type OrderInput = { orderId: string; amount: number; sku: string };

const placeOrder = defineSaga<OrderInput>('place-order')
  .step('createOrder', {
    execute: async (ctx) => ({ id: `order-${ctx.input.orderId}` }),
    compensate: async (ctx) => {
      console.log(`cancel ${ctx.output?.id ?? ctx.input.orderId}`);
    },
  })
  .parallel({
    charge: {
      execute: (ctx) => payments.charge(ctx.idempotencyKey, ctx.input.amount),
      compensate: (ctx) => payments.refund(ctx.idempotencyKey),
      retry: { maxAttempts: 3, backoff: { initial: '200ms' } },
      timeout: '2s',
    },
    reserve: {
      execute: async (ctx) => {
        if (ctx.input.sku === 'sold-out') throw new Error(`${ctx.input.sku}: no stock`);
        return { reservation: `r-${ctx.input.sku}` };
      },
      compensate: async () => {},
    },
  })
  .step('confirm', {
    execute: async (ctx) => ({ confirmed: ctx.results.createOrder.id, charge: ctx.results.charge.chargeId }),
  })
  .build();

it('README: runs an order saga, and compensates one that cannot reserve stock', async () => {
  const engine = createSagaEngine({ store: createMemorySagaStore(), sagas: [placeOrder] });
  engine.onTransition((t) => {
    if (t.kind === 'saga.compensating') console.log(`saga ${t.sagaId} turning back: ${t.error?.message}`);
  });
  await engine.start();

  const ok = await engine.run(placeOrder, { orderId: '1', amount: 42, sku: 'book' });
  assert.equal(ok.status, 'completed');
  if (ok.status === 'completed') assert.equal(ok.outputs.confirm.confirmed, 'order-1');

  const failed = await engine.run(placeOrder, { orderId: '2', amount: 7, sku: 'sold-out' });
  assert.equal(failed.status, 'compensated');
  assert.equal(failed.error?.message, 'sold-out: no stock');
  assert.deepEqual([...charges.values()], [42], 'the second charge was refunded');

  const page = await engine.list({ name: 'place-order' });
  assert.equal(page.sagas.length, 2);
  const history = await engine.history(failed.id);
  assert.equal(history.at(-1)?.kind, 'saga.compensated');
  await engine.stop();
});
