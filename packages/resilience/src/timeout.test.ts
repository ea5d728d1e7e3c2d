import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSwitchyardError, ManualClock } from '@switchyard/core';
import { createTimeout } from './timeout.ts';

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('createTimeout', () => {
  it('passes the result through when the operation is in time', async () => {
    const clock = new ManualClock();
    const policy = createTimeout({ timeout: '1s' }, clock);
    const work = deferred<string>();
    const result = policy.execute(() => work.promise);
    clock.advance(999);
    work.resolve('ok');
    assert.equal(await result, 'ok');
    assert.equal(clock.pending, 0, 'timer cleared');
  });

  it('rejects with SY_RESILIENCE_TIMEOUT and aborts the inner signal when time runs out', async () => {
    const clock = new ManualClock();
    const policy = createTimeout({ timeout: 250 }, clock);
    let inner: AbortSignal | undefined;
    const result = policy.execute((signal) => {
      inner = signal;
      return new Promise<never>(() => {});
    });
    clock.advance(250);
    await assert.rejects(result, (err) => isSwitchyardError(err, 'SY_RESILIENCE_TIMEOUT') && err.retryable);
    assert.equal(inner?.aborted, true);
  });

  it('rejects with SY_CANCELLED when the caller aborts first', async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const policy = createTimeout({ timeout: '5s' }, clock);
    let inner: AbortSignal | undefined;
    const result = policy.execute((signal) => {
      inner = signal;
      return new Promise<never>(() => {});
    }, controller.signal);
    controller.abort(new Error('client went away'));
    await assert.rejects(result, (err) => isSwitchyardError(err, 'SY_CANCELLED'));
    assert.equal(inner?.aborted, true);
    assert.equal(clock.pending, 0);
  });

  it('rejects at once for an already-aborted signal without running the operation', async () => {
    const controller = new AbortController();
    controller.abort();
    let ran = false;
    await assert.rejects(
      createTimeout({ timeout: '1s' }, new ManualClock()).execute(async () => {
        ran = true;
      }, controller.signal),
      { code: 'SY_CANCELLED' },
    );
    assert.equal(ran, false);
  });

  it('propagates the operation failure, sync or async', async () => {
    const policy = createTimeout({ timeout: '1s' }, new ManualClock());
    await assert.rejects(
      policy.execute(async () => {
        throw new Error('boom');
      }),
      /boom/,
    );
    await assert.rejects(
      policy.execute(() => {
        throw new Error('sync boom');
      }),
      /sync boom/,
    );
  });

  it('rejects a malformed timeout naming the field', () => {
    assert.throws(
      () => createTimeout({ timeout: 'soon' }),
      (err: Error & { code?: string }) =>
        err.code === 'SY_CONFIG_INVALID' && err.message.includes('resilience.timeout.timeout'),
    );
  });
});
