import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { isSwitchyardError } from '@switchyard/core';
import { sagaError } from './errors.ts';
import { createGroupCommit, type GroupCommit } from './internal/sqlite-group-commit.ts';
import { migrateSqlite, SAGAS, TRANSITIONS } from './internal/sqlite-migrations.ts';
import { resolveSqliteSagaStoreOptions, type SqliteSagaStoreOptions } from './internal/sqlite-options.ts';
import { decodeCursor, encodeCursor, listLimit, listStatuses } from './saga-list.ts';
import {
  type SagaRow,
  sagaColumns,
  sagaFromRow,
  type TransitionRow,
  transitionColumns,
  transitionFromRow,
} from './saga-rows.ts';
import {
  activeSagaStatuses,
  type ClaimRequest,
  type SagaPage,
  type SagaQuery,
  type SagaRecord,
  type SagaStore,
  type SagaWrite,
} from './store.ts';

export type { ResolvedSqliteSagaStoreOptions, SqliteSagaStoreOptions } from './internal/sqlite-options.ts';
export { resolveSqliteSagaStoreOptions, sqliteSagaStoreOptionsSchema } from './internal/sqlite-options.ts';

const SAGA_COLUMNS =
  'id, name, status, input, outputs, error, parked_direction, meta, created_at, updated_at, version, owner, lease_until';
const SAGA_VALUES =
  '$id, $name, $status, $input, $outputs, $error, $parked_direction, $meta, $created_at, $updated_at, $version, $owner, $lease_until';

/** The statements of one open connection, prepared once. */
interface Statements {
  readonly insert: StatementSync;
  readonly update: StatementSync;
  readonly version: StatementSync;
  readonly append: StatementSync;
  readonly get: StatementSync;
  readonly history: StatementSync;
  readonly list: StatementSync;
  readonly claim: StatementSync;
  readonly renew: StatementSync;
}

function prepare(db: DatabaseSync): Statements {
  return {
    insert: db.prepare(`INSERT INTO ${SAGAS} (${SAGA_COLUMNS}) VALUES (${SAGA_VALUES}) ON CONFLICT (id) DO NOTHING`),
    update: db.prepare(
      `UPDATE ${SAGAS} SET name = $name, status = $status, input = $input, outputs = $outputs, error = $error,
         parked_direction = $parked_direction, meta = $meta, created_at = $created_at, updated_at = $updated_at,
         version = $version, owner = $owner, lease_until = $lease_until
       WHERE id = $id AND version = $expected`,
    ),
    version: db.prepare(`SELECT version FROM ${SAGAS} WHERE id = ?`),
    append: db.prepare(
      `INSERT INTO ${TRANSITIONS} (saga_id, seq, kind, at, step, attempt, output, error, owner, reason)
       VALUES ($saga_id, $seq, $kind, $at, $step, $attempt, $output, $error, $owner, $reason)`,
    ),
    get: db.prepare(`SELECT * FROM ${SAGAS} WHERE id = ?`),
    history: db.prepare(`SELECT * FROM ${TRANSITIONS} WHERE saga_id = ? ORDER BY seq`),
    list: db.prepare(
      `SELECT * FROM ${SAGAS}
       WHERE ($statuses IS NULL OR status IN (SELECT value FROM json_each($statuses)))
         AND ($name IS NULL OR name = $name)
         AND ($after_at IS NULL OR created_at < $after_at OR (created_at = $after_at AND id < $after_id))
       ORDER BY created_at DESC, id DESC
       LIMIT $limit`,
    ),
    claim: db.prepare(
      `UPDATE ${SAGAS} SET owner = $owner, lease_until = $lease_until, version = version + 1
       WHERE id IN (
         SELECT id FROM ${SAGAS}
         WHERE status IN (SELECT value FROM json_each($statuses))
           AND (owner IS NULL OR lease_until IS NULL OR lease_until <= $now)
           AND ($names IS NULL OR name IN (SELECT value FROM json_each($names)))
         ORDER BY created_at, id
         LIMIT $limit)
       RETURNING *`,
    ),
    renew: db.prepare(
      `UPDATE ${SAGAS} SET lease_until = $lease_until
       WHERE owner = $owner AND id IN (SELECT value FROM json_each($ids))
       RETURNING id`,
    ),
  };
}

