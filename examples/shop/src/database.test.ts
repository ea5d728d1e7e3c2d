import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import { openServiceDatabase, transaction } from './database.ts';

function counter(): { db: DatabaseSync; rows: () => number } {
  const db = new DatabaseSync(':memory:');
  db.exec('CREATE TABLE t (n INTEGER)');
  const count = db.prepare('SELECT count(*) AS n FROM t');
  return { db, rows: () => (count.get() as { n: number }).n };
}

describe('transaction', () => {
  it('rolls back everything when fn throws', () => {
    const { db, rows } = counter();
    assert.throws(
      () =>
        transaction(db, () => {
          db.exec('INSERT INTO t VALUES (1)');
          throw new Error('stop');
        }),
      /stop/,
    );
    assert.equal(rows(), 0);
    assert.equal(db.isTransaction, false);
  });

  it('commits when fn returns, and a nested call joins the outer transaction', () => {
    const { db, rows } = counter();
    assert.throws(() =>
      transaction(db, () => {
        transaction(db, () => db.exec('INSERT INTO t VALUES (1)'));
        throw new Error('outer fails');
      }),
    );
    assert.equal(rows(), 0);
    assert.equal(
      transaction(db, () => {
        db.exec('INSERT INTO t VALUES (1)');
        return 'done';
      }),
      'done',
    );
    assert.equal(rows(), 1);
  });
});

describe('openServiceDatabase', () => {
  it('creates the directory and <name>.sqlite in WAL mode with a busy timeout', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shop-db-'));
    try {
      const db = openServiceDatabase('orders', join(dir, 'nested'));
      try {
        assert.ok(existsSync(join(dir, 'nested', 'orders.sqlite')));
        assert.equal(db.prepare('PRAGMA journal_mode').get()?.journal_mode, 'wal');
        assert.equal(db.prepare('PRAGMA busy_timeout').get()?.timeout, 5000);
      } finally {
        db.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
