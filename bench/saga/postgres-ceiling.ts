/**
 * PostgreSQL's own ceiling on this machine: `pgbench` with a custom script (`-f`) doing one
 * INSERT of a saga-like row per transaction into a table shaped like the store's `sagas`
 * (same columns and indexes), `clients` clients, for `-T` seconds, with the server's durable
 * commits (`synchronous_commit = on`). Its `tps = ` line is the ceiling. When `pgbench` is not
 * installed, a node-pg measurement of the same insert with the same number of clients stands
 * in, labelled as such.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';

/** How the ceiling was measured, for the printed labels. */
export type PostgresCeilingTool = 'pgbench' | 'node-pg';

/** A ceiling measurement ready to run, against a scratch table in `schema`. */
export interface PostgresCeiling {
  readonly tool: PostgresCeilingTool;
  /** The pgbench binary used, or why node-pg stands in. */
  readonly detail: string;
  /** Runs for `seconds` and resolves with transactions (inserts) per second. */
  measure(seconds: number): Promise<number>;
}

/** `pgbench` on PATH or in `/usr/lib/postgresql/<version>/bin` (newest first); undefined if absent. */
export function findPgbench(): string | undefined {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  for (const v of versions) {
    const bin = join(root, v, 'bin', 'pgbench');
    if (existsSync(bin)) return bin;
  }
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const bin = join(dir, 'pgbench');
    if (dir !== '' && existsSync(bin)) return bin;
  }
  return undefined;
}

/** Creates the scratch table in `schema` (the caller drops the schema). */
export async function createCeilingTable(client: pg.Client, schema: string): Promise<void> {
  const s = `"${schema}"`;
  await client.query(`
    CREATE TABLE ${s}.ceiling (
      id text COLLATE "C" PRIMARY KEY, name text NOT NULL, status text NOT NULL, input jsonb NOT NULL,
      outputs jsonb NOT NULL, error jsonb, parked_direction text, meta jsonb NOT NULL, created_at bigint NOT NULL,
      updated_at bigint NOT NULL, version bigint NOT NULL, owner text, lease_until bigint);
    CREATE INDEX ON ${s}.ceiling (created_at DESC, id DESC);
    CREATE INDEX ON ${s}.ceiling (status, created_at DESC, id DESC);
    CREATE INDEX ON ${s}.ceiling (created_at, id) WHERE status IN ('running', 'compensating');`);
}

const insertSql = (schema: string) =>
  `INSERT INTO "${schema}".ceiling (id, name, status, input, outputs, error, parked_direction, meta, created_at,
     updated_at, version, owner, lease_until)
   VALUES (gen_random_uuid()::text, 'bench-order', 'running', '{"orderId":0,"amount":42,"sku":"sku-0"}', '{}', NULL,
     NULL, '{}', (extract(epoch from clock_timestamp()) * 1000)::bigint,
     (extract(epoch from clock_timestamp()) * 1000)::bigint, 1, 'bench',
     (extract(epoch from clock_timestamp()) * 1000)::bigint + 30000)`;

/**
 * The ceiling for `url`/`schema`: pgbench when installed (its script written into `dir`),
 * else node-pg with `clients` connections each committing one insert at a time.
 */
export function postgresCeiling(options: {
  readonly url: string;
  readonly schema: string;
  readonly clients: number;
  readonly dir: string;
}): PostgresCeiling {
  const pgbench = findPgbench();
  if (pgbench === undefined) {
    return {
      tool: 'node-pg',
      detail: 'pgbench not found (install postgresql-contrib); node-pg single-row inserts stand in',
      measure: (seconds) => nodePgInserts(options.url, options.schema, options.clients, seconds),
    };
  }
  const script = join(options.dir, 'ceiling.sql');
  writeFileSync(script, `${insertSql(options.schema).replace(/\s+/g, ' ')};\n`);
  return {
    tool: 'pgbench',
    detail: pgbench,
    measure: (seconds) => runPgbench(pgbench, script, options.url, options.clients, seconds),
  };
}

/** Runs pgbench and parses its `tps = ` line; rejects on a non-zero exit or a run past its bound. */
function runPgbench(bin: string, script: string, url: string, clients: number, seconds: number): Promise<number> {
  const u = new URL(url);
  const args = [
    '-h',
    u.hostname,
    '-p',
    u.port || '5432',
    '-U',
    decodeURIComponent(u.username || 'postgres'),
    '-n', // no vacuum: the pgbench_* tables do not exist
    '-M',
    'prepared',
    '-c',
    String(clients),
    '-j',
    '2',
    '-T',
    String(seconds),
    '-f',
    script,
    u.pathname.slice(1) || 'postgres',
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PGCONNECT_TIMEOUT: '5' },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d;
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 30) * 1000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const tps = /tps = ([\d.]+)/.exec(out);
      if (code !== 0 || tps === null) {
        reject(new Error(`pgbench ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${out}`));
        return;
      }
      const failed = /number of failed transactions: (\d+)/.exec(out);
      if (failed !== null && failed[1] !== '0') {
        reject(new Error(`pgbench: ${failed[1]} failed transactions:\n${out}`));
        return;
      }
      resolve(Number(tps[1]));
    });
  });
}

/** `clients` node-pg connections, each committing one insert at a time, for `seconds`. */
async function nodePgInserts(url: string, schema: string, clients: number, seconds: number): Promise<number> {
  const text = insertSql(schema);
  const conns = Array.from({ length: clients }, () => new pg.Client({ connectionString: url }));
  try {
    await Promise.all(conns.map((c) => c.connect()));
    let count = 0;
    const started = process.hrtime.bigint();
    const until = started + BigInt(Math.round(seconds * 1e9));
    await Promise.all(
      conns.map(async (c) => {
        while (process.hrtime.bigint() < until) {
          await c.query({ name: 'ceiling-insert', text });
          count++;
        }
      }),
    );
    return count / (Number(process.hrtime.bigint() - started) / 1e9);
  } finally {
    await Promise.all(conns.map((c) => c.end().catch(() => {})));
  }
}
