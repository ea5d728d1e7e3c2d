import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cancelledError, isSwitchyardError, ManualClock } from '@switchyard/core';
import type { BreakerStateJSON, CircuitBreakerOptions } from './breaker-options.ts';
import {
  type BreakerOutcomeEvent,
  type BreakerRejectedEvent,
  type BreakerStateChangeEvent,
  type CircuitBreaker,
  CircuitState,
  createCircuitBreaker,
  defaultErrorVerdict,
} from './circuit-breaker.ts';
import type { PolicyContext } from './types.ts';

const boom = () => Promise.reject(new Error('boom'));
const ok = () => Promise.resolve('ok');

function setup(options: CircuitBreakerOptions = {}, start = 1_000_000) {
  const clock = new ManualClock(start);
  const breaker = createCircuitBreaker({ name: 'payments', ...options }, { clock });
  const changes: Array<[string, string, string]> = [];
  breaker.onStateChange((e) => changes.push([e.from, e.to, e.reason]));
  return { clock, breaker, changes };
}

async function fail(breaker: CircuitBreaker, times = 1): Promise<void> {
  for (let i = 0; i < times; i++) await assert.rejects(breaker.execute(boom), /boom/);
}

async function succeed(breaker: CircuitBreaker, times = 1): Promise<void> {
  for (let i = 0; i < times; i++) assert.equal(await breaker.execute(ok), 'ok');
}

async function assertOpen(breaker: CircuitBreaker, retryAfterMs?: number): Promise<void> {
  let ran = false;
  await assert.rejects(
    breaker.execute(async () => {
      ran = true;
    }),
    (err) => {
      assert.ok(isSwitchyardError(err, 'SY_RESILIENCE_CIRCUIT_OPEN'), String(err));
      assert.equal(err.retryable, true);
      assert.equal(err.details.breaker, breaker.name);
      assert.match(err.message, new RegExp(`"${breaker.name}"`));
      if (retryAfterMs !== undefined) assert.equal(err.details.retryAfterMs, retryAfterMs);
      return true;
    },
  );
  assert.equal(ran, false, 'the operation must not run');
}

describe('createCircuitBreaker: consecutive failures', () => {
  it('opens after N failures in a row, a success in between starts over', async () => {
    const { breaker, changes } = setup({ trip: { type: 'consecutive', failures: 3 } });
    await fail(breaker, 2);
    await succeed(breaker);
    await fail(breaker, 2);
    assert.equal(breaker.state, CircuitState.Closed);
    await fail(breaker);
    assert.equal(breaker.state, CircuitState.Open);
    assert.deepEqual(changes, [['closed', 'open', 'tripped']]);
    await assertOpen(breaker, 5000);
  });

  it('goes half-open at the probe time (lazily), and one successful probe closes it', async () => {
    const { clock, breaker, changes } = setup({ trip: { type: 'consecutive', failures: 1 }, openDuration: '2s' });
    await fail(breaker);
    clock.advance(1500);
    await assertOpen(breaker, 500);
    assert.equal(breaker.snapshot().state, 'open');
    clock.advance(500);
    assert.equal(breaker.state, CircuitState.HalfOpen, 'reported half-open once the probe time passed');
    await succeed(breaker);
    assert.equal(breaker.state, CircuitState.Closed);
    assert.deepEqual(changes, [
      ['closed', 'open', 'tripped'],
      ['open', 'half-open', 'probe-time'],
      ['half-open', 'closed', 'probe-succeeded'],
    ]);
    assert.equal(breaker.snapshot().trips, 0);
  });

  it('a failed probe reopens it for a longer period, growing exponentially up to the cap', async () => {
    const { clock, breaker } = setup({
      trip: { type: 'consecutive', failures: 1 },
      openDuration: '1s',
      openBackoff: { factor: 3, max: '5s' },
    });
    await fail(breaker);
    const periods: number[] = [];
    for (let i = 0; i < 4; i++) {
      const snap = breaker.snapshot();
      periods.push((snap.probeAt as number) - (snap.openedAt as number));
      clock.advance(periods[i] as number);
      await fail(breaker); // the probe fails
      assert.equal(breaker.snapshot().state, 'open');
    }
    assert.deepEqual(periods, [1000, 3000, 5000, 5000]);
    assert.equal(breaker.snapshot().trips, 5);
    // Closing resets the trip count, so the next open period is the base one again.
    clock.advance(5000);
    await succeed(breaker);
    await fail(breaker);
    const snap = breaker.snapshot();
    assert.equal((snap.probeAt as number) - (snap.openedAt as number), 1000);
    assert.equal(snap.trips, 1);
  });

  it('keeps the open period constant without openBackoff', async () => {
    const { clock, breaker } = setup({ trip: { type: 'consecutive', failures: 1 }, openDuration: 1000 });
    await fail(breaker);
    clock.advance(1000);
    await fail(breaker);
    clock.advance(999);
    await assertOpen(breaker, 1);
    clock.advance(1);
    await succeed(breaker);
  });
});

