import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSwitchyardError, ManualClock } from '@switchyard/core';
import { defineSaga, type SagaDefinition } from './definition.ts';
import { createSagaEngine } from './engine.ts';
import type { SagaEngineOptions } from './engine-options.ts';
import { crashEngine } from './internal/engine-kill.ts';
import { countingStore, deferred, until } from './internal/engine-test-kit.ts';
import { createMemorySagaStore } from './memory-store.ts';
import type { SagaTransition } from './store.ts';

type Input = { orderId: string; amount: number };

/** A 3-step saga; `failAt` names the step whose execute throws; every call is logged. */
function threeSteps(log: string[], failAt?: string) {
  const spec = (name: string, output: Record<string, string>) => ({
    execute: async () => {
      log.push(`${name}:execute`);
      if (name === failAt) throw new Error(`${name} refused`);
      return output;
    },
    compensate: async () => {
      log.push(`${name}:compensate`);
    },
  });
  return defineSaga<Input>('order')
    .step('a', spec('a', { a: '1' }))
    .step('b', spec('b', { b: '2' }))
    .step('c', spec('c', { c: '3' }))
    .build();
}

async function setup(sagas: SagaDefinition[], extra: Partial<SagaEngineOptions> = {}) {
  const clock = new ManualClock(1_000);
  const store = countingStore(createMemorySagaStore());
  const engine = createSagaEngine({ store, sagas, clock, owner: 'engine-a', ...extra });
  const events: SagaTransition[] = [];
  engine.onTransition((t) => events.push(t));
  await engine.start();
  return { clock, store, engine, events };
}

const input: Input = { orderId: 'o-1', amount: 42 };
const kinds = (ts: readonly SagaTransition[]) => ts.map((t) => (t.step ? `${t.kind}:${t.step}` : t.kind));

