/**
 * The load: three-step sagas with trivial in-process async steps (each with a compensate),
 * `inFlight` running at a time, each lane doing `engine.run` (begin + wait) one after another.
 */
import { createSagaEngine, defineSaga, type SagaEngine, type SagaStore } from '@switchyard/saga';
import { countingStore, type StoreCounts, writesOf } from './counting-store.ts';

type OrderInput = { orderId: number; amount: number; sku: string };

/** The benchmark's saga: three steps, each a resolved promise, each with a no-op compensate. */
export const benchSaga = defineSaga<OrderInput>('bench-order')
  .step('createOrder', {
    execute: async (ctx) => ({ orderId: ctx.input.orderId }),
    compensate: async () => {},
  })
  .step('charge', {
    execute: async (ctx) => ({ chargeId: `c-${ctx.input.orderId}`, amount: ctx.input.amount }),
    compensate: async () => {},
  })
  .step('reserve', {
    execute: async (ctx) => ({ reservation: `r-${ctx.input.sku}` }),
    compensate: async () => {},
  })
  .build();

/** An engine over a counting wrapper of `store`, started. */
export async function startBenchEngine(
  store: SagaStore,
  inFlight: number,
): Promise<{ engine: SagaEngine; counts: StoreCounts }> {
  const counted = countingStore(store);
  const engine = createSagaEngine({
    store: counted.store,
    sagas: [benchSaga],
    concurrency: Math.max(100, inFlight),
  });
  engine.onError((error, context) => {
    // A store write the engine retried would be hidden in the numbers otherwise.
    console.error(`engine ${context.operation}${context.sagaId ? ` (${context.sagaId})` : ''}:`, error);
  });
  await engine.start();
  return { engine, counts: counted.counts };
}

/** One measurement: completed sagas per second and store writes per second. */
export interface LoadResult {
  readonly sagasPerSecond: number;
  readonly writesPerSecond: number;
  readonly writesPerSaga: number;
}

let nextOrder = 0;

/**
 * Runs `total` sagas with `inFlight` at a time and returns the rates. Rejects if a saga does
 * not complete, or if the whole run outlives `timeoutMs`.
 */
export async function runSagas(
  engine: SagaEngine,
  counts: StoreCounts,
  total: number,
  inFlight: number,
  timeoutMs: number,
): Promise<LoadResult> {
  let issued = 0;
  const lane = async () => {
    while (issued < total) {
      issued++;
      const orderId = nextOrder++;
      const outcome = await engine.run(benchSaga, { orderId, amount: 42, sku: `sku-${orderId % 100}` });
      if (outcome.status !== 'completed') {
        throw new Error(`saga ${outcome.id} ended ${outcome.status}: ${outcome.error?.message}`);
      }
    }
  };
  const writesBefore = writesOf(counts);
  const started = process.hrtime.bigint();
  // No AbortSignal per saga (it would add its own cost to every begin and wait): the whole run
  // races one deadline instead, and a run past it ends the benchmark.
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${total} sagas did not complete within ${timeoutMs} ms (${issued} begun)`)),
      timeoutMs,
    );
  });
  try {
    await Promise.race([Promise.all(Array.from({ length: Math.min(inFlight, total) }, lane)), deadline]);
  } finally {
    clearTimeout(timer);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const writes = writesOf(counts) - writesBefore;
  return { sagasPerSecond: total / seconds, writesPerSecond: writes / seconds, writesPerSaga: writes / total };
}