describe('createCircuitBreaker: count window', () => {
  const trip = { type: 'count', size: 10, minimumCalls: 5, failureRate: 0.5 } as const;

  it('does not trip before minimumCalls, then trips at the failure rate', async () => {
    const { breaker } = setup({ trip });
    await fail(breaker, 4);
    assert.equal(breaker.state, 'closed', '4 of 4 failed, but fewer than minimumCalls');
    const snap = breaker.snapshot();
    assert.equal(snap.calls, 4);
    assert.equal(snap.failureRate, 1);
    await fail(breaker);
    assert.equal(breaker.state, 'open');
  });

  it('trips when the failure rate reaches the threshold over the last `size` calls', async () => {
    const { breaker } = setup({ trip });
    await succeed(breaker, 6);
    await fail(breaker, 4); // 4 of 10
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.snapshot().failureRate, 0.4);
    await fail(breaker); // the oldest success leaves the window: 5 of 10
    assert.equal(breaker.state, 'open');
  });

  it('forgets calls older than the window', async () => {
    const { breaker } = setup({ trip: { type: 'count', size: 4, minimumCalls: 4, failureRate: 0.75 } });
    await fail(breaker, 2);
    await succeed(breaker, 4);
    await fail(breaker, 2);
    assert.equal(breaker.snapshot().failures, 2);
    assert.equal(breaker.state, 'closed');
  });

  it('trips on the slow-call rate; a slow success is still a success for the failure rate', async () => {
    const { clock, breaker } = setup({
      trip: {
        type: 'count',
        size: 4,
        minimumCalls: 4,
        failureRate: 0.5,
        slowCallRate: 0.75,
        slowCallDuration: '100ms',
      },
    });
    const slowSuccess = () =>
      breaker.execute(async () => {
        clock.advance(150);
        return 'slow';
      });
    await slowSuccess();
    await slowSuccess();
    await succeed(breaker);
    let snap = breaker.snapshot();
    assert.equal(snap.slowCalls, 2);
    assert.equal(snap.failures, 0);
    assert.equal(snap.failureRate, 0);
    await slowSuccess(); // 3 of 4 slow
    snap = breaker.snapshot();
    assert.equal(snap.state, 'open');
  });

  it('a call of exactly slowCallDuration is not slow', async () => {
    const { clock, breaker } = setup({
      trip: { type: 'count', size: 2, minimumCalls: 1, failureRate: 1, slowCallRate: 1, slowCallDuration: 100 },
    });
    await breaker.execute(async () => clock.advance(100));
    assert.equal(breaker.snapshot().slowCalls, 0);
    assert.equal(breaker.state, 'closed');
  });
});

