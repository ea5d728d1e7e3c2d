/**
 * Numbered schema migrations for the adapter's stores, applied under a transaction-scoped
 * advisory lock so that several processes initialising one schema at once apply each
 * migration exactly once. Every component (`saga`, `outbox`...) has its own numbering in one
 * shared `migrations` table; a released migration is never edited, a change is a new one.
 */
import type pg from 'pg';
import { postgresError } from '../errors.ts';
import { isUnavailable, postgresFailure, quoteIdent } from './connection.ts';

/** One schema change. `sql(schema)` gets the quoted schema name. */
export interface PostgresMigration {
  readonly version: number;
  readonly name: string;
  readonly sql: (schema: string) => string;
}

/**
 * Creates `schema` and brings `component` up to its newest migration, in one transaction
 * holding `pg_advisory_xact_lock` on the schema's name: a concurrent caller waits, then finds
 * nothing to do. A schema migrated by a newer version is refused and left as it is.
 *
 * @throws SwitchyardError `SY_POSTGRES_MIGRATION_FAILED` (a migration failed, or the schema is
 *   newer), `SY_POSTGRES_UNAVAILABLE`
 */
export async function applyMigrations(
  pool: pg.Pool,
  where: string,
  schema: string,
  component: string,
  migrations: readonly PostgresMigration[],
): Promise<void> {
  const s = quoteIdent(schema);
  const latest = migrations.at(-1)?.version ?? 0;
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw postgresFailure(err, where, `${component} store init`);
  }
  let step = 'locking the schema';
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`switchyard:${schema}`]);
    step = 'creating the schema';
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${s}.migrations (
         component text NOT NULL, version integer NOT NULL, name text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (component, version))`,
    );
    const { rows } = await client.query<{ version: number | null }>(
      `SELECT max(version) AS version FROM ${s}.migrations WHERE component = $1`,
      [component],
    );
    const current = rows[0]?.version ?? 0;
    if (current > latest) {
      throw postgresError(
        'SY_POSTGRES_MIGRATION_FAILED',
        `${component} store init at ${where}: schema "${schema}" is at ${component} version ${current}, written ` +
          `by a newer Switchyard; this one knows versions up to ${latest}. Upgrade @switchyard/adapter-postgres, ` +
          'or use another schema.',
        { details: { schema, component, version: current, supported: latest } },
      );
    }
    for (const migration of migrations) {
      if (migration.version <= current) continue;
      step = `migration ${component} ${migration.version} (${migration.name})`;
      await client.query(migration.sql(s));
      await client.query(`INSERT INTO ${s}.migrations (component, version, name) VALUES ($1, $2, $3)`, [
        component,
        migration.version,
        migration.name,
      ]);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    if ((err as { code?: string }).code === 'SY_POSTGRES_MIGRATION_FAILED') throw err;
    if (isUnavailable(err)) throw postgresFailure(err, where, `${component} store init`);
    throw postgresError(
      'SY_POSTGRES_MIGRATION_FAILED',
      `${component} store init at ${where}: ${step} in schema "${schema}" failed: ${(err as Error).message}`,
      { cause: err, details: { schema, component } },
    );
  } finally {
    client.release();
  }
}
