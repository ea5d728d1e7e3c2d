import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSwitchyardError, ManualClock } from '@switchyard/core';
import type { BreakerStateJSON } from './breaker-options.ts';
import { createBreakerRegistry } from './breaker-registry.ts';
import type { BreakerStateChangeEvent, CircuitBreaker } from './circuit-breaker.ts';
import { createMemoryBreakerStateStore } from './memory-breaker-state-store.ts';

const boom = () => Promise.reject(new Error('boom'));

async function fail(breaker: CircuitBreaker, times: number): Promise<void> {
  for (let i = 0; i < times; i++) await assert.rejects(breaker.execute(boom), /boom/);
}

function pathsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(isSwitchyardError(err, 'SY_CONFIG_INVALID'), String(err));
    return (err.details.issues as Array<{ path: string }>).map((i) => i.path);
  }
  assert.fail('expected SY_CONFIG_INVALID');
}

describe('createBreakerRegistry', () => {
  it('creates a breaker on first use and returns the same instance after', () => {
    const registry = createBreakerRegistry({ clock: new ManualClock() });
    assert.equal(registry.has('orders'), false);
    const orders = registry.get('orders');
    assert.equal(orders.name, 'orders');
    assert.equal(registry.get('orders'), orders);
    assert.equal(registry.has('orders'), true);
    assert.notEqual(registry.get('payments'), orders);
  });

  it('applies defaults, and per-name overrides deep-merged over them', async () => {
    const registry = createBreakerRegistry({
      clock: new ManualClock(),
      defaults: { trip: { type: 'consecutive', failures: 3 }, openDuration: '10s', halfOpen: { maxProbes: 2 } },
      overrides: { payments: { trip: { failures: 1 }, halfOpen: { successesToClose: 4 } } },
    });
    const orders = registry.get('orders');
    await fail(orders, 2);
    assert.equal(orders.state, 'closed');
    await fail(orders, 1);
    assert.equal(orders.state, 'open');
    assert.equal(orders.snapshot().probeAt, 10_000);

    const payments = registry.get('payments');
    await fail(payments, 1);
    assert.equal(payments.state, 'open', 'failures overridden');
    assert.equal(payments.snapshot().probeAt, 10_000, 'openDuration inherited');
  });

  it('an override of another trip type replaces the default trip; a partial trip refines the built-in default', async () => {
    const clock = new ManualClock();
    const registry = createBreakerRegistry({
      clock,
      defaults: { trip: { type: 'consecutive', failures: 3 } },
      overrides: {
        search: { trip: { type: 'count', size: 4, minimumCalls: 2 } },
      },
    });
    const search = registry.get('search');
    await fail(search, 2);
    assert.equal(search.state, 'open');

    const plain = createBreakerRegistry({ clock, overrides: { a: { trip: { minimumCalls: 2 } } } });
    const a = plain.get('a');
    await fail(a, 2);
    assert.equal(a.state, 'open', 'a time window (the default) with minimumCalls 2');
  });

  it('lists snapshots of every created breaker sorted by name', async () => {
    const registry = createBreakerRegistry({
      clock: new ManualClock(),
      defaults: { trip: { type: 'consecutive', failures: 1 } },
    });
    registry.get('zeta');
    await fail(registry.get('alpha'), 1);
    registry.get('mid');
    const list = registry.list();
    assert.deepEqual(
      list.map((s) => [s.name, s.state]),
      [
        ['alpha', 'open'],
        ['mid', 'closed'],
        ['zeta', 'closed'],
      ],
    );
  });

  it('aggregates state changes with the breaker name; disposal stops them', async () => {
    const registry = createBreakerRegistry({
      clock: new ManualClock(),
      defaults: { trip: { type: 'consecutive', failures: 1 } },
    });
    const events: BreakerStateChangeEvent[] = [];
    const handle = registry.onStateChange((e) => events.push(e));
    await fail(registry.get('a'), 1);
    await fail(registry.get('b'), 1);
    assert.deepEqual(
      events.map((e) => [e.name, e.from, e.to]),
      [
        ['a', 'closed', 'open'],
        ['b', 'closed', 'open'],
      ],
    );
    handle.dispose();
    registry.get('a').reset();
    assert.equal(events.length, 2);
  });

  it('saves every state with toJSON and restores it through initialStates', async () => {
    const clock = new ManualClock(1000);
    const registry = createBreakerRegistry({ clock, defaults: { trip: { type: 'consecutive', failures: 1 } } });
    await fail(registry.get('a'), 1);
    registry.get('b');
    const saved: Record<string, BreakerStateJSON> = JSON.parse(JSON.stringify(registry.toJSON()));
    assert.deepEqual(saved, {
      a: { version: 1, state: 'open', openedAt: 1000, probeAt: 6000, trips: 1 },
      b: { version: 1, state: 'closed', trips: 0 },
    });
    const restored = createBreakerRegistry({ clock, initialStates: saved });
    assert.deepEqual(restored.toJSON(), saved, 'pending states are kept before first use');
    assert.deepEqual(restored.list(), []);
    assert.equal(restored.get('a').state, 'open');
    assert.equal(restored.get('b').state, 'closed');
  });

  it('validates defaults, overrides and initial states at creation, naming the field', () => {
    assert.deepEqual(
      pathsOf(() => createBreakerRegistry({ defaults: { openDuration: 'later' } })),
      ['resilience.breakers.defaults.openDuration'],
    );
    assert.deepEqual(
      pathsOf(() => createBreakerRegistry({ overrides: { payments: { trip: { type: 'count', failureRate: 2 } } } })),
      ['resilience.breakers.payments.trip.failureRate'],
    );
    assert.deepEqual(
      pathsOf(() => createBreakerRegistry({ overrides: { payments: { halfOpen: { maxProbs: 2 } as never } } })),
      ['resilience.breakers.payments.halfOpen.maxProbs'],
    );
    assert.deepEqual(
      pathsOf(() =>
        createBreakerRegistry({ initialStates: { orders: { version: 1, state: 'shut' as never, trips: 0 } } }),
      ),
      ['resilience.breakers.orders.initialState.state'],
    );
    assert.deepEqual(
      pathsOf(() => createBreakerRegistry({ shared: { store: createMemoryBreakerStateStore(), replicaId: '' } })),
      ['resilience.breakers.shared.replicaId'],
    );
    assert.deepEqual(
      pathsOf(() => createBreakerRegistry({ overide: {} } as never)),
      ['resilience.breakers.overide'],
    );
    assert.deepEqual(
      pathsOf(() => createBreakerRegistry().get('')),
      ['resilience.breakers'],
    );
  });

  it('shares state across replicas through the registry shared option; close() is idempotent', async () => {
    const clock = new ManualClock();
    const store = createMemoryBreakerStateStore({ clock });
    const registry = createBreakerRegistry({
      clock,
      defaults: { trip: { type: 'consecutive', failures: 1 } },
      shared: { store, replicaId: 'r1', quorum: { min: 1 } },
    });
    await fail(registry.get('orders'), 1);
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    assert.equal(registry.get('orders').state, 'open');
    assert.equal(registry.list()[0]?.shared?.replicaId, 'r1');
    const first = registry.close();
    assert.equal(registry.close(), first);
    await first;
    await registry[Symbol.asyncDispose]();
    assert.equal(clock.pending, 0, 'sync timers stopped');
    const late = registry.get('late');
    assert.equal(late.snapshot().shared, undefined, 'breakers created after close are local');
    assert.equal(clock.pending, 0);
  });
});