describe('createCircuitBreaker: time window', () => {
  const trip = { type: 'time', window: '10s', buckets: 10, minimumCalls: 4, failureRate: 0.5 } as const;

  it('trips on the failure rate of the calls of the window', async () => {
    const { clock, breaker } = setup({ trip }, 0);
    await succeed(breaker, 2);
    clock.advance(3000);
    await fail(breaker);
    assert.equal(breaker.state, 'closed');
    clock.advance(3000);
    await fail(breaker);
    assert.equal(breaker.state, 'open', '2 of 4 in the last 10s');
  });

  it('drops buckets older than the window', async () => {
    const { clock, breaker } = setup({ trip }, 0);
    await fail(breaker, 3);
    clock.advance(10_000); // those three are now out of the window
    assert.equal(breaker.snapshot().calls, 0);
    await fail(breaker);
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.snapshot().failures, 1);
  });

  it('clears the buckets skipped while idle, keeping the recent ones', async () => {
    const { clock, breaker } = setup({ trip: { ...trip, minimumCalls: 100 } }, 0);
    await fail(breaker, 2); // bucket 0
    clock.advance(4000);
    await succeed(breaker, 3); // bucket 4
    clock.advance(5500); // 9.5s: bucket 9, bucket 0 still in the window
    assert.deepEqual([breaker.snapshot().calls, breaker.snapshot().failures], [5, 2]);
    clock.advance(500); // 10s: bucket 0 leaves
    assert.deepEqual([breaker.snapshot().calls, breaker.snapshot().failures], [3, 0]);
    clock.advance(25_000); // idle far longer than the window: every bucket cleared
    assert.equal(breaker.snapshot().calls, 0);
    await fail(breaker);
    assert.deepEqual([breaker.snapshot().calls, breaker.snapshot().failures], [1, 1]);
  });

  it('counts slow calls over the window', async () => {
    const { clock, breaker } = setup(
      { trip: { ...trip, failureRate: 1, slowCallRate: 0.5, slowCallDuration: '1s' } },
      0,
    );
    await succeed(breaker, 2);
    for (let i = 0; i < 2; i++) await breaker.execute(async () => clock.advance(1001));
    assert.equal(breaker.state, 'open');
  });
});

describe('createCircuitBreaker: half-open', () => {
  async function halfOpen(options: CircuitBreakerOptions) {
    const s = setup({ trip: { type: 'consecutive', failures: 1 }, openDuration: 1000, ...options });
    await fail(s.breaker);
    s.clock.advance(1000);
    return s;
  }

  it('admits at most K concurrent probes; the K+1th is refused at once', async () => {
    const { breaker } = await halfOpen({ halfOpen: { maxProbes: 2, successesToClose: 2 } });
    const a = Promise.withResolvers<string>();
    const b = Promise.withResolvers<string>();
    const p1 = breaker.execute(() => a.promise);
    const p2 = breaker.execute(() => b.promise);
    await assertOpen(breaker, 0);
    const rejected = await breaker.execute(ok).catch((e: unknown) => e);
    assert.ok(isSwitchyardError(rejected, 'SY_RESILIENCE_CIRCUIT_OPEN'));
    assert.equal(rejected.details.state, 'half-open');
    assert.equal(breaker.snapshot().probes.inFlight, 2);
    a.resolve('a');
    assert.equal(await p1, 'a');
    assert.equal(breaker.state, 'half-open', 'one success of two needed');
    assert.deepEqual(breaker.snapshot().probes, { inFlight: 1, successes: 1 });
    b.resolve('b');
    assert.equal(await p2, 'b');
    assert.equal(breaker.state, 'closed');
  });

  it('closes after S successes even when S > K (probes one after another)', async () => {
    const { breaker, changes } = await halfOpen({ halfOpen: { maxProbes: 1, successesToClose: 3 } });
    await succeed(breaker, 2);
    assert.equal(breaker.state, 'half-open');
    await succeed(breaker);
    assert.equal(breaker.state, 'closed');
    assert.deepEqual(changes.at(-1), ['half-open', 'closed', 'probe-succeeded']);
  });

  it('any probe failure reopens, and the other probes no longer count', async () => {
    const { breaker, changes } = await halfOpen({ halfOpen: { maxProbes: 2, successesToClose: 1 } });
    const slowProbe = Promise.withResolvers<string>();
    const p1 = breaker.execute(() => slowProbe.promise);
    await fail(breaker);
    assert.equal(breaker.state, 'open');
    assert.deepEqual(changes.at(-1), ['half-open', 'open', 'probe-failed']);
    slowProbe.resolve('late');
    assert.equal(await p1, 'late', 'the caller still gets its result');
    assert.equal(breaker.state, 'open', 'a probe of the previous half-open period does not close it');
    assert.equal(breaker.snapshot().trips, 2);
  });

  it('a slow probe counts as failed', async () => {
    const { clock, breaker } = await halfOpen({
      trip: { type: 'count', size: 1, minimumCalls: 1, failureRate: 1, slowCallRate: 1, slowCallDuration: 50 },
    });
    await breaker.execute(async () => clock.advance(51));
    assert.equal(breaker.state, 'open');
  });

  it('an ignored probe frees its slot without closing or reopening', async () => {
    const { breaker } = await halfOpen({});
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(
      breaker.execute(() => Promise.reject(cancelledError(controller.signal))),
      (e) => isSwitchyardError(e, 'SY_CANCELLED'),
    );
    assert.equal(breaker.state, 'half-open');
    assert.deepEqual(breaker.snapshot().probes, { inFlight: 0, successes: 0 });
    await succeed(breaker);
    assert.equal(breaker.state, 'closed');
  });

  it('a probe that throws synchronously is a failed probe', async () => {
    const { breaker } = await halfOpen({});
    await assert.rejects(
      breaker.execute(() => {
        throw new Error('sync');
      }),
      /sync/,
    );
    assert.equal(breaker.state, 'open');
  });
});

