import { type JsonValue, parseDuration } from '@switchyard/core';
import {
  createBusMessage,
  type OutboxClaim,
  type OutboxEvent,
  type OutboxRecord,
  type OutboxSource,
  withTraceHeaders,
} from '@switchyard/saga';
import type pg from 'pg';
import { migrate, outboxDdl, type TableName } from './internal/outbox-migrations.ts';
import { checkPool, quoteIdent, tableKey, wrapPgError } from './internal/outbox-sql.ts';

/** Options of {@link createPostgresOutbox}. */
export interface PostgresOutboxOptions {
  /** The pool the relay claims events through (one connection per claim, held while publishing). */
  readonly pool: pg.Pool;
  /** @default "public" */
  readonly schema?: string | undefined;
  /** @default "switchyard_outbox" */
  readonly table?: string | undefined;
  /**
   * Whether `add()` sends a PostgreSQL notification (delivered at commit) that
   * {@link PostgresOutbox.listen} turns into `relay.notify()`. @default true
   */
  readonly notify?: boolean | undefined;
}

/** Something that runs a query: a client inside the caller's transaction (or a pool, which autocommits). */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<pg.QueryResult>;
}

/** A LISTEN connection waking a relay; see {@link PostgresOutbox.listen}. */
export interface OutboxListener extends AsyncDisposable {
  /** Stops listening and returns the connection to the pool. Idempotent. */
  close(): Promise<void>;
}

/** A transactional outbox in PostgreSQL; see {@link createPostgresOutbox}. */
export interface PostgresOutbox {
  /** Creates the schema, table and indexes if missing; safe when several processes call it at once. */
  migrate(): Promise<void>;
  /**
   * Writes an event with `client`, inside the caller's transaction beside the business change,
   * so both commit or neither. Returns the message id; an id already in the outbox is stored once.
   *
   * @throws SwitchyardError `SY_BUS_INVALID_TOPIC` / `SY_BUS_INVALID_MESSAGE` (nothing written),
   *   `SY_POSTGRES_QUERY_FAILED` / `SY_POSTGRES_UNAVAILABLE` (roll the transaction back)
   */
  add<T extends JsonValue>(client: Queryable, event: OutboxEvent<T>): Promise<string>;
  /** What a relay reads: `createOutboxRelay({ source: outbox.source, bus })`. */
  readonly source: OutboxSource;
  /**
   * Holds one pool connection listening for commits of `add()` and calls `onNotify` (pass
   * `() => relay.notify()`) for each, so the relay publishes at once instead of at its next poll.
   * The relay keeps polling, so a lost connection only delays events; `onError` hears of it.
   */
  listen(onNotify: () => void, onError?: (error: unknown) => void): Promise<OutboxListener>;
  /** How many events are not sent yet. */
  pending(): Promise<number>;
  /** Deletes events sent more than `olderThan` ago (`"24h"`, `"30m"` or ms); returns how many. */
  prune(olderThan: string | number): Promise<number>;
}

interface Row {
  seq: string;
  id: string;
  topic: string;
  payload: JsonValue;
  headers: Record<string, string>;
  created_at: Date;
}

/**
 * Creates a transactional outbox in PostgreSQL. Services write events with `add(client, event)`
 * in their own transaction; relays (`createOutboxRelay` from `@switchyard/saga`) read
 * `source`. Several relays may share the table: a claim locks its rows (`FOR UPDATE SKIP
 * LOCKED`), so no two relays publish the same event at once, and a per-topic advisory lock
 * with a check that no earlier unsent event of the topic is left out keeps each topic in
 * write order. A relay that dies mid-claim loses its connection and its locks with it; the
 * events are claimed again and published with the same ids.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` for a bad schema or table name, or no pool
 * @example
 * ```ts
 * import pg from 'pg';
 * import { createOutboxRelay } from '@switchyard/saga';
 * import { createPostgresOutbox } from '@switchyard/adapter-postgres';
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * const outbox = createPostgresOutbox({ pool });
 * await outbox.migrate();
 * const client = await pool.connect();
 * await client.query('BEGIN');
 * await client.query('INSERT INTO orders (id, total) VALUES ($1, $2)', ['o-1', 42]);
 * await outbox.add(client, { topic: 'order.created', payload: { orderId: 'o-1' } });
 * await client.query('COMMIT');
 * client.release();
 * ```
 */
