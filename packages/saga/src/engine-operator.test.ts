import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSwitchyardError, ManualClock } from '@switchyard/core';
import { defineSaga } from './definition.ts';
import { createSagaEngine } from './engine.ts';
import { parkingSaga, until } from './internal/engine-test-kit.ts';
import { createMemorySagaStore } from './memory-store.ts';
import type { SagaTransition } from './store.ts';

/** pay (compensation fails while `refundDown`), then ship, which always fails. */
function parkingSetup() {
  const { state, saga } = parkingSaga();
  const clock = new ManualClock(0);
  const store = createMemorySagaStore();
  const engine = createSagaEngine({
    store,
    sagas: [saga],
    clock,
    owner: 'op',
    compensation: { maxAttempts: 2, backoff: { initial: 10, jitter: 'none' } },
  });
  const events: SagaTransition[] = [];
  engine.onTransition((t) => events.push(t));
  /** Runs a saga until it parks (advancing the compensation backoff). */
  const parkOne = async (id: string) => {
    const done = engine.run(saga, { order: id }, { id });
    await until(() => state.refunds >= 1 && clock.pending > 0, 'first refund failed');
    clock.advance(10);
    return done;
  };
  return { state, saga, clock, store, engine, events, parkOne };
}

describe('saga engine: parking and operators', () => {
  it('parks a saga whose compensation fails past the limit, keeping the errors', async () => {
    const { engine, parkOne, events } = parkingSetup();
    await engine.start();
    const outcome = await parkOne('p-1');
    assert.equal(outcome.status, 'parked');
    assert.equal(outcome.error?.code, 'SY_SAGA_COMPENSATION_FAILED');
    assert.match(outcome.error?.message ?? '', /compensation of "pay" failed 2 times \(last: refund service down\)/);
    assert.deepEqual(outcome.error?.details?.lastError, {
      code: 'SY_SAGA_STEP_FAILED',
      message: 'refund service down',
      details: { step: 'pay' },
    });
    assert.equal((outcome.error?.details?.sagaError as { message: string } | undefined)?.message, 'no truck');
    const record = await engine.get('p-1');
    assert.equal(record?.status, 'parked');
    assert.equal(record?.parkedDirection, 'backward');
    assert.equal(record?.owner, undefined);
    assert.deepEqual(
      events.filter((t) => t.kind === 'compensation.failed').map((t) => t.attempt),
      [1, 2],
    );
    assert.equal(events.at(-1)?.kind, 'saga.parked');
    assert.deepEqual(
      (await engine.list({ status: 'parked' })).sagas.map((s) => s.id),
      ['p-1'],
    );
    await engine.stop();
  });

  it('retry resumes compensating with fresh attempt counts and completes it', async () => {
    const { engine, parkOne, state, events } = parkingSetup();
    await engine.start();
    await parkOne('p-2');
    state.refundDown = false;
    await engine.retry('p-2', { reason: 'alice: refund service is back' });
    const outcome = await engine.wait('p-2');
    assert.equal(outcome.status, 'compensated');
    assert.equal(outcome.error?.message, 'no truck', 'the error that turned it backward is restored');
    const history = await engine.history('p-2');
    const retried = history.find((t) => t.kind === 'saga.retried');
    assert.equal(retried?.reason, 'alice: refund service is back');
    const after = history.slice(history.indexOf(retried as SagaTransition));
    assert.deepEqual(
      after.map((t) => [t.kind, t.step, t.attempt]),
      [
        ['saga.retried', undefined, undefined],
        ['compensation.started', 'pay', 1],
        ['compensation.done', 'pay', 1],
        ['saga.compensated', undefined, undefined],
      ],
    );
    assert.deepEqual(
      events.slice(-4).map((t) => t.kind),
      after.map((t) => t.kind),
    );
    await engine.stop();
  });

  it('abort marks a parked saga aborted with the reason and does no more work', async () => {
    const { engine, parkOne, state } = parkingSetup();
    await engine.start();
    await parkOne('p-3');
    const refunds = state.refunds;
    await engine.abort('p-3', { reason: 'bob: refunded by hand' });
    const outcome = await engine.wait('p-3');
    assert.equal(outcome.status, 'aborted');
    assert.equal(outcome.error?.code, 'SY_SAGA_COMPENSATION_FAILED');
    const last = (await engine.history('p-3')).at(-1);
    assert.equal(last?.kind, 'saga.aborted');
    assert.equal(last?.reason, 'bob: refunded by hand');
    assert.equal(state.refunds, refunds);
    await assert.rejects(engine.retry('p-3'), (e) => isSwitchyardError(e, 'SY_SAGA_NOT_PARKED'));
    await engine.stop();
  });

  it('rejects retry and abort of a saga that is not parked, or unknown', async () => {
    const { engine, saga } = parkingSetup();
    const ok = defineSaga('ok')
      .step('x', { execute: () => 1 })
      .build();
    const store = createMemorySagaStore();
    const e2 = createSagaEngine({ store, sagas: [saga, ok], clock: new ManualClock() });
    await e2.start();
    const done = await e2.run(ok, null);
    await assert.rejects(e2.retry(done.id), (e: Error) => {
      assert.ok(isSwitchyardError(e, 'SY_SAGA_NOT_PARKED'));
      assert.match(e.message, /is completed; only a parked saga can be retried or aborted/);
      return true;
    });
    await assert.rejects(e2.abort(done.id), (e) => isSwitchyardError(e, 'SY_SAGA_NOT_PARKED'));
    await assert.rejects(e2.retry('missing'), (e) => isSwitchyardError(e, 'SY_SAGA_NOT_FOUND'));
    await assert.rejects(e2.abort('missing'), (e) => isSwitchyardError(e, 'SY_SAGA_NOT_FOUND'));
    await assert.rejects(engine.retry('x'), (e) => isSwitchyardError(e, 'SY_SAGA_ENGINE_STOPPED'));
    await e2.stop();
  });
});