describe('createCircuitBreaker: classification', () => {
  it('ignores SY_CANCELLED by default: it counts as neither success nor failure', async () => {
    const { breaker } = setup({ trip: { type: 'consecutive', failures: 2 } });
    const controller = new AbortController();
    controller.abort(new Error('client left'));
    const ignored: BreakerOutcomeEvent[] = [];
    breaker.onIgnored((e) => ignored.push(e));
    await fail(breaker);
    for (let i = 0; i < 5; i++) {
      await assert.rejects(breaker.execute(() => Promise.reject(cancelledError(controller.signal))));
    }
    assert.equal(breaker.state, 'closed');
    const snap = breaker.snapshot();
    assert.equal(snap.calls, 1);
    assert.equal(snap.consecutiveFailures, 1);
    assert.deepEqual(snap.totals, { successes: 0, failures: 1, ignored: 5, rejected: 0 });
    assert.equal(ignored.length, 5);
    assert.equal(ignored[0]?.kind, 'error');
    await fail(breaker);
    assert.equal(breaker.state, 'open', 'the two failures are consecutive: ignored calls did not break the run');
  });

  it('classifies results: a failing result counts against the breaker but is still returned', async () => {
    const { breaker } = setup({
      trip: { type: 'consecutive', failures: 2 },
      classify: { result: (r) => ((r as { status: number }).status >= 500 ? 'failure' : 'success') },
    });
    const failures: BreakerOutcomeEvent[] = [];
    breaker.onFailure((e) => failures.push(e));
    assert.deepEqual(await breaker.execute(() => ({ status: 503 })), { status: 503 });
    assert.deepEqual(await breaker.execute(async () => ({ status: 502 })), { status: 502 });
    assert.equal(breaker.state, 'open');
    assert.equal(failures.length, 2);
    const first = failures[0] as BreakerOutcomeEvent;
    assert.equal(first.kind, 'result');
    assert.deepEqual(first.kind === 'result' ? first.result : undefined, { status: 503 });
  });

  it('classifies errors with a custom classifier (success, ignore), extending the default', async () => {
    const notFound = Object.assign(new Error('not found'), { status: 404 });
    const { breaker } = setup({
      trip: { type: 'consecutive', failures: 1 },
      classify: {
        error: (e) =>
          (e as { status?: number }).status === 404
            ? 'success'
            : (e as Error).message === 'skip'
              ? 'ignore'
              : defaultErrorVerdict(e),
      },
    });
    await assert.rejects(
      breaker.execute(() => Promise.reject(notFound)),
      /not found/,
    );
    await assert.rejects(
      breaker.execute(() => Promise.reject(new Error('skip'))),
      /skip/,
    );
    assert.equal(breaker.state, 'closed');
    assert.deepEqual(breaker.snapshot().totals, { successes: 1, failures: 0, ignored: 1, rejected: 0 });
    await fail(breaker);
    assert.equal(breaker.state, 'open');
  });

  it('a classifier that throws counts the call as a failure and leaves the outcome unchanged', async () => {
    const { breaker } = setup({
      trip: { type: 'consecutive', failures: 1 },
      classify: {
        result: () => {
          throw new Error('classifier bug');
        },
      },
    });
    assert.equal(await breaker.execute(ok), 'ok');
    assert.equal(breaker.state, 'open');
  });
});