export function createPostgresOutbox(options: PostgresOutboxOptions): PostgresOutbox {
  const pool = checkPool(options?.pool, 'postgresOutbox.pool');
  const rawSchema = options.schema ?? 'public';
  const rawTable = options.table ?? 'switchyard_outbox';
  const name: TableName = {
    schema: quoteIdent(rawSchema, 'postgresOutbox.schema'),
    table: quoteIdent(rawTable, 'postgresOutbox.table'),
    qualified: `${quoteIdent(rawSchema, 'postgresOutbox.schema')}.${quoteIdent(rawTable, 'postgresOutbox.table')}`,
    label: `${rawSchema}.${rawTable}`,
  };
  const t = name.qualified;
  const key = tableKey(rawSchema, rawTable);
  const channel = `sy_outbox_${key}`;
  const notify = options.notify ?? true;
  const label = `postgres outbox "${name.label}"`;

  const insertSql = notify
    ? `WITH inserted AS (
         INSERT INTO ${t} (id, topic, payload, headers) VALUES ($1, $2, $3::jsonb, $4::jsonb)
         ON CONFLICT (id) DO NOTHING RETURNING id
       ) SELECT pg_notify('${channel}', '') FROM inserted`
    : `INSERT INTO ${t} (id, topic, payload, headers) VALUES ($1, $2, $3::jsonb, $4::jsonb) ON CONFLICT (id) DO NOTHING`;

  const source: OutboxSource = {
    name: label,
    claim: (limit) => claim(pool, t, key, label, limit),
  };

  return {
    migrate: () => migrate(pool, name, outboxDdl(name, rawTable)),
    async add(client, event) {
      // Checked as a bus checks a publish, so a bad event fails here and never blocks the relay.
      const message = createBusMessage(
        event.topic,
        event.payload,
        { id: event.id, headers: withTraceHeaders(event.headers) },
        Date.now(),
      );
      const values = [message.id, message.topic, JSON.stringify(message.payload), JSON.stringify(message.headers)];
      try {
        await client.query(insertSql, values);
      } catch (error) {
        throw wrapPgError(error, `${label}: adding an event to "${message.topic}"`);
      }
      return message.id;
    },
    source,
    async listen(onNotify, onError) {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
        await client.query(`LISTEN ${channel}`);
      } catch (error) {
        throw wrapPgError(error, `${label}: LISTEN`);
      }
      const onNotification = (message: pg.Notification): void => {
        if (message.channel === channel) onNotify();
      };
      const onClientError = (error: Error): void => onError?.(wrapPgError(error, `${label}: LISTEN connection`));
      client.on('notification', onNotification);
      client.on('error', onClientError);
      let closing: Promise<void> | undefined;
      const close = (): Promise<void> => {
        closing ??= (async () => {
          client.off('notification', onNotification);
          let broken: Error | undefined;
          try {
            await client.query(`UNLISTEN ${channel}`);
          } catch (error) {
            broken = error as Error;
          }
          client.off('error', onClientError);
          client.release(broken);
        })();
        return closing;
      };
      return { close, [Symbol.asyncDispose]: close };
    },
    async pending() {
      try {
        const result = await pool.query(`SELECT count(*)::int AS n FROM ${t} WHERE sent_at IS NULL`);
        return Number(result.rows[0]?.n ?? 0);
      } catch (error) {
        throw wrapPgError(error, `${label}: counting unsent events`);
      }
    },
    async prune(olderThan) {
      const olderThanMs = parseDuration(olderThan, 'postgresOutbox.prune.olderThan');
      try {
        const result = await pool.query(
          `DELETE FROM ${t} WHERE sent_at IS NOT NULL AND sent_at < now() - make_interval(secs => $1::double precision / 1000)`,
          [olderThanMs],
        );
        return result.rowCount ?? 0;
      } catch (error) {
        throw wrapPgError(error, `${label}: pruning sent events`);
      }
    },
  };
}