/** SQLite's result code for "file is not a database". */
const SQLITE_NOTADB = 26;

/**
 * A {@link SagaStore} in a SQLite file through `node:sqlite`: the embedded default, with no
 * server and no dependency. The file is in WAL mode; writes that arrive together are committed
 * in one transaction (group commit), each still resolving or rejecting on its own. Several
 * processes may share the file: claims take the write lock (`BEGIN IMMEDIATE`), so no saga is
 * claimed twice, and an engine that died has its sagas claimed by another once the lease ends.
 *
 * Statements run synchronously on the calling thread; a call waits at most `busyTimeout` for
 * another process's write lock.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` for bad options; calls reject
 *   `SY_SAGA_SCHEMA_UNSUPPORTED` (not a database, or a newer schema), `SY_SAGA_STORE_FAILED`
 *   (locked past `busyTimeout`, an I/O error) and the codes of {@link SagaStore}
 * @example
 * ```ts
 * import { createSqliteSagaStore } from '@switchyard/saga';
 *
 * const store = createSqliteSagaStore({ path: './sagas.db' });
 * await store.init();
 * console.log((await store.list({ status: 'parked' })).sagas.length);
 * await store.close();
 * ```
 */
export function createSqliteSagaStore(options: SqliteSagaStoreOptions): SagaStore {
  const resolved = resolveSqliteSagaStoreOptions(options);
  const where = `"${resolved.path}"`;
  let opened: { db: DatabaseSync; statements: Statements; writes: GroupCommit } | undefined;
  let closed = false;

  const failed = (err: unknown, what: string): Error => {
    if (isSwitchyardError(err)) return err;
    const driver = err as { errcode?: number; message?: string };
    if (driver.errcode === SQLITE_NOTADB) {
      return sagaError('SY_SAGA_SCHEMA_UNSUPPORTED', `sqlite saga store ${where}: the file is not a SQLite database`, {
        cause: err,
      });
    }
    return sagaError('SY_SAGA_STORE_FAILED', `sqlite saga store ${where}: ${what} failed: ${driver.message}`, {
      cause: err,
      details: { path: resolved.path, ...(driver.errcode === undefined ? {} : { errcode: driver.errcode }) },
    });
  };

  /** The open connection, opening and migrating it on first use. */
  const connection = () => {
    if (closed) throw sagaError('SY_SAGA_STORE_CLOSED', `sqlite saga store ${where}: used after close()`);
    if (opened !== undefined) return opened;
    let db: DatabaseSync | undefined;
    try {
      db = new DatabaseSync(resolved.path, { timeout: resolved.busyTimeoutMs });
      db.exec('PRAGMA journal_mode = WAL');
      db.exec(`PRAGMA synchronous = ${resolved.durability === 'full' ? 'FULL' : 'NORMAL'}`);
      migrateSqlite(db, where, Date.now());
      const statements = prepare(db);
      opened = { db, statements, writes: createGroupCommit(db, resolved.maxBatch, failed) };
      return opened;
    } catch (err) {
      db?.close();
      throw failed(err, 'opening the database');
    }
  };

  /** Runs `body` in its own `BEGIN IMMEDIATE` transaction: the write lock first, so no lost race. */
  const immediate = <T>(db: DatabaseSync, what: string, body: () => T): T => {
    try {
      db.exec('BEGIN IMMEDIATE');
      const result = body();
      db.exec('COMMIT');
      return result;
    } catch (err) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw failed(err, what);
    }
  };

  const read = <T>(what: string, body: (s: Statements) => T): T => {
    const { statements } = connection();
    try {
      return body(statements);
    } catch (err) {
      throw failed(err, what);
    }
  };

  const appendAll = (s: Statements, write: SagaWrite) => {
    for (const t of write.transitions) s.append.run({ saga_id: write.saga.id, ...transitionColumns(t) });
  };

  return {
    async init() {
      connection();
    },

    create(write: SagaWrite) {
      try {
        const { statements: s, writes } = connection();
        const id = write.saga.id;
        return writes.enqueue(() => {
          if (Number(s.insert.run(sagaColumns(write.saga)).changes) === 0) {
            throw sagaError('SY_SAGA_DUPLICATE_ID', `saga "${id}": already in the store`);
          }
          appendAll(s, write);
        });
      } catch (err) {
        return Promise.reject(err);
      }
    },

    update(write: SagaWrite, expectedVersion: number) {
      try {
        const { statements: s, writes } = connection();
        const id = write.saga.id;
        return writes.enqueue(() => {
          if (Number(s.update.run({ ...sagaColumns(write.saga), expected: expectedVersion }).changes) === 0) {
            const row = s.version.get(id) as { version: number } | undefined;
            if (row === undefined) throw sagaError('SY_SAGA_NOT_FOUND', `saga "${id}": not in the store`);
            throw sagaError(
              'SY_SAGA_CONFLICT',
              `saga "${id}": expected version ${expectedVersion}, the store has ${row.version}`,
              { details: { sagaId: id, expectedVersion, version: row.version } },
            );
          }
          appendAll(s, write);
        });
      } catch (err) {
        return Promise.reject(err);
      }
    },

    async get(id: string) {
      const row = read('get', (s) => s.get.get(id) as SagaRow | undefined);
      return row === undefined ? undefined : sagaFromRow(row);
    },

    async history(id: string) {
      return read('history', (s) => s.history.all(id) as unknown as TransitionRow[]).map(transitionFromRow);
    },

    async list(query: SagaQuery = {}): Promise<SagaPage> {
      const limit = listLimit(query);
      const statuses = listStatuses(query);
      const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
      const rows = read(
        'list',
        (s) =>
          s.list.all({
            statuses: statuses.length === 0 ? null : JSON.stringify(statuses),
            name: query.name ?? null,
            after_at: after?.createdAt ?? null,
            after_id: after?.id ?? null,
            limit: limit + 1,
          }) as unknown as SagaRow[],
      );
      const sagas = rows.slice(0, limit).map(sagaFromRow);
      const last = sagas.at(-1);
      return rows.length > limit && last !== undefined ? { sagas, nextCursor: encodeCursor(last) } : { sagas };
    },

    async claim(request: ClaimRequest) {
      const { db, statements: s } = connection();
      if (request.limit < 1 || request.names?.length === 0) return [];
      const rows = immediate(
        db,
        'claim',
        () =>
          s.claim.all({
            owner: request.owner,
            lease_until: request.leaseUntil,
            now: request.now,
            statuses: JSON.stringify(activeSagaStatuses),
            names: request.names === undefined ? null : JSON.stringify(request.names),
            limit: request.limit,
          }) as unknown as SagaRow[],
      );
      // RETURNING gives no order; the contract says oldest first.
      return rows.map(sagaFromRow).sort(oldestFirst);
    },

    async renew(owner: string, ids: readonly string[], leaseUntil: number) {
      const { db, statements: s } = connection();
      if (ids.length === 0) return [];
      const rows = immediate(
        db,
        'renew',
        () => s.renew.all({ owner, lease_until: leaseUntil, ids: JSON.stringify(ids) }) as unknown as { id: string }[],
      );
      return rows.map((r) => r.id);
    },

    async close() {
      if (closed) return;
      if (opened !== undefined) {
        // Writes already queued are committed (or fail) before the connection goes.
        opened.writes.flushNow();
        opened.db.close();
        opened = undefined;
      }
      closed = true;
    },
  };
}

function oldestFirst(a: SagaRecord, b: SagaRecord): number {
  return a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
