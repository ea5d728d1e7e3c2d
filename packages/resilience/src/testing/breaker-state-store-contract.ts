import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type {
  BreakerReport,
  BreakerStateStore,
  OpenPeriod,
  ProbeOutcome,
  ProbeRequest,
  Quorum,
  SharedBreakerState,
} from '../breaker-state-store.ts';

/** What the factory given to {@link breakerStateStoreContract} returns for each test. */
export interface BreakerStateStoreFixture {
  /** A store with no state for any name the suite uses (each test picks fresh names too). */
  readonly store: BreakerStateStore;
  /**
   * Moves the store's time forward by `ms`. A store on a `ManualClock` advances it; a store on
   * real time (Redis server time) waits at least `ms` of real time and sets `realTime`.
   */
  advance(ms: number): Promise<void>;
  /** Releases what the fixture created (connections, keys). Runs after every test. */
  cleanup(): Promise<void>;
  /**
   * True when time passes on its own (the store reads a real clock): the suite then allows
   * for the milliseconds its calls take when it compares `probeInMs`, and keeps every timed
   * step short (tens to hundreds of milliseconds). @default false
   */
  readonly realTime?: boolean;
}

/** Open period used throughout the suite: 100ms, doubling, capped at 300ms. */
const OPEN: OpenPeriod = { baseMs: 100, factor: 2, maxMs: 300 };
const QUORUM: Quorum = { min: 2, ratio: 0.5 };
/** Replica time to live long enough to outlast any test. */
const LONG_TTL = 60_000;

function report(replicaId: string, tripped: boolean, extra: Partial<BreakerReport> = {}): BreakerReport {
  return { replicaId, tripped, ttlMs: LONG_TTL, quorum: QUORUM, open: OPEN, ...extra };
}

function probe(replicaId: string, generation: number, extra: Partial<ProbeRequest> = {}): ProbeRequest {
  return { replicaId, generation, maxProbes: 2, leaseMs: LONG_TTL, ...extra };
}

function outcome(
  replicaId: string,
  generation: number,
  success: boolean,
  extra: Partial<ProbeOutcome> = {},
): ProbeOutcome {
  return { replicaId, generation, success, successesToClose: 2, open: OPEN, ...extra };
}

