import type { DatabaseSync } from 'node:sqlite';

/**
 * Runs `body` in a `BEGIN IMMEDIATE` transaction: the write lock is taken first, so two
 * processes claiming the same messages serialise instead of both reading then one failing
 * to upgrade its lock. Rolls back when `body` throws.
 */
export function immediate<T>(db: DatabaseSync, body: () => T): T {
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = body();
    db.exec('COMMIT');
    return result;
  } catch (err) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw err;
  }
}
