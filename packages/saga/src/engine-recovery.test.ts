import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '@switchyard/core';
import { defineSaga, type SagaDefinition } from './definition.ts';
import { createSagaEngine } from './engine.ts';
import { crashEngine } from './internal/engine-kill.ts';
import { countingStore, deferred, until } from './internal/engine-test-kit.ts';
import { createMemorySagaStore } from './memory-store.ts';
import type { SagaStore, SagaTransition } from './store.ts';

const LEASE = 30_000;

function engineOn(store: SagaStore, clock: ManualClock, owner: string, sagas: SagaDefinition[]) {
  const engine = createSagaEngine({ store, clock, owner, sagas, leaseDuration: LEASE, pollInterval: 5_000 });
  const events: SagaTransition[] = [];
  engine.onTransition((t) => events.push(t));
  return { engine, events };
}

/** Advances `clock` in `step` ms slices, letting the engines' async work run between them. */
async function advance(clock: ManualClock, ms: number, step = 1_000) {
  for (let t = 0; t < ms; t += step) {
    clock.advance(Math.min(step, ms - t));
    for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
  }
}

describe('saga engine: recovery and leases', () => {
  it('resumes forward after a crash mid-step: another engine re-runs the step with the same key', async () => {
    const keys: string[] = [];
    const hang = deferred<never>();
    const saga = defineSaga('crash')
      .step('a', { execute: () => 'a' })
      .step('b', {
        execute: (ctx) => {
          keys.push(`${ctx.idempotencyKey}@${ctx.attempt}`);
          return keys.length === 1 ? hang.promise : 'b';
        },
      })
      .step('c', { execute: (ctx) => `${ctx.results.a}${ctx.results.b}` })
      .build();
    const clock = new ManualClock(0);
    const store = createMemorySagaStore();
    const a = engineOn(store, clock, 'A', [saga]);
    await a.engine.start();
    await a.engine.begin(saga, null, { id: 's-1' });
    await until(() => keys.length === 1, 'b running on A');
    crashEngine(a.engine);

    const b = engineOn(store, clock, 'B', [saga]);
    await b.engine.start();
    assert.equal((await store.get('s-1'))?.owner, 'A', "B may not claim before A's lease ends");
    await advance(clock, LEASE + 5_000, 5_000);
    const outcome = await b.engine.wait('s-1');
    assert.deepEqual(outcome, { id: 's-1', status: 'completed', outputs: { a: 'a', b: 'b', c: 'ab' } });
    assert.deepEqual(keys, ['s-1:b:execute@1', 's-1:b:execute@1']);
    const history = await store.history('s-1');
    assert.deepEqual(
      history.map((t) => `${t.kind}${t.step ? `:${t.step}` : ''}@${t.owner}`),
      [
        'saga.started@A',
        'step.started:a@A',
        'step.done:a@A',
        'step.started:b@A',
        'step.done:b@B',
        'step.started:c@B',
        'step.done:c@B',
        'saga.completed@B',
      ],
    );
    await b.engine.stop();
  });

  it('resumes backward after a crash while compensating', async () => {
    const log: string[] = [];
    const hang = deferred<never>();
    let undoB = 0;
    const saga = defineSaga('crash-back')
      .step('a', { execute: () => log.push('a'), compensate: () => void log.push('undo a') })
      .step('b', {
        execute: () => log.push('b'),
        compensate: (ctx) => {
          undoB++;
          log.push(`undo b ${ctx.idempotencyKey}`);
          return undoB === 1 ? hang.promise : undefined;
        },
      })
      .step('c', {
        execute: () => {
          log.push('c');
          throw new Error('c failed');
        },
      })
      .build();
    const clock = new ManualClock(0);
    const store = createMemorySagaStore();
    const a = engineOn(store, clock, 'A', [saga]);
    await a.engine.start();
    await a.engine.begin(saga, null, { id: 's-2' });
    await until(() => undoB === 1, 'compensating b on A');
    crashEngine(a.engine);
    assert.equal((await store.get('s-2'))?.status, 'compensating');

    const b = engineOn(store, clock, 'B', [saga]);
    await advance(clock, LEASE, 10_000);
    await b.engine.start();
    const outcome = await b.engine.wait('s-2');
    assert.equal(outcome.status, 'compensated');
    assert.equal(outcome.error?.message, 'c failed');
    assert.deepEqual(log, ['a', 'b', 'c', 'undo b s-2:b:compensate', 'undo b s-2:b:compensate', 'undo a']);
    assert.ok(!b.events.some((t) => t.kind.startsWith('step.')), 'B never went forward');
    await b.engine.stop();
  });

  it('two engines on one store never drive the same saga; each step runs once', async () => {
    const runs = new Map<string, number>();
    const gate = deferred();
    const count = (key: string) => runs.set(key, (runs.get(key) ?? 0) + 1);
    const saga = defineSaga('shared')
      .step('one', {
        execute: async (ctx) => {
          count(ctx.idempotencyKey);
          await gate.promise;
          return 1;
        },
      })
      .step('two', { execute: (ctx) => void count(ctx.idempotencyKey) })
      .build();
    const clock = new ManualClock(0);
    const store = countingStore(createMemorySagaStore());
    const a = engineOn(store, clock, 'A', [saga]);
    const b = engineOn(store, clock, 'B', [saga]);
    await a.engine.start();
    await b.engine.start();
    const ids = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a.engine : b.engine).begin(saga, null, { id: `s-${i}` })),
    );
    await until(() => runs.size === 40, 'every first step running');
    // Three lease lengths pass while the steps are blocked: renewals keep each saga with its engine.
    await advance(clock, 3 * LEASE, 2_500);
    gate.resolve();
    const outcomes = await Promise.all(ids.map((id, i) => (i % 2 === 0 ? a.engine : b.engine).wait(id)));
    assert.ok(outcomes.every((o) => o.status === 'completed'));
    assert.equal(runs.size, 80);
    assert.ok(
      [...runs.values()].every((n) => n === 1),
      'no step ran twice',
    );
    for (const id of ids) {
      const owners = new Set((await store.history(id)).map((t) => t.owner));
      assert.equal(owners.size, 1, `${id} written by one engine`);
    }
    await a.engine.stop();
    await b.engine.stop();
  });

  it('stops driving a saga whose lease was lost: aborts its call and writes nothing more', async () => {
    const signals: AbortSignal[] = [];
    const release = deferred<string>();
    let secondRan = false;
    const saga = defineSaga('stolen')
      .step('one', {
        execute: (ctx) => {
          signals.push(ctx.signal);
          return release.promise;
        },
      })
      .step('two', {
        execute: () => {
          secondRan = true;
        },
      })
      .build();
    const clock = new ManualClock(0);
    const store = countingStore(createMemorySagaStore());
    const a = engineOn(store, clock, 'A', [saga]);
    await a.engine.start();
    await a.engine.begin(saga, null, { id: 's-x' });
    await until(() => signals.length === 1, 'step running');
    // A thief claims the saga (as an engine would once the lease seemed over).
    const [stolen] = await store.claim({ owner: 'thief', now: 1e12, leaseUntil: 2e12, limit: 1 });
    assert.equal(stolen?.id, 's-x');
    const writes = store.writes.update;
    const eventsBefore = a.events.length;
    await advance(clock, 10_000, 10_000); // A's renewal finds the lease gone
    await until(() => signals[0]?.aborted === true, 'call aborted');
    assert.equal((signals[0]?.reason as { code?: string } | undefined)?.code, 'SY_SAGA_CONFLICT');
    release.resolve('late');
    await new Promise<void>((r) => setImmediate(r));
    assert.equal(store.writes.update, writes, 'A wrote nothing after losing the lease');
    assert.equal(a.events.length, eventsBefore);
    assert.equal(secondRan, false);
    assert.equal((await store.get('s-x'))?.owner, 'thief');
    await a.engine.stop();
  });

  it('a write refused with SY_SAGA_CONFLICT ends driving without further writes or events', async () => {
    const release = deferred<string>();
    let secondRan = false;
    const saga = defineSaga('raced')
      .step('one', { execute: () => release.promise })
      .step('two', {
        execute: () => {
          secondRan = true;
        },
      })
      .build();
    const clock = new ManualClock(0);
    const store = countingStore(createMemorySagaStore());
    const a = engineOn(store, clock, 'A', [saga]);
    await a.engine.start();
    await a.engine.begin(saga, null, { id: 's-y' });
    await store.claim({ owner: 'thief', now: 1e12, leaseUntil: 2e12, limit: 1 });
    const eventsBefore = a.events.length;
    release.resolve('done');
    await until(() => store.writes.update === 1, 'A tried to write step.done');
    await new Promise<void>((r) => setImmediate(r));
    assert.equal(store.writes.update, 1);
    assert.equal(a.events.length, eventsBefore);
    assert.equal(secondRan, false);
    assert.equal((await store.history('s-y')).length, 2, 'only saga.started and step.started');
    await a.engine.stop();
  });

  it('retries writes while the store is down and loses no transition', async () => {
    const release = deferred<string>();
    const saga = defineSaga('outage')
      .step('one', { execute: () => release.promise })
      .build();
    const clock = new ManualClock(0);
    const store = countingStore(createMemorySagaStore());
    const engine = createSagaEngine({
      store,
      clock,
      owner: 'A',
      sagas: [saga],
      storeRetry: { backoff: { initial: 100, jitter: 'none' } },
    });
    const errors: unknown[] = [];
    engine.onError((e) => errors.push(e));
    await engine.start();
    await engine.begin(saga, null, { id: 's-o' });
    store.failWrites = new Error('ECONNREFUSED');
    release.resolve('ok');
    await until(() => store.writes.update === 1 && clock.pending > 2, 'first write failed, backoff armed');
    clock.advance(100);
    await until(() => store.writes.update === 2, 'second write failed');
    store.failWrites = undefined;
    clock.advance(200);
    const outcome = await engine.wait('s-o');
    assert.equal(outcome.status, 'completed');
    assert.equal(errors.length, 2);
    assert.deepEqual(
      (await store.history('s-o')).map((t) => t.kind),
      ['saga.started', 'step.started', 'step.done', 'saga.completed'],
    );
    await engine.stop();
  });

  it('stop() lets running calls finish up to the timeout, then aborts them and releases the leases', async () => {
    const signals: AbortSignal[] = [];
    const saga = defineSaga('graceful')
      .step('one', {
        execute: (ctx) => {
          signals.push(ctx.signal);
          return new Promise<string>(() => {}); // ignores its signal
        },
      })
      .build();
    const clock = new ManualClock(0);
    const store = createMemorySagaStore();
    const a = engineOn(store, clock, 'A', [saga]);
    await a.engine.start();
    await a.engine.begin(saga, null, { id: 's-g' });
    await until(() => signals.length === 1, 'step running');
    const stopped = a.engine.stop({ timeout: '5s' });
    await new Promise<void>((r) => setImmediate(r));
    assert.equal(signals[0]?.aborted, false, 'not aborted before the timeout');
    clock.advance(5_000);
    await stopped;
    assert.equal(signals[0]?.aborted, true);
    const record = await store.get('s-g');
    assert.equal(record?.status, 'running');
    assert.ok((record?.leaseUntil ?? Infinity) <= clock.now(), 'lease released');

    let ranOnB = false;
    const sagaB = defineSaga('graceful')
      .step('one', {
        execute: () => {
          ranOnB = true;
        },
      })
      .build();
    const b = engineOn(store, clock, 'B', [sagaB]);
    await b.engine.start(); // claims at once: no waiting for the lease to end
    assert.equal((await b.engine.wait('s-g')).status, 'completed');
    assert.equal(ranOnB, true);
    await b.engine.stop();
  });

  it('stop() does not wait out a step retry backoff, nor fail the step: another engine retries it', async () => {
    let calls = 0;
    const saga = defineSaga('backoff')
      .step('one', {
        execute: () => {
          calls++;
          if (calls === 1) throw new Error('busy');
          return 'ok';
        },
        retry: { maxAttempts: 5, backoff: { initial: '1h', max: '1h', jitter: 'none' } },
      })
      .build();
    const clock = new ManualClock(0);
    const store = createMemorySagaStore();
    const a = engineOn(store, clock, 'A', [saga]);
    await a.engine.start();
    await a.engine.begin(saga, null, { id: 's-b' });
    await until(() => calls === 1 && clock.pending > 2, 'backoff armed');
    await a.engine.stop({ timeout: '1h' }); // resolves with no time passing
    assert.equal(calls, 1);
    assert.deepEqual(
      (await store.history('s-b')).map((t) => t.kind),
      ['saga.started', 'step.started'],
    );
    const b = engineOn(store, clock, 'B', [saga]);
    await b.engine.start();
    assert.equal((await b.engine.wait('s-b')).status, 'completed');
    assert.equal(calls, 2);
    await b.engine.stop();
  });

  it('recovers only sagas whose definition it knows', async () => {
    const known = defineSaga('known')
      .step('x', { execute: () => 1 })
      .build();
    const unknown = defineSaga('unknown')
      .step('y', { execute: () => new Promise<number>(() => {}) })
      .build();
    const clock = new ManualClock(0);
    const store = createMemorySagaStore();
    const a = engineOn(store, clock, 'A', [unknown]);
    await a.engine.start();
    await a.engine.begin(unknown, null, { id: 'u-1' });
    crashEngine(a.engine);
    clock.advance(LEASE);
    const b = engineOn(store, clock, 'B', [known]);
    await b.engine.start();
    assert.equal(await b.engine.recover(), 0);
    assert.equal((await store.get('u-1'))?.owner, 'A');
    await b.engine.stop();
  });
});
