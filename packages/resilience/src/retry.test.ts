import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { isSwitchyardError, ManualClock, SwitchyardError } from '@switchyard/core';
import fc from 'fast-check';
import { resilienceError } from './errors.ts';
import { createRetry, type GiveUpEvent, type RetryEvent } from './retry.ts';
import { createRetryBudget } from './retry-budget.ts';
import type { PolicyContext } from './types.ts';

/** Lets pending promise reactions run (several hops: attempt, then-handlers, sleep). */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** An operation that fails `failures` times with a fresh error, then returns `value`. */
function flaky<T>(failures: number, value: T, error = (n: number) => new Error(`failure ${n}`)) {
  const contexts: PolicyContext[] = [];
  const op = async (ctx: PolicyContext) => {
    contexts.push(ctx);
    if (contexts.length <= failures) throw error(contexts.length);
    return value;
  };
  return { op, contexts };
}

function recordEvents(policy: ReturnType<typeof createRetry>) {
  const retries: RetryEvent[] = [];
  const giveUps: GiveUpEvent[] = [];
  policy.onRetry((e) => retries.push(e));
  policy.onGiveUp((e) => giveUps.push(e));
  return { retries, giveUps };
}

describe('createRetry', () => {
  it('returns the first success without waiting or emitting', async () => {
    const policy = createRetry({}, { clock: new ManualClock() });
    const events = recordEvents(policy);
    assert.equal(await policy.execute(async () => 'ok'), 'ok');
    assert.equal(await policy.execute(() => 'sync'), 'sync');
    assert.deepEqual(events, { retries: [], giveUps: [] });
  });

  it('retries after each backoff delay, numbering attempts, until success', async () => {
    const clock = new ManualClock();
    const policy = createRetry({ maxAttempts: 4, backoff: { initial: 100, max: 1000, jitter: 'none' } }, { clock });
    const events = recordEvents(policy);
    const { op, contexts } = flaky(3, 'ok');
    const result = policy.execute(op);
    await flush();
    assert.equal(contexts.length, 1);
    for (const [delay, attempts] of [
      [100, 2],
      [200, 3],
      [400, 4],
    ] as const) {
      clock.advance(delay - 1);
      await flush();
      assert.equal(contexts.length, attempts - 1, `not before ${delay}ms`);
      clock.advance(1);
      await flush();
      assert.equal(contexts.length, attempts);
    }
    assert.equal(await result, 'ok');
    assert.deepEqual(
      contexts.map((c) => c.attempt),
      [1, 2, 3, 4],
    );
    assert.deepEqual(
      events.retries.map((e) => [e.attempt, e.delayMs, (e.error as Error).message]),
      [
        [2, 100, 'failure 1'],
        [3, 200, 'failure 2'],
        [4, 400, 'failure 3'],
      ],
    );
    assert.deepEqual(events.giveUps, []);
  });

  it('rethrows the last error unchanged when attempts run out', async () => {
    const clock = new ManualClock();
    const policy = createRetry({ maxAttempts: 2, backoff: { initial: 10, jitter: 'none' } }, { clock });
    const events = recordEvents(policy);
    const errors: Error[] = [];
    const result = policy.execute(async () => {
      const err = new Error(`failure ${errors.length + 1}`);
      errors.push(err);
      throw err;
    });
    await flush();
    clock.advance(10);
    await assert.rejects(result, (err) => err === errors[1]);
    assert.equal(errors.length, 2);
    assert.deepEqual(events.giveUps, [{ attempts: 2, reason: 'attempts', error: errors[1] }]);
  });

  it('handles a synchronous throw like a rejection', async () => {
    const clock = new ManualClock();
    const policy = createRetry({ maxAttempts: 2, backoff: { initial: 0 } }, { clock });
    let calls = 0;
    const value = await policy.execute(() => {
      calls++;
      if (calls === 1) throw new Error('sync');
      return 'second';
    });
    assert.equal(value, 'second');
  });

  it('passes the caller signal and deadline to every attempt', async () => {
    const clock = new ManualClock();
    const policy = createRetry({ maxAttempts: 2, backoff: { initial: 0 } }, { clock });
    const controller = new AbortController();
    const { op, contexts } = flaky(1, 'ok');
    await policy.execute(op, { signal: controller.signal, attempt: 1, deadline: 99_999 });
    assert.deepEqual(
      contexts.map((c) => [c.signal, c.attempt, c.deadline]),
      [
        [controller.signal, 1, 99_999],
        [controller.signal, 2, 99_999],
      ],
    );
  });

  describe('what is retried', () => {
    const refusals = [
      'SY_RESILIENCE_CIRCUIT_OPEN',
      'SY_RESILIENCE_CIRCUIT_ISOLATED',
      'SY_RESILIENCE_BULKHEAD_FULL',
      'SY_RESILIENCE_DEADLINE_EXCEEDED',
      'SY_RESILIENCE_RETRY_BUDGET_EXHAUSTED',
    ] as const;

    for (const code of refusals) {
      it(`does not retry ${code}`, async () => {
        const policy = createRetry({ backoff: { initial: 0 } }, { clock: new ManualClock() });
        const events = recordEvents(policy);
        const { op, contexts } = flaky(5, 'ok', () => resilienceError(code, 'refused', { retryable: true }));
        await assert.rejects(policy.execute(op), { code });
        assert.equal(contexts.length, 1);
        assert.equal(events.giveUps[0]?.reason, 'not-retryable');
      });
    }

    it('does not retry SY_CANCELLED nor a SwitchyardError marked not retryable', async () => {
      const policy = createRetry({ backoff: { initial: 0 } }, { clock: new ManualClock() });
      for (const error of [
        new SwitchyardError('SY_CANCELLED', 'gone'),
        new SwitchyardError('SY_DEMO_BAD_REQUEST', 'bad', { retryable: false }),
      ]) {
        const { op, contexts } = flaky(5, 'ok', () => error);
        await assert.rejects(policy.execute(op), (err) => err === error);
        assert.equal(contexts.length, 1);
      }
    });

    it('retries foreign errors and retryable SwitchyardErrors such as SY_RESILIENCE_TIMEOUT', async () => {
      const policy = createRetry({ backoff: { initial: 0 } }, { clock: new ManualClock() });
      const timeout = flaky(2, 'ok', () => resilienceError('SY_RESILIENCE_TIMEOUT', 'slow'));
      assert.equal(await policy.execute(timeout.op), 'ok');
      assert.equal(timeout.contexts.length, 3);
      const foreign = flaky(2, 'ok', () => new TypeError('fetch failed'));
      assert.equal(await policy.execute(foreign.op), 'ok');
    });

    it('uses retryOn.error with the attempt number', async () => {
      const seen: number[] = [];
      const policy = createRetry(
        {
          maxAttempts: 5,
          backoff: { initial: 0 },
          retryOn: {
            error: (_err, attempt) => {
              seen.push(attempt);
              return attempt < 2;
            },
          },
        },
        { clock: new ManualClock() },
      );
      const { op, contexts } = flaky(5, 'ok');
      await assert.rejects(policy.execute(op), /failure 2/);
      assert.equal(contexts.length, 2);
      assert.deepEqual(seen, [1, 2]);
    });

    it('retries results judged retryable and returns the last one when attempts run out', async () => {
      const clock = new ManualClock();
      const policy = createRetry(
        {
          maxAttempts: 3,
          backoff: { initial: 0 },
          retryOn: { result: (value) => (value as { status: number }).status === 503 },
        },
        { clock },
      );
      const events = recordEvents(policy);
      let n = 0;
      const statuses = [503, 503, 200];
      assert.deepEqual(await policy.execute(async () => ({ status: statuses[n++] })), { status: 200 });
      n = 0;
      const last = await policy.execute(async () => ({ status: 503, n: ++n }));
      assert.deepEqual(last, { status: 503, n: 3 });
      assert.deepEqual(events.giveUps, [{ attempts: 3, reason: 'attempts', result: { status: 503, n: 3 } }]);
      assert.equal(events.retries.length, 4);
      assert.deepEqual(events.retries[0]?.result, { status: 503 });
    });
  });

  describe('Retry-After', () => {
    it('waits what the server asked instead of the jittered backoff', async () => {
      const clock = new ManualClock();
      const policy = createRetry({ backoff: { initial: 100 } }, { clock, random: () => 0.5 });
      const events = recordEvents(policy);
      const { op, contexts } = flaky(1, 'ok', () =>
        resilienceError('SY_RESILIENCE_TIMEOUT', 'busy', { details: { retryAfterMs: 2500 } }),
      );
      const result = policy.execute(op);
      await flush();
      clock.advance(2499);
      await flush();
      assert.equal(contexts.length, 1);
      clock.advance(1);
      assert.equal(await result, 'ok');
      assert.equal(events.retries[0]?.delayMs, 2500);
    });

    it('waits the un-jittered backoff when it is longer than Retry-After', async () => {
      const clock = new ManualClock();
      const policy = createRetry({ backoff: { initial: 1000 } }, { clock, random: () => 0 });
      const events = recordEvents(policy);
      const error = Object.assign(new Error('busy'), { retryAfterMs: 10 });
      const { op } = flaky(1, 'ok', () => error);
      const result = policy.execute(op);
      await flush();
      clock.advance(1000);
      assert.equal(await result, 'ok');
      assert.equal(events.retries[0]?.delayMs, 1000);
    });

    it('gives up at once with the last error when the server asks for longer than maxRetryAfter', async () => {
      const clock = new ManualClock();
      const policy = createRetry({ maxRetryAfter: '5s' }, { clock });
      const events = recordEvents(policy);
      const error = resilienceError('SY_RESILIENCE_TIMEOUT', 'busy', { details: { retryAfterMs: 60_000 } });
      const { op, contexts } = flaky(1, 'ok', () => error);
      await assert.rejects(policy.execute(op), (err) => err === error);
      assert.equal(contexts.length, 1);
      assert.equal(clock.pending, 0, 'never slept');
      assert.deepEqual(events.giveUps, [{ attempts: 1, reason: 'retry-after-too-long', error }]);
    });

    it('reads a custom retryAfter, for results too', async () => {
      const clock = new ManualClock();
      const policy = createRetry(
        {
          retryOn: { result: (r) => (r as { status: number }).status === 429 },
          retryAfter: (outcome) => (outcome as { wait?: number }).wait,
        },
        { clock },
      );
      const events = recordEvents(policy);
      let n = 0;
      const result = policy.execute(async () => (n++ === 0 ? { status: 429, wait: 700 } : { status: 200 }));
      await flush();
      clock.advance(700);
      assert.deepEqual(await result, { status: 200 });
      assert.equal(events.retries[0]?.delayMs, 700);
    });
  });

  describe('cancellation and deadlines', () => {
    it('an abort in the middle of a backoff sleep rejects with SY_CANCELLED at once and clears the timer', async () => {
      const clock = new ManualClock();
      const policy = createRetry({ backoff: { initial: '10s', jitter: 'none' } }, { clock });
      const events = recordEvents(policy);
      const controller = new AbortController();
      const { op, contexts } = flaky(5, 'ok');
      const result = policy.execute(op, controller.signal);
      await flush();
      assert.equal(clock.pending, 1, 'sleeping');
      const reason = new Error('user left');
      controller.abort(reason);
      await assert.rejects(result, (err) => isSwitchyardError(err, 'SY_CANCELLED') && err.cause === reason);
      assert.equal(clock.pending, 0, 'timer cleared');
      assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
      assert.equal(contexts.length, 1);
      assert.deepEqual(events.giveUps, [], 'a cancellation is not a give-up');
    });

    it('does not retry once the caller has aborted, and refuses an already-aborted signal', async () => {
      const clock = new ManualClock();
      const policy = createRetry({ backoff: { initial: 0 } }, { clock });
      const controller = new AbortController();
      const result = policy.execute(async () => {
        controller.abort();
        throw new Error('AbortError');
      }, controller.signal);
      await assert.rejects(result, { code: 'SY_CANCELLED' });
      let ran = false;
      await assert.rejects(
        policy.execute(async () => {
          ran = true;
        }, controller.signal),
        { code: 'SY_CANCELLED' },
      );
      assert.equal(ran, false);
    });

    it('gives up at once, without sleeping, when the next attempt would start after the deadline', async () => {
      const clock = new ManualClock();
      const policy = createRetry({ maxAttempts: 5, backoff: { initial: 100, jitter: 'none' } }, { clock });
      const events = recordEvents(policy);
      const { op, contexts } = flaky(5, 'ok');
      const context = { signal: new AbortController().signal, attempt: 1, deadline: 250 };
      const result = policy.execute(op, context);
      await flush();
      clock.advance(100); // attempt 2 at t=100; the next wait (200ms) would end at 300 > 250
      await assert.rejects(result, /failure 2/);
      assert.equal(contexts.length, 2);
      assert.equal(clock.pending, 0);
      assert.equal(events.giveUps[0]?.reason, 'deadline');
    });
  });

  describe('budget', () => {
    it('gives up with SY_RESILIENCE_RETRY_BUDGET_EXHAUSTED, cause = the last failure, once the budget is spent', async () => {
      const clock = new ManualClock();
      const budget = createRetryBudget({ ratio: 0, minRetriesPerSecond: 0.2, ttl: '10s' }, { clock }); // 2 retries per 10s
      const policy = createRetry({ maxAttempts: 10, backoff: { initial: 0 }, budget }, { clock });
      const events = recordEvents(policy);
      const { op, contexts } = flaky(10, 'ok');
      await assert.rejects(
        policy.execute(op),
        (err) =>
          isSwitchyardError(err, 'SY_RESILIENCE_RETRY_BUDGET_EXHAUSTED') &&
          (err.cause as Error).message === 'failure 3' &&
          err.details.attempts === 3,
      );
      assert.equal(contexts.length, 3, 'the first call plus two retries');
      assert.equal(events.giveUps[0]?.reason, 'budget');
      // Retries expire with the ttl: the budget refills.
      clock.advance(10_000);
      const again = flaky(1, 'ok');
      assert.equal(await policy.execute(again.op), 'ok');
    });

    it('deposits once per call and lets a shared budget fund retries from the traffic', async () => {
      const clock = new ManualClock();
      const budget = createRetryBudget({ ratio: 0.5, minRetriesPerSecond: 0 }, { clock });
      const a = createRetry({ maxAttempts: 10, backoff: { initial: 0 }, budget }, { clock });
      const b = createRetry({ backoff: { initial: 0 }, budget }, { clock });
      for (let i = 0; i < 4; i++) await (i % 2 ? a : b).execute(async () => i);
      assert.equal(budget.balance, 2);
      const { op, contexts } = flaky(5, 'ok');
      await assert.rejects(a.execute(op), { code: 'SY_RESILIENCE_RETRY_BUDGET_EXHAUSTED' });
      assert.equal(contexts.length, 3, 'two funded retries (plus half a retry from this call, not enough)');
    });

    it('does not spend the budget on retries it does not make', async () => {
      const clock = new ManualClock();
      const budget = createRetryBudget({ ratio: 0, minRetriesPerSecond: 1, ttl: '1s' }, { clock });
      const policy = createRetry({ maxAttempts: 1, budget }, { clock });
      await assert.rejects(policy.execute(flaky(1, 'ok').op), /failure 1/);
      assert.equal(budget.balance, 1);
    });
  });

  describe('jitter (properties)', () => {
    it('full jitter waits within [0, initial × 2^(n-1)] capped at max', async () => {
      await fc.assert(
        fc.asyncProperty(fc.double({ min: 0, max: 0.999999, noNaN: true }), async (r) => {
          const clock = new ManualClock();
          const policy = createRetry(
            { maxAttempts: 6, backoff: { initial: 100, max: 1000, jitter: 'full' } },
            { clock, random: () => r },
          );
          const delays: number[] = [];
          policy.onRetry((e) => {
            delays.push(e.delayMs);
            queueMicrotask(() => clock.advance(e.delayMs));
          });
          await assert.rejects(policy.execute(flaky(10, 'ok').op));
          delays.forEach((d, i) => {
            assert.ok(d >= 0 && d <= Math.min(1000, 100 * 2 ** i), `retry ${i + 1}: ${d}`);
          });
        }),
        { numRuns: 50 },
      );
    });

    it('decorrelated jitter waits within [initial, 3 × previous] capped at max, per call', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.double({ min: 0, max: 0.999999, noNaN: true }), { minLength: 1 }),
          async (draws) => {
            const clock = new ManualClock();
            let i = 0;
            const policy = createRetry(
              { maxAttempts: 8, backoff: { initial: 50, max: 2000, jitter: 'decorrelated' } },
              { clock, random: () => draws[i++ % draws.length] as number },
            );
            const delays: number[] = [];
            policy.onRetry((e) => {
              delays.push(e.delayMs);
              queueMicrotask(() => clock.advance(e.delayMs));
            });
            await assert.rejects(policy.execute(flaky(10, 'ok').op));
            let previous = 50;
            for (const d of delays) {
              assert.ok(d >= 50 && d <= Math.min(2000, 3 * previous), `${d} not in [50, ${3 * previous}]`);
              previous = d;
            }
          },
        ),
        { numRuns: 50 },
      );
    });

    it('keeps decorrelated state per call: concurrent calls do not share it', async () => {
      const clock = new ManualClock();
      const policy = createRetry(
        { maxAttempts: 4, backoff: { initial: 100, max: 100_000, jitter: 'decorrelated' } },
        { clock, random: () => 0.999 },
      );
      const delays: number[] = [];
      policy.onRetry((e) => delays.push(e.delayMs));
      const both = Promise.allSettled([policy.execute(flaky(10, 'ok').op), policy.execute(flaky(10, 'ok').op)]);
      await flush();
      for (let t = 0; t < 10; t++) {
        clock.advance(10_000);
        await flush();
      }
      await both;
      // Both calls follow the same schedule (interleaved): 299, 299, 896, 896, 2685, 2685.
      assert.deepEqual(delays, [299, 299, 896, 896, 2685, 2685]);
    });
  });

  describe('options', () => {
    it('resolves defaults', () => {
      const { options } = createRetry();
      assert.equal(options.maxAttempts, 3);
      assert.deepEqual(options.backoff, { initialMs: 100, maxMs: 10_000, factor: 2, jitter: 'full' });
      assert.equal(options.maxRetryAfterMs, 30_000);
      assert.equal(options.budget, undefined);
      assert.ok(Object.isFrozen(options));
    });

    const bad: [unknown, string][] = [
      [{ maxAttempts: 0 }, 'resilience.retry.maxAttempts'],
      [{ maxAttempts: 1.5 }, 'resilience.retry.maxAttempts'],
      [{ backoff: { initial: 'soon' } }, 'resilience.retry.backoff.initial'],
      [{ backoff: { initial: '5s', max: '1s' } }, 'resilience.retry.backoff.max'],
      [{ backoff: { factor: 0.5 } }, 'resilience.retry.backoff.factor'],
      [{ backoff: { jitter: 'some' } }, 'resilience.retry.backoff.jitter'],
      [{ retryOn: { error: true } }, 'resilience.retry.retryOn.error'],
      [{ budget: {} }, 'resilience.retry.budget'],
      [{ maxAtempts: 3 }, 'resilience.retry.maxAtempts: unknown field (did you mean "maxAttempts"?)'],
    ];
    for (const [input, path] of bad) {
      it(`rejects ${JSON.stringify(input)} naming ${path.split(':')[0]}`, () => {
        assert.throws(
          () => createRetry(input as never),
          (err) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && err.message.includes(path),
        );
      });
    }
  });
});
