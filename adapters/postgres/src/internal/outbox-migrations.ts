/**
 * The tables of the PostgreSQL outbox and inbox (not exported by the package). Each migrate()
 * runs in one transaction under an advisory lock on the table, so services starting together
 * never race on `CREATE ... IF NOT EXISTS` (which is not safe under concurrency on its own).
 */
import type pg from 'pg';
import { postgresError } from '../errors.ts';
import { tableKey } from './outbox-sql.ts';

/** Where a table lives: both names already checked and quoted. */
export interface TableName {
  readonly schema: string;
  readonly table: string;
  /** `"schema"."table"`. */
  readonly qualified: string;
  /** Unquoted, for messages and index names. */
  readonly label: string;
}

/** Statements creating the outbox table: rows in write order (`seq`), unsent ones indexed. */
export function outboxDdl(name: TableName, rawTable: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${name.qualified} (
      seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      id text NOT NULL UNIQUE,
      topic text NOT NULL,
      payload jsonb NOT NULL,
      headers jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      sent_at timestamptz
    )`,
    `CREATE INDEX IF NOT EXISTS "${rawTable}_unsent" ON ${name.qualified} (seq) WHERE sent_at IS NULL`,
    `CREATE INDEX IF NOT EXISTS "${rawTable}_unsent_topic" ON ${name.qualified} (topic, seq) WHERE sent_at IS NULL`,
  ];
}

/** Statements creating the inbox table: one row per (consumer group, message id). */
export function inboxDdl(name: TableName, rawTable: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${name.qualified} (
      consumer_group text NOT NULL,
      message_id text NOT NULL,
      handled_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (consumer_group, message_id)
    )`,
    `CREATE INDEX IF NOT EXISTS "${rawTable}_handled_at" ON ${name.qualified} (handled_at)`,
  ];
}

/** Runs `statements` (and `CREATE SCHEMA IF NOT EXISTS`) in one transaction under the table's advisory lock. */
export async function migrate(pool: pg.Pool, name: TableName, statements: readonly string[]): Promise<void> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw postgresError('SY_POSTGRES_MIGRATION_FAILED', `migrate ${name.label}: ${(error as Error).message}`, {
      cause: error,
      details: { table: name.label },
    });
  }
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
      `switchyard:migrate:${tableKey(name.schema, name.table)}`,
    ]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${name.schema}`);
    for (const statement of statements) await client.query(statement);
    await client.query('COMMIT');
  } catch (error) {
    broken = error as Error;
    await client.query('ROLLBACK').catch(() => {});
    throw postgresError('SY_POSTGRES_MIGRATION_FAILED', `migrate ${name.label}: ${broken.message}`, {
      cause: error,
      details: { table: name.label },
    });
  } finally {
    client.release(broken);
  }
}