describe('saga engine: forward', () => {
  it('runs the steps in order, passing outputs on, and completes with every output', async () => {
    const seen: unknown[] = [];
    const saga = defineSaga<Input>('order')
      .step('create', { execute: (ctx) => ({ id: `id-${ctx.input.orderId}` }) })
      .step('approve', {
        execute: (ctx) => {
          seen.push(ctx.results.create.id, ctx.idempotencyKey, ctx.phase, ctx.attempt, ctx.name, ctx.step);
        },
      })
      .build();
    const { engine } = await setup([saga]);
    const outcome = await engine.run(saga, input, { id: 's-1' });
    assert.deepEqual(outcome, { id: 's-1', status: 'completed', outputs: { create: { id: 'id-o-1' }, approve: null } });
    assert.deepEqual(seen, ['id-o-1', 's-1:approve:execute', 'execute', 1, 'order', 'approve']);
    const record = await engine.get('s-1');
    assert.equal(record?.status, 'completed');
    assert.equal(record?.owner, undefined, 'a finished saga holds no lease');
    await engine.stop();
  });

  it('costs 4 store writes for a 3-step saga (starts merged with the previous done)', async () => {
    const { engine, store } = await setup([threeSteps([])]);
    const outcome = await engine.run(threeSteps([]), input);
    assert.equal(outcome.status, 'completed');
    assert.deepEqual(store.writes, { create: 1, update: 3 });
    await engine.stop();
  });

  it('emits every transition in order, with strictly increasing seq, matching the history', async () => {
    const { engine, events } = await setup([threeSteps([])]);
    const outcome = await engine.run(threeSteps([]), input);
    assert.deepEqual(kinds(events), [
      'saga.started',
      'step.started:a',
      'step.done:a',
      'step.started:b',
      'step.done:b',
      'step.started:c',
      'step.done:c',
      'saga.completed',
    ]);
    assert.deepEqual(
      events.map((t) => t.seq),
      [1, 2, 3, 4, 5, 6, 7, 8],
    );
    assert.deepEqual(await engine.history(outcome.id), events);
    assert.deepEqual(events[2]?.output, { a: '1' });
    await engine.stop();
  });

  it('stops listening after dispose', async () => {
    const { engine } = await setup([threeSteps([])]);
    const seen: string[] = [];
    const d = engine.onTransition((t) => seen.push(t.kind));
    d.dispose();
    await engine.run(threeSteps([]), input);
    assert.deepEqual(seen, []);
    await engine.stop();
  });

  it('runs a parallel group concurrently and starts the next stage when all are done', async () => {
    const gate = deferred();
    const running: string[] = [];
    const saga = defineSaga<Input>('par')
      .parallel({
        x: {
          execute: async () => {
            running.push('x');
            await gate.promise;
            return 1;
          },
        },
        y: {
          execute: async () => {
            running.push('y');
            await gate.promise;
            return 2;
          },
        },
      })
      .step('z', { execute: (ctx) => ctx.results.x + ctx.results.y })
      .build();
    const { engine, store } = await setup([saga]);
    const done = engine.run(saga, input);
    await until(() => running.length === 2, 'both members running');
    gate.resolve();
    const outcome = await done;
    assert.deepEqual(outcome.outputs, { x: 1, y: 2, z: 3 });
    // create (started + x, y started), x done, y done + z started, z done + completed
    assert.equal(store.writes.create + store.writes.update, 4);
    await engine.stop();
  });

  it('retries a failing step with backoff, then completes', async () => {
    let calls = 0;
    const saga = defineSaga<Input>('flaky')
      .step('charge', {
        execute: () => {
          calls++;
          if (calls < 3) throw new Error('busy');
          return { ok: true };
        },
        retry: { maxAttempts: 3, backoff: { initial: 100, jitter: 'none' } },
      })
      .build();
    const { engine, clock, events } = await setup([saga]);
    const done = engine.run(saga, input);
    await until(() => calls === 1, 'first attempt');
    clock.advance(99);
    await until(() => clock.pending > 0, 'backoff armed');
    assert.equal(calls, 1, 'no retry before the backoff');
    clock.advance(1);
    await until(() => calls === 2, 'second attempt');
    clock.advance(200);
    const outcome = await done;
    assert.equal(outcome.status, 'completed');
    assert.equal(calls, 3);
    assert.equal(events.find((t) => t.kind === 'step.done')?.attempt, 3);
    await engine.stop();
  });

  it('fails a step that outlives its timeout with SY_SAGA_STEP_TIMEOUT, aborting its signal, and compensates it', async () => {
    let signal: AbortSignal | undefined;
    const log: string[] = [];
    const saga = defineSaga<Input>('slow')
      .step('hang', {
        execute: (ctx) => {
          signal = ctx.signal;
          return new Promise<number>(() => {});
        },
        compensate: (ctx) => {
          log.push(`compensate ${ctx.idempotencyKey} output=${String(ctx.output)}`);
        },
        timeout: '2s',
      })
      .build();
    const { engine, clock } = await setup([saga]);
    const done = engine.run(saga, input, { id: 's-t' });
    await until(() => signal !== undefined, 'step called');
    clock.advance(2_000);
    const outcome = await done;
    assert.equal(outcome.status, 'compensated');
    assert.equal(outcome.error?.code, 'SY_SAGA_STEP_TIMEOUT');
    assert.equal(signal?.aborted, true);
    assert.deepEqual(log, ['compensate s-t:hang:compensate output=undefined']);
    await engine.stop();
  });

  it('fails a step whose output is not JSON with SY_SAGA_NOT_JSON naming the field', async () => {
    const saga = defineSaga<Input>('dates')
      .step('when', { execute: () => ({ at: new Date(0) }) as never })
      .build();
    const { engine } = await setup([saga]);
    const outcome = await engine.run(saga, input);
    assert.equal(outcome.status, 'compensated');
    assert.equal(outcome.error?.code, 'SY_SAGA_NOT_JSON');
    assert.match(
      outcome.error?.message ?? '',
      /step "when" output at "at": expected a JSON value, got an instance of Date/,
    );
  });

  it('drives 100 sagas at once to completion (concurrency 10 queues the rest)', async () => {
    const saga = threeSteps([]);
    const { engine } = await setup([saga], { concurrency: 10 });
    const outcomes = await Promise.all(
      Array.from({ length: 100 }, (_, i) => engine.run(saga, { orderId: `o-${i}`, amount: i })),
    );
    assert.equal(outcomes.filter((o) => o.status === 'completed').length, 100);
    assert.equal(new Set(outcomes.map((o) => o.id)).size, 100);
    const page = await engine.list({ status: 'completed', name: 'order', limit: 1000 });
    assert.equal(page.sagas.length, 100);
    await engine.stop();
  });
});

