/**
 * Test support for the integration tests (not exported by the package): reaching the real
 * PostgreSQL, and a schema of its own per test that is dropped afterwards.
 */
import pg from 'pg';

/** The database the integration tests use unless `SWITCHYARD_TEST_POSTGRES_URL` says otherwise. */
export const TEST_POSTGRES_URL = process.env.SWITCHYARD_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** How to start the PostgreSQL the integration tests need; CI's `.ci/run` does the same. */
export const START_POSTGRES = 'pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start';

/**
 * Resolves when PostgreSQL answers at `url`; otherwise rejects with a message saying how to
 * start it. The integration tests call it first and fail (they never skip) without it.
 */
export async function requirePostgres(url: string = TEST_POSTGRES_URL): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (err) {
    throw new Error(
      `PostgreSQL is not reachable at ${url} (${(err as Error).message}). The PostgreSQL integration ` +
        `tests need a real server and do not skip; start one with: ${START_POSTGRES}`,
    );
  } finally {
    await client.end().catch(() => {});
  }
}

/** A schema name no other test run uses (lowercase, safe unquoted). */
export function randomSchema(label: string): string {
  return `sy_test_${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
}

/** Drops `schema` and everything in it. */
export async function dropSchema(schema: string, url: string = TEST_POSTGRES_URL): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema.replace(/"/g, '""')}" CASCADE`);
  } finally {
    await client.end().catch(() => {});
  }
}
