/**
 * Type tests, checked by `tsc -b` and never run: each line fails to compile when an inferred
 * type drifts. `Equal` is exact; `@ts-expect-error` marks misuse that must stay an error.
 */
import { defineSaga, type SagaInput, type SagaResults } from './definition.ts';
import { createSagaEngine } from './engine.ts';
import { createMemorySagaStore } from './memory-store.ts';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(): T | undefined {
  return undefined;
}

export function definitionTypes(): void {
  const order = defineSaga<{ orderId: string; amount: number }>('order')
    .step('createOrder', {
      execute: async (ctx) => {
        expectType<Equal<typeof ctx.input, { orderId: string; amount: number }>>();
        expectType<Equal<keyof typeof ctx.results, never>>();
        return { id: ctx.input.orderId };
      },
      compensate: async (ctx) => {
        expectType<Equal<typeof ctx.output, { id: string } | undefined>>();
      },
    })
    .parallel({
      reserve: {
        execute: async (ctx) => {
          expectType<Equal<typeof ctx.results.createOrder, { id: string }>>();
          return { reservation: 'r1' };
        },
      },
      charge: { execute: (ctx) => ({ charged: ctx.input.amount }), retry: { maxAttempts: 3 }, timeout: '2s' },
    })
    .step('approve', {
      execute: async (ctx) => {
        expectType<Equal<typeof ctx.results.createOrder.id, string>>();
        expectType<Equal<typeof ctx.results.reserve.reservation, string>>();
        expectType<Equal<typeof ctx.results.charge.charged, number>>();
        // @ts-expect-error a later step's output is not in results yet
        void ctx.results.approve;
      },
    })
    .build();

  expectType<Equal<SagaInput<typeof order>, { orderId: string; amount: number }>>();
  type R = SagaResults<typeof order>;
  expectType<Equal<R['approve'], null>>();
  expectType<Equal<R['charge'], { charged: number }>>();

  defineSaga('dup')
    .step('a', { execute: () => 1 })
    // @ts-expect-error a step name is used once
    .step('a', { execute: () => 2 });

  defineSaga('not-json').step('when', {
    // @ts-expect-error a step output must be JSON
    execute: () => new Date(),
  });

  // A parallel member with a compensate that reads its context still types later results.
  defineSaga<{ amount: number }>('par-comp')
    .parallel({
      charge: {
        execute: async (ctx) => ({ chargeId: ctx.idempotencyKey }),
        compensate: async (ctx) => {
          void ctx.output;
        },
      },
    })
    .step('confirm', {
      execute: (ctx) => {
        expectType<Equal<typeof ctx.results.charge.chargeId, string>>();
      },
    });

  defineSaga('par-not-json').parallel({
    // @ts-expect-error a parallel member's output must be JSON too
    when: { execute: () => new Date() },
  });

  // @ts-expect-error the input must be JSON
  defineSaga<{ at: Date }>('bad-input');

  const engine = createSagaEngine({ store: createMemorySagaStore(), sagas: [order] });
  void engine.run(order, { orderId: 'o-1', amount: 1 }).then((outcome) => {
    if (outcome.status === 'completed') {
      expectType<Equal<typeof outcome.outputs.createOrder, { id: string }>>();
    } else {
      expectType<Equal<typeof outcome.outputs.createOrder, { id: string } | undefined>>();
    }
  });
  // @ts-expect-error the input must match the definition's
  void engine.begin(order, { orderId: 1 });
}
