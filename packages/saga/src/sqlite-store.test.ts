import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, it, type TestContext } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import { createSqliteSagaStore } from './sqlite-store.ts';
import type { SagaRecord, SagaStore } from './store.ts';
import { sagaStoreContract } from './testing/store-contract.ts';

sagaStoreContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-saga-sqlite-'));
  const path = join(dir, 'sagas.db');
  const store = createSqliteSagaStore({ path });
  const others: SagaStore[] = [];
  return {
    store,
    second: async () => {
      const other = createSqliteSagaStore({ path });
      others.push(other);
      return other;
    },
    cleanup: async () => {
      await Promise.all([store, ...others].map((s) => s.close()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

const T0 = 1_700_000_000_000;

function tempPath(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'sy-saga-sqlite-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'sagas.db');
}

function saga(id: string, extra: Partial<SagaRecord> = {}): SagaRecord {
  return {
    id,
    name: 'order',
    status: 'running',
    input: { id },
    outputs: {},
    meta: {},
    createdAt: T0,
    updatedAt: T0,
    version: 1,
    ...extra,
  };
}

describe('createSqliteSagaStore', () => {
  it('keeps committed sagas across a reopen', async (t) => {
    const path = tempPath(t);
    const first = createSqliteSagaStore({ path });
    await first.init();
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        first.create({ saga: saga(`s${i}`), transitions: [{ sagaId: `s${i}`, seq: 1, kind: 'saga.started', at: T0 }] }),
      ),
    );
    await first.update({ saga: saga('s3', { status: 'completed', version: 2 }), transitions: [] }, 1);
    await first.close();

    const again = createSqliteSagaStore({ path, durability: 'normal' });
    t.after(() => again.close());
    await again.init();
    assert.equal((await again.list({ limit: 100 })).sagas.length, 20);
    assert.equal((await again.get('s3'))?.status, 'completed');
    assert.equal((await again.history('s7')).length, 1);
  });

  it('refuses a file migrated by a newer version, changing nothing', async (t) => {
    const path = tempPath(t);
    const store = createSqliteSagaStore({ path });
    await store.init();
    await store.close();
    const db = new DatabaseSync(path);
    db.prepare('INSERT INTO sy_saga_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(99, 'future', T0);
    db.close();

    const newer = createSqliteSagaStore({ path });
    t.after(() => newer.close());
    await assert.rejects(newer.init(), (err: unknown) => {
      assert.ok(isSwitchyardError(err, 'SY_SAGA_SCHEMA_UNSUPPORTED'));
      assert.match((err as Error).message, /schema version 99 was written by a newer Switchyard/);
      assert.match((err as Error).message, /sagas\.db/);
      return true;
    });
    await assert.rejects(newer.get('x'), (err: unknown) => isSwitchyardError(err, 'SY_SAGA_SCHEMA_UNSUPPORTED'));
  });

  it('refuses a file that is not a SQLite database', async (t) => {
    const path = tempPath(t);
    writeFileSync(path, 'this is not a database, just some text that is long enough to look like a header'.repeat(20));
    const store = createSqliteSagaStore({ path });
    t.after(() => store.close());
    await assert.rejects(store.init(), (err: unknown) => {
      assert.ok(isSwitchyardError(err, 'SY_SAGA_SCHEMA_UNSUPPORTED'), String(err));
      assert.match((err as Error).message, /not a SQLite database/);
      return true;
    });
  });

  it('rejects bad options with SY_CONFIG_INVALID naming the field', () => {
    assert.throws(
      () => createSqliteSagaStore({ path: 'x.db', durability: 'fast' as 'full' }),
      (err: unknown) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && /saga\.sqlite\.durability/.test(String(err)),
    );
    assert.throws(
      () => createSqliteSagaStore({ path: '' }),
      (err: unknown) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && /saga\.sqlite\.path/.test(String(err)),
    );
    assert.throws(
      () => createSqliteSagaStore({ path: 'x.db', busyTimout: '1s' } as never),
      (err: unknown) => /did you mean "busyTimeout"/.test(String(err)),
    );
  });

  it('lets two stores initialise one new file at once', async (t) => {
    const path = tempPath(t);
    const stores = [createSqliteSagaStore({ path }), createSqliteSagaStore({ path })];
    t.after(() => Promise.all(stores.map((s) => s.close())));
    await Promise.all(stores.map((s) => s.init()));
    await stores[0]?.create({ saga: saga('shared'), transitions: [] });
    assert.equal((await stores[1]?.get('shared'))?.id, 'shared');
  });

  it('never gives one saga to two processes claiming the same file', async (t) => {
    const path = tempPath(t);
    const store = createSqliteSagaStore({ path });
    t.after(() => store.close());
    await store.init();
    const count = 300;
    await Promise.all(
      Array.from({ length: count }, (_, i) =>
        store.create({ saga: saga(`c${String(i).padStart(4, '0')}`, { createdAt: T0 + i }), transitions: [] }),
      ),
    );
    const child = await spawnClaimer(path);
    // On a loaded machine the parent could take everything before the child's first claim:
    // start once the child holds one, then both claim at the same time.
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !(await store.list({ limit: 1000 })).sagas.some((s) => s.owner === 'child')) {
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const mine: string[] = [];
    while (Date.now() < deadline) {
      const claimed = await store.claim({ owner: 'parent', now: T0, leaseUntil: T0 + 60_000, limit: 2 });
      mine.push(...claimed.map((s) => s.id));
      if (claimed.length === 0) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    const theirs = await child.ids;
    const all = [...mine, ...theirs];
    assert.equal(new Set(all).size, all.length, 'a saga was claimed by both processes');
    assert.equal(all.length, count, 'every saga was claimed');
    assert.ok(theirs.length > 0, 'the child claimed some');
    for (const id of theirs.slice(0, 10)) assert.equal((await store.get(id))?.owner, 'child');
  });
});

/**
 * Spawns a node process that opens the store on `path`, says `ready`, then claims until
 * nothing is left. Resolves once it is ready; `ids` resolves with what it claimed.
 */
function spawnClaimer(path: string): Promise<{ ids: Promise<string[]> }> {
  const storeUrl = new URL('./sqlite-store.ts', import.meta.url).href;
  const script = `
    const { createSqliteSagaStore } = await import(${JSON.stringify(storeUrl)});
    const store = createSqliteSagaStore({ path: ${JSON.stringify(path)} });
    await store.init();
    process.stderr.write('ready\\n');
    const ids = [];
    const deadline = Date.now() + 10000;
    while (Date.now() < deadline) {
      const claimed = await store.claim({ owner: 'child', now: ${T0}, leaseUntil: ${T0 + 60_000}, limit: 2 });
      if (claimed.length === 0) break;
      ids.push(...claimed.map((s) => s.id));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await store.close();
    process.stdout.write(JSON.stringify(ids));
  `;
  return new Promise((ready, reject) => {
    const child = spawn(process.execPath, ['--conditions=@switchyard/source', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const ids = new Promise<string[]>((resolve, failed) => {
      child.on('exit', (code) => {
        clearTimeout(timer);
        if (code === 0) resolve(JSON.parse(out) as string[]);
        else failed(new Error(`claimer exited with ${code}: ${err}`));
      });
    });
    ids.catch(reject);
    child.on('error', reject);
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      if (err.includes('ready\n')) ready({ ids });
    });
  });
}
