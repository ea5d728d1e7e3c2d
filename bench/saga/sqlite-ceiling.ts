/**
 * SQLite's own ceiling on this machine: single-row inserts of a saga-like row into a table
 * shaped like the store's `sy_sagas` (same columns and indexes), one commit per insert
 * (autocommit), with the store's `durability: 'full'` pragmas (WAL, `synchronous=FULL`).
 */
import { DatabaseSync } from 'node:sqlite';

const TABLE = `CREATE TABLE IF NOT EXISTS ceiling (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, input TEXT NOT NULL, outputs TEXT NOT NULL,
  error TEXT, parked_direction TEXT, meta TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
  version INTEGER NOT NULL, owner TEXT, lease_until INTEGER
) STRICT;
CREATE INDEX IF NOT EXISTS ceiling_created ON ceiling (created_at, id);
CREATE INDEX IF NOT EXISTS ceiling_status_created ON ceiling (status, created_at, id);`;

/** An open ceiling database; `measure` inserts for `seconds` and returns commits per second. */
export interface SqliteCeiling {
  measure(seconds: number): number;
  close(): void;
}

/** Opens (creating) the ceiling database at `path` with the same pragmas as the store's `'full'`. */
export function openSqliteCeiling(path: string): SqliteCeiling {
  const db = new DatabaseSync(path);
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA synchronous = FULL');
  db.exec(TABLE);
  const insert = db.prepare(
    `INSERT INTO ceiling (id, name, status, input, outputs, error, parked_direction, meta, created_at, updated_at,
       version, owner, lease_until)
     VALUES (?, 'bench-order', 'running', ?, '{}', NULL, NULL, '{}', ?, ?, 1, 'bench', ?)`,
  );
  let n = 0;
  return {
    measure(seconds) {
      const input = JSON.stringify({ orderId: 0, amount: 42, sku: 'sku-0' });
      const started = process.hrtime.bigint();
      const until = started + BigInt(Math.round(seconds * 1e9));
      let count = 0;
      let now = started;
      while (now < until) {
        const at = Date.now();
        insert.run(`ceiling-${n++}`, input, at, at, at + 30_000);
        count++;
        now = process.hrtime.bigint();
      }
      return count / (Number(now - started) / 1e9);
    },
    close: () => db.close(),
  };
}
