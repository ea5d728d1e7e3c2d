import type { DatabaseSync } from 'node:sqlite';
import type { ChoreographyRecord, ChoreographyStore } from './choreography-store.ts';
import { sagaError } from './errors.ts';
import { quoteIdentifier } from './internal/sql-identifier.ts';
import type { SqliteOutbox } from './sqlite-outbox.ts';

/** Options of {@link createSqliteChoreographyStore}. */
export interface SqliteChoreographyStoreOptions {
  /** The table (letters, digits, `_`). @default "sy_choreography" */
  readonly table?: string | undefined;
  /**
   * An outbox on the same `db`: compensation events are then written to it in the transaction
   * that records the failure, so they are published (by its relay) exactly when the failure is
   * recorded, crash or not.
   */
  readonly outbox?: SqliteOutbox | undefined;
}

/**
 * A {@link ChoreographyStore} in a `node:sqlite` database: each update is one transaction
 * (`BEGIN IMMEDIATE`, or a savepoint inside the caller's transaction).
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` for a bad table name
 * @example
 * ```ts
 * const db = new DatabaseSync('orders.db');
 * const outbox = createSqliteOutbox(db);
 * const store = createSqliteChoreographyStore(db, { outbox });
 * ```
 */
export function createSqliteChoreographyStore(
  db: DatabaseSync,
  options: SqliteChoreographyStoreOptions = {},
): ChoreographyStore {
  const name = options.table ?? 'sy_choreography';
  const table = quoteIdentifier(name, 'sqliteChoreographyStore.table');
  const outbox = options.outbox;
  const failed = (what: string, error: unknown): Error =>
    sagaError(
      'SY_SAGA_CHOREOGRAPHY_STORE_FAILED',
      `sqlite choreography store "${name}": ${what} failed: ${(error as Error).message}`,
      {
        cause: error,
        details: { table: name },
      },
    );
  const read = (kind: string, sagaId: string): ChoreographyRecord | undefined => {
    const row = db.prepare(`SELECT record FROM ${table} WHERE name = ? AND saga_id = ?`).get(kind, sagaId) as
      | { record: string }
      | undefined;
    return row === undefined ? undefined : (JSON.parse(row.record) as ChoreographyRecord);
  };

  return {
    enqueues: outbox !== undefined,
    async init() {
      try {
        db.exec(
          `CREATE TABLE IF NOT EXISTS ${table} (
            name TEXT NOT NULL,
            saga_id TEXT NOT NULL,
            status TEXT NOT NULL,
            record TEXT NOT NULL,
            updated_at INTEGER NOT NULL,
            PRIMARY KEY (name, saga_id)
          )`,
        );
        outbox?.migrate();
      } catch (error) {
        throw failed('init', error);
      }
    },
    async get(kind, sagaId) {
      try {
        return read(kind, sagaId);
      } catch (error) {
        throw failed(`reading saga "${sagaId}"`, error);
      }
    },
    async update(kind, sagaId, change) {
      const nested = db.isTransaction;
      try {
        db.exec(nested ? 'SAVEPOINT sy_choreography' : 'BEGIN IMMEDIATE');
      } catch (error) {
        throw failed('beginning a transaction', error);
      }
      const rollback = (): void => {
        try {
          db.exec(nested ? 'ROLLBACK TO sy_choreography; RELEASE sy_choreography' : 'ROLLBACK');
        } catch {
          // Already rolled back by SQLite itself.
        }
      };
      try {
        const current = read(kind, sagaId);
        const next = change(current);
        if (next !== undefined) {
          const { record } = next;
          db.prepare(
            `INSERT INTO ${table} (name, saga_id, status, record, updated_at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (name, saga_id) DO UPDATE SET status = excluded.status, record = excluded.record, updated_at = excluded.updated_at`,
          ).run(kind, sagaId, record.status, JSON.stringify(record), record.updatedAt);
          for (const event of next.events ?? []) outbox?.add(event);
        }
        db.exec(nested ? 'RELEASE sy_choreography' : 'COMMIT');
        return next === undefined ? current : next.record;
      } catch (error) {
        rollback();
        if ((error as { code?: unknown })?.code === 'ERR_SQLITE_ERROR')
          throw failed(`updating saga "${sagaId}"`, error);
        throw error;
      }
    },
  };
}
