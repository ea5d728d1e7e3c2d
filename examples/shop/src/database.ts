import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';

/**
 * Opens (creating when needed) the SQLite file a service owns, `<dataDir>/<name>.sqlite`.
 *
 * Every instance of a service opens the same file: WAL lets readers run beside the one
 * writer, and the busy timeout makes a second instance wait for the write lock instead of
 * failing with `SQLITE_BUSY`.
 *
 * @param dataDir - a directory path or `file:` URL; created when missing
 * @example
 * ```ts
 * const db = openServiceDatabase('inventory', '/var/lib/shop'); // /var/lib/shop/inventory.sqlite
 * ```
 */
export function openServiceDatabase(name: string, dataDir: string | URL): DatabaseSync {
  const dir = typeof dataDir === 'string' ? dataDir : fileURLToPath(dataDir);
  mkdirSync(dir, { recursive: true });
  const db = new DatabaseSync(join(dir, `${name}.sqlite`));
  configureDatabase(db);
  return db;
}

/**
 * Applies the pragmas every shop database uses: WAL, a 5 s busy timeout, foreign keys.
 *
 * @example
 * ```ts
 * const db = new DatabaseSync(':memory:');
 * configureDatabase(db);
 * ```
 */
export function configureDatabase(db: DatabaseSync): void {
  db.exec('PRAGMA busy_timeout = 5000');
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA foreign_keys = ON');
}

/**
 * Runs `fn` in one write transaction: committed when it returns, rolled back when it throws.
 * Inside a transaction already, `fn` joins it.
 *
 * `BEGIN IMMEDIATE` takes the write lock up front. A deferred transaction that reads and
 * then writes can fail with `SQLITE_BUSY` at once (the busy timeout does not apply) when
 * another instance wrote in between; taking the lock first makes it wait instead.
 * `fn` must be synchronous: the transaction ends when it returns.
 *
 * @example
 * ```ts
 * transaction(db, () => {
 *   db.prepare('UPDATE items SET stock = stock - 1 WHERE sku = ?').run('SKU-MOUSE');
 * });
 * ```
 */
export function transaction<T>(db: DatabaseSync, fn: () => T): T {
  if (db.isTransaction) return fn();
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = fn();
    db.exec('COMMIT');
    return result;
  } catch (err) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw err;
  }
}
