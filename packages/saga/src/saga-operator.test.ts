import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSwitchyardError, ManualClock } from '@switchyard/core';
import { createSagaEngine } from './engine.ts';
import { parkingSaga, until } from './internal/engine-test-kit.ts';
import { createMemorySagaStore } from './memory-store.ts';
import { createSagaOperator } from './saga-operator.ts';

/** pay (its refund fails while `refundDown`), then ship, which always fails: the saga parks. */
function setup() {
  const { state, saga } = parkingSaga();
  const clock = new ManualClock(0);
  const store = createMemorySagaStore();
  const engine = createSagaEngine({
    store,
    sagas: [saga],
    clock,
    owner: 'engine-a',
    pollInterval: 100,
    compensation: { maxAttempts: 1, backoff: { initial: 10, jitter: 'none' } },
  });
  const operator = createSagaOperator(store, { actor: 'cli:alice', clock });
  return { state, saga, clock, store, engine, operator };
}

describe('saga operator (store-level retry and abort)', () => {
  it('retry leaves a parked saga unleased; the engine polling the store claims and finishes it', async () => {
    const { state, saga, clock, engine, operator } = setup();
    await engine.start();
    const outcome = await engine.run(saga, { order: 'o-1' }, { id: 'o-1' });
    assert.equal(outcome.status, 'parked');

    state.refundDown = false;
    const retried = await operator.retry('o-1', { reason: 'refunds are back' });
    assert.equal(retried.status, 'compensating');
    assert.equal(retried.owner, undefined);
    assert.equal(retried.error?.message, 'no truck', 'the error that turned it backward is restored');

    clock.advance(100); // the engine's takeover poll
    await until(async () => (await operator.show('o-1'))?.saga.status === 'compensated', 'compensated');
    const shown = await operator.show('o-1');
    const retriedT = shown?.history.find((t) => t.kind === 'saga.retried');
    assert.equal(retriedT?.owner, 'cli:alice');
    assert.equal(retriedT?.reason, 'refunds are back');
    assert.equal(shown?.history.at(-1)?.kind, 'saga.compensated');
    assert.deepEqual(
      shown?.history.map((t) => t.seq),
      shown?.history.map((_, i) => i + 1),
      'sequence numbers stay contiguous',
    );
    await engine.stop();
  });

  it('abort makes a parked saga final; later actions are refused with the status named', async () => {
    const { saga, engine, operator } = setup();
    await engine.start();
    await engine.run(saga, { order: 'o-2' }, { id: 'o-2' });
    const aborted = await operator.abort('o-2', { reason: 'refunded by hand' });
    assert.equal(aborted.status, 'aborted');
    assert.equal((await operator.list({ status: 'aborted' })).sagas[0]?.id, 'o-2');
    await assert.rejects(operator.retry('o-2'), (e: Error) => {
      assert.ok(isSwitchyardError(e, 'SY_SAGA_NOT_PARKED'));
      assert.match(e.message, /saga "o-2": is aborted/);
      return true;
    });
    await assert.rejects(operator.abort('nope'), (e) => isSwitchyardError(e, 'SY_SAGA_NOT_FOUND'));
    assert.equal(await operator.show('nope'), undefined);
    await engine.stop();
  });
});
