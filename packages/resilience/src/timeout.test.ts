import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { isSwitchyardError, ManualClock } from '@switchyard/core';
import { attachDeadline, deadlineOf } from './context.ts';
import { createTimeout } from './timeout.ts';
import type { PolicyContext } from './types.ts';

const never = () => new Promise<never>(() => {});

describe('createTimeout', () => {
  it('passes the result through when the operation is in time, and leaves nothing behind', async () => {
    const clock = new ManualClock();
    const policy = createTimeout({ timeout: '1s' }, { clock });
    const work = Promise.withResolvers<string>();
    let inner: AbortSignal | undefined;
    const result = policy.execute(({ signal }) => {
      inner = signal;
      return work.promise;
    });
    clock.advance(999);
    work.resolve('ok');
    assert.equal(await result, 'ok');
    // The policy's one shared timer may still be armed; firing it aborts nothing and re-arms nothing.
    clock.advance(1000);
    assert.equal(inner?.aborted, false);
    assert.equal(clock.pending, 0, 'timer cleared');
  });

  it('rejects with SY_RESILIENCE_TIMEOUT and aborts the inner signal when time runs out', async () => {
    const clock = new ManualClock();
    const policy = createTimeout({ timeout: 250 }, { clock });
    let inner: AbortSignal | undefined;
    const result = policy.execute(({ signal }) => {
      inner = signal;
      return never();
    });
    clock.advance(249);
    assert.equal(inner?.aborted, false);
    clock.advance(1);
    await assert.rejects(
      result,
      (err) =>
        isSwitchyardError(err, 'SY_RESILIENCE_TIMEOUT') &&
        err.retryable &&
        err.details.timeoutMs === 250 &&
        err.details.inherited === undefined &&
        err.message === 'operation timed out after 250ms',
    );
    assert.equal(inner?.aborted, true);
    assert.ok(isSwitchyardError(inner?.reason, 'SY_RESILIENCE_TIMEOUT'), 'the signal carries the timeout as reason');
  });

  it('rejects on time even when the operation ignores its signal', async () => {
    const clock = new ManualClock();
    const policy = createTimeout({ timeout: 100 }, { clock });
    const late = Promise.withResolvers<string>();
    const result = policy.execute(() => late.promise);
    clock.advance(100);
    await assert.rejects(result, { code: 'SY_RESILIENCE_TIMEOUT' });
    late.resolve('too late'); // ignored, no unhandled rejection either
  });

  it('gives a signal read only after the timeout, already aborted', async () => {
    const clock = new ManualClock();
    const policy = createTimeout({ timeout: 100 }, { clock });
    let context: PolicyContext | undefined;
    const result = policy.execute((ctx) => {
      context = ctx;
      return never();
    });
    clock.advance(100);
    await assert.rejects(result, { code: 'SY_RESILIENCE_TIMEOUT' });
    assert.equal(context?.signal.aborted, true);
    assert.ok(isSwitchyardError(context?.signal.reason, 'SY_RESILIENCE_TIMEOUT'));
  });

  it('rejects with SY_CANCELLED when the caller aborts first, leaving no listener on its signal', async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const policy = createTimeout({ timeout: '5s' }, { clock });
    let inner: AbortSignal | undefined;
    const result = policy.execute(({ signal }) => {
      inner = signal;
      return never();
    }, controller.signal);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 1);
    const reason = new Error('client went away');
    controller.abort(reason);
    await assert.rejects(result, (err) => isSwitchyardError(err, 'SY_CANCELLED') && err.cause === reason);
    assert.equal(inner?.aborted, true);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
    clock.advance(5000);
    assert.equal(clock.pending, 0);
  });

  it('removes its listener from the caller signal on success and on timeout', async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const policy = createTimeout({ timeout: 100 }, { clock });
    await policy.execute(async () => 1, controller.signal);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
    const result = policy.execute(never, controller.signal);
    clock.advance(100);
    await assert.rejects(result, { code: 'SY_RESILIENCE_TIMEOUT' });
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });

  it('rejects at once for an already-aborted signal without running the operation', async () => {
    const controller = new AbortController();
    controller.abort();
    let ran = false;
    await assert.rejects(
      createTimeout({ timeout: '1s' }, { clock: new ManualClock() }).execute(async () => {
        ran = true;
      }, controller.signal),
      { code: 'SY_CANCELLED' },
    );
    assert.equal(ran, false);
  });

  it('propagates the operation failure, sync or async, and accepts a plain value', async () => {
    const policy = createTimeout({ timeout: '1s' }, { clock: new ManualClock() });
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
    assert.equal(await policy.execute(() => 7), 7);
  });

  it('hands the operation its deadline, in the context and on the signal, and the incoming attempt', async () => {
    const clock = new ManualClock(10_000);
    const policy = createTimeout({ timeout: '2s' }, { clock });
    const seen = await policy.execute(
      (ctx) => ({ deadline: ctx.deadline, onSignal: deadlineOf(ctx.signal), attempt: ctx.attempt }),
      { signal: new AbortController().signal, attempt: 3, deadline: undefined },
    );
    assert.deepEqual(seen, { deadline: 12_000, onSignal: 12_000, attempt: 3 });
  });

  describe('deadlines', () => {
    it('a nested timeout gets the shorter of its own timeout and what is left of the outer one', async () => {
      const clock = new ManualClock();
      const outer = createTimeout({ timeout: '1s' }, { clock });
      const longInner = createTimeout({ timeout: '5s' }, { clock });
      const shortInner = createTimeout({ timeout: '200ms' }, { clock });
      const deadlines: (number | undefined)[] = [];
      await outer.execute(async (ctx) => {
        clock.advance(300);
        await longInner.execute(async (inner) => deadlines.push(inner.deadline), ctx);
        await shortInner.execute(async (inner) => deadlines.push(inner.deadline), ctx);
      });
      assert.deepEqual(deadlines, [1000, 500]);
    });

    it('an inherited deadline that runs out rejects with SY_RESILIENCE_TIMEOUT, details.inherited', async () => {
      const clock = new ManualClock();
      const controller = new AbortController();
      attachDeadline(controller.signal, 300);
      const policy = createTimeout({ timeout: '5s' }, { clock });
      let inner: AbortSignal | undefined;
      const result = policy.execute(({ signal }) => {
        inner = signal;
        return never();
      }, controller.signal);
      clock.advance(299);
      assert.equal(inner?.aborted, false);
      clock.advance(1);
      await assert.rejects(
        result,
        (err) =>
          isSwitchyardError(err, 'SY_RESILIENCE_TIMEOUT') &&
          err.details.inherited === true &&
          err.details.timeoutMs === 300,
      );
      assert.equal(inner?.aborted, true);
      assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
      assert.equal(controller.signal.aborted, false, "the caller's own signal is not touched");
    });

    it('refuses at once, without running, when the incoming deadline is spent', async () => {
      const clock = new ManualClock(1000);
      const policy = createTimeout({ timeout: '1s' }, { clock });
      let ran = false;
      const run = async () => {
        ran = true;
      };
      await assert.rejects(
        policy.execute(run, { signal: new AbortController().signal, attempt: 1, deadline: 1000 }),
        (err) =>
          isSwitchyardError(err, 'SY_RESILIENCE_DEADLINE_EXCEEDED') && !err.retryable && err.details.overdueMs === 0,
      );
      const controller = new AbortController();
      attachDeadline(controller.signal, 400);
      await assert.rejects(policy.execute(run, controller.signal), (err) =>
        isSwitchyardError(err, 'SY_RESILIENCE_DEADLINE_EXCEEDED'),
      );
      assert.equal(ran, false);
      assert.equal(clock.pending, 0);
    });

    it('aborts the signal passed to the inner operation when the outer timeout fires', async () => {
      const clock = new ManualClock();
      const outer = createTimeout({ timeout: 100 }, { clock });
      const inner = createTimeout({ timeout: '5s' }, { clock });
      let innermost: AbortSignal | undefined;
      const result = outer.execute((ctx) =>
        inner.execute(({ signal }) => {
          innermost = signal;
          return never();
        }, ctx),
      );
      clock.advance(100);
      await assert.rejects(result, { code: 'SY_RESILIENCE_TIMEOUT' });
      assert.equal(innermost?.aborted, true);
    });
  });

  describe('shared timer', () => {
    it('expires many calls in deadline order, skipping the settled ones, with one timer', async () => {
      const clock = new ManualClock();
      const policy = createTimeout({ timeout: 100 }, { clock });
      const outcomes: string[] = [];
      const works = [0, 1, 2, 3].map(() => Promise.withResolvers<string>());
      const calls = works.map((work, i) => {
        const call = policy
          .execute(() => work.promise)
          .then(
            (v) => outcomes.push(`${i}:${v}`),
            (err: { code: string }) => outcomes.push(`${i}:${err.code}`),
          );
        clock.advance(10);
        return call;
      });
      assert.equal(clock.pending, 1, 'one timer for every call');
      works[1]?.resolve('done');
      works[2]?.resolve('done');
      clock.advance(60); // t = 100: call 0 is due
      await Promise.resolve();
      clock.advance(30); // t = 130: call 3 is due too
      await Promise.all(calls);
      assert.deepEqual(outcomes.sort(), ['0:SY_RESILIENCE_TIMEOUT', '1:done', '2:done', '3:SY_RESILIENCE_TIMEOUT']);
      clock.advance(1000);
      assert.equal(clock.pending, 0);
    });

    it('times an inherited deadline shorter than the queued ones on a timer of its own', async () => {
      const clock = new ManualClock();
      const policy = createTimeout({ timeout: 1000 }, { clock });
      const slow = policy.execute(never);
      const controller = new AbortController();
      attachDeadline(controller.signal, 50);
      const short = policy.execute(never, controller.signal);
      clock.advance(50);
      await assert.rejects(
        short,
        (err) => isSwitchyardError(err, 'SY_RESILIENCE_TIMEOUT') && err.details.inherited === true,
      );
      clock.advance(950);
      await assert.rejects(
        slow,
        (err) => isSwitchyardError(err, 'SY_RESILIENCE_TIMEOUT') && err.details.inherited === undefined,
      );
    });

    it('re-arms for a deadline earlier than an idle timer left by a longer one', async () => {
      const clock = new ManualClock();
      const policy = createTimeout({ timeout: 1000 }, { clock });
      await policy.execute(async () => 1); // leaves the idle timer for t = 1000
      const controller = new AbortController();
      attachDeadline(controller.signal, 20);
      const short = policy.execute(never, controller.signal);
      clock.advance(20);
      await assert.rejects(short, { code: 'SY_RESILIENCE_TIMEOUT' });
    });
  });

  it('rejects a malformed timeout naming the field', () => {
    assert.throws(
      () => createTimeout({ timeout: 'soon' }),
      (err: Error & { code?: string }) =>
        err.code === 'SY_CONFIG_INVALID' && err.message.includes('resilience.timeout.timeout'),
    );
  });
});
