import type { DatabaseSync } from 'node:sqlite';
import { sagaError } from '../errors.ts';
import type { ResolvedSqliteEventBusOptions } from '../sqlite-bus-options.ts';
import { immediate } from './sqlite-bus-transaction.ts';

/**
 * The log's migrations, applied in order, each once, recorded in `sy_bus_migrations`. Append
 * only: a released migration is never edited.
 *
 * - `sy_bus_log`: every message, in publish order (`seq`, never reused thanks to AUTOINCREMENT).
 *   `id` is not unique: a dead-lettered message keeps its id on the dead-letter topic, and two
 *   groups may dead-letter the same message.
 * - `sy_bus_groups`: the consumer groups of each topic, from the `seq` they started at.
 * - `sy_bus_deliveries`: what each group still owes: one row per (group, message) from publish
 *   until acknowledged. `available_at` is when it may be claimed: the publish time, then the
 *   lease end while a member holds it, then the backoff's due time after a failure.
 */
const migrations: readonly string[] = [
  `
  CREATE TABLE sy_bus_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL,
    topic TEXT NOT NULL,
    payload TEXT NOT NULL,
    headers TEXT NOT NULL,
    published_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX sy_bus_log_by_id ON sy_bus_log (id);
  CREATE INDEX sy_bus_log_by_published_at ON sy_bus_log (published_at);
  CREATE TABLE sy_bus_groups (
    topic TEXT NOT NULL,
    grp TEXT NOT NULL,
    start_seq INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (topic, grp)
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE sy_bus_deliveries (
    topic TEXT NOT NULL,
    grp TEXT NOT NULL,
    seq INTEGER NOT NULL REFERENCES sy_bus_log (seq),
    attempts INTEGER NOT NULL DEFAULT 0,
    available_at INTEGER NOT NULL,
    lease_owner TEXT,
    PRIMARY KEY (topic, grp, seq)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX sy_bus_deliveries_by_available_at ON sy_bus_deliveries (topic, grp, available_at);
  CREATE INDEX sy_bus_deliveries_by_seq ON sy_bus_deliveries (seq);
  `,
];

/**
 * Opens the log file: WAL journal (readers never block the writer, and several processes can
 * share the file), the `synchronous` level asked for, a busy timeout, then the migrations
 * inside one `BEGIN IMMEDIATE` so two processes opening a new file at once do not race.
 *
 * @throws SwitchyardError `SY_BUS_UNAVAILABLE` when the file cannot be opened, is not a SQLite
 *   database, or was migrated by a newer version of this package
 */
export function openBusLog(options: ResolvedSqliteEventBusOptions): DatabaseSync {
  // Loaded on first use so processes that never open a SQLite bus never load node:sqlite.
  const { DatabaseSync: Database } = process.getBuiltinModule('node:sqlite') as typeof import('node:sqlite');
  let db: DatabaseSync;
  try {
    db = new Database(options.path, { timeout: options.busyTimeoutMs });
  } catch (err) {
    throw openError(options.path, err);
  }
  try {
    db.exec('PRAGMA journal_mode = WAL');
    db.exec(`PRAGMA synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    db.exec('PRAGMA foreign_keys = ON');
    migrate(db, options);
  } catch (err) {
    db.close();
    throw openError(options.path, err);
  }
  return db;
}

function migrate(db: DatabaseSync, options: ResolvedSqliteEventBusOptions): void {
  immediate(db, () => {
    db.exec(
      'CREATE TABLE IF NOT EXISTS sy_bus_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT',
    );
    const row = db.prepare('SELECT MAX(version) AS version FROM sy_bus_migrations').get() as { version: number | null };
    const current = row.version ?? 0;
    if (current > migrations.length) {
      throw sagaError(
        'SY_BUS_UNAVAILABLE',
        `SQLite event bus ${JSON.stringify(options.path)}: the log is at schema version ${current}, newer than ` +
          `this version of @switchyard/saga understands (${migrations.length}); upgrade @switchyard/saga`,
        { retryable: false, details: { path: options.path, version: current } },
      );
    }
    const record = db.prepare('INSERT INTO sy_bus_migrations (version, applied_at) VALUES (?, ?)');
    for (let version = current + 1; version <= migrations.length; version++) {
      db.exec(migrations[version - 1] ?? '');
      record.run(version, Date.now());
    }
  });
}

function openError(path: string, err: unknown): Error {
  if (err instanceof Error && 'code' in err && String(err.code).startsWith('SY_')) return err;
  const reason = err instanceof Error ? err.message : String(err);
  return sagaError('SY_BUS_UNAVAILABLE', `SQLite event bus ${JSON.stringify(path)}: cannot open the log: ${reason}`, {
    cause: err,
    details: { path },
  });
}