describe('createCircuitBreaker: context', () => {
  it('passes an incoming context through unchanged and builds one from a signal', async () => {
    const { breaker } = setup();
    const context: PolicyContext = { signal: new AbortController().signal, attempt: 3, deadline: 42 };
    assert.equal(await breaker.execute((ctx) => ctx, context), context);
    const controller = new AbortController();
    const fromSignal = await breaker.execute((ctx) => ctx, controller.signal);
    assert.equal(fromSignal.signal, controller.signal);
    assert.equal(fromSignal.attempt, 1);
    const none = await breaker.execute((ctx) => ctx);
    assert.equal(none.signal.aborted, false);
    assert.equal(none.attempt, 1);
    assert.equal(none.deadline, undefined);
  });

  it('returns synchronous results and rethrows synchronous errors', async () => {
    const { breaker } = setup();
    assert.equal(await breaker.execute(() => 7), 7);
    await assert.rejects(
      breaker.execute(() => {
        throw new TypeError('sync');
      }),
      TypeError,
    );
  });
});

describe('createCircuitBreaker: events', () => {
  it('fires state change, success, failure and rejection with their payloads; disposal stops them', async () => {
    const { clock, breaker } = setup({ trip: { type: 'consecutive', failures: 1 }, openDuration: 1000 });
    const states: BreakerStateChangeEvent[] = [];
    const successes: BreakerOutcomeEvent[] = [];
    const failures: BreakerOutcomeEvent[] = [];
    const rejections: BreakerRejectedEvent[] = [];
    const handles = [
      breaker.onStateChange((e) => states.push(e)),
      breaker.onSuccess((e) => successes.push(e)),
      breaker.onFailure((e) => failures.push(e)),
      breaker.onRejected((e) => rejections.push(e)),
    ];
    await breaker.execute(async () => {
      clock.advance(30);
      return 'v';
    });
    assert.deepEqual(successes, [
      { name: 'payments', durationMs: 30, probe: false, slow: false, kind: 'result', result: 'v' },
    ]);
    const error = new Error('down');
    await assert.rejects(breaker.execute(() => Promise.reject(error)));
    assert.equal(failures.length, 1);
    assert.equal(failures[0]?.kind === 'error' ? failures[0].error : undefined, error);
    const at = clock.now();
    assert.deepEqual(states, [
      { name: 'payments', from: 'closed', to: 'open', reason: 'tripped', at, trips: 1, probeAt: at + 1000 },
    ]);
    await assertOpen(breaker);
    assert.equal(rejections.length, 1);
    assert.equal(rejections[0]?.state, 'open');
    assert.equal(rejections[0]?.retryAfterMs, 1000);
    assert.equal(rejections[0]?.error.code, 'SY_RESILIENCE_CIRCUIT_OPEN');
    clock.advance(1000);
    await succeed(breaker);
    assert.equal(successes.at(-1)?.probe, true);
    assert.deepEqual(
      states.map((e) => [e.to, e.reason]),
      [
        ['open', 'tripped'],
        ['half-open', 'probe-time'],
        ['closed', 'probe-succeeded'],
      ],
    );
    for (const h of handles) h.dispose();
    await fail(breaker);
    await assertOpen(breaker);
    assert.equal(states.length, 3);
    assert.equal(successes.length, 2);
    assert.equal(failures.length, 1);
    assert.equal(rejections.length, 1);
  });

  it('a throwing listener neither breaks the call nor the breaker', async () => {
    const { breaker } = setup({ trip: { type: 'consecutive', failures: 1 } });
    const thrown: unknown[] = [];
    const original = globalThis.queueMicrotask;
    globalThis.queueMicrotask = (fn) => {
      try {
        fn();
      } catch (err) {
        thrown.push(err);
      }
    };
    try {
      breaker.onFailure(() => {
        throw new Error('listener bug');
      });
      await fail(breaker);
    } finally {
      globalThis.queueMicrotask = original;
    }
    assert.equal(breaker.state, 'open');
    assert.match(String(thrown[0]), /listener bug/);
  });
});

