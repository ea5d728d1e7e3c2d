import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { isSwitchyardError, ManualClock } from '@switchyard/core';
import { type BulkheadRejectedEvent, createBulkhead } from './bulkhead.ts';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('createBulkhead', () => {
  it('runs up to maxConcurrent calls at once and refuses the next with SY_RESILIENCE_BULKHEAD_FULL', async () => {
    const bulkhead = createBulkhead({ maxConcurrent: 2 });
    const rejected: BulkheadRejectedEvent[] = [];
    bulkhead.onRejected((e) => rejected.push(e));
    const works = [Promise.withResolvers<string>(), Promise.withResolvers<string>()];
    const calls = works.map((w) => bulkhead.execute(() => w.promise));
    assert.deepEqual(bulkhead.stats, { active: 2, queued: 0 });
    let ran = false;
    await assert.rejects(
      bulkhead.execute(async () => {
        ran = true;
      }),
      (err) =>
        isSwitchyardError(err, 'SY_RESILIENCE_BULKHEAD_FULL') &&
        err.retryable &&
        err.details.maxConcurrent === 2 &&
        err.details.maxQueue === 0,
    );
    assert.equal(ran, false);
    assert.deepEqual(rejected, [{ reason: 'full', active: 2, queued: 0 }]);
    works[0]?.resolve('a');
    works[1]?.reject(new Error('b failed'));
    assert.equal(await calls[0], 'a');
    await assert.rejects(calls[1] as Promise<string>, /b failed/);
    assert.deepEqual(bulkhead.stats, { active: 0, queued: 0 }, 'a failure frees its slot too');
  });

  it('queues up to maxQueue calls and runs them first in, first out', async () => {
    const bulkhead = createBulkhead({ maxConcurrent: 1, maxQueue: 3 });
    const order: number[] = [];
    const gate = Promise.withResolvers<void>();
    const first = bulkhead.execute(async () => {
      order.push(0);
      await gate.promise;
    });
    const queued = [1, 2, 3].map((n) => bulkhead.execute(async () => order.push(n)));
    assert.deepEqual(bulkhead.stats, { active: 1, queued: 3 });
    await assert.rejects(
      bulkhead.execute(async () => 0),
      (err) => isSwitchyardError(err, 'SY_RESILIENCE_BULKHEAD_FULL'),
    );
    gate.resolve();
    await first;
    await Promise.all(queued);
    assert.deepEqual(order, [0, 1, 2, 3]);
    assert.deepEqual(bulkhead.stats, { active: 0, queued: 0 });
  });

  it('releases the slot of a synchronous value or throw', async () => {
    const bulkhead = createBulkhead({ maxConcurrent: 1 });
    assert.equal(await bulkhead.execute(() => 5), 5);
    await assert.rejects(
      bulkhead.execute(() => {
        throw new Error('sync');
      }),
      /sync/,
    );
    assert.deepEqual(bulkhead.stats, { active: 0, queued: 0 });
  });

  it('a queued call whose signal aborts leaves the queue with SY_CANCELLED and frees its place', async () => {
    const bulkhead = createBulkhead({ maxConcurrent: 1, maxQueue: 1 });
    const gate = Promise.withResolvers<void>();
    const first = bulkhead.execute(() => gate.promise);
    const controller = new AbortController();
    let ran = false;
    const waiting = bulkhead.execute(async () => {
      ran = true;
    }, controller.signal);
    assert.deepEqual(bulkhead.stats, { active: 1, queued: 1 });
    controller.abort(new Error('bye'));
    await assert.rejects(waiting, (err) => isSwitchyardError(err, 'SY_CANCELLED'));
    assert.deepEqual(bulkhead.stats, { active: 1, queued: 0 });
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
    const next = bulkhead.execute(async () => 'next'); // the freed place
    gate.resolve();
    await first;
    assert.equal(await next, 'next');
    assert.equal(ran, false);
  });

  it('refuses an already-aborted signal without running', async () => {
    const bulkhead = createBulkhead({ maxConcurrent: 1 });
    await assert.rejects(
      bulkhead.execute(async () => 1, AbortSignal.abort()),
      (err) => isSwitchyardError(err, 'SY_CANCELLED'),
    );
    assert.deepEqual(bulkhead.stats, { active: 0, queued: 0 });
  });

  it('removes the listener of a queued call once it runs', async () => {
    const bulkhead = createBulkhead({ maxConcurrent: 1, maxQueue: 1 });
    const gate = Promise.withResolvers<void>();
    const first = bulkhead.execute(() => gate.promise);
    const controller = new AbortController();
    const second = bulkhead.execute(async () => 2, controller.signal);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 1);
    gate.resolve();
    await first;
    assert.equal(await second, 2);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });

  it('refuses a call that waited queueTimeout with SY_RESILIENCE_BULKHEAD_FULL, details.queued', async () => {
    const clock = new ManualClock();
    const bulkhead = createBulkhead({ maxConcurrent: 1, maxQueue: 2, queueTimeout: '500ms' }, { clock });
    const rejected: BulkheadRejectedEvent[] = [];
    bulkhead.onRejected((e) => rejected.push(e));
    const gate = Promise.withResolvers<void>();
    const first = bulkhead.execute(() => gate.promise);
    const waiting = bulkhead.execute(async () => 'never');
    clock.advance(499);
    await flush();
    assert.deepEqual(bulkhead.stats, { active: 1, queued: 1 });
    clock.advance(1);
    await assert.rejects(
      waiting,
      (err) =>
        isSwitchyardError(err, 'SY_RESILIENCE_BULKHEAD_FULL') &&
        err.details.queued === true &&
        err.details.queueTimeoutMs === 500,
    );
    assert.deepEqual(rejected, [{ reason: 'queue-timeout', active: 1, queued: 0 }]);
    // A call given a slot in time has its queue timer cleared.
    const inTime = bulkhead.execute(async () => 'in time');
    gate.resolve();
    await first;
    assert.equal(await inTime, 'in time');
    assert.equal(clock.pending, 0);
  });

  it('skips waiters that left and keeps FIFO order among the rest', async () => {
    const bulkhead = createBulkhead({ maxConcurrent: 1, maxQueue: 10 });
    const gate = Promise.withResolvers<void>();
    const first = bulkhead.execute(() => gate.promise);
    const order: number[] = [];
    const controllers = [0, 1, 2, 3, 4].map(() => new AbortController());
    const calls = controllers.map((c, i) => bulkhead.execute(async () => order.push(i), c.signal));
    controllers[1]?.abort();
    controllers[3]?.abort();
    gate.resolve();
    await first;
    const outcomes = await Promise.allSettled(calls);
    assert.deepEqual(order, [0, 2, 4]);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled'],
    );
  });

  it('rejects malformed options naming the field', () => {
    for (const [input, path] of [
      [{}, 'resilience.bulkhead.maxConcurrent: required'],
      [{ maxConcurrent: 0 }, 'resilience.bulkhead.maxConcurrent'],
      [{ maxConcurrent: 1, maxQueue: -1 }, 'resilience.bulkhead.maxQueue'],
      [{ maxConcurrent: 1, queueTimeout: 'later' }, 'resilience.bulkhead.queueTimeout'],
    ] as const) {
      assert.throws(
        () => createBulkhead(input as never),
        (err) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && err.message.includes(path),
        path,
      );
    }
  });
});
