import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cancelledError, isSwitchyardError, ManualClock } from '@switchyard/core';
import type { CircuitBreakerOptions } from './breaker-options.ts';
import type { BreakerStateStore } from './breaker-state-store.ts';
import { type BreakerStoreErrorEvent, type CircuitBreaker, createCircuitBreaker } from './circuit-breaker.ts';
import { createMemoryBreakerStateStore } from './memory-breaker-state-store.ts';

/** Lets every pending promise chain (store calls, watch microtasks) run. */
async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
}

type Mode = 'ok' | 'reject' | 'hang' | 'throw';

/** Wraps a store so a test can make it fail, hang or throw, and counts the calls. */
function controllable(inner: BreakerStateStore, options: { watch?: boolean } = {}) {
  const control = { mode: 'ok' as Mode, calls: [] as string[], watchDisposed: 0 };
  const wrap =
    <A extends unknown[], R>(name: string, fn: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> => {
      control.calls.push(name);
      if (control.mode === 'reject') return Promise.reject(new Error('store down'));
      if (control.mode === 'hang') return new Promise<R>(() => {});
      if (control.mode === 'throw') throw new Error('store bug');
      return fn(...args);
    };
  const store: BreakerStateStore = {
    report: wrap('report', inner.report.bind(inner)),
    read: wrap('read', inner.read.bind(inner)),
    acquireProbe: wrap('acquireProbe', inner.acquireProbe.bind(inner)),
    completeProbe: wrap('completeProbe', inner.completeProbe.bind(inner)),
    reset: wrap('reset', inner.reset.bind(inner)),
  };
  if (options.watch !== false && inner.watch !== undefined) {
    const watch = inner.watch.bind(inner);
    store.watch = (name, listener) => {
      const handle = watch(name, listener);
      const dispose = () => {
        control.watchDisposed++;
        handle.dispose();
      };
      return { dispose, [Symbol.dispose]: dispose };
    };
  }
  return { store, control };
}

const boom = () => Promise.reject(new Error('boom'));

async function fail(breaker: CircuitBreaker): Promise<void> {
  await assert.rejects(breaker.execute(boom), /boom/);
}

function isOpenError(state?: string) {
  return (err: unknown) =>
    isSwitchyardError(err, 'SY_RESILIENCE_CIRCUIT_OPEN') && (state === undefined || err.details.state === state);
}

interface FleetOptions {
  replicas?: number;
  breaker?: CircuitBreakerOptions;
  watch?: boolean;
}

/** `replicas` breakers named `orders`, sharing one memory store on one manual clock. */
function fleet(options: FleetOptions = {}) {
  const clock = new ManualClock(1_000_000);
  const memory = createMemoryBreakerStateStore({ clock });
  const { store, control } = controllable(memory, { watch: options.watch ?? true });
  const breakers: CircuitBreaker[] = [];
  for (let i = 0; i < (options.replicas ?? 4); i++) {
    breakers.push(
      createCircuitBreaker(
        {
          name: 'orders',
          trip: { type: 'consecutive', failures: 1 },
          openDuration: '5s',
          ...options.breaker,
          shared: { store, replicaId: `r${i}`, syncInterval: '1s', ...options.breaker?.shared },
        },
        { clock },
      ),
    );
  }
  const r = (i: number) => breakers[i] as CircuitBreaker;
  const advance = async (ms: number, step = 1000) => {
    for (let done = 0; done < ms; done += step) {
      clock.advance(Math.min(step, ms - done));
      await flush();
    }
  };
  const closeAll = () => Promise.all(breakers.map((b) => b.close()));
  return { clock, memory, store, control, breakers, r, advance, closeAll };
}

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
before(() => {
  process.on('unhandledRejection', onUnhandled);
});
after(() => {
  process.off('unhandledRejection', onUnhandled);
  assert.deepEqual(unhandled, [], 'no store call may leave an unhandled rejection');
});

describe('shared circuit breaker', () => {
  it('one bad replica does not open the breaker: it only votes, and its calls keep flowing', async () => {
    const f = fleet();
    await f.advance(0);
    await fail(f.r(0));
    await flush();
    assert.equal(f.r(0).state, 'closed');
    assert.equal(await f.r(0).execute(async () => 'still runs'), 'still runs');
    const snap = f.r(0).snapshot();
    assert.equal(snap.shared?.tripped, true);
    assert.equal(snap.shared?.fleet?.tripped, 1);
    assert.equal(snap.shared?.fleet?.replicas, 4);
    assert.equal(snap.consecutiveFailures, 0, 'the local window restarts after voting');
    assert.equal((await f.memory.read('orders')).state, 'closed');
    await f.closeAll();
  });

  it('a quorum of tripped replicas opens it for the whole fleet', async () => {
    const f = fleet();
    await f.advance(0);
    await fail(f.r(0));
    await f.advance(2000); // r0's vote still stands (one open period: 5s)
    await fail(f.r(1));
    await flush();
    for (const b of f.breakers) assert.equal(b.state, 'open', 'every replica follows (watch)');
    await assert.rejects(f.r(3).execute(boom), isOpenError('open'));
    const err = await f
      .r(2)
      .execute(async () => 1)
      .catch((e: unknown) => e);
    assert.ok(isSwitchyardError(err, 'SY_RESILIENCE_CIRCUIT_OPEN'));
    assert.equal(err.details.retryAfterMs, 5000);
    assert.equal(err.details.breaker, 'orders');
    await f.closeAll();
  });

  it('without watch, replicas learn the shared state at their next report', async () => {
    const f = fleet({ watch: false });
    await f.advance(0);
    await fail(f.r(0));
    await fail(f.r(1));
    await flush();
    assert.equal(f.r(1).state, 'open', 'the replica that reached the quorum learns from its own report');
    assert.equal(f.r(3).state, 'closed', 'others do not know yet');
    await f.advance(1000);
    assert.equal(f.r(3).state, 'open');
    await f.closeAll();
  });

  it('a vote expires after one open period, so replicas tripping far apart make no quorum', async () => {
    const f = fleet();
    await f.advance(0);
    await fail(f.r(0));
    await f.advance(6000);
    assert.equal(f.r(0).snapshot().shared?.tripped, false);
    await fail(f.r(1));
    await flush();
    assert.equal(f.r(1).state, 'closed');
    assert.equal((await f.memory.read('orders')).tripped, 1);
    await f.closeAll();
  });

  it('sends K probes fleet-wide, closes after S successes, and every replica follows', async () => {
    const f = fleet({ breaker: { halfOpen: { maxProbes: 1, successesToClose: 2 } } });
    await f.advance(0);
    await fail(f.r(0));
    await fail(f.r(1));
    await f.advance(5000);
    for (const b of f.breakers) assert.equal(b.state, 'half-open');

    const probe = Promise.withResolvers<string>();
    const first = f.r(0).execute(() => probe.promise);
    await flush();
    // The fleet has one slot, held by r0: every other replica is refused.
    let ran = 0;
    for (const i of [1, 2, 3]) {
      await assert.rejects(
        f.r(i).execute(async () => {
          ran++;
        }),
        isOpenError('half-open'),
      );
    }
    await assert.rejects(f.r(0).execute(boom), isOpenError('half-open'), 'r0 itself has no second slot');
    assert.equal(ran, 0);
    probe.resolve('probe ok');
    assert.equal(await first, 'probe ok');
    await flush();
    assert.deepEqual((await f.memory.read('orders')).probes, { inFlight: 0, successes: 1 });
    assert.equal(f.r(2).state, 'half-open', 'one success of two');
    // A replica refused a slot does not ask the store again until it hears news of the fleet.
    f.control.calls.length = 0;
    await assert.rejects(f.r(2).execute(boom), isOpenError('half-open'));
    assert.deepEqual(f.control.calls, []);
    await f.advance(1000); // the next report brings news

    assert.equal(await f.r(2).execute(async () => 'second probe'), 'second probe');
    await flush();
    for (const b of f.breakers) assert.equal(b.state, 'closed');
    assert.equal(f.r(0).snapshot().shared?.tripped, false, 'closing clears the votes');
    assert.equal(f.r(0).snapshot().trips, 0);
    await f.closeAll();
  });

  it('a failed probe reopens it fleet-wide for a longer period', async () => {
    const f = fleet({ breaker: { openDuration: '2s', openBackoff: { factor: 2, max: '1m' } } });
    await f.advance(0);
    await fail(f.r(0));
    await fail(f.r(1));
    await flush();
    assert.equal(f.r(3).snapshot().trips, 1);
    await f.advance(2000);
    await fail(f.r(2)); // the probe
    await flush();
    for (const b of f.breakers) assert.equal(b.state, 'open');
    const snap = f.r(3).snapshot();
    assert.equal(snap.trips, 2);
    assert.equal((snap.probeAt as number) - f.clock.now(), 4000);
    await f.advance(3000);
    assert.equal(f.r(3).state, 'open');
    await f.advance(1000);
    assert.equal(f.r(3).state, 'half-open');
    await f.closeAll();
  });

  it('a call waiting for a slot runs normally when the fleet closed meanwhile', async () => {
    const f = fleet({ replicas: 2, watch: false, breaker: { shared: { quorum: { min: 1 } } as never } });
    await f.advance(0);
    await fail(f.r(0));
    await f.advance(5000);
    assert.equal(f.r(1).state, 'half-open');
    // r1 has not heard of the close yet: the store answers "closed", so the call runs.
    await f.memory.reset('orders');
    f.control.calls.length = 0;
    assert.equal(await f.r(1).execute(async () => 'ran'), 'ran');
    assert.equal(f.r(1).state, 'closed');
    await f.closeAll();
  });

  it('an ignored probe keeps its slot for the replica’s next call instead of wasting it', async () => {
    const f = fleet({ replicas: 2, breaker: { shared: { quorum: { min: 1 } } as never } });
    await f.advance(0);
    await fail(f.r(0));
    await f.advance(5000);
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(f.r(0).execute(() => Promise.reject(cancelledError(controller.signal))));
    await flush();
    assert.equal(f.r(0).state, 'half-open');
    await assert.rejects(f.r(1).execute(boom), isOpenError('half-open'), 'the slot is still held');
    f.control.calls.length = 0;
    assert.equal(await f.r(0).execute(async () => 'reused'), 'reused');
    await flush();
    assert.equal(f.control.calls.includes('acquireProbe'), false, 'no new slot was asked for');
    assert.equal(f.r(1).state, 'closed');
    await f.closeAll();
  });

  it('a closed breaker never calls the store on the call path', async () => {
    const f = fleet({ replicas: 1 });
    await f.advance(0);
    f.control.calls.length = 0;
    for (let i = 0; i < 100; i++) await f.r(0).execute(async () => i);
    assert.deepEqual(f.control.calls, []);
    await f.closeAll();
  });

  it('degrades to a local breaker when the store fails, and recovers when it answers again', async () => {
    const f = fleet({ replicas: 2 });
    await f.advance(0);
    const errors: BreakerStoreErrorEvent[] = [];
    f.r(0).onStoreError((e) => errors.push(e));
    f.control.mode = 'reject';
    await f.advance(1000);
    assert.equal(errors.length, 1);
    assert.deepEqual([errors[0]?.operation, errors[0]?.degraded], ['report', true]);
    assert.equal(f.r(0).snapshot().shared?.degraded, true);
    assert.equal(await f.r(0).execute(async () => 'served'), 'served', 'calls never fail because the store is down');

    await fail(f.r(0)); // trips locally: a lone replica now opens its own breaker
    assert.equal(f.r(0).state, 'open');
    await assert.rejects(f.r(0).execute(boom), isOpenError('open'));
    await f.advance(1000);
    assert.equal(errors.length, 2);
    assert.equal(errors[1]?.degraded, false, 'still degraded: not a new spell');
    assert.equal(f.r(0).snapshot().shared?.storeErrors, 2);

    await f.advance(4000);
    assert.equal(f.r(0).state, 'half-open', 'local half-open');
    assert.equal(await f.r(0).execute(async () => 'local probe'), 'local probe');
    assert.equal(f.r(0).state, 'closed');

    f.control.mode = 'ok';
    await f.advance(1000);
    const snap = f.r(0).snapshot();
    assert.equal(snap.shared?.degraded, false);
    assert.equal(snap.shared?.fleet?.state, 'closed');
    assert.equal(f.r(0).state, 'closed');
    await f.closeAll();
  });

  it('a degraded replica reports its local trip once the store is back', async () => {
    const f = fleet({ replicas: 2, breaker: { shared: { quorum: { min: 1 } } as never } });
    await f.advance(0);
    f.control.mode = 'reject';
    await f.advance(1000);
    await fail(f.r(0));
    assert.equal(f.r(0).state, 'open');
    f.control.mode = 'ok';
    await f.advance(1000);
    assert.equal((await f.memory.read('orders')).state, 'open', 'the vote reached the store');
    assert.equal(f.r(1).state, 'open');
    await f.closeAll();
  });

  it('treats a store that hangs as failed after syncInterval', async () => {
    const f = fleet({ replicas: 1 });
    await f.advance(0);
    f.control.mode = 'hang';
    await f.advance(1000);
    assert.equal(f.r(0).snapshot().shared?.degraded, false, 'the report is in flight');
    await f.advance(1000);
    assert.equal(f.r(0).snapshot().shared?.degraded, true);
    f.control.mode = 'ok';
    await f.advance(2000);
    assert.equal(f.r(0).snapshot().shared?.degraded, false);
    await f.closeAll();
  });

  it('survives a store that throws synchronously, including on acquireProbe and completeProbe', async () => {
    const f = fleet({ replicas: 1 });
    await f.advance(0);
    await fail(f.r(0)); // a lone replica is its own quorum
    await flush();
    assert.equal(f.r(0).state, 'open');
    await f.advance(5000);
    f.control.mode = 'throw';
    assert.equal(await f.r(0).execute(async () => 'probe'), 'probe', 'acquire failed: probes locally');
    await flush();
    assert.equal(f.r(0).snapshot().shared?.degraded, true);
    assert.equal(f.r(0).state, 'closed');
    await f.closeAll();
  });

  it('judges a granted probe locally when completeProbe fails', async () => {
    const f = fleet({ replicas: 1 });
    await f.advance(0);
    await fail(f.r(0));
    await f.advance(5000);
    const probe = Promise.withResolvers<string>();
    const call = f.r(0).execute(() => probe.promise);
    await flush();
    f.control.mode = 'reject';
    probe.reject(new Error('still down'));
    await assert.rejects(call, /still down/);
    await flush();
    assert.equal(f.r(0).snapshot().shared?.degraded, true);
    assert.equal(f.r(0).state, 'open', 'the failed probe reopened the local breaker');
    await f.closeAll();
  });

  it('reset() resets the fleet', async () => {
    const f = fleet();
    await f.advance(0);
    await fail(f.r(0));
    await fail(f.r(1));
    await flush();
    assert.equal(f.r(2).state, 'open');
    f.r(3).reset();
    await flush();
    for (const b of f.breakers) assert.equal(b.state, 'closed');
    await f.closeAll();
  });

  it('isolation is local to the replica, and release follows the fleet state', async () => {
    const f = fleet();
    await f.advance(0);
    const handle = f.r(0).isolate();
    await assert.rejects(f.r(0).execute(boom), (e) => isSwitchyardError(e, 'SY_RESILIENCE_CIRCUIT_ISOLATED'));
    assert.equal(await f.r(1).execute(async () => 'ok'), 'ok');
    await fail(f.r(1));
    await fail(f.r(2));
    await flush();
    assert.equal(f.r(0).state, 'isolated');
    handle.dispose();
    assert.equal(f.r(0).state, 'open');
    await f.closeAll();
  });

  it('close() stops the timer and the watch, and is idempotent', async () => {
    const f = fleet({ replicas: 1 });
    await f.advance(0);
    assert.ok(f.clock.pending > 0);
    const closing = f.r(0).close();
    assert.equal(f.r(0).close(), closing);
    await closing;
    assert.equal(f.clock.pending, 0);
    assert.equal(f.control.watchDisposed, 1);
    f.control.calls.length = 0;
    await f.advance(5000);
    assert.deepEqual(f.control.calls, [], 'no report after close');
    await fail(f.r(0));
    assert.equal(f.r(0).state, 'open', 'decides locally after close');
  });

  it('drops stale news (an older generation) but accepts a store that started over', async () => {
    const clock = new ManualClock(0);
    const state = (generation: number, s: 'closed' | 'open') => ({
      state: s,
      generation,
      probeInMs: s === 'open' ? 5000 : 0,
      trips: s === 'open' ? 1 : 0,
      tripped: 0,
      replicas: 1,
      probes: { inFlight: 0, successes: 0 },
    });
    let current = state(2, 'open');
    let push: ((s: ReturnType<typeof state>) => void) | undefined;
    const store: BreakerStateStore = {
      report: async () => current,
      read: async () => current,
      acquireProbe: async () => ({ granted: false, state: current }),
      completeProbe: async () => current,
      reset: async () => current,
      watch: (_name, listener) => {
        push = listener;
        return { dispose() {}, [Symbol.dispose]() {} };
      },
    };
    const breaker = createCircuitBreaker({ name: 'orders', shared: { store, replicaId: 'a' } }, { clock });
    await flush();
    assert.equal(breaker.state, 'open');
    push?.(state(1, 'closed'));
    assert.equal(breaker.state, 'open', 'a late notice of generation 1 is dropped');
    push?.(state(3, 'closed'));
    assert.equal(breaker.state, 'closed', 'a newer one is applied');
    // The store lost its data (restarted): its own answers are believed even with a lower generation.
    current = state(0, 'open');
    clock.advance(1000);
    await flush();
    assert.equal(breaker.state, 'open');
    await breaker.close();
  });

  it('restores a saved open state locally until the store answers', async () => {
    const clock = new ManualClock(0);
    const store = createMemoryBreakerStateStore({ clock });
    const breaker = createCircuitBreaker(
      {
        name: 'orders',
        initialState: { version: 1, state: 'open', probeAt: 10_000, trips: 1 },
        shared: { store, replicaId: 'a' },
      },
      { clock },
    );
    assert.equal(breaker.state, 'open');
    await flush();
    assert.equal(breaker.state, 'closed', 'the shared state wins');
    await breaker.close();
  });
});
