import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isSwitchyardError, ManualClock } from '@switchyard/core';
import { createRolloutController, type RolloutControllerInput } from './controller.ts';
import { createMemoryRolloutStore } from './memory-store.ts';
import { type RolloutOptions, resolveRolloutsOptions } from './options.ts';
import { createSqliteRolloutStore } from './sqlite-store.ts';
import type { RolloutObservation, RolloutSubsetWeight, RolloutTrafficControl } from './traffic-port.ts';
import type { RolloutStore } from './types.ts';

/** A traffic control that keeps splits in a map and lets the test emit responses. */
class FakeTraffic implements RolloutTrafficControl {
  readonly splits = new Map<string, readonly RolloutSubsetWeight[]>();
  readonly calls: Array<readonly RolloutSubsetWeight[] | undefined> = [];
  readonly #listeners = new Set<(o: RolloutObservation) => void>();
  readonly routes: ReadonlySet<string>;
  constructor(routes: readonly string[] = ['orders']) {
    this.routes = new Set(routes);
  }
  setSplit(route: string, split: readonly RolloutSubsetWeight[] | undefined): void {
    if (!this.routes.has(route)) throw new Error(`unknown route ${route}`);
    this.calls.push(split);
    if (split === undefined) this.splits.delete(route);
    else this.splits.set(route, split);
  }
  split(route: string): readonly RolloutSubsetWeight[] | undefined {
    return this.splits.get(route);
  }
  observe(listener: (o: RolloutObservation) => void): { dispose(): void } {
    this.#listeners.add(listener);
    return { dispose: () => this.#listeners.delete(listener) };
  }
  serve(subset: string, count: number, status = 200, durationMs = 10, mirrored = false, route = 'orders'): void {
    for (let i = 0; i < count; i++) {
      for (const l of this.#listeners) l({ route, subset, status, durationMs, mirrored });
    }
  }
  canaryWeight(route = 'orders'): number | undefined {
    return this.splits.get(route)?.find((w) => w.subset === 'v2')?.weight;
  }
}

const base: RolloutOptions = {
  route: 'orders',
  stable: 'v1',
  canary: 'v2',
  steps: [5, 25, 50, 100],
  pause: '30s',
  analysis: { window: '30s', minRequests: 50, maxErrorRate: 0.05 },
};

function setup(options: Partial<RolloutOptions> = {}, extra: Partial<RolloutControllerInput> = {}) {
  const clock = new ManualClock(1_700_000_000_000);
  const traffic = new FakeTraffic();
  const store = createMemoryRolloutStore();
  const controller = createRolloutController({
    rollouts: resolveRolloutsOptions({ orders: { ...base, ...options } }),
    traffic,
    clock,
    openStore: () => store,
    autoPoll: false,
    replicaId: 'a',
    ...extra,
  });
  /** Time passes in polls of 1 s; healthy traffic of `perPoll` requests to each subset. */
  const run = async (ms: number, perPoll: { v1?: number; v2?: number; v2Status?: number } = {}) => {
    for (let t = 0; t < ms; t += 1000) {
      traffic.serve('v1', perPoll.v1 ?? 0);
      traffic.serve('v2', perPoll.v2 ?? 0, perPoll.v2Status ?? 200);
      clock.advance(1000);
      await controller.tick();
    }
  };
  return { clock, traffic, store, controller, run };
}

describe('rollout controller', () => {
  it('advances through every step on healthy traffic and promotes at the last', async () => {
    const { traffic, controller, run } = setup();
    await controller.start('orders');
    assert.deepEqual(traffic.split('orders'), [
      { subset: 'v1', weight: 95 },
      { subset: 'v2', weight: 5 },
    ]);
    const seen: number[] = [];
    for (let i = 0; i < 4; i++) {
      await run(31_000, { v1: 10, v2: 5 });
      seen.push(traffic.canaryWeight() ?? -1);
    }
    assert.deepEqual(seen, [25, 50, 100, 100]);
    const view = await controller.get('orders');
    assert.equal(view.phase, 'promoted');
    assert.deepEqual(
      view.history.map((h) => [h.to, h.canaryWeight]),
      [
        ['progressing', 5],
        ['progressing', 25],
        ['progressing', 50],
        ['progressing', 100],
        ['promoted', 100],
      ],
    );
    assert.match(
      view.history[1]?.reason ?? '',
      /canary healthy: error rate 0, p99 10ms over 30s, \d+ requests; step 2: canary 25%/,
    );
    await controller.close();
  });

  it('rolls a canary answering 5xx back to stable within one window, saying why', async () => {
    const { traffic, controller, run, clock } = setup();
    await controller.start('orders');
    const started = clock.now();
    await run(5000, { v1: 10, v2: 20, v2Status: 503 });
    const view = await controller.get('orders');
    assert.equal(view.phase, 'rolled-back');
    assert.ok(clock.now() - started <= 30_000);
    assert.deepEqual(traffic.split('orders'), [
      { subset: 'v1', weight: 100 },
      { subset: 'v2', weight: 0 },
    ]);
    assert.match(view.history.at(-1)?.reason ?? '', /^canary error rate 1 > 0\.05 over \ds, \d+ requests$/);
    assert.equal(view.history.at(-1)?.by, 'controller:a');
    // Finished: no more moves however long it runs.
    await run(120_000, { v2: 5 });
    assert.equal((await controller.get('orders')).phase, 'rolled-back');
    await controller.close();
  });

  it('ignores mirrored copies and responses of other subsets or routes', async () => {
    const { traffic, controller, clock } = setup();
    await controller.start('orders');
    traffic.serve('v2', 100, 500, 10, true);
    traffic.serve('v3', 100, 500);
    traffic.serve('v2', 100, 500, 10, false, 'users');
    clock.advance(1000);
    await controller.tick();
    const view = await controller.get('orders');
    assert.equal(view.phase, 'progressing');
    assert.equal(view.observed.canary.requests, 0);
  });

  it('judges relative thresholds against stable', async () => {
    const { traffic, controller, run } = setup({
      analysis: { window: '30s', minRequests: 20, maxP99Ratio: 2 },
    });
    await controller.start('orders');
    traffic.serve('v1', 50, 200, 10);
    traffic.serve('v2', 50, 200, 100);
    await run(1000);
    const view = await controller.get('orders');
    assert.equal(view.phase, 'rolled-back');
    assert.match(view.history.at(-1)?.reason ?? '', /canary p99 100ms > 2 x stable p99 10ms/);
  });

  it('waits while the canary has too few requests, then pauses for an operator', async () => {
    const { traffic, controller, run } = setup({
      analysis: { window: '30s', minRequests: 50, maxWait: '60s' },
    });
    await controller.start('orders');
    await run(80_000, { v1: 10, v2: 1 });
    assert.equal((await controller.get('orders')).phase, 'progressing', 'still waiting within pause + maxWait');
    assert.equal(traffic.canaryWeight(), 5);
    await run(15_000, { v1: 10, v2: 1 });
    const view = await controller.get('orders');
    assert.equal(view.phase, 'paused');
    assert.match(view.history.at(-1)?.reason ?? '', /fewer than minRequests 50; waited 9\ds; paused for an operator/);
    assert.equal(traffic.canaryWeight(), 5, 'a pause keeps the weights');
    await controller.promote('orders');
    assert.equal(traffic.canaryWeight(), 100);
  });

  it('rolls back or advances on too little traffic when the policy says so', async () => {
    for (const [policy, phase, weight] of [
      ['rollback', 'rolled-back', 0],
      ['advance', 'progressing', 25],
    ] as const) {
      const { traffic, controller, run } = setup({
        analysis: { window: '10s', minRequests: 50, maxWait: '10s', onInsufficientTraffic: policy },
      });
      await controller.start('orders');
      await run(41_000);
      assert.equal((await controller.get('orders')).phase, phase, policy);
      assert.equal(traffic.canaryWeight(), weight, policy);
    }
  });

  it('promotes and aborts by hand, and refuses what does not fit the phase', async () => {
    const { traffic, controller } = setup();
    const conflict = (err: unknown) => isSwitchyardError(err, 'SY_GATEWAY_ROLLOUT_CONFLICT');
    await assert.rejects(controller.promote('orders'), conflict);
    await assert.rejects(controller.abort('orders'), conflict);
    await controller.start('orders');
    await assert.rejects(controller.start('orders'), conflict);
    const aborted = await controller.abort('orders', 'bad release notes');
    assert.equal(aborted.phase, 'aborted');
    assert.equal(aborted.history.at(-1)?.reason, 'bad release notes');
    assert.equal(aborted.history.at(-1)?.by, 'operator');
    assert.equal(traffic.canaryWeight(), 0);
    await assert.rejects(controller.promote('orders'), conflict);
    await controller.start('orders');
    const promoted = await controller.promote('orders');
    assert.equal(promoted.phase, 'promoted');
    assert.equal(traffic.canaryWeight(), 100);
    await assert.rejects(controller.get('nope'), (err: unknown) =>
      isSwitchyardError(err, 'SY_GATEWAY_ROLLOUT_NOT_FOUND'),
    );
  });

  it('blue-green switches all traffic at once, then promotes or rolls back', async () => {
    const healthy = setup({ strategy: 'blue-green', steps: undefined });
    await healthy.controller.start('orders');
    assert.equal(healthy.traffic.canaryWeight(), 100);
    await healthy.run(31_000, { v2: 5 });
    assert.equal((await healthy.controller.get('orders')).phase, 'promoted');

    const failing = setup({ strategy: 'blue-green', steps: undefined });
    await failing.controller.start('orders');
    await failing.run(3000, { v2: 30, v2Status: 500 });
    assert.equal((await failing.controller.get('orders')).phase, 'rolled-back');
    assert.equal(failing.traffic.canaryWeight(), 0);
  });

  it('two controllers sharing a store agree on the weights and only the lease holder advances', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const store = createMemoryRolloutStore();
    const rollouts = resolveRolloutsOptions({ orders: base });
    const ta = new FakeTraffic();
    const tb = new FakeTraffic();
    const a = createRolloutController({
      rollouts,
      traffic: ta,
      clock,
      openStore: () => store,
      autoPoll: false,
      replicaId: 'a',
    });
    const b = createRolloutController({
      rollouts,
      traffic: tb,
      clock,
      openStore: () => store,
      autoPoll: false,
      replicaId: 'b',
    });
    await b.start('orders');
    await a.tick();
    await b.tick();
    assert.deepEqual(ta.split('orders'), tb.split('orders'));
    assert.equal((await a.get('orders')).controller, true);
    assert.equal((await b.get('orders')).controller, false);
    // Only a's traffic counts: b sees failures, but b does not judge.
    for (let i = 0; i < 31; i++) {
      ta.serve('v2', 5);
      tb.serve('v2', 5, 500);
      clock.advance(1000);
      await a.tick();
      await b.tick();
      assert.deepEqual(ta.split('orders'), tb.split('orders'), `agree after poll ${i}`);
    }
    const view = await b.get('orders');
    assert.equal(view.canaryWeight, 25);
    assert.ok(view.history.every((h) => h.by !== 'controller:b'));
    // a stops: after the lease expires, b takes over and judges its own (failing) traffic.
    await a.close();
    for (let i = 0; i < 12; i++) {
      tb.serve('v2', 10, 500);
      clock.advance(1000);
      await b.tick();
    }
    const after = await b.get('orders');
    assert.equal(after.phase, 'rolled-back');
    assert.equal(after.history.at(-1)?.by, 'controller:b');
    assert.equal(tb.canaryWeight(), 0);
    await b.close();
  });

  it('a restarted controller resumes the step from the recorded time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-rollout-'));
    try {
      const file = join(dir, 'rollouts.db');
      const clock = new ManualClock(1_700_000_000_000);
      const rollouts = resolveRolloutsOptions({ orders: { ...base, store: `sqlite:${file}` } });
      const first = createRolloutController({ rollouts, traffic: new FakeTraffic(), clock, autoPoll: false });
      await first.start('orders');
      clock.advance(20_000);
      await first.tick();
      await first.close();

      clock.advance(5000);
      const traffic = new FakeTraffic();
      const second = createRolloutController({ rollouts, traffic, clock, autoPoll: false });
      await second.tick();
      assert.equal(traffic.canaryWeight(), 5, 'weights restored from the store');
      // 25 s of the 30 s pause are over; the new process needs its own minRequests, then advances.
      for (let i = 0; i < 6; i++) {
        traffic.serve('v2', 10);
        clock.advance(1000);
        await second.tick();
      }
      const view = await second.get('orders');
      assert.equal(view.canaryWeight, 25);
      assert.equal(view.step, 1);
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps the weights in force when the store fails, and fails actions with a code', async () => {
    const { traffic, controller, store, clock } = setup();
    await controller.start('orders');
    const broken: RolloutStore = {
      ...store,
      get: async () => {
        throw new Error('connection refused');
      },
    };
    const rollouts = resolveRolloutsOptions({ orders: base });
    const other = createRolloutController({ rollouts, traffic, clock, openStore: () => broken, autoPoll: false });
    await other.tick();
    assert.equal(traffic.canaryWeight(), 5);
    await assert.rejects(other.get('orders'), (err: unknown) =>
      isSwitchyardError(err, 'SY_GATEWAY_ROLLOUT_STORE_FAILED'),
    );
  });

