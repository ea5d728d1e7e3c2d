import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { type Clock, type JsonValue, parseDuration, systemClock } from '@switchyard/core';
import { createBusMessage } from './bus-message.ts';
import { sagaError } from './errors.ts';
import { quoteIdentifier } from './internal/sql-identifier.ts';
import type { OutboxClaim, OutboxEvent, OutboxRecord, OutboxSource } from './outbox.ts';
import { withTraceHeaders } from './trace-headers.ts';

/** Options of {@link createSqliteOutbox}. */
export interface SqliteOutboxOptions {
  /** The table (letters, digits, `_`). @default "sy_outbox" */
  readonly table?: string | undefined;
  /** Time source for `created_at` and `sent_at`. */
  readonly clock?: Clock | undefined;
}

/** A transactional outbox in a SQLite database the service owns; see {@link createSqliteOutbox}. */
export interface SqliteOutbox {
  /** Creates the table and its index if missing. Idempotent. */
  migrate(): void;
  /**
   * Writes an event, to be published by a relay once the caller's transaction commits. Call it
   * between the caller's `BEGIN` and `COMMIT` on the same `db`, beside the business change, so
   * both are kept or neither. Returns the message id. An event whose `id` is already in the
   * outbox is stored once. Unless `event.headers` has a `traceparent`, the active trace context
   * is stored with it, so the relay's publish continues the trace of the code that added it.
   *
   * @throws SwitchyardError `SY_BUS_INVALID_TOPIC`, `SY_BUS_INVALID_MESSAGE` (nothing written),
   *   `SY_BUS_OUTBOX_FAILED` (a SQLite error; roll the transaction back)
   */
  add<T extends JsonValue>(event: OutboxEvent<T>): string;
  /** What a relay reads: `createOutboxRelay({ source: outbox.source, bus })`. */
  readonly source: OutboxSource;
  /** How many events are not sent yet. */
  pending(): number;
  /** Deletes sent events sent more than `olderThan` ago (`"24h"`, `"30m"` or ms); returns how many. */
  prune(olderThan: string | number): number;
}

interface Row {
  id: string;
  topic: string;
  payload: string;
  headers: string;
  created_at: number;
}

/**
 * Creates a transactional outbox in a `node:sqlite` database the service already writes its
 * business data to. `add()` runs inside the caller's transaction; a relay
 * ({@link createOutboxRelay}) publishes the committed events and marks them sent. Run one relay
 * per database: SQLite claims do not lock, so a second relay would publish events twice (inboxes
 * drop the copies, but the order per topic could interleave).
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` for a bad table name
 * @example
 * ```ts
 * import { DatabaseSync } from 'node:sqlite';
 * import { createSqliteOutbox } from '@switchyard/saga';
 *
 * const db = new DatabaseSync('orders.db');
 * const outbox = createSqliteOutbox(db);
 * outbox.migrate();
 * db.exec('BEGIN');
 * db.prepare('INSERT INTO orders (id, total) VALUES (?, ?)').run('o-1', 42);
 * outbox.add({ topic: 'order.created', payload: { orderId: 'o-1', total: 42 }, headers: { traceparent } });
 * db.exec('COMMIT');
 * ```
 */
export function createSqliteOutbox(db: DatabaseSync, options: SqliteOutboxOptions = {}): SqliteOutbox {
  const name = options.table ?? 'sy_outbox';
  const table = quoteIdentifier(name, 'sqliteOutbox.table');
  const clock = options.clock ?? systemClock;
  const label = `sqlite outbox "${name}"`;
  const statements = new Map<string, StatementSync>();
  const statement = (sql: string): StatementSync => {
    let prepared = statements.get(sql);
    if (prepared === undefined) {
      prepared = db.prepare(sql);
      statements.set(sql, prepared);
    }
    return prepared;
  };
  const guarded = <R>(what: string, fn: () => R): R => {
    try {
      return fn();
    } catch (error) {
      throw sagaError('SY_BUS_OUTBOX_FAILED', `${label}: ${what} failed: ${(error as Error).message}`, {
        cause: error,
        details: { table: name },
      });
    }
  };

  const source: OutboxSource = {
    name: label,
    async claim(limit) {
      const rows = guarded(
        'reading unsent events',
        () =>
          statement(
            `SELECT id, topic, payload, headers, created_at FROM ${table} WHERE sent_at IS NULL ORDER BY seq LIMIT ?`,
          ).all(limit) as unknown as Row[],
      );
      const events = rows.map(toRecord);
      const claim: OutboxClaim = {
        events,
        async settle(sentIds) {
          if (sentIds.length === 0) return;
          guarded('marking events sent', () =>
            statement(
              `UPDATE ${table} SET sent_at = ? WHERE sent_at IS NULL AND id IN (SELECT value FROM json_each(?))`,
            ).run(clock.now(), JSON.stringify(sentIds)),
          );
        },
      };
      return claim;
    },
  };

  return {
    migrate() {
      guarded('migrate', () => {
        db.exec(
          `CREATE TABLE IF NOT EXISTS ${table} (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            topic TEXT NOT NULL,
            payload TEXT NOT NULL,
            headers TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            sent_at INTEGER
          );
          CREATE INDEX IF NOT EXISTS "${name}_unsent" ON ${table} (seq) WHERE sent_at IS NULL;`,
        );
      });
    },
    add(event) {
      const now = clock.now();
      const message = createBusMessage(
        event.topic,
        event.payload,
        { id: event.id, headers: withTraceHeaders(event.headers) },
        now,
      );
      guarded(`adding an event to "${message.topic}"`, () =>
        statement(
          `INSERT INTO ${table} (id, topic, payload, headers, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
        ).run(message.id, message.topic, JSON.stringify(message.payload), JSON.stringify(message.headers), now),
      );
      return message.id;
    },
    source,
    pending() {
      return guarded('counting unsent events', () => {
        const row = statement(`SELECT count(*) AS n FROM ${table} WHERE sent_at IS NULL`).get() as { n: number };
        return Number(row.n);
      });
    },
    prune(olderThan) {
      const cutoff = clock.now() - parseDuration(olderThan);
      return guarded('pruning sent events', () =>
        Number(statement(`DELETE FROM ${table} WHERE sent_at IS NOT NULL AND sent_at < ?`).run(cutoff).changes),
      );
    },
  };
}

function toRecord(row: Row): OutboxRecord {
  return {
    id: row.id,
    topic: row.topic,
    payload: JSON.parse(row.payload) as JsonValue,
    headers: JSON.parse(row.headers) as Record<string, string>,
    createdAt: Number(row.created_at),
  };
}