/**
 * Opens a transaction holding up to `limit` unsent events, locked against other relays, and
 * trimmed so that each topic's events are exactly its earliest unsent ones (see below).
 */
async function claim(pool: pg.Pool, t: string, key: string, label: string, limit: number): Promise<OutboxClaim> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw wrapPgError(error, `${label}: claiming events`);
  }
  const end = async (sql: string, error?: Error): Promise<void> => {
    let broken = error;
    try {
      await client.query(sql);
    } catch (failure) {
      broken ??= failure as Error;
      throw wrapPgError(failure, `${label}: ${sql === 'COMMIT' ? 'marking events sent' : 'releasing a claim'}`);
    } finally {
      client.release(broken);
    }
  };
  let rows: Row[];
  try {
    await client.query('BEGIN');
    const locked = await client.query<Row>(
      `SELECT seq, id, topic, payload, headers, created_at FROM ${t}
       WHERE sent_at IS NULL ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [limit],
    );
    rows = await keepTopicPrefixes(client, t, key, locked.rows);
  } catch (error) {
    await end('ROLLBACK', error as Error).catch(() => {});
    throw wrapPgError(error, `${label}: claiming events`);
  }
  if (rows.length === 0) {
    await end('COMMIT');
    return { events: [], settle: async () => {} };
  }
  let settled = false;
  return {
    events: rows.map(toRecord),
    async settle(sentIds) {
      if (settled) return;
      settled = true;
      if (sentIds.length > 0) {
        try {
          await client.query(`UPDATE ${t} SET sent_at = now() WHERE id = ANY($1::text[])`, [sentIds]);
        } catch (error) {
          await end('ROLLBACK', error as Error).catch(() => {});
          throw wrapPgError(error, `${label}: marking events sent`);
        }
      }
      await end('COMMIT');
    },
  };
}

/**
 * Skipping locked rows lets relays share the table, but alone it could let a relay publish a
 * topic's later events while another still holds (or has just rolled back) earlier ones. So a
 * relay publishes a topic only while holding that topic's advisory lock (for the transaction),
 * and only the rows that are, in order, the topic's earliest unsent ones; the others stay
 * locked until the claim ends and are taken by a later claim.
 */
async function keepTopicPrefixes(client: pg.PoolClient, t: string, key: string, rows: Row[]): Promise<Row[]> {
  if (rows.length === 0) return rows;
  const maxSeq = new Map<string, string>();
  for (const row of rows) maxSeq.set(row.topic, row.seq);
  const topics = [...maxSeq.keys()];
  const locked = await client.query<{ topic: string }>(
    `SELECT topic FROM unnest($1::text[]) AS t(topic) WHERE pg_try_advisory_xact_lock(hashtext($2), hashtext(topic))`,
    [topics, `switchyard:outbox:${key}`],
  );
  const ours = locked.rows.map((r) => r.topic);
  if (ours.length === 0) return [];
  const unsent = await client.query<{ topic: string; seq: string }>(
    `SELECT o.topic, o.seq FROM ${t} o
     JOIN unnest($1::text[], $2::bigint[]) AS b(topic, max_seq) ON o.topic = b.topic
     WHERE o.sent_at IS NULL AND o.seq <= b.max_seq ORDER BY o.seq`,
    [ours, ours.map((topic) => maxSeq.get(topic))],
  );
  const expected = new Map<string, string[]>();
  for (const { topic, seq } of unsent.rows) {
    const list = expected.get(topic);
    if (list) list.push(seq);
    else expected.set(topic, [seq]);
  }
  const position = new Map<string, number>();
  const stopped = new Set<string>();
  const kept: Row[] = [];
  for (const row of rows) {
    if (!expected.has(row.topic) || stopped.has(row.topic)) continue;
    const index = position.get(row.topic) ?? 0;
    if (expected.get(row.topic)?.[index] !== row.seq) {
      stopped.add(row.topic);
      continue;
    }
    position.set(row.topic, index + 1);
    kept.push(row);
  }
  return kept;
}

function toRecord(row: Row): OutboxRecord {
  return {
    id: row.id,
    topic: row.topic,
    payload: row.payload,
    headers: row.headers,
    createdAt: row.created_at.getTime(),
  };
}