describe('saga engine: compensation', () => {
  for (const failAt of ['a', 'b', 'c']) {
    it(`failing at step ${failAt} compensates it and the steps before, in reverse order`, async () => {
      const log: string[] = [];
      const saga = threeSteps(log, failAt);
      const { engine, events } = await setup([saga]);
      const outcome = await engine.run(saga, input);
      const order = ['a', 'b', 'c'];
      const reached = order.slice(0, order.indexOf(failAt) + 1);
      assert.deepEqual(log, [
        ...reached.map((s) => `${s}:execute`),
        ...reached.toReversed().map((s) => `${s}:compensate`),
      ]);
      assert.equal(outcome.status, 'compensated');
      assert.equal(outcome.error?.code, 'SY_SAGA_STEP_FAILED');
      assert.equal(outcome.error?.message, `${failAt} refused`);
      assert.deepEqual(outcome.outputs, {}, 'compensated outputs are removed');
      const k = kinds(events);
      assert.ok(k.indexOf(`step.failed:${failAt}`) < k.indexOf('saga.compensating'));
      assert.equal(k.at(-1), 'saga.compensated');
      await engine.stop();
    });
  }

  it('skips steps without compensate and keeps their output', async () => {
    const log: string[] = [];
    const saga = defineSaga<Input>('partial')
      .step('note', { execute: () => 'noted' })
      .step('pay', {
        execute: () => 'paid',
        compensate: () => {
          log.push('refund');
        },
      })
      .step('ship', {
        execute: () => {
          throw new Error('no truck');
        },
      })
      .build();
    const { engine } = await setup([saga]);
    const outcome = await engine.run(saga, input);
    assert.equal(outcome.status, 'compensated');
    assert.deepEqual(log, ['refund']);
    assert.deepEqual(outcome.outputs, { note: 'noted' });
  });

  it('compensates a parallel group together when one member fails, then the steps before it', async () => {
    const log: string[] = [];
    const gate = deferred();
    const member = (name: string, fail: boolean) => ({
      execute: async () => {
        log.push(`${name}:execute`);
        await gate.promise;
        if (fail) throw new Error(`${name} failed`);
        return name;
      },
      compensate: async (ctx: { output: unknown }) => {
        log.push(`${name}:compensate(${String(ctx.output)})`);
        await gate.promise;
      },
    });
    const saga = defineSaga<Input>('group')
      .step('first', member('first', false))
      .parallel({ reserve: member('reserve', false), charge: member('charge', true), notify: member('notify', false) })
      .step('never', member('never', false))
      .build();
    const { engine, events } = await setup([saga]);
    gate.resolve();
    const outcome = await engine.run(saga, input);
    assert.equal(outcome.status, 'compensated');
    assert.equal(outcome.error?.message, 'charge failed');
    assert.deepEqual(log.slice(0, 4).toSorted(), [
      'charge:execute',
      'first:execute',
      'notify:execute',
      'reserve:execute',
    ]);
    assert.deepEqual(log.slice(4, 7).toSorted(), [
      'charge:compensate(undefined)',
      'notify:compensate(notify)',
      'reserve:compensate(reserve)',
    ]);
    assert.deepEqual(log.slice(7), ['first:compensate(first)']);
    assert.ok(!log.includes('never:execute'));
    const k = kinds(events);
    const groupStarted = ['compensation.started:reserve', 'compensation.started:charge', 'compensation.started:notify'];
    for (const s of groupStarted) assert.ok(k.indexOf(s) < k.indexOf('compensation.started:first'), s);
  });

  it('retries a failing compensation with backoff, recording each failure, then compensates', async () => {
    let tries = 0;
    const saga = defineSaga<Input>('undo')
      .step('pay', {
        execute: () => 'paid',
        compensate: () => {
          tries++;
          if (tries < 3) throw new Error(`refund down ${tries}`);
        },
      })
      .step('ship', {
        execute: () => {
          throw new Error('no truck');
        },
      })
      .build();
    const { engine, clock, events } = await setup([saga], {
      compensation: { maxAttempts: 5, backoff: { initial: 1_000, jitter: 'none' } },
    });
    const done = engine.run(saga, input);
    await until(() => tries === 1, 'first compensation');
    await until(() => clock.pending > 0, 'backoff armed');
    clock.advance(1_000);
    await until(() => tries === 2, 'second compensation');
    await until(() => events.filter((t) => t.kind === 'compensation.failed').length === 2, 'two failures recorded');
    clock.advance(2_000);
    const outcome = await done;
    assert.equal(outcome.status, 'compensated');
    assert.deepEqual(
      events.filter((t) => t.kind === 'compensation.failed').map((t) => [t.attempt, t.error?.message]),
      [
        [1, 'refund down 1'],
        [2, 'refund down 2'],
      ],
    );
    await engine.stop();
  });
});

