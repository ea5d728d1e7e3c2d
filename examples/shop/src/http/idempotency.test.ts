import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { beforeEach, describe, it } from 'node:test';
import { ManualClock } from '@switchyard/core';
import { shopError } from '../errors.ts';
import { idempotentMutations } from './idempotency.ts';
import { createRouter, type Router } from './router.ts';
import { type AppResponse, appRequest } from './types.ts';

/** A counter service: each POST adds `by` to a counter row, so effects can be counted. */
function counterApp(clock = new ManualClock(0)): { app: Router; effects: () => number } {
  const db = new DatabaseSync(':memory:');
  db.exec('CREATE TABLE effects (n INTEGER NOT NULL)');
  const add = db.prepare('INSERT INTO effects (n) VALUES (?)');
  const mutation = idempotentMutations(db, { clock, ttlMs: 1000 });
  const app = createRouter({ onError: () => {} })
    .route(
      'POST',
      '/counters/:name',
      mutation((req, { name }) => {
        const { by } = req.body as { by: number };
        const n = Number(add.run(by).lastInsertRowid);
        return { status: 201, body: { name, effect: n } };
      }),
    )
    .route(
      'POST',
      '/refused',
      mutation(() => {
        add.run(0);
        throw shopError('SY_SHOP_INSUFFICIENT_STOCK', 'not now');
      }),
    )
    .route(
      'DELETE',
      '/counters/:name',
      mutation(() => ({ status: 200, body: undefined })),
    );
  const count = db.prepare('SELECT count(*) AS n FROM effects');
  return { app, effects: () => (count.get() as { n: number }).n };
}

function post(app: Router, path: string, body: unknown, key?: string): AppResponse {
  return app.handle(
    appRequest('POST', path, key === undefined ? { body } : { body, headers: { 'Idempotency-Key': key } }),
  );
}

function code(res: AppResponse): string | undefined {
  return (res.body as { error?: { code: string } }).error?.code;
}

describe('idempotentMutations', () => {
  let app: Router;
  let effects: () => number;
  let clock: ManualClock;
  beforeEach(() => {
    clock = new ManualClock(0);
    ({ app, effects } = counterApp(clock));
  });

  it('rejects an empty, over-long or non-visible key with 400 before running', () => {
    for (const key of ['', 'k'.repeat(256), 'has space', 'tab\there', 'é']) {
      const res = post(app, '/counters/a', { by: 1 }, key);
      assert.equal(res.status, 400, `key ${JSON.stringify(key)}`);
      assert.equal(code(res), 'SY_SHOP_INVALID_IDEMPOTENCY_KEY');
    }
    assert.equal(effects(), 0);
    assert.equal(post(app, '/counters/a', { by: 1 }, 'k'.repeat(255)).status, 201);
  });

  it('answers the same key with another body with 422 and no effect', () => {
    post(app, '/counters/a', { by: 1 }, 'key-1');
    const res = post(app, '/counters/a', { by: 2 }, 'key-1');
    assert.equal(res.status, 422);
    assert.equal(code(res), 'SY_SHOP_IDEMPOTENCY_MISMATCH');
    assert.match((res.body as { error: { message: string } }).error.message, /different body/);
    assert.equal(effects(), 1);
  });

  it('answers the same key on another path or method with 422', () => {
    post(app, '/counters/a', { by: 1 }, 'key-1');
    const otherPath = post(app, '/counters/b', { by: 1 }, 'key-1');
    assert.equal(otherPath.status, 422);
    assert.match(
      (otherPath.body as { error: { message: string } }).error.message,
      /first used for POST \/counters\/a, not POST \/counters\/b/,
    );
    const otherMethod = app.handle(appRequest('DELETE', '/counters/a', { headers: { 'idempotency-key': 'key-1' } }));
    assert.equal(otherMethod.status, 422);
    assert.equal(effects(), 1);
  });

  it('replays the stored response for the same key, with one effect', () => {
    const first = post(app, '/counters/a', { by: 1 }, 'key-1');
    const second = post(app, '/counters/a', { by: 1 }, 'key-1');
    assert.equal(first.status, 201);
    assert.equal(first.headers?.['idempotent-replayed'], undefined);
    assert.equal(second.status, 201);
    assert.deepEqual(second.body, first.body);
    assert.equal(second.headers?.['idempotent-replayed'], 'true');
    assert.equal(effects(), 1);
  });

  it('treats bodies that differ only in key order as the same request', () => {
    post(app, '/counters/a', { by: 1, note: { x: 1, y: 2 } }, 'key-1');
    const res = post(app, '/counters/a', { note: { y: 2, x: 1 }, by: 1 }, 'key-1');
    assert.equal(res.headers?.['idempotent-replayed'], 'true');
    assert.equal(effects(), 1);
  });

  it('replays a response without a body', () => {
    const del = () => app.handle(appRequest('DELETE', '/counters/a', { headers: { 'idempotency-key': 'del-1' } }));
    assert.equal(del().status, 200);
    const again = del();
    assert.deepEqual([again.status, again.body, again.headers?.['idempotent-replayed']], [200, undefined, 'true']);
  });

  it('runs every request without a key', () => {
    post(app, '/counters/a', { by: 1 });
    post(app, '/counters/a', { by: 1 });
    assert.equal(effects(), 2);
  });

  it('rolls back a thrown error and does not remember the key', () => {
    const first = post(app, '/refused', { by: 1 }, 'key-r');
    assert.equal(first.status, 409);
    const second = post(app, '/refused', { by: 1 }, 'key-r');
    assert.equal(second.status, 409);
    assert.equal(second.headers?.['idempotent-replayed'], undefined);
    assert.equal(effects(), 0);
  });

  it('forgets a key after its time to live', () => {
    post(app, '/counters/a', { by: 1 }, 'key-1');
    clock.advance(999);
    assert.equal(post(app, '/counters/a', { by: 1 }, 'key-1').headers?.['idempotent-replayed'], 'true');
    clock.advance(1);
    const fresh = post(app, '/counters/a', { by: 2 }, 'key-1');
    assert.equal(fresh.status, 201);
    assert.equal(fresh.headers?.['idempotent-replayed'], undefined);
    assert.equal(effects(), 2);
  });
});