describe('createCircuitBreaker: isolate and reset', () => {
  it('isolate() refuses everything until every handle is disposed, then closes', async () => {
    const { breaker, changes } = setup({ trip: { type: 'consecutive', failures: 2 } });
    await fail(breaker);
    const a = breaker.isolate();
    const b = breaker.isolate();
    assert.equal(breaker.state, 'isolated');
    let ran = false;
    await assert.rejects(
      breaker.execute(async () => {
        ran = true;
      }),
      (e) =>
        isSwitchyardError(e, 'SY_RESILIENCE_CIRCUIT_ISOLATED') &&
        e.details.breaker === 'payments' &&
        /"payments"/.test(e.message),
    );
    assert.equal(ran, false);
    a.dispose();
    a.dispose(); // idempotent: does not release b's hold
    assert.equal(breaker.state, 'isolated');
    assert.equal(breaker.snapshot().isolations, 1);
    b[Symbol.dispose]();
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.snapshot().consecutiveFailures, 0, 'counts cleared');
    await fail(breaker);
    assert.equal(breaker.state, 'closed');
    assert.deepEqual(changes, [
      ['closed', 'isolated', 'isolated'],
      ['isolated', 'closed', 'released'],
    ]);
  });

  it('isolating an open breaker and releasing it closes it', async () => {
    const { breaker } = setup({ trip: { type: 'consecutive', failures: 1 } });
    await fail(breaker);
    const handle = breaker.isolate();
    assert.equal(breaker.snapshot().state, 'isolated');
    handle.dispose();
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.snapshot().trips, 0);
  });

  it('a call started before isolation does not count after release', async () => {
    const { breaker } = setup({ trip: { type: 'consecutive', failures: 1 } });
    const slow = Promise.withResolvers<string>();
    const call = breaker.execute(() => slow.promise);
    breaker.isolate().dispose();
    slow.reject(new Error('late failure'));
    await assert.rejects(call, /late failure/);
    assert.equal(breaker.state, 'closed');
  });

  it('reset() closes the breaker and clears counts and trips', async () => {
    const { breaker, changes } = setup({
      trip: { type: 'consecutive', failures: 1 },
      openBackoff: { factor: 2, max: '1m' },
    });
    await fail(breaker);
    breaker.reset();
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.snapshot().trips, 0);
    assert.deepEqual(changes.at(-1), ['open', 'closed', 'reset']);
    await succeed(breaker);
  });

  it('reset() on an isolated breaker clears counts but keeps it isolated', async () => {
    const { breaker } = setup({ trip: { type: 'consecutive', failures: 3 } });
    await fail(breaker, 2);
    const handle = breaker.isolate();
    breaker.reset();
    assert.equal(breaker.state, 'isolated');
    handle.dispose();
    await fail(breaker, 2);
    assert.equal(breaker.state, 'closed');
  });
});

