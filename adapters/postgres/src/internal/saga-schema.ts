/**
 * The saga store's tables and statements. Times are epoch milliseconds in `bigint`; JSON is
 * `jsonb`, read back as text (`::text`) so a JSON `null` stays apart from SQL NULL (absent).
 * Ids are `COLLATE "C"` so list order and cursors compare like JavaScript strings do.
 */
import type { PostgresMigration } from './migrations.ts';

/** The saga store's migrations (component `saga`). */
export const sagaMigrations: readonly PostgresMigration[] = [
  {
    version: 1,
    name: 'sagas and transitions',
    sql: (s) => `
      CREATE TABLE ${s}.sagas (
        id text COLLATE "C" PRIMARY KEY,
        name text NOT NULL,
        status text NOT NULL,
        input jsonb NOT NULL,
        outputs jsonb NOT NULL,
        error jsonb,
        parked_direction text,
        meta jsonb NOT NULL,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL,
        version bigint NOT NULL,
        owner text,
        lease_until bigint
      );
      CREATE INDEX sagas_created ON ${s}.sagas (created_at DESC, id DESC);
      CREATE INDEX sagas_status_created ON ${s}.sagas (status, created_at DESC, id DESC);
      CREATE INDEX sagas_claimable ON ${s}.sagas (created_at, id) WHERE status IN ('running', 'compensating');
      CREATE TABLE ${s}.saga_transitions (
        saga_id text COLLATE "C" NOT NULL,
        seq integer NOT NULL,
        kind text NOT NULL,
        at bigint NOT NULL,
        step text,
        attempt integer,
        output jsonb,
        error jsonb,
        owner text,
        reason text,
        PRIMARY KEY (saga_id, seq)
      );
    `,
  },
  {
    version: 2,
    name: 'room on each page for in-place updates',
    // A saga row is updated a few times right after it is inserted; with free room on its page
    // the update is HOT (no index entry written) as long as no indexed column changes.
    sql: (s) => `ALTER TABLE ${s}.sagas SET (fillfactor = 50);`,
  },
];

/** The saga columns as the mapper reads them. */
export const SAGA_COLUMNS = `id, name, status, input::text AS input, outputs::text AS outputs, error::text AS error,
  parked_direction, meta::text AS meta, created_at, updated_at, version, owner, lease_until`;

/** The statements of the store for the quoted schema `s`. */
export function sagaStatements(s: string) {
  return {
    /**
     * Group commit in one statement (one transaction, one commit): `$1` is a JSON array of
     * writes. Creates insert unless the id exists; updates apply only where the version
     * matches; transitions are appended for the writes that took. The result says, per write,
     * whether it took and, for a write that did not, the version stored before the statement
     * (NULL: no such saga). `$2` is the number of writes: as a LIMIT it is the row estimate the
     * generic plan uses for them (10% of the function's default 100 rows, close to a real
     * batch), so the plan looks sagas up by primary key at any table size instead of hashing a
     * scan of the whole table, the plan chosen while the table is small.
     */
    batch: `
      WITH b AS (
        SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(
          i int, op text, id text, expected bigint, name text, status text, input text, outputs text,
          error text, parked_direction text, meta text, created_at bigint, updated_at bigint,
          version bigint, owner text, lease_until bigint, transitions jsonb)
        LIMIT $2
      ),
      ins AS (
        INSERT INTO ${s}.sagas (id, name, status, input, outputs, error, parked_direction, meta,
                                created_at, updated_at, version, owner, lease_until)
        SELECT id, name, status, input::jsonb, outputs::jsonb, error::jsonb, parked_direction, meta::jsonb,
               created_at, updated_at, version, owner, lease_until
        FROM b WHERE op = 'create'
        ON CONFLICT (id) DO NOTHING
        RETURNING id
      ),
      upd AS (
        UPDATE ${s}.sagas AS t SET status = b.status,
          outputs = b.outputs::jsonb, error = b.error::jsonb, parked_direction = b.parked_direction,
          updated_at = b.updated_at, version = b.version, owner = b.owner, lease_until = b.lease_until
        FROM b
        WHERE b.op = 'update' AND t.id = b.id AND t.version = b.expected
        RETURNING b.i
      ),
      done AS (
        SELECT b.i, b.id, b.transitions FROM b JOIN ins ON ins.id = b.id WHERE b.op = 'create'
        UNION ALL
        SELECT b.i, b.id, b.transitions FROM b JOIN upd ON upd.i = b.i
      ),
      app AS (
        INSERT INTO ${s}.saga_transitions (saga_id, seq, kind, at, step, attempt, output, error, owner, reason)
        SELECT d.id, t.seq, t.kind, t.at, t.step, t.attempt, t.output::jsonb, t.error::jsonb, t.owner, t.reason
        FROM done AS d, jsonb_to_recordset(d.transitions) AS t(
          seq int, kind text, at bigint, step text, attempt int, output text, error text, owner text, reason text)
      )
      SELECT b.i, d.i IS NOT NULL AS ok, cur.version AS current
      FROM b LEFT JOIN done AS d ON d.i = b.i LEFT JOIN ${s}.sagas AS cur ON d.i IS NULL AND cur.id = b.id`,
    get: `SELECT ${SAGA_COLUMNS} FROM ${s}.sagas WHERE id = $1`,
    history: `SELECT saga_id, seq, kind, at, step, attempt, output::text AS output, error::text AS error, owner, reason
      FROM ${s}.saga_transitions WHERE saga_id = $1 ORDER BY seq`,
    list: `SELECT ${SAGA_COLUMNS} FROM ${s}.sagas
      WHERE ($1::text[] IS NULL OR status = ANY($1::text[]))
        AND ($2::text IS NULL OR name = $2::text)
        AND ($3::bigint IS NULL OR (created_at, id) < ($3::bigint, $4::text))
      ORDER BY created_at DESC, id DESC
      LIMIT $5`,
    /** One statement: rows locked by a concurrent claim are skipped, never taken twice. */
    claim: `UPDATE ${s}.sagas SET owner = $1, lease_until = $2, version = version + 1
      WHERE id IN (
        SELECT id FROM ${s}.sagas
        WHERE status IN ('running', 'compensating')
          AND (owner IS NULL OR lease_until IS NULL OR lease_until <= $3)
          AND ($5::text[] IS NULL OR name = ANY($5::text[]))
        ORDER BY created_at, id
        LIMIT $4
        FOR UPDATE SKIP LOCKED)
      RETURNING ${SAGA_COLUMNS}`,
    renew: `UPDATE ${s}.sagas SET lease_until = $3 WHERE owner = $1 AND id = ANY($2::text[]) RETURNING id`,
    analyze: `ANALYZE ${s}.sagas, ${s}.saga_transitions`,
  };
}
