import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '@switchyard/core';
import type { BreakerReport, SharedBreakerState } from './breaker-state-store.ts';
import { breakerOpenPeriodMs, breakerQuorum, createMemoryBreakerStateStore } from './memory-breaker-state-store.ts';
import { breakerStateStoreContract } from './testing/breaker-state-store-contract.ts';

breakerStateStoreContract('memory', async () => {
  const clock = new ManualClock(1_700_000_000_000);
  return {
    store: createMemoryBreakerStateStore({ clock }),
    advance: async (ms) => clock.advance(ms),
    cleanup: async () => {},
  };
});

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

const tripped = (replicaId: string): BreakerReport => ({
  replicaId,
  tripped: true,
  ttlMs: 5000,
  quorum: { min: 2, ratio: 0.5 },
  open: { baseMs: 1000, factor: 2, maxMs: 30_000 },
});

describe('breakerQuorum', () => {
  it('is max(min, ceil(ratio × live)), capped at live, at least 1', () => {
    assert.equal(breakerQuorum({ min: 2, ratio: 0.5 }, 4), 2);
    assert.equal(breakerQuorum({ min: 2, ratio: 0.5 }, 5), 3);
    assert.equal(breakerQuorum({ min: 2, ratio: 0.5 }, 10), 5);
    assert.equal(breakerQuorum({ min: 1, ratio: 0.3 }, 10), 3);
    assert.equal(breakerQuorum({ min: 1, ratio: 0.7 }, 10), 7);
    assert.equal(breakerQuorum({ min: 5, ratio: 0.1 }, 3), 3);
    assert.equal(breakerQuorum({ min: 0, ratio: 0 }, 3), 1);
    assert.equal(breakerQuorum({ min: 2, ratio: 0.5 }, 0), 1);
  });
});

describe('breakerOpenPeriodMs', () => {
  it('grows by factor per trip, capped at maxMs, in whole milliseconds', () => {
    const open = { baseMs: 1000, factor: 2, maxMs: 30_000 };
    assert.deepEqual(
      [1, 2, 3, 5, 6, 100, 5000].map((trips) => breakerOpenPeriodMs(open, trips)),
      [1000, 2000, 4000, 16_000, 30_000, 30_000, 30_000],
    );
    assert.equal(breakerOpenPeriodMs({ baseMs: 100, factor: 1.5, maxMs: 1000 }, 2), 150);
    assert.equal(breakerOpenPeriodMs({ baseMs: 333, factor: 1.1, maxMs: 1000 }, 2), 366);
    assert.equal(breakerOpenPeriodMs({ baseMs: 1000, factor: 1, maxMs: 500 }, 1), 500);
  });
});

describe('createMemoryBreakerStateStore', () => {
  it('uses the system clock when none is given', async () => {
    const store = createMemoryBreakerStateStore();
    const state = await store.report('solo', tripped('a'));
    assert.equal(state.state, 'open');
    assert.ok(state.probeInMs > 900 && state.probeInMs <= 1000);
  });

  it('returns probeInMs relative to the store clock, counting down as time passes', async () => {
    const clock = new ManualClock(0);
    const store = createMemoryBreakerStateStore({ clock });
    await store.report('b', tripped('a'));
    clock.advance(400);
    assert.equal((await store.read('b')).probeInMs, 600);
    clock.advance(600);
    assert.equal((await store.read('b')).state, 'half-open');
  });

  it('a report with ttlMs 0 removes the replica', async () => {
    const store = createMemoryBreakerStateStore({ clock: new ManualClock(0) });
    await store.report('b', { ...tripped('a'), tripped: false });
    await store.report('b', { ...tripped('c'), tripped: false });
    const gone = await store.report('b', { ...tripped('a'), tripped: false, ttlMs: 0 });
    assert.equal(gone.replicas, 1);
  });

  it('calls every watcher of the name in a microtask after each transition, its own included', async () => {
    const clock = new ManualClock(0);
    const store = createMemoryBreakerStateStore({ clock });
    const a: SharedBreakerState[] = [];
    const b: SharedBreakerState[] = [];
    const other: SharedBreakerState[] = [];
    const watchA = store.watch?.('b', (s) => a.push(s));
    store.watch?.('b', (s) => b.push(s));
    store.watch?.('other', (s) => other.push(s));

    const pending = store.report('b', tripped('x'));
    assert.equal(a.length, 0, 'not synchronously inside the call');
    await pending;
    await flush();
    assert.deepEqual(
      a.map((s) => [s.state, s.generation]),
      [['open', 1]],
    );
    assert.equal(b.length, 1);
    assert.equal(other.length, 0);

    // No transition, no call: a report while open, a read, a refused probe.
    await store.report('b', tripped('y'));
    await store.read('b');
    await store.acquireProbe('b', { replicaId: 'x', generation: 1, maxProbes: 1, leaseMs: 100 });
    clock.advance(1000); // open -> half-open is a matter of time, not announced
    await store.read('b');
    await flush();
    assert.equal(a.length, 1);

    watchA?.[Symbol.dispose]();
    await store.reset('b');
    await flush();
    assert.equal(a.length, 1);
    assert.deepEqual(
      b.map((s) => s.state),
      ['open', 'closed'],
    );
  });

  it('a throwing watcher neither reaches the caller nor stops the others', async () => {
    const store = createMemoryBreakerStateStore({ clock: new ManualClock(0) });
    const heard: number[] = [];
    store.watch?.('b', () => {
      throw new Error('listener bug');
    });
    store.watch?.('b', (s) => heard.push(s.generation));
    await store.reset('b');
    await flush();
    assert.deepEqual(heard, [1]);
  });

  it('close() drops every watcher and is idempotent', async () => {
    const store = createMemoryBreakerStateStore({ clock: new ManualClock(0) });
    const heard: number[] = [];
    store.watch?.('b', (s) => heard.push(s.generation));
    await store.close?.();
    await store.close?.();
    await store.reset('b');
    await flush();
    assert.deepEqual(heard, []);
  });

  it('frees a replica’s oldest slot first when it holds several', async () => {
    const clock = new ManualClock(0);
    const store = createMemoryBreakerStateStore({ clock });
    await store.report('b', tripped('a'));
    clock.advance(1000);
    const request = { replicaId: 'a', generation: 1, maxProbes: 2, leaseMs: 1000 };
    await store.acquireProbe('b', request);
    clock.advance(500);
    await store.acquireProbe('b', request);
    const outcome = {
      replicaId: 'a',
      generation: 1,
      success: true,
      successesToClose: 2,
      open: { baseMs: 1000, factor: 2, maxMs: 30_000 },
    };
    await store.completeProbe('b', outcome);
    // Had the newer slot been freed, the older one would expire at 1000 + 1000 and free itself.
    clock.advance(600);
    assert.equal((await store.read('b')).probes.inFlight, 1);
    assert.equal((await store.completeProbe('b', outcome)).state, 'closed');
  });
});