describe('saga engine: begin errors', () => {
  it('rejects before start, after stop, for an unknown definition and a non-JSON input', async () => {
    const saga = threeSteps([]);
    const other = defineSaga('other')
      .step('x', { execute: () => 1 })
      .build();
    const store = createMemorySagaStore();
    const engine = createSagaEngine({ store, sagas: [saga], clock: new ManualClock() });
    await assert.rejects(engine.begin(saga, input), (e) => isSwitchyardError(e, 'SY_SAGA_ENGINE_STOPPED'));
    await engine.start();
    await assert.rejects(engine.begin(other, {}), (e: Error) => {
      assert.ok(isSwitchyardError(e, 'SY_SAGA_UNKNOWN_DEFINITION'));
      assert.match(e.message, /saga "other": not registered with this engine \(known: "order"\)/);
      return true;
    });
    await assert.rejects(engine.begin(saga, { orderId: 'x', amount: Number.NaN }), (e) =>
      isSwitchyardError(e, 'SY_SAGA_NOT_JSON'),
    );
    await engine.begin(saga, input, { id: 'dup' });
    await assert.rejects(engine.begin(saga, input, { id: 'dup' }), (e) => isSwitchyardError(e, 'SY_SAGA_DUPLICATE_ID'));
    await engine.stop();
    await assert.rejects(engine.begin(saga, input), (e) => isSwitchyardError(e, 'SY_SAGA_ENGINE_STOPPED'));
  });

  it('validates its options, naming the field', () => {
    assert.throws(
      () => createSagaEngine({ store: createMemorySagaStore(), sagas: [], leaseDuration: '1s', renewInterval: '2s' }),
      (e: Error) =>
        isSwitchyardError(e, 'SY_CONFIG_INVALID') &&
        /saga\.engine\.renewInterval: expected less than leaseDuration/.test(e.message),
    );
    assert.throws(
      () => createSagaEngine({ store: createMemorySagaStore(), sagas: [], concurency: 3 } as never),
      (e: Error) => /saga\.engine\.concurency: unknown field \(did you mean "concurrency"\?\)/.test(e.message),
    );
  });

  it('begins while the store is down, writing once it is back; wait() rejects SY_CANCELLED on abort', async () => {
    const saga = threeSteps([]);
    const { engine, store, clock } = await setup([saga], { storeRetry: { backoff: { initial: 100, jitter: 'none' } } });
    const errors: unknown[] = [];
    engine.onError((e) => errors.push(e));
    store.failWrites = new Error('connection refused');
    const begun = engine.begin(saga, input, { id: 'later' });
    await until(() => store.writes.create === 1 && clock.pending > 0, 'first create failed');
    store.failWrites = undefined;
    clock.advance(100);
    assert.equal(await begun, 'later');
    assert.equal((await engine.wait('later')).status, 'completed');
    assert.equal(errors.length, 1);
    const controller = new AbortController();
    const stuck = defineSaga('stuck')
      .step('x', { execute: () => new Promise<number>(() => {}) })
      .build();
    const e2 = createSagaEngine({ store, sagas: [stuck], clock, owner: 'b' });
    await e2.start();
    const id = await e2.begin(stuck, null);
    const waiting = e2.wait(id, { signal: controller.signal });
    controller.abort(new Error('bored'));
    await assert.rejects(waiting, (e) => isSwitchyardError(e, 'SY_CANCELLED'));
    await assert.rejects(e2.wait('nope'), (e) => isSwitchyardError(e, 'SY_SAGA_NOT_FOUND'));
    crashEngine(e2);
    await engine.stop();
  });
});