describe('createCircuitBreaker: toJSON and initialState', () => {
  it('round-trips an open breaker: it stays open until its probe time', async () => {
    const { clock, breaker } = setup({ trip: { type: 'consecutive', failures: 1 }, openDuration: '4s' });
    await fail(breaker);
    clock.advance(1000);
    const saved: BreakerStateJSON = JSON.parse(JSON.stringify(breaker.toJSON()));
    assert.deepEqual(saved, { version: 1, state: 'open', openedAt: 1_000_000, probeAt: 1_004_000, trips: 1 });

    const restored = createCircuitBreaker(
      { name: 'payments', trip: { type: 'consecutive', failures: 1 }, openDuration: '4s', initialState: saved },
      { clock },
    );
    assert.equal(restored.state, 'open');
    await assertOpen(restored, 3000);
    clock.advance(3000);
    assert.equal(restored.state, 'half-open');
    await succeed(restored);
    assert.equal(restored.state, 'closed');
  });

  it('restores the trip count, so the next open period keeps growing', async () => {
    const clock = new ManualClock(0);
    const restored = createCircuitBreaker(
      {
        trip: { type: 'consecutive', failures: 1 },
        openDuration: 1000,
        openBackoff: { factor: 2, max: '1m' },
        initialState: { version: 1, state: 'half-open', probeAt: 0, trips: 2 },
      },
      { clock },
    );
    assert.equal(restored.state, 'half-open');
    await fail(restored);
    const snap = restored.snapshot();
    assert.equal(snap.trips, 3);
    assert.equal(snap.probeAt, 4000);
  });

  it('saves closed, half-open and isolated breakers', async () => {
    const { clock, breaker } = setup({ trip: { type: 'consecutive', failures: 1 }, openDuration: 1000 });
    assert.deepEqual(breaker.toJSON(), { version: 1, state: 'closed', trips: 0 });
    await fail(breaker);
    clock.advance(1000);
    assert.deepEqual(breaker.toJSON(), {
      version: 1,
      state: 'half-open',
      openedAt: 1_000_000,
      probeAt: 1_001_000,
      trips: 1,
    });
    breaker.isolate();
    assert.deepEqual(breaker.toJSON(), { version: 1, state: 'closed', trips: 0 }, 'release closes it');
  });

  it('rejects a malformed saved state with SY_CONFIG_INVALID naming the field', () => {
    const cases: Array<[unknown, string]> = [
      [{ version: 1, state: 'opened', trips: 1 }, 'resilience.breaker.initialState.state'],
      [{ version: 2, state: 'open', probeAt: 1, trips: 1 }, 'resilience.breaker.initialState.version'],
      [{ version: 1, state: 'open', trips: 1 }, 'resilience.breaker.initialState.probeAt'],
      [{ version: 1, state: 'open', probeAt: 5, trips: 0 }, 'resilience.breaker.initialState.trips'],
      [{ version: 1, state: 'closed', trips: 0, extra: true }, 'resilience.breaker.initialState.extra'],
    ];
    for (const [initialState, path] of cases) {
      assert.throws(
        () => createCircuitBreaker({ initialState: initialState as never }),
        (e) =>
          isSwitchyardError(e, 'SY_CONFIG_INVALID') &&
          (e.details.issues as Array<{ path: string }>).some((i) => i.path === path),
        path,
      );
    }
  });
});

describe('createCircuitBreaker: options', () => {
  it('uses the documented defaults: time window of 10s, 20 calls, 50%, open 5s', async () => {
    const { clock, breaker } = setup({}, 0);
    await fail(breaker, 19);
    assert.equal(breaker.state, 'closed');
    await fail(breaker);
    assert.equal(breaker.state, 'open');
    assert.equal(breaker.snapshot().probeAt, 5000);
    assert.equal(breaker.name, 'payments');
    assert.equal(createCircuitBreaker({}, { clock }).name, 'default');
  });

  it('rejects bad options naming the field', () => {
    assert.throws(
      () => createCircuitBreaker({ trip: { type: 'count', failureRate: 1.5 } }),
      (e) => isSwitchyardError(e, 'SY_CONFIG_INVALID') && /resilience\.breaker\.trip\.failureRate/.test(e.message),
    );
  });

  it('close() of a local breaker resolves and the breaker keeps working', async () => {
    const { breaker } = setup();
    await breaker.close();
    await breaker[Symbol.asyncDispose]();
    await succeed(breaker);
  });
});
