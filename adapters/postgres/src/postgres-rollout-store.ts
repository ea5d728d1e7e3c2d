import { openPool, postgresFailure, quoteIdent } from './internal/connection.ts';
import { applyMigrations, type PostgresMigration } from './internal/migrations.ts';
import { type PostgresRolloutStoreOptions, resolvePostgresRolloutStoreOptions } from './rollout-store-options.ts';

/**
 * A rollout's state; the shape of `RolloutRecord` in `@switchyard/gateway` (the store keeps it
 * as JSON and reads only `name` and `version`).
 */
export interface PostgresRolloutRecord {
  readonly name: string;
  readonly version: number;
}

/**
 * The gateway's `RolloutStore` port kept in PostgreSQL (it satisfies the port structurally, so
 * this package does not depend on the gateway): compare-and-set is one conditional `UPDATE`,
 * a lease one conditional upsert, so every gateway replica sees one truth.
 */
export interface PostgresRolloutStore {
  /** @throws SwitchyardError `SY_POSTGRES_UNAVAILABLE`, `SY_POSTGRES_QUERY_FAILED`, `SY_POSTGRES_MIGRATION_FAILED` */
  get<R extends PostgresRolloutRecord>(name: string): Promise<R | undefined>;
  /** Every record, by name. */
  list<R extends PostgresRolloutRecord>(): Promise<R[]>;
  /** Writes `next` if the stored version is `expectedVersion` (0: none); `next.version` must be one more. */
  compareAndSet(next: PostgresRolloutRecord, expectedVersion: number): Promise<boolean>;
  /** Takes or renews the lease of `name` for `holder` until `nowMs + ttlMs` (the callers' clock). */
  acquireLease(name: string, holder: string, ttlMs: number, nowMs: number): Promise<boolean>;
  /** Gives up `holder`'s lease of `name`. */
  releaseLease(name: string, holder: string): Promise<void>;
  /** Ends the pool the store opened (a `pool` passed in is left open). Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const migrations: readonly PostgresMigration[] = [
  {
    version: 1,
    name: 'rollouts and leases',
    sql: (s) => `
      CREATE TABLE ${s}.rollouts (
        name text PRIMARY KEY,
        version integer NOT NULL,
        record jsonb NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now());
      CREATE TABLE ${s}.rollout_leases (
        name text PRIMARY KEY,
        holder text NOT NULL,
        expires_at bigint NOT NULL);`,
  },
];

/**
 * Opens a rollout store in PostgreSQL, for `gateway.rollouts.<name>.store: postgres://...`.
 * The schema and tables are created (migrated) on first use, under an advisory lock.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` for bad options; the methods reject with
 *   `SY_POSTGRES_UNAVAILABLE`, `SY_POSTGRES_QUERY_FAILED` or `SY_POSTGRES_MIGRATION_FAILED`
 * @example
 * ```ts
 * import { createPostgresRolloutStore } from '@switchyard/adapter-postgres';
 * import { createGateway } from '@switchyard/gateway';
 *
 * const gateway = await createGateway({
 *   options,
 *   discovery,
 *   rolloutStores: { postgres: (url) => createPostgresRolloutStore({ url }) },
 * });
 * ```
 */
export function createPostgresRolloutStore(options: PostgresRolloutStoreOptions): PostgresRolloutStore {
  const resolved = resolvePostgresRolloutStoreOptions(options);
  const { pool, owned, where } = openPool({
    url: resolved.url,
    pool: resolved.pool,
    poolSize: resolved.poolSize,
    connectTimeoutMs: resolved.connectTimeoutMs,
    applicationName: 'switchyard-rollout-store',
  });
  const s = quoteIdent(resolved.schema);
  let ready: Promise<void> | undefined;
  let closing: Promise<void> | undefined;
  const init = () => {
    ready ??= applyMigrations(pool, where, resolved.schema, 'rollout', migrations).catch((err: unknown) => {
      ready = undefined;
      throw err;
    });
    return ready;
  };
  const query = async <T extends object>(what: string, sql: string, params: unknown[]): Promise<T[]> => {
    if (closing !== undefined) throw postgresFailure(new Error('the store was closed'), where, `rollout store ${what}`);
    await init();
    try {
      return (await pool.query<T>(sql, params)).rows;
    } catch (err) {
      throw postgresFailure(err, where, `rollout store ${what}`);
    }
  };

  return {
    async get<R extends PostgresRolloutRecord>(name: string) {
      const rows = await query<{ record: R }>(`get("${name}")`, `SELECT record FROM ${s}.rollouts WHERE name = $1`, [
        name,
      ]);
      return rows[0]?.record;
    },
    async list<R extends PostgresRolloutRecord>() {
      const rows = await query<{ record: R }>('list', `SELECT record FROM ${s}.rollouts ORDER BY name COLLATE "C"`, []);
      return rows.map((r) => r.record);
    },
    async compareAndSet(next, expectedVersion) {
      if (next.version !== expectedVersion + 1) {
        throw new RangeError(`rollout ${next.name}: next.version must be ${expectedVersion + 1}, got ${next.version}`);
      }
      const what = `compareAndSet("${next.name}")`;
      const json = JSON.stringify(next);
      const rows =
        expectedVersion === 0
          ? await query(
              what,
              `INSERT INTO ${s}.rollouts (name, version, record) VALUES ($1, $2, $3::jsonb)
               ON CONFLICT (name) DO NOTHING RETURNING name`,
              [next.name, next.version, json],
            )
          : await query(
              what,
              `UPDATE ${s}.rollouts SET version = $2, record = $3::jsonb, updated_at = now()
               WHERE name = $1 AND version = $4 RETURNING name`,
              [next.name, next.version, json, expectedVersion],
            );
      return rows.length === 1;
    },
    async acquireLease(name, holder, ttlMs, nowMs) {
      const rows = await query(
        `acquireLease("${name}")`,
        `INSERT INTO ${s}.rollout_leases (name, holder, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
         WHERE ${s}.rollout_leases.holder = EXCLUDED.holder OR ${s}.rollout_leases.expires_at <= $4
         RETURNING name`,
        [name, holder, nowMs + ttlMs, nowMs],
      );
      return rows.length === 1;
    },
    async releaseLease(name, holder) {
      await query(`releaseLease("${name}")`, `DELETE FROM ${s}.rollout_leases WHERE name = $1 AND holder = $2`, [
        name,
        holder,
      ]);
    },
    close() {
      closing ??= owned ? pool.end().catch(() => undefined) : Promise.resolve();
      return closing;
    },
    [Symbol.asyncDispose]() {
      return this.close();
    },
  };
}
