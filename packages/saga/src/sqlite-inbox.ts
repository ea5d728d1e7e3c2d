import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { type Clock, parseDuration, systemClock } from '@switchyard/core';
import type { Delivery } from './bus.ts';
import { sagaError } from './errors.ts';
import { quoteIdentifier } from './internal/sql-identifier.ts';

/** Options of {@link createSqliteInbox}. */
export interface SqliteInboxOptions {
  /** The table (letters, digits, `_`). @default "sy_inbox" */
  readonly table?: string | undefined;
  /**
   * How long handled ids are kept by {@link SqliteInbox.prune} when called without an age.
   * Keep it longer than a message can take to be redelivered. @default "168h" (7 days)
   */
  readonly retention?: string | number | undefined;
  readonly clock?: Clock | undefined;
}

/** What the inbox needs of a delivery: its id and consumer group. */
export type InboxMessage = Pick<Delivery, 'id' | 'group'>;

/** An idempotent consumer over a SQLite database; see {@link createSqliteInbox}. */
export interface SqliteInbox {
  /** Creates the table if missing. Idempotent. */
  migrate(): void;
  /**
   * Runs `effects` once per (consumer group, message id): in one transaction it records the
   * message as handled and runs `effects(db)`. Returns `true` when they ran, `false` for a
   * message already handled (the effects are skipped). When `effects` throws, everything rolls
   * back, the inbox row too, and the error is rethrown, so a redelivery runs them again.
   * `effects` must be synchronous; to publish events from them, add them to an outbox on the
   * same `db`. Inside a transaction of the caller it uses a savepoint instead.
   *
   * @throws SwitchyardError `SY_BUS_INBOX_ASYNC_EFFECTS` when `effects` returns a promise,
   *   `SY_BUS_INBOX_FAILED` for a SQLite error; whatever `effects` threw
   */
  handleOnce(message: InboxMessage, effects: (db: DatabaseSync) => void): boolean;
  /** Whether the message was handled by its group. */
  has(message: InboxMessage): boolean;
  /** Forgets ids handled more than `olderThan` ago (default: `retention`); returns how many. */
  prune(olderThan?: string | number): number;
}

/**
 * Creates an inbox in a `node:sqlite` database the consumer owns, so a message delivered twice
 * (delivery is at least once) has its effects once: the handled id and the effects commit
 * together or not at all.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` for a bad table name or retention
 * @example
 * ```ts
 * import { DatabaseSync } from 'node:sqlite';
 * import { createSqliteInbox } from '@switchyard/saga';
 *
 * const db = new DatabaseSync('inventory.db');
 * const inbox = createSqliteInbox(db);
 * inbox.migrate();
 * await bus.subscribe('order.created', async (delivery) => {
 *   inbox.handleOnce(delivery, (db) => {
 *     db.prepare('UPDATE stock SET reserved = reserved + 1 WHERE sku = ?').run(delivery.payload.sku);
 *   });
 * }, { group: 'inventory' });
 * ```
 */
export function createSqliteInbox(db: DatabaseSync, options: SqliteInboxOptions = {}): SqliteInbox {
  const name = options.table ?? 'sy_inbox';
  const table = quoteIdentifier(name, 'sqliteInbox.table');
  const retentionMs = parseDuration(options.retention ?? 7 * 24 * 3600_000, 'sqliteInbox.retention');
  const clock = options.clock ?? systemClock;
  const label = `sqlite inbox "${name}"`;
  const statements = new Map<string, StatementSync>();
  const statement = (sql: string): StatementSync => {
    let prepared = statements.get(sql);
    if (prepared === undefined) {
      prepared = db.prepare(sql);
      statements.set(sql, prepared);
    }
    return prepared;
  };
  const failed = (what: string, error: unknown): Error =>
    sagaError('SY_BUS_INBOX_FAILED', `${label}: ${what} failed: ${(error as Error).message}`, {
      cause: error,
      details: { table: name },
    });
  let savepoints = 0;

  return {
    migrate() {
      try {
        db.exec(
          `CREATE TABLE IF NOT EXISTS ${table} (
            consumer_group TEXT NOT NULL,
            message_id TEXT NOT NULL,
            handled_at INTEGER NOT NULL,
            PRIMARY KEY (consumer_group, message_id)
          ) WITHOUT ROWID;
          CREATE INDEX IF NOT EXISTS "${name}_handled_at" ON ${table} (handled_at);`,
        );
      } catch (error) {
        throw failed('migrate', error);
      }
    },
    handleOnce(message, effects) {
      // BEGIN IMMEDIATE takes the write lock up front, so two processes never deadlock upgrading
      // a read lock; inside the caller's transaction a savepoint nests instead.
      const nested = db.isTransaction;
      const savepoint = `sy_inbox_${++savepoints}`;
      try {
        db.exec(nested ? `SAVEPOINT ${savepoint}` : 'BEGIN IMMEDIATE');
      } catch (error) {
        throw failed('beginning a transaction', error);
      }
      const rollback = (): void => {
        try {
          db.exec(nested ? `ROLLBACK TO ${savepoint}; RELEASE ${savepoint}` : 'ROLLBACK');
        } catch {
          // The transaction is already gone (SQLite rolled it back itself); nothing to undo.
        }
      };
      let inserted: boolean;
      try {
        const result = statement(
          `INSERT INTO ${table} (consumer_group, message_id, handled_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
        ).run(message.group, message.id, clock.now());
        inserted = Number(result.changes) === 1;
      } catch (error) {
        rollback();
        throw failed(`recording message "${message.id}"`, error);
      }
      if (!inserted) {
        rollback();
        return false;
      }
      try {
        const result: unknown = effects(db);
        if (typeof (result as PromiseLike<unknown> | undefined)?.then === 'function') {
          throw sagaError(
            'SY_BUS_INBOX_ASYNC_EFFECTS',
            `${label}: the effects for message "${message.id}" returned a promise; they must be synchronous to run inside the transaction (nothing was recorded)`,
            { details: { messageId: message.id, group: message.group } },
          );
        }
      } catch (error) {
        rollback();
        throw error;
      }
      try {
        db.exec(nested ? `RELEASE ${savepoint}` : 'COMMIT');
      } catch (error) {
        rollback();
        throw failed('committing', error);
      }
      return true;
    },
    has(message) {
      try {
        return (
          statement(`SELECT 1 AS one FROM ${table} WHERE consumer_group = ? AND message_id = ?`).get(
            message.group,
            message.id,
          ) !== undefined
        );
      } catch (error) {
        throw failed('reading', error);
      }
    },
    prune(olderThan) {
      const age = olderThan === undefined ? retentionMs : parseDuration(olderThan, 'sqliteInbox.prune.olderThan');
      try {
        return Number(statement(`DELETE FROM ${table} WHERE handled_at < ?`).run(clock.now() - age).changes);
      } catch (error) {
        throw failed('pruning', error);
      }
    },
  };
}
