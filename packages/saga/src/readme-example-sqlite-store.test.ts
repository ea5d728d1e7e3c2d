// The SQLite saga store example of packages/saga/README.md, run as a test.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { createSqliteSagaStore } from '@switchyard/saga';

it('README: SQLite saga store', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-readme-'));
  try {
    // README example starts
    const store = createSqliteSagaStore({ path: join(dir, 'sagas.db') }); // durability: 'full' by default
    await store.init(); // creates or migrates the tables; safe from several processes at once

    const now = Date.now();
    await store.create({
      saga: {
        id: 'order-42',
        name: 'place-order',
        status: 'running',
        input: { orderId: 42 },
        outputs: {},
        meta: {},
        createdAt: now,
        updatedAt: now,
        version: 1,
      },
      transitions: [{ sagaId: 'order-42', seq: 1, kind: 'saga.started', at: now }],
    });

    // An engine takes the sagas nobody holds (or whose holder died) for 30 seconds.
    const claimed = await store.claim({ owner: 'engine-a', now, leaseUntil: now + 30_000, limit: 10 });
    console.log(claimed.map((s) => `${s.id} v${s.version}`)); // [ 'order-42 v2' ]
    await store.close();
    // README example ends
    assert.deepEqual(
      claimed.map((s) => [s.id, s.version, s.owner]),
      [['order-42', 2, 'engine-a']],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
