/**
 * The SQLite saga store's schema, as numbered migrations. A migration is never edited once
 * released: a change is a new migration with the next number.
 */
import type { DatabaseSync } from 'node:sqlite';
import { sagaError } from '../errors.ts';

/** One schema change, applied once, inside the migrating transaction. */
export interface SqliteMigration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** Table names; `sy_` like the SQLite outbox, so a service can keep both in its own database. */
export const SAGAS = 'sy_sagas';
export const TRANSITIONS = 'sy_saga_transitions';
export const MIGRATIONS = 'sy_saga_migrations';

/** Every migration, in order. */
export const sqliteMigrations: readonly SqliteMigration[] = [
  {
    version: 1,
    name: 'sagas and transitions',
    sql: `
      CREATE TABLE ${SAGAS} (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        status TEXT NOT NULL,
        input TEXT NOT NULL,
        outputs TEXT NOT NULL,
        error TEXT,
        parked_direction TEXT,
        meta TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        version INTEGER NOT NULL,
        owner TEXT,
        lease_until INTEGER
      ) STRICT;
      CREATE INDEX ${SAGAS}_created ON ${SAGAS} (created_at, id);
      CREATE INDEX ${SAGAS}_status_created ON ${SAGAS} (status, created_at, id);
      CREATE TABLE ${TRANSITIONS} (
        saga_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        kind TEXT NOT NULL,
        at INTEGER NOT NULL,
        step TEXT,
        attempt INTEGER,
        output TEXT,
        error TEXT,
        owner TEXT,
        reason TEXT,
        PRIMARY KEY (saga_id, seq)
      ) STRICT, WITHOUT ROWID;
    `,
  },
];

/** The newest schema version this code knows. */
export const LATEST_SQLITE_VERSION = sqliteMigrations.at(-1)?.version ?? 0;

/**
 * Brings the schema up to {@link LATEST_SQLITE_VERSION} in one `BEGIN IMMEDIATE` transaction,
 * so two processes initialising the same file at once apply each migration once (the second
 * waits for the write lock, then finds nothing to do).
 *
 * @throws SwitchyardError `SY_SAGA_SCHEMA_UNSUPPORTED` when a newer version migrated the file
 */
export function migrateSqlite(db: DatabaseSync, where: string, now: number): void {
  db.exec('BEGIN IMMEDIATE');
  try {
    db.exec(
      `CREATE TABLE IF NOT EXISTS ${MIGRATIONS} (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`,
    );
    const row = db.prepare(`SELECT max(version) AS version FROM ${MIGRATIONS}`).get() as { version: number | null };
    const current = row.version ?? 0;
    if (current > LATEST_SQLITE_VERSION) {
      throw sagaError(
        'SY_SAGA_SCHEMA_UNSUPPORTED',
        `sqlite saga store ${where}: schema version ${current} was written by a newer Switchyard; this one knows ` +
          `versions up to ${LATEST_SQLITE_VERSION}. Upgrade @switchyard/saga, or use another file.`,
        { details: { version: current, supported: LATEST_SQLITE_VERSION } },
      );
    }
    const record = db.prepare(`INSERT INTO ${MIGRATIONS} (version, name, applied_at) VALUES (?, ?, ?)`);
    for (const migration of sqliteMigrations) {
      if (migration.version <= current) continue;
      db.exec(migration.sql);
      record.run(migration.version, migration.name, now);
    }
    db.exec('COMMIT');
  } catch (err) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw err;
  }
}
