import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSwitchyardError, ManualClock } from '@switchyard/core';
import { createRetry } from './retry.ts';
import { createTimeout } from './timeout.ts';
import type { Operation, Policy, PolicyContext } from './types.ts';
import { wrap } from './wrap.ts';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
const never = () => new Promise<never>(() => {});

/** A policy that logs when it is entered and left, and passes the context on. */
function tracer(name: string, log: string[]): Policy {
  return {
    async execute<T>(operation: Operation<T>, context?: AbortSignal | PolicyContext): Promise<T> {
      log.push(`${name}>`);
      try {
        return await operation(context as PolicyContext);
      } finally {
        log.push(`<${name}`);
      }
    },
  };
}

describe('wrap', () => {
  it('runs the first policy outermost: wrap(a, b, c).execute(fn) = a(b(c(fn)))', async () => {
    const log: string[] = [];
    const policy = wrap(tracer('a', log), tracer('b', log), tracer('c', log));
    const value = await policy.execute(async () => {
      log.push('fn');
      return 42;
    });
    assert.equal(value, 42);
    assert.deepEqual(log, ['a>', 'b>', 'c>', 'fn', '<c', '<b', '<a']);
    assert.equal(policy.policies.length, 3);
  });

  it('wrap(retry, timeout) times each attempt; wrap(timeout, retry) gives all attempts one deadline', async () => {
    // Attempts 1 and 2 hang; attempt 3 answers at once.
    const run = (policy: Policy) => {
      const contexts: PolicyContext[] = [];
      const result = policy.execute((ctx) => {
        contexts.push(ctx);
        return contexts.length < 3 ? never() : Promise.resolve('ok');
      });
      return { result, contexts };
    };

    const clockA = new ManualClock();
    const perAttempt = run(
      wrap(
        createRetry({ maxAttempts: 3, backoff: { initial: 0 } }, { clock: clockA }),
        createTimeout({ timeout: 100 }, { clock: clockA }),
      ),
    );
    for (let i = 0; i < 2; i++) {
      await flush();
      clockA.advance(100);
    }
    assert.equal(await perAttempt.result, 'ok');
    assert.deepEqual(
      perAttempt.contexts.map((c) => [c.attempt, c.deadline]),
      [
        [1, 100],
        [2, 200],
        [3, 300],
      ],
    );

    const clockB = new ManualClock();
    const overall = run(
      wrap(
        createTimeout({ timeout: 100 }, { clock: clockB }),
        createRetry({ maxAttempts: 3, backoff: { initial: 0 } }, { clock: clockB }),
      ),
    );
    await flush();
    clockB.advance(100);
    await assert.rejects(overall.result, (err) => isSwitchyardError(err, 'SY_RESILIENCE_TIMEOUT'));
    assert.equal(overall.contexts.length, 1, 'the one deadline was spent on the first attempt');
  });

  it('wrap(timeout, retry): attempts share the deadline and the retry stops before it', async () => {
    const clock = new ManualClock();
    const policy = wrap(
      createTimeout({ timeout: 250 }, { clock }),
      createRetry({ maxAttempts: 5, backoff: { initial: 100, jitter: 'none' } }, { clock }),
    );
    const contexts: PolicyContext[] = [];
    const result = policy.execute(async (ctx) => {
      contexts.push(ctx);
      throw new Error(`failure ${ctx.attempt}`);
    });
    await flush();
    clock.advance(100);
    // Attempt 2 failed at t=100; the next wait (200ms) would end after the deadline (250).
    await assert.rejects(result, /failure 2/);
    assert.deepEqual(
      contexts.map((c) => [c.attempt, c.deadline]),
      [
        [1, 250],
        [2, 250],
      ],
    );
  });

  it('passes the caller signal through to the operation', async () => {
    const controller = new AbortController();
    const policy = wrap(createRetry({ maxAttempts: 1 }), createRetry({ maxAttempts: 1 }));
    const signal = await policy.execute(async (ctx) => ctx.signal, controller.signal);
    assert.equal(signal, controller.signal);
  });

  it('with no policy runs the operation as it is', async () => {
    const policy = wrap();
    assert.equal(await policy.execute((ctx) => ctx.attempt), 1);
    await assert.rejects(
      policy.execute(() => {
        throw new Error('sync');
      }),
      /sync/,
    );
  });

  it('rejects an argument that is not a policy, naming its position', () => {
    assert.throws(
      () => wrap(createRetry(), {} as Policy),
      (err) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && err.message.includes('wrap[1]: expected a policy'),
    );
  });
});