let nameSeq = 0;
/** A breaker name no other test uses, so suites may share one backing store. */
function freshName(label: string): string {
  nameSeq++;
  return `contract-${label}-${nameSeq}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * Fields that must not change when a call is meant to change nothing. Time alone turns `open`
 * into `half-open` (on a real clock it may happen between two calls), so both read the same.
 */
function stable(state: SharedBreakerState) {
  return {
    state: state.state === 'closed' ? 'closed' : 'open or half-open',
    generation: state.generation,
    trips: state.trips,
    tripped: state.tripped,
    replicas: state.replicas,
    probes: { ...state.probes },
  };
}

/**
 * The behaviour every {@link BreakerStateStore} must show, as a `node:test` suite: quorum
 * opening, relative open periods, half-open probes with leases, closing, generations, reset,
 * isolation between names and atomicity under concurrent calls. `@switchyard/resilience`'s
 * memory store and `@switchyard/adapter-redis` run it; a new store should too.
 *
 * Each test calls `factory` for a fresh fixture and `cleanup` afterwards. Durations are short
 * (100ms open period, 100ms probe leases) so a `realTime` store passes the suite in seconds.
 *
 * @param name - shown in the suite's title, e.g. `memory` or `redis`
 * @example
 * ```ts
 * import { ManualClock } from '@switchyard/core';
 * import { createMemoryBreakerStateStore } from '@switchyard/resilience';
 * import { breakerStateStoreContract } from '@switchyard/resilience/testing';
 *
 * breakerStateStoreContract('memory', async () => {
 *   const clock = new ManualClock(1_000_000);
 *   return {
 *     store: createMemoryBreakerStateStore({ clock }),
 *     advance: async (ms) => clock.advance(ms),
 *     cleanup: async () => {},
 *   };
 * });
 * ```
 */
export function breakerStateStoreContract(name: string, factory: () => Promise<BreakerStateStoreFixture>): void {
  /** Runs `body` with a fresh fixture, always cleaning up. */
  async function withStore(body: (fixture: BreakerStateStoreFixture) => Promise<void>): Promise<void> {
    const fixture = await factory();
    try {
      await body(fixture);
    } finally {
      await fixture.cleanup();
    }
  }

  /** `probeInMs` just after opening with period `ms`: exact on a manual clock, a little less on real time. */
  function assertProbeIn(fixture: BreakerStateStoreFixture, state: SharedBreakerState, ms: number): void {
    const slack = fixture.realTime ? 60 : 0;
    assert.ok(
      state.probeInMs <= ms && state.probeInMs >= ms - slack,
      `probeInMs: expected ${ms}${slack ? ` (-${slack})` : ''}, got ${state.probeInMs}`,
    );
  }

  /**
   * Opens `breaker` through two tripped replicas `a` and `b` (`a` alone opens it unless other
   * replicas reported before); returns the state after `b`'s report.
   */
  async function open(
    store: BreakerStateStore,
    breaker: string,
    period: OpenPeriod = OPEN,
  ): Promise<SharedBreakerState> {
    await store.report(breaker, report('a', true, { open: period }));
    const state = await store.report(breaker, report('b', true, { open: period }));
    assert.notEqual(state.state, 'closed');
    return state;
  }

  /** Opens `breaker` and lets the open period pass; returns the half-open state. */
  async function halfOpen(fixture: BreakerStateStoreFixture, breaker: string): Promise<SharedBreakerState> {
    const opened = await open(fixture.store, breaker);
    await fixture.advance(opened.probeInMs + 5);
    const state = await fixture.store.read(breaker);
    assert.equal(state.state, 'half-open');
    return state;
  }

  describe(`BreakerStateStore contract: ${name}`, () => {
    it('reads an unknown breaker as closed, generation 0, no replicas', async () => {
      await withStore(async ({ store }) => {
        assert.deepEqual(await store.read(freshName('unknown')), {
          state: 'closed',
          generation: 0,
          probeInMs: 0,
          trips: 0,
          tripped: 0,
          replicas: 0,
          probes: { inFlight: 0, successes: 0 },
        });
      });
    });

    it('stays closed while the tripped replicas are below the quorum', async () => {
      await withStore(async ({ store }) => {
        const breaker = freshName('below');
        for (const id of ['a', 'b', 'c']) await store.report(breaker, report(id, false));
        const state = await store.report(breaker, report('d', true));
        assert.equal(state.state, 'closed');
        assert.equal(state.generation, 0);
        assert.equal(state.tripped, 1);
        assert.equal(state.replicas, 4);
        assert.equal(state.trips, 0);
      });
    });

    it('opens when the quorum is reached: generation + 1, trips 1, probeInMs = base period', async (t) => {
      await withStore(async (fixture) => {
        const { store } = fixture;
        const breaker = freshName('open');
        for (const id of ['a', 'b']) await store.report(breaker, report(id, false));
        await store.report(breaker, report('c', true));
        const state = await store.report(breaker, report('d', true));
        assert.equal(state.state, 'open');
        assert.equal(state.generation, 1);
        assert.equal(state.trips, 1);
        assert.equal(state.tripped, 2);
        assert.equal(state.replicas, 4);
        assertProbeIn(fixture, state, OPEN.baseMs);
        const read = await store.read(breaker);
        assert.notEqual(read.state, 'closed');
        assert.equal(read.generation, 1);
        t.diagnostic(`probeInMs after opening: ${state.probeInMs}`);
      });
    });

    it('computes the quorum as max(min, ceil(ratio × live)), capped at live', async () => {
      await withStore(async ({ store }) => {
        // ratio dominates: 10 live, ratio 0.3 -> 3 (not 4: 0.3 × 10 is 3.0000000000000004 in floats).
        const byRatio = freshName('ratio');
        const q = { quorum: { min: 1, ratio: 0.3 } };
        for (let i = 0; i < 8; i++) await store.report(byRatio, report(`ok${i}`, false, q));
        await store.report(byRatio, report('t1', true, q));
        assert.equal((await store.report(byRatio, report('t2', true, q))).state, 'closed');
        assert.equal((await store.report(byRatio, report('ok0', true, q))).state, 'open');

        // min dominates: 4 live, min 3 (ratio 0.25 would say 1).
        const byMin = freshName('min');
        const m = { quorum: { min: 3, ratio: 0.25 } };
        for (const id of ['a', 'b']) await store.report(byMin, report(id, false, m));
        await store.report(byMin, report('c', true, m));
        assert.equal((await store.report(byMin, report('d', true, m))).state, 'closed');
        assert.equal((await store.report(byMin, report('a', true, m))).state, 'open');

        // capped at the live count: a lone replica decides for itself even with min 2.
        const alone = freshName('alone');
        const lone = await store.report(alone, report('solo', true));
        assert.equal(lone.replicas, 1);
        assert.equal(lone.state, 'open');
      });
    });

    it('counts only replicas whose report is within its time to live', async () => {
      await withStore(async ({ store, advance }) => {
        const breaker = freshName('ttl');
        await store.report(breaker, report('ok', false));
        await store.report(breaker, report('short', true, { ttlMs: 100 }));
        await advance(150);
        const before = await store.read(breaker);
        assert.equal(before.replicas, 1, 'the expired replica no longer counts as live');
        assert.equal(before.tripped, 0, 'the expired replica no longer counts as tripped');
        // Had 'short' still counted, 2 tripped of 3 live would reach the quorum of 2.
        const state = await store.report(breaker, report('long', true));
        assert.equal(state.state, 'closed');
        assert.equal(state.replicas, 2);
        assert.equal(state.tripped, 1);
      });
    });

    it('any report checks the quorum: a shrinking fleet opens on a report that is not tripped', async () => {
      await withStore(async ({ store, advance }) => {
        const breaker = freshName('shrink');
        const q = { quorum: { min: 1, ratio: 0.5 } };
        for (const id of ['b', 'c', 'd']) await store.report(breaker, report(id, false, { ...q, ttlMs: 100 }));
        // 1 tripped of 4 live: the quorum is 2.
        assert.equal((await store.report(breaker, report('a', true, q))).state, 'closed');
        await advance(150);
        // b, c and d are gone: 1 tripped of 2 live reaches the quorum of 1.
        const state = await store.report(breaker, report('e', false, q));
        assert.equal(state.replicas, 2);
        assert.equal(state.state, 'open');
        assert.equal(state.generation, 1);
      });
    });

    it('a replica reporting not tripped withdraws its earlier tripped report', async () => {
      await withStore(async ({ store }) => {
        const breaker = freshName('withdraw');
        for (const id of ['a', 'b', 'c']) await store.report(breaker, report(id, false));
        await store.report(breaker, report('a', true));
        await store.report(breaker, report('a', false));
        const state = await store.report(breaker, report('b', true));
        assert.equal(state.state, 'closed');
        assert.equal(state.tripped, 1);
      });
    });

    it('reports never close: not in open, not in half-open', async () => {
      await withStore(async (fixture) => {
        const { store } = fixture;
        const breaker = freshName('never-close');
        const opened = await open(store, breaker);
        for (const id of ['a', 'b', 'c']) {
          const state = await store.report(breaker, report(id, false));
          assert.notEqual(state.state, 'closed');
          assert.equal(state.generation, opened.generation);
        }
        await fixture.advance(opened.probeInMs + 5);
        const state = await store.report(breaker, report('a', false));
        assert.equal(state.state, 'half-open');
        assert.equal(state.generation, opened.generation);
        assert.equal(state.tripped, 0);
        // Tripped reports while open do not re-open or count a new trip either.
        const again = await store.report(breaker, report('b', true));
        assert.equal(again.generation, opened.generation);
        assert.equal(again.trips, 1);
      });
    });

    it('reads an open breaker as half-open once its period has passed, without a new generation', async () => {
      await withStore(async (fixture) => {
        const breaker = freshName('half-open');
        // A longer period, so a slow real clock cannot pass it between the two reads.
        const opened = await open(fixture.store, breaker, { ...OPEN, baseMs: 400 });
        await fixture.advance(100);
        const stillOpen = await fixture.store.read(breaker);
        assert.equal(stillOpen.state, 'open');
        assert.ok(stillOpen.probeInMs > 0 && stillOpen.probeInMs <= 300, `probeInMs ${stillOpen.probeInMs}`);
        await fixture.advance(stillOpen.probeInMs + 5);
        const state = await fixture.store.read(breaker);
        assert.equal(state.state, 'half-open');
        assert.equal(state.probeInMs, 0);
        assert.equal(state.generation, opened.generation);
        assert.equal(state.trips, 1);
      });
    });

    it('grants probes only in half-open, only for the current generation, at most maxProbes', async () => {
      await withStore(async (fixture) => {
        const { store } = fixture;
        const closed = freshName('probe-closed');
        assert.equal((await store.acquireProbe(closed, probe('a', 0))).granted, false);

        const longOpen = freshName('probe-open');
        const long = await open(store, longOpen, { ...OPEN, baseMs: 60_000, maxMs: 60_000 });
        const early = await store.acquireProbe(longOpen, probe('a', long.generation));
        assert.equal(early.granted, false, 'no probe while open');
        assert.equal(early.state.state, 'open');

        const breaker = freshName('probe');
        const opened = await open(store, breaker);
        await fixture.advance(opened.probeInMs + 5);
        const stale = await store.acquireProbe(breaker, probe('a', opened.generation - 1));
        assert.equal(stale.granted, false, 'no probe for a stale generation');
        assert.equal(stale.state.generation, opened.generation, 'the refusal tells the current generation');

        const first = await store.acquireProbe(breaker, probe('a', opened.generation));
        assert.equal(first.granted, true);
        assert.equal(first.state.state, 'half-open');
        assert.equal(first.state.probes.inFlight, 1);
        const second = await store.acquireProbe(breaker, probe('a', opened.generation));
        assert.equal(second.granted, true, 'one replica may hold several slots');
        const third = await store.acquireProbe(breaker, probe('b', opened.generation));
        assert.equal(third.granted, false, 'maxProbes (2) slots are held');
        assert.equal(third.state.probes.inFlight, 2);
      });
    });

    it('frees a probe slot whose lease expired, and ignores the late outcome of its holder', async () => {
      await withStore(async (fixture) => {
        const { store } = fixture;
        const breaker = freshName('lease');
        const half = await halfOpen(fixture, breaker);
        const one = { maxProbes: 1, leaseMs: 100 };
        assert.equal((await store.acquireProbe(breaker, probe('dead', half.generation, one))).granted, true);
        assert.equal((await store.acquireProbe(breaker, probe('b', half.generation, one))).granted, false);
        await fixture.advance(150);
        assert.equal((await store.read(breaker)).probes.inFlight, 0, 'the expired lease is not counted');
        const retry = await store.acquireProbe(breaker, probe('b', half.generation, one));
        assert.equal(retry.granted, true);
        assert.equal(retry.state.probes.inFlight, 1);

        const before = await store.read(breaker);
        const late = await store.completeProbe(breaker, outcome('dead', half.generation, false));
        assert.deepEqual(stable(late), stable(before), 'an outcome without a held slot changes nothing');

        const closed = await store.completeProbe(breaker, outcome('b', half.generation, true, { successesToClose: 1 }));
        assert.equal(closed.state, 'closed');
      });
    });

    it('closes after successesToClose probe successes: generation + 1, trips 0, tripped cleared', async () => {
      await withStore(async (fixture) => {
        const { store } = fixture;
        const breaker = freshName('close');
        await store.report(breaker, report('c', false));
        const half = await halfOpen(fixture, breaker);
        assert.equal(half.tripped, 2);
        const gen = half.generation;
        assert.equal((await store.acquireProbe(breaker, probe('a', gen))).granted, true);
        assert.equal((await store.acquireProbe(breaker, probe('b', gen))).granted, true);

        const one = await store.completeProbe(breaker, outcome('a', gen, true));
        assert.equal(one.state, 'half-open');
        assert.equal(one.generation, gen);
        assert.deepEqual(one.probes, { inFlight: 1, successes: 1 });

        const closed = await store.completeProbe(breaker, outcome('b', gen, true));
        assert.equal(closed.state, 'closed');
        assert.equal(closed.generation, gen + 1);
        assert.equal(closed.trips, 0);
        assert.equal(closed.tripped, 0);
        assert.equal(closed.replicas, 3, 'closing keeps the live replicas');
        assert.equal(closed.probeInMs, 0);
        assert.deepEqual(closed.probes, { inFlight: 0, successes: 0 });

        // The cleared tripped reports no longer count: one new tripped report stays below quorum.
        const after = await store.report(breaker, report('a', true));
        assert.equal(after.state, 'closed');
        assert.equal(after.tripped, 1);
      });
    });

    it('a freed slot lets another probe run; successes add up across slots', async () => {
      await withStore(async (fixture) => {
        const { store } = fixture;
        const breaker = freshName('slots');
        const half = await halfOpen(fixture, breaker);
        const gen = half.generation;
        const k1 = { maxProbes: 1 };
        const s3 = { successesToClose: 3 };
        for (const id of ['a', 'b']) {
          assert.equal((await store.acquireProbe(breaker, probe(id, gen, k1))).granted, true);
          const state = await store.completeProbe(breaker, outcome(id, gen, true, s3));
          assert.equal(state.state, 'half-open');
        }
        assert.equal((await store.read(breaker)).probes.successes, 2);
        assert.equal((await store.acquireProbe(breaker, probe('c', gen, k1))).granted, true);
        assert.equal((await store.completeProbe(breaker, outcome('c', gen, true, s3))).state, 'closed');
      });
    });

    it('a probe failure reopens at once with the next, longer period (factor, capped at maxMs)', async () => {
      await withStore(async (fixture) => {
        const { store } = fixture;
        const breaker = freshName('reopen');
        let state = await halfOpen(fixture, breaker);
        // trips 1 -> 100ms; failing probes make trips 2 -> 200ms, trips 3 -> 400ms capped at 300ms.
        for (const [trips, period] of [
          [2, 200],
          [3, 300],
          [4, 300],
        ] as const) {
          const gen = state.generation;
          assert.equal((await store.acquireProbe(breaker, probe('a', gen))).granted, true);
          const reopened = await store.completeProbe(breaker, outcome('a', gen, false));
          assert.equal(reopened.state, 'open');
          assert.equal(reopened.generation, gen + 1);
          assert.equal(reopened.trips, trips);
          assert.deepEqual(reopened.probes, { inFlight: 0, successes: 0 });
          assertProbeIn(fixture, reopened, period);
          if (trips < 4) {
            await fixture.advance(reopened.probeInMs + 5);
            state = await store.read(breaker);
            assert.equal(state.state, 'half-open');
          }
        }
      });
    });

    it('a failure after some successes discards them', async () => {
      await withStore(async (fixture) => {
        const { store } = fixture;
        const breaker = freshName('fail-after-success');
        const half = await halfOpen(fixture, breaker);
        const gen = half.generation;
        await store.acquireProbe(breaker, probe('a', gen));
        await store.acquireProbe(breaker, probe('b', gen));
        await store.completeProbe(breaker, outcome('a', gen, true, { successesToClose: 3 }));
        const reopened = await store.completeProbe(breaker, outcome('b', gen, false, { successesToClose: 3 }));
        assert.equal(reopened.state, 'open');
        assert.deepEqual(reopened.probes, { inFlight: 0, successes: 0 });
      });
    });

    it('outcomes for another generation change nothing', async () => {
      await withStore(async (fixture) => {
        const { store } = fixture;
        const breaker = freshName('stale');
        const half = await halfOpen(fixture, breaker);
        const gen = half.generation;
        await store.acquireProbe(breaker, probe('a', gen));
        await store.acquireProbe(breaker, probe('b', gen));
        const reopened = await store.completeProbe(breaker, outcome('a', gen, false));
        assert.equal(reopened.generation, gen + 1);

        // 'b' still thinks it holds a slot of generation `gen`.
        const before = await store.read(breaker);
        for (const success of [true, false]) {
          const after = await store.completeProbe(breaker, outcome('b', gen, success, { successesToClose: 1 }));
          assert.deepEqual(stable(after), stable(before));
        }
        const future = await store.completeProbe(breaker, outcome('b', gen + 5, true, { successesToClose: 1 }));
        assert.deepEqual(stable(future), stable(before));

        // The same holds in half-open of the new generation: a stale success does not count.
        await fixture.advance(reopened.probeInMs + 5);
        const half2 = await store.read(breaker);
        assert.equal((await store.acquireProbe(breaker, probe('c', half2.generation))).granted, true);
        const staleSuccess = await store.completeProbe(breaker, outcome('c', gen, true, { successesToClose: 1 }));
        assert.equal(staleSuccess.state, 'half-open');
        assert.deepEqual(staleSuccess.probes, { inFlight: 1, successes: 0 });
      });
    });

    it('outcomes from a replica holding no slot change nothing', async () => {
      await withStore(async (fixture) => {
        const { store } = fixture;
        const breaker = freshName('no-slot');
        const half = await halfOpen(fixture, breaker);
        const before = await store.read(breaker);
        for (const success of [true, false]) {
          const after = await store.completeProbe(
            breaker,
            outcome('x', half.generation, success, { successesToClose: 1 }),
          );
          assert.deepEqual(stable(after), stable(before));
        }
      });
    });

    it('reset closes and clears everything but the live replicas', async () => {
      await withStore(async (fixture) => {
        const { store } = fixture;
        const breaker = freshName('reset');
        await store.report(breaker, report('c', false));
        const half = await halfOpen(fixture, breaker);
        await store.acquireProbe(breaker, probe('a', half.generation));
        const reset = await store.reset(breaker);
        assert.equal(reset.state, 'closed');
        assert.equal(reset.generation, half.generation + 1);
        assert.equal(reset.trips, 0);
        assert.equal(reset.tripped, 0);
        assert.equal(reset.replicas, 3);
        assert.equal(reset.probeInMs, 0);
        assert.deepEqual(reset.probes, { inFlight: 0, successes: 0 });
        const stale = await store.completeProbe(breaker, outcome('a', half.generation, false));
        assert.equal(stale.state, 'closed', 'a probe granted before the reset no longer counts');

        // A reset of a closed breaker is still a transition (it invalidates outstanding probes).
        const again = await store.reset(breaker);
        assert.equal(again.generation, reset.generation + 1);
        // And the quorum works as before afterwards.
        await store.report(breaker, report('a', true));
        const reopened = await store.report(breaker, report('b', true));
        assert.equal(reopened.state, 'open');
        assert.equal(reopened.trips, 1);
        assert.equal(reopened.generation, again.generation + 1);
      });
    });

    it('keeps breakers of different names apart', async () => {
      await withStore(async (fixture) => {
        const { store } = fixture;
        const one = freshName('one');
        const two = freshName('two');
        await store.report(two, report('a', false));
        await open(store, one);
        const other = await store.read(two);
        assert.equal(other.state, 'closed');
        assert.equal(other.generation, 0);
        assert.equal(other.replicas, 1);
        assert.equal(other.tripped, 0);
        assert.equal((await store.acquireProbe(two, probe('a', 0))).granted, false);
        await store.reset(two);
        assert.notEqual((await store.read(one)).state, 'closed');
      });
    });

    it('keeps its invariants under concurrent calls', async () => {
      await withStore(async (fixture) => {
        const { store } = fixture;
        const breaker = freshName('concurrent');
        // 20 replicas report tripped at once: the breaker opens exactly once.
        const reports = await Promise.all(
          Array.from({ length: 20 }, (_, i) => store.report(breaker, report(`r${i}`, true))),
        );
        const opened = await store.read(breaker);
        assert.notEqual(opened.state, 'closed');
        assert.equal(opened.generation, 1);
        assert.equal(opened.trips, 1);
        assert.equal(opened.replicas, 20);
        assert.ok(reports.every((s) => s.generation <= 1));

        await fixture.advance(opened.probeInMs + 5);
        // 20 concurrent acquires for 3 slots: exactly 3 granted.
        const k3 = { maxProbes: 3 };
        const acquires = await Promise.all(
          Array.from({ length: 20 }, (_, i) => store.acquireProbe(breaker, probe(`r${i}`, 1, k3))),
        );
        const winners = acquires.flatMap((a, i) => (a.granted ? [`r${i}`] : []));
        assert.equal(winners.length, 3);
        assert.equal((await store.read(breaker)).probes.inFlight, 3);

        // The 3 holders succeed at once with S = 3: the breaker closes exactly once.
        await Promise.all(
          winners.map((id) => store.completeProbe(breaker, outcome(id, 1, true, { successesToClose: 3 }))),
        );
        const closed = await store.read(breaker);
        assert.equal(closed.state, 'closed');
        assert.equal(closed.generation, 2);

        // Concurrent failures of holders reopen exactly once.
        const again = freshName('concurrent-fail');
        const half = await halfOpen(fixture, again);
        const holders = ['a', 'b', 'c'];
        for (const id of holders) await store.acquireProbe(again, probe(id, half.generation, k3));
        await Promise.all(holders.map((id) => store.completeProbe(again, outcome(id, half.generation, false))));
        const reopened = await store.read(again);
        assert.equal(reopened.generation, half.generation + 1);
        assert.equal(reopened.trips, 2);
      });
    });

    it('watch: listeners hear of transitions until disposed', async (t) => {
      await withStore(async ({ store }) => {
        if (store.watch === undefined) {
          t.diagnostic('this store has no watch(); skipped');
          return;
        }
        const breaker = freshName('watch');
        const heard: SharedBreakerState[] = [];
        const watcher = store.watch(breaker, (state) => heard.push(state));
        try {
          // A subscription may take a moment to take effect (Redis pub/sub): reset until heard.
          const deadline = Date.now() + 3000;
          let last = await store.reset(breaker);
          while (!heard.some((s) => s.generation === last.generation)) {
            assert.ok(Date.now() < deadline, `no watch notification within 3s (heard ${heard.length})`);
            await delay(20);
            if (!heard.some((s) => s.generation === last.generation)) last = await store.reset(breaker);
          }
          heard.length = 0;
          await store.report(breaker, report('a', true));
          const opened = await store.report(breaker, report('b', true));
          await waitFor(() => heard.some((s) => s.generation === opened.generation), 3000, 'the opening');
          const note = heard.find((s) => s.generation === opened.generation);
          assert.equal(note?.state, 'open');
          assert.equal(note?.trips, 1);
        } finally {
          watcher.dispose();
        }
        heard.length = 0;
        watcher.dispose(); // idempotent
        await store.reset(breaker);
        await delay(100);
        assert.equal(heard.length, 0, 'a disposed listener is not called');
      });
    });
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` every 10ms until it holds or `ms` pass (then fails naming `what`). */
async function waitFor(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    assert.ok(Date.now() < deadline, `timed out after ${ms}ms waiting for ${what}`);
    await delay(10);
  }
}
