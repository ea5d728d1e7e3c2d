/**
 * The engine on the embedded SQLite store: the same behaviour as on the memory store, across
 * two store connections on one file (two engines in two processes share a file this way).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { ManualClock } from '@switchyard/core';
import { defineSaga } from './definition.ts';
import { createSagaEngine } from './engine.ts';
import { crashEngine } from './internal/engine-kill.ts';
import { deferred, until } from './internal/engine-test-kit.ts';
import { createSqliteSagaStore } from './sqlite-store.ts';
import type { SagaStore } from './store.ts';

function sqliteFile(t: TestContext) {
  const dir = mkdtempSync(join(tmpdir(), 'sy-saga-engine-'));
  const stores: SagaStore[] = [];
  t.after(async () => {
    await Promise.all(stores.map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    const store = createSqliteSagaStore({ path: join(dir, 'sagas.db') });
    stores.push(store);
    return store;
  };
}

describe('saga engine on the SQLite store', () => {
  it('completes 100 concurrent 3-step sagas and compensates a failing one', async (t) => {
    const open = sqliteFile(t);
    const log: string[] = [];
    const saga = defineSaga<{ n: number }>('order')
      .step('a', {
        execute: (ctx) => ({ a: ctx.input.n }),
        compensate: (ctx) => void log.push(`undo a ${ctx.output?.a}`),
      })
      .step('b', {
        execute: (ctx) => {
          if (ctx.input.n === -1) throw new Error('b refused');
          return ctx.results.a.a * 2;
        },
        compensate: (ctx) => void log.push(`undo b ${ctx.output}`),
      })
      .step('c', { execute: (ctx) => ctx.results.b + 1 })
      .build();
    const engine = createSagaEngine({ store: open(), sagas: [saga], clock: new ManualClock(0), owner: 'A' });
    await engine.start();
    const outcomes = await Promise.all(Array.from({ length: 100 }, (_, n) => engine.run(saga, { n })));
    assert.ok(outcomes.every((o, n) => o.status === 'completed' && o.outputs.c === n * 2 + 1));
    const failed = await engine.run(saga, { n: -1 });
    assert.equal(failed.status, 'compensated');
    assert.equal(failed.error?.message, 'b refused');
    assert.deepEqual(log, ['undo b undefined', 'undo a -1']);
    assert.deepEqual(
      (await engine.history(failed.id)).map((t) => `${t.kind}${t.step ? `:${t.step}` : ''}`),
      [
        'saga.started',
        'step.started:a',
        'step.done:a',
        'step.started:b',
        'step.failed:b',
        'saga.compensating',
        'compensation.started:b',
        'compensation.done:b',
        'compensation.started:a',
        'compensation.done:a',
        'saga.compensated',
      ],
    );
    await engine.stop();
  });

  it('another engine on its own connection takes over a crashed engine’s saga with the same key', async (t) => {
    const open = sqliteFile(t);
    const keys: string[] = [];
    const hang = deferred<never>();
    const saga = defineSaga('crash')
      .step('a', { execute: () => 1 })
      .step('b', {
        execute: (ctx) => {
          keys.push(ctx.idempotencyKey);
          return keys.length === 1 ? hang.promise : 2;
        },
      })
      .build();
    const clock = new ManualClock(0);
    const a = createSagaEngine({ store: open(), sagas: [saga], clock, owner: 'A', leaseDuration: '30s' });
    await a.start();
    await a.begin(saga, null, { id: 'c-1' });
    await until(() => keys.length === 1, 'b running on A');
    crashEngine(a);
    clock.advance(30_000);
    const b = createSagaEngine({ store: open(), sagas: [saga], clock, owner: 'B', leaseDuration: '30s' });
    await b.start();
    const outcome = await b.wait('c-1');
    assert.deepEqual(outcome, { id: 'c-1', status: 'completed', outputs: { a: 1, b: 2 } });
    assert.deepEqual(keys, ['c-1:b:execute', 'c-1:b:execute']);
    await b.stop();
  });
});