  it('polls on its own with autoPoll', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const store = createMemoryRolloutStore();
    const rollouts = resolveRolloutsOptions({ orders: base });
    const starter = createRolloutController({
      rollouts,
      traffic: new FakeTraffic(),
      clock,
      openStore: () => store,
      autoPoll: false,
    });
    const traffic = new FakeTraffic();
    const poller = createRolloutController({ rollouts, traffic, clock, openStore: () => store, pollMs: 500 });
    await starter.start('orders');
    for (let i = 0; i < 10 && traffic.canaryWeight() !== 5; i++) {
      clock.advance(500);
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(traffic.canaryWeight(), 5);
    await poller.close();
  });

  it('opens SQLite stores from the store option and refuses adapter stores without a factory', () => {
    assert.throws(
      () =>
        createRolloutController({
          rollouts: resolveRolloutsOptions({ orders: { ...base, store: 'redis://127.0.0.1:6379' } }),
          traffic: new FakeTraffic(),
          autoPoll: false,
        }),
      (err: unknown) =>
        isSwitchyardError(err, 'SY_CONFIG_INVALID') &&
        /gateway\.rollouts\.orders\.store: a redis store needs @switchyard\/adapter-redis/.test(err.message),
    );
    assert.throws(
      () => createSqliteRolloutStore('/nonexistent-dir/x/rollouts.db'),
      (err: unknown) => isSwitchyardError(err, 'SY_GATEWAY_ROLLOUT_STORE_FAILED'),
    );
  });
  it('does not put older weights back when a slow poll answers after a newer read', async () => {
    const store = createMemoryRolloutStore();
    // Replica b starts the rollout; replica a polls through a store whose next read is held.
    const b = setup({}, { openStore: () => store, replicaId: 'b' });
    let hold: ((release: void) => void) | undefined;
    const slow: RolloutStore = {
      ...store,
      get: async (name) => {
        const record = await store.get(name);
        if (hold === undefined) return record;
        await new Promise<void>((resolve) => {
          hold = resolve;
        });
        return record;
      },
    };
    const a = setup({}, { openStore: () => slow, replicaId: 'a' });
    await b.controller.start('orders');
    await a.controller.tick();
    assert.equal(a.traffic.canaryWeight(), 5);

    hold = () => undefined; // the next poll reads the progressing record, then waits
    const poll = a.controller.tick();
    await new Promise((resolve) => setImmediate(resolve));
    const release = hold;
    hold = undefined;
    await b.controller.abort('orders');
    assert.equal((await a.controller.get('orders')).phase, 'aborted', 'the admin read sees the abort');
    assert.equal(a.traffic.canaryWeight(), 0, 'and applies it at once');
    release();
    await poll;
    assert.equal(a.traffic.canaryWeight(), 0, 'the slow poll did not bring the 5% back');
    assert.equal((await a.controller.get('orders')).phase, 'aborted');
  });
});
