/**
 * A {@link RegistryStore} in one SQLite file through `node:sqlite` (`DatabaseSync`, WAL journal),
 * so the embedded registry needs no external database to survive a restart.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { HealthStatus } from '@switchyard/core';
import { discoveryError } from './errors.ts';
import type { RegistrySnapshot, RegistryStore, StoredCheck, StoredService } from './registry-store.ts';

/** Bumped when the schema changes; a newer file is refused rather than misread. */
const schemaVersion = 1;

const schema = `
CREATE TABLE IF NOT EXISTS services (
  id TEXT PRIMARY KEY NOT NULL,
  registration TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS checks (
  check_id TEXT PRIMARY KEY NOT NULL,
  service_id TEXT NOT NULL,
  position INTEGER NOT NULL,
  definition TEXT NOT NULL,
  status TEXT,
  output TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS checks_by_service ON checks (service_id, position);
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY NOT NULL,
  value INTEGER NOT NULL
) STRICT;
`;

const statuses: readonly string[] = [HealthStatus.Passing, HealthStatus.Warning, HealthStatus.Critical];

/**
 * Opens (creating it when missing) the SQLite registry store at `file`. The file is checked with
 * `PRAGMA quick_check` so a damaged file fails here, loudly, instead of losing registrations.
 *
 * @param file - path of the database file; its directory must exist
 * @throws SwitchyardError `SY_DISCOVERY_STORE_FAILED` naming the file when it cannot be opened, is
 *   not a SQLite database, is damaged, or was written by a newer schema
 * @example
 * ```ts
 * const registry = createRegistry({ store: createSqliteRegistryStore('.data/registry.db') });
 * ```
 */
export function createSqliteRegistryStore(file: string): RegistryStore {
  // Loaded on first use so registries without persistence never touch node:sqlite.
  const { DatabaseSync: Database } = process.getBuiltinModule('node:sqlite') as typeof import('node:sqlite');
  let db: DatabaseSync;
  try {
    db = new Database(file);
  } catch (err) {
    throw storeError(file, 'open', err);
  }
  try {
    db.exec('PRAGMA busy_timeout = 2000');
    const check = db.prepare('PRAGMA quick_check').all() as { quick_check?: string }[];
    const verdict = check.map((row) => String(row.quick_check ?? Object.values(row)[0])).join('; ');
    if (verdict !== 'ok') throw new Error(`integrity check failed: ${verdict}`);
    const version = Number((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version);
    if (version > schemaVersion) {
      throw new Error(`schema version ${version} is newer than this registry understands (${schemaVersion})`);
    }
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA synchronous = NORMAL');
    db.exec(schema);
    db.exec(`PRAGMA user_version = ${schemaVersion}`);
  } catch (err) {
    db.close();
    throw storeError(file, 'open', err);
  }

  const statements = {
    services: db.prepare('SELECT id, registration FROM services ORDER BY id'),
    checks: db.prepare(
      'SELECT check_id, service_id, definition, status, output FROM checks ORDER BY service_id, position, check_id',
    ),
    putService: db.prepare('INSERT OR REPLACE INTO services (id, registration) VALUES (?, ?)'),
    deleteService: db.prepare('DELETE FROM services WHERE id = ?'),
    deleteChecksOf: db.prepare('DELETE FROM checks WHERE service_id = ?'),
    putCheck: db.prepare(
      'INSERT OR REPLACE INTO checks (check_id, service_id, position, definition, status, output) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    nextPosition: db.prepare('SELECT COALESCE(MAX(position), 0) + 1 AS next FROM checks WHERE service_id = ?'),
    deleteCheck: db.prepare('DELETE FROM checks WHERE check_id = ?'),
    setState: db.prepare('UPDATE checks SET status = ?, output = ? WHERE check_id = ?'),
    getIndex: db.prepare("SELECT value FROM meta WHERE key = 'index'"),
    putIndex: db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('index', ?)"),
  } satisfies Record<string, StatementSync>;
  let closed = false;

  /** Runs `work` in one transaction: all of it is stored, or none. */
  function transaction(operation: string, work: () => void): void {
    if (closed) throw discoveryError('SY_DISCOVERY_CLOSED', `the registry store ${file} is closed`);
    try {
      db.exec('BEGIN IMMEDIATE');
    } catch (err) {
      throw storeError(file, operation, err);
    }
    try {
      work();
      db.exec('COMMIT');
    } catch (err) {
      try {
        db.exec('ROLLBACK');
      } catch {
        // The failed statement may already have ended the transaction; nothing is left to undo.
      }
      throw storeError(file, operation, err);
    }
  }

  function insertCheck(check: StoredCheck, position: number): void {
    statements.putCheck.run(
      check.checkId,
      check.serviceId,
      position,
      JSON.stringify(check.definition),
      check.status ?? null,
      check.output ?? null,
    );
  }

  return {
    location: file,

    load(): RegistrySnapshot {
      try {
        const services = (statements.services.all() as { id: string; registration: string }[]).map(
          (row): StoredService => ({ id: row.id, registration: parseObject(row.registration, `service ${row.id}`) }),
        );
        const checks = (
          statements.checks.all() as {
            check_id: string;
            service_id: string;
            definition: string;
            status: string | null;
            output: string | null;
          }[]
        ).map((row): StoredCheck => {
          if (row.status !== null && !statuses.includes(row.status)) {
            throw new Error(`check ${row.check_id} has an unknown status ${JSON.stringify(row.status)}`);
          }
          return {
            checkId: row.check_id,
            serviceId: row.service_id,
            definition: parseObject(row.definition, `check ${row.check_id}`),
            status: (row.status ?? undefined) as HealthStatus | undefined,
            output: row.output ?? undefined,
          };
        });
        const stored = statements.getIndex.get() as { value: number } | undefined;
        const index = Number(stored?.value ?? 0);
        if (!Number.isSafeInteger(index) || index < 0) throw new Error(`the stored index ${index} is not valid`);
        return { services, checks, index };
      } catch (err) {
        throw storeError(file, 'read', err);
      }
    },

    putService(service, checks) {
      transaction('store service', () => {
        statements.deleteChecksOf.run(service.id);
        statements.putService.run(service.id, JSON.stringify(service.registration));
        checks.forEach((check, i) => {
          insertCheck(check, i + 1);
        });
      });
    },

    deleteService(serviceId) {
      transaction('delete service', () => {
        statements.deleteChecksOf.run(serviceId);
        statements.deleteService.run(serviceId);
      });
    },

    putCheck(check) {
      transaction('store check', () => {
        const { next } = statements.nextPosition.get(check.serviceId) as { next: number };
        statements.deleteCheck.run(check.checkId);
        insertCheck(check, next);
      });
    },

    deleteCheck(checkId) {
      transaction('delete check', () => {
        statements.deleteCheck.run(checkId);
      });
    },

    setCheckState(checkId, status, output) {
      transaction('store check status', () => {
        statements.setState.run(status, output, checkId);
      });
    },

    saveIndex(index) {
      transaction('store index', () => {
        statements.putIndex.run(index);
      });
    },

    close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}

function parseObject(text: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${what} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

function storeError(file: string, operation: string, err: unknown): Error {
  const reason = err instanceof Error ? err.message : String(err);
  return discoveryError('SY_DISCOVERY_STORE_FAILED', `registry store ${file}: could not ${operation}: ${reason}`, {
    cause: err,
    details: { file, operation },
  });
}
