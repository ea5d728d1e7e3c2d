import type { DatabaseSync } from 'node:sqlite';
import { gatewayError } from '../errors.ts';
import type { RolloutRecord, RolloutStore } from './types.ts';

const schemaVersion = 1;

const schema = `
CREATE TABLE IF NOT EXISTS rollouts (
  name TEXT PRIMARY KEY,
  version INTEGER NOT NULL,
  record TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS rollout_leases (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT;
`;

function storeError(file: string, operation: string, err: unknown) {
  const reason = err instanceof Error ? err.message : String(err);
  return gatewayError('SY_GATEWAY_ROLLOUT_STORE_FAILED', `rollout store ${file}: ${operation} failed: ${reason}`, {
    cause: err,
    details: { file, operation },
  });
}

/**
 * A {@link RolloutStore} in one SQLite file (`node:sqlite`, WAL journal): state survives a
 * restart, and gateway processes on one host that open the same file share it (each write is
 * one `BEGIN IMMEDIATE` transaction).
 *
 * @param file - path of the database file; its directory must exist
 * @throws SwitchyardError `SY_GATEWAY_ROLLOUT_STORE_FAILED` naming the file when it cannot be
 *   opened or was written by a newer schema (and from every method when the file fails)
 * @example
 * ```ts
 * const store = createSqliteRolloutStore('.data/rollouts.db');
 * console.log(await store.list());
 * await store.close();
 * ```
 */
export function createSqliteRolloutStore(file: string): RolloutStore {
  const { DatabaseSync: Database } = process.getBuiltinModule('node:sqlite') as typeof import('node:sqlite');
  let db: DatabaseSync;
  try {
    db = new Database(file);
  } catch (err) {
    throw storeError(file, 'open', err);
  }
  try {
    db.exec('PRAGMA busy_timeout = 2000');
    const version = Number((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version);
    if (version > schemaVersion) {
      throw new Error(`schema version ${version} is newer than this gateway understands (${schemaVersion})`);
    }
    db.exec('PRAGMA journal_mode = WAL');
    db.exec(schema);
    db.exec(`PRAGMA user_version = ${schemaVersion}`);
  } catch (err) {
    db.close();
    throw storeError(file, 'open', err);
  }
  const statements = {
    get: db.prepare('SELECT record FROM rollouts WHERE name = ?'),
    list: db.prepare('SELECT record FROM rollouts ORDER BY name'),
    insert: db.prepare('INSERT INTO rollouts (name, version, record) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING'),
    update: db.prepare('UPDATE rollouts SET version = ?, record = ? WHERE name = ? AND version = ?'),
    lease: db.prepare(
      `INSERT INTO rollout_leases (name, holder, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
       WHERE rollout_leases.holder = excluded.holder OR rollout_leases.expires_at <= ?`,
    ),
    release: db.prepare('DELETE FROM rollout_leases WHERE name = ? AND holder = ?'),
  };
  let closed = false;
  const run = <T>(operation: string, work: () => T): T => {
    if (closed) throw storeError(file, operation, new Error('the store is closed'));
    try {
      return work();
    } catch (err) {
      throw storeError(file, operation, err);
    }
  };
  const parse = (row: unknown): RolloutRecord =>
    JSON.parse(String((row as { record: string }).record)) as RolloutRecord;
  return {
    async get(name) {
      return run('get', () => {
        const row = statements.get.get(name);
        return row === undefined ? undefined : parse(row);
      });
    },
    async list() {
      return run('list', () => statements.list.all().map(parse));
    },
    async compareAndSet(next, expectedVersion) {
      if (next.version !== expectedVersion + 1) {
        throw new RangeError(`rollout ${next.name}: next.version must be ${expectedVersion + 1}, got ${next.version}`);
      }
      return run('compareAndSet', () => {
        const json = JSON.stringify(next);
        const result =
          expectedVersion === 0
            ? statements.insert.run(next.name, next.version, json)
            : statements.update.run(next.version, json, next.name, expectedVersion);
        return Number(result.changes) === 1;
      });
    },
    async acquireLease(name, holder, ttlMs, nowMs) {
      return run('acquireLease', () => Number(statements.lease.run(name, holder, nowMs + ttlMs, nowMs).changes) === 1);
    },
    async releaseLease(name, holder) {
      run('releaseLease', () => statements.release.run(name, holder));
    },
    async close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}
