import { parseDuration } from '@switchyard/core';
import type { Delivery } from '@switchyard/saga';
import type pg from 'pg';
import { inboxDdl, migrate, type TableName } from './internal/outbox-migrations.ts';
import { checkPool, quoteIdent, wrapPgError } from './internal/outbox-sql.ts';

/** Options of {@link createPostgresInbox}. */
export interface PostgresInboxOptions {
  /** The pool `handleOnce` takes a connection from for each message. */
  readonly pool: pg.Pool;
  /** @default "public" */
  readonly schema?: string | undefined;
  /** @default "switchyard_inbox" */
  readonly table?: string | undefined;
  /**
   * How long handled ids are kept by {@link PostgresInbox.prune} when called without an age.
   * Keep it longer than a message can take to be redelivered. @default "168h" (7 days)
   */
  readonly retention?: string | number | undefined;
}

/** What the inbox needs of a delivery: its id and consumer group. */
export type PostgresInboxMessage = Pick<Delivery, 'id' | 'group'>;

/** An idempotent consumer over PostgreSQL; see {@link createPostgresInbox}. */
export interface PostgresInbox {
  /** Creates the schema and table if missing; safe when several processes call it at once. */
  migrate(): Promise<void>;
  /**
   * Runs `effects` once per (consumer group, message id): in one transaction on a connection of
   * the pool it records the message as handled and awaits `effects(client)`; do the effects'
   * writes (and any outbox `add`) with that client. Resolves `true` when they ran, `false` for
   * a message already handled. When `effects` throws, the transaction rolls back (the inbox row
   * too) and the error is rethrown, so a redelivery runs them again. A duplicate delivered while
   * the first is still running waits for it and is then skipped.
   *
   * @throws SwitchyardError `SY_POSTGRES_UNAVAILABLE`, `SY_POSTGRES_QUERY_FAILED`; whatever `effects` threw
   */
  handleOnce<T = void>(message: PostgresInboxMessage, effects: (client: pg.PoolClient) => Promise<T>): Promise<boolean>;
  /** Whether the message was handled by its group. */
  has(message: PostgresInboxMessage): Promise<boolean>;
  /** Forgets ids handled more than `olderThan` ago (default: `retention`); returns how many. */
  prune(olderThan?: string | number): Promise<number>;
}

/**
 * Creates an inbox in PostgreSQL, so a message delivered twice (delivery is at least once) has
 * its effects once: the handled id and the effects commit together or not at all.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` for a bad schema or table name, or no pool
 * @example
 * ```ts
 * import pg from 'pg';
 * import { createPostgresInbox } from '@switchyard/adapter-postgres';
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * const inbox = createPostgresInbox({ pool });
 * await inbox.migrate();
 * await bus.subscribe('order.created', async (delivery) => {
 *   await inbox.handleOnce(delivery, async (client) => {
 *     await client.query('UPDATE stock SET reserved = reserved + 1 WHERE sku = $1', [delivery.payload.sku]);
 *   });
 * }, { group: 'inventory' });
 * ```
 */
export function createPostgresInbox(options: PostgresInboxOptions): PostgresInbox {
  const pool = checkPool(options?.pool, 'postgresInbox.pool');
  const rawSchema = options.schema ?? 'public';
  const rawTable = options.table ?? 'switchyard_inbox';
  const name: TableName = {
    schema: quoteIdent(rawSchema, 'postgresInbox.schema'),
    table: quoteIdent(rawTable, 'postgresInbox.table'),
    qualified: `${quoteIdent(rawSchema, 'postgresInbox.schema')}.${quoteIdent(rawTable, 'postgresInbox.table')}`,
    label: `${rawSchema}.${rawTable}`,
  };
  const t = name.qualified;
  const retentionMs = parseDuration(options.retention ?? 7 * 24 * 3600_000, 'postgresInbox.retention');
  const label = `postgres inbox "${name.label}"`;

  return {
    migrate: () => migrate(pool, name, inboxDdl(name, rawTable)),
    async handleOnce(message, effects) {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (error) {
        throw wrapPgError(error, `${label}: handling message "${message.id}"`);
      }
      let broken: Error | undefined;
      const step = async (what: string, sql: string, values?: unknown[]): Promise<pg.QueryResult> => {
        try {
          return await client.query(sql, values);
        } catch (error) {
          broken = error as Error;
          throw wrapPgError(error, `${label}: ${what} message "${message.id}"`);
        }
      };
      try {
        await step('beginning', 'BEGIN');
        const inserted = await step(
          'recording',
          `INSERT INTO ${t} (consumer_group, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
          [message.group, message.id],
        );
        if (inserted.rowCount !== 1) {
          await step('skipping', 'ROLLBACK');
          return false;
        }
        try {
          await effects(client);
        } catch (error) {
          await client.query('ROLLBACK').catch((failure: Error) => {
            broken = failure;
          });
          throw error;
        }
        await step('committing', 'COMMIT');
        return true;
      } catch (error) {
        if (broken !== undefined) await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        // A connection that failed a statement is discarded rather than returned half-used.
        client.release(broken);
      }
    },
    async has(message) {
      try {
        const result = await pool.query(`SELECT 1 FROM ${t} WHERE consumer_group = $1 AND message_id = $2`, [
          message.group,
          message.id,
        ]);
        return result.rowCount === 1;
      } catch (error) {
        throw wrapPgError(error, `${label}: reading message "${message.id}"`);
      }
    },
    async prune(olderThan) {
      const age = olderThan === undefined ? retentionMs : parseDuration(olderThan, 'postgresInbox.prune.olderThan');
      try {
        const result = await pool.query(
          `DELETE FROM ${t} WHERE handled_at < now() - make_interval(secs => $1::double precision / 1000)`,
          [age],
        );
        return result.rowCount ?? 0;
      } catch (error) {
        throw wrapPgError(error, `${label}: pruning`);
      }
    },
  };
}
