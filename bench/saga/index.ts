/**
 * `npm run bench -- saga`: completed three-step sagas per second through the durable
 * orchestrator (`createSagaEngine`), trivial in-process async steps (each with a compensate),
 * 50 sagas running at a time (each lane `engine.run`s one after another), on
 *
 * - the SQLite store (`createSqliteSagaStore`, `durability: 'full'`: WAL + `synchronous=FULL`)
 *   in a temp dir, and
 * - the PostgreSQL store (`createPostgresSagaStore`) in a random schema of the local server, with
 *   its default durable commits (`synchronous_commit = on`),
 *
 * each beside the store's own ceiling on this machine: SQLite's single-row insert rate with the
 * same pragmas and one commit per insert; PostgreSQL's `pgbench` TPS with a custom script of one
 * saga-like INSERT per transaction, as many clients as sagas in flight. Both ceiling tables have
 * the columns and indexes of the store's saga table.
 *
 * The target is the issue's: completed sagas/s at least 25% of the ceiling TPS. (A saga is 4
 * store writes, so writes/s over the ceiling is printed too; it is not the target.) Each round
 * measures every contender once, in a rotating order, so drift in machine load falls on all
 * alike; a store's ratio is the median over rounds of (sagas/s ÷ ceiling of the same round).
 *
 * Store writes are counted by wrapping the store (`create` + `update`); for PostgreSQL the store
 * is given a pool with its default settings (10 connections) whose group-commit statements are
 * counted, so commits/s and writes per commit are printed too (SQLite's are not observable).
 *
 * Options: `--sagas N` per round and store (default 5000), `--rounds N` (default 5),
 * `--in-flight N` (default 50), `--only sqlite|postgres`, `--ceiling-seconds N` (default 3),
 * `--url` (default postgres://postgres@127.0.0.1:5432/test), `--pg-batches-in-flight N` (the PostgreSQL
 * store's `batchesInFlight`; default: its own default). Fails (exit 2) when PostgreSQL is
 * not reachable, unless `--only sqlite`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createPostgresSagaStore } from '@switchyard/adapter-postgres';
import { createSqliteSagaStore, type SagaEngine, type SagaStore } from '@switchyard/saga';
import pg from 'pg';
import { reportTargets, type Target } from '../target.ts';
import type { StoreCounts } from './counting-store.ts';
import { createCeilingTable, type PostgresCeiling, postgresCeiling } from './postgres-ceiling.ts';
import { runSagas, startBenchEngine } from './saga-load.ts';
import { openSqliteCeiling } from './sqlite-ceiling.ts';

const { values } = parseArgs({
  options: {
    sagas: { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '5' },
    'in-flight': { type: 'string', default: '50' },
    only: { type: 'string' },
    'ceiling-seconds': { type: 'string', default: '3' },
    url: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
    'pg-batches-in-flight': { type: 'string' },
  },
});

const positiveInt = (name: string, raw: string): number => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${name}: expected an integer >= 1, got "${raw}"`);
    process.exit(2);
  }
  return n;
};
const total = positiveInt('sagas', values.sagas);
const rounds = positiveInt('rounds', values.rounds);
const inFlight = positiveInt('in-flight', values['in-flight']);
const ceilingSeconds = positiveInt('ceiling-seconds', values['ceiling-seconds']);
const url = values.url;
/** The PostgreSQL store's `batchesInFlight`; absent: the store's default. */
const pgBatchesInFlight =
  values['pg-batches-in-flight'] === undefined
    ? undefined
    : positiveInt('pg-batches-in-flight', values['pg-batches-in-flight']);
if (values.only !== undefined && values.only !== 'sqlite' && values.only !== 'postgres') {
  console.error(`--only: expected "sqlite" or "postgres", got "${values.only}"`);
  process.exit(2);
}
const useSqlite = values.only !== 'postgres';
const usePostgres = values.only !== 'sqlite';
const GOAL = 0.25;
/** A round of sagas that takes longer than this ends the benchmark (it is hung, not slow). */
const roundTimeoutMs = Math.max(120_000, total * 20);
const START_POSTGRES = 'pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start';

/** Connects an admin client, or exits saying how to start PostgreSQL. */
async function connectPostgres(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return client;
  } catch (err) {
    await client.end().catch(() => {});
    console.error(
      `PostgreSQL is not reachable at ${url} (${(err as Error).message}); start it with: ${START_POSTGRES}` +
        ' (or run only the SQLite half: npm run bench -- saga --only sqlite)',
    );
    process.exit(2);
  }
}

/** One store under test: its engine, its counted calls, and its ceiling. */
interface Subject {
  readonly label: string;
  readonly ceilingLabel: string;
  readonly engine: SagaEngine;
  readonly counts: StoreCounts;
  readonly ceiling: (seconds: number) => Promise<number>;
  /** Group commits issued (PostgreSQL: batch statements seen on the pool); undefined if not observable. */
  readonly commits?: () => number;
  readonly sagas: number[];
  readonly writes: number[];
  readonly writesPerSaga: number[];
  readonly ceilings: number[];
  readonly ratios: number[];
  readonly commitsPerSecond: number[];
}

const admin = usePostgres ? await connectPostgres() : undefined;
const dir = mkdtempSync(join(tmpdir(), 'switchyard-bench-saga-'));
const schema = `sy_bench_saga_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
const cleanups: (() => Promise<void> | void)[] = [() => rmSync(dir, { recursive: true, force: true })];
const subjects: Subject[] = [];
if (admin !== undefined) {
  // Last: after the engines stopped and the pools ended.
  cleanups.push(async () => {
    try {
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    } finally {
      await admin.end();
    }
  });
}
const newSeries = () => ({
  sagas: [],
  writes: [],
  writesPerSaga: [],
  ceilings: [],
  ratios: [],
  commitsPerSecond: [],
});

async function sqliteSubject(): Promise<Subject> {
  const store: SagaStore = createSqliteSagaStore({ path: join(dir, 'sagas.db'), durability: 'full' });
  cleanups.unshift(() => store.close());
  const { engine, counts } = await startBenchEngine(store, inFlight);
  cleanups.unshift(() => engine.stop());
  const ceiling = openSqliteCeiling(join(dir, 'ceiling.db'));
  cleanups.unshift(() => ceiling.close());
  return {
    label: 'SQLite (full)',
    ceilingLabel: 'single-row inserts, one commit each, WAL + synchronous=FULL',
    engine,
    counts,
    ceiling: async (seconds) => ceiling.measure(seconds),
    ...newSeries(),
  };
}

async function postgresSubject(client: pg.Client): Promise<{ subject: Subject; ceiling: PostgresCeiling }> {
  await client.query(`CREATE SCHEMA "${schema}"`);
  await createCeilingTable(client, schema);
  // The store's own pool settings (10 connections), given as a pool so its batch statements can
  // be counted: one batch statement is one transaction, one commit.
  const pool = new pg.Pool({ connectionString: url, max: 10, application_name: 'switchyard-saga-store' });
  pool.on('error', () => {});
  let batches = 0;
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  (pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: unknown } | null)?.text;
    if (typeof text === 'string' && text.includes('jsonb_to_recordset($1')) batches++;
    return query(...args);
  };
  cleanups.unshift(() => pool.end());
  const store = createPostgresSagaStore({
    pool,
    schema,
    ...(pgBatchesInFlight === undefined ? {} : { batchesInFlight: pgBatchesInFlight }),
  });
  cleanups.unshift(() => store.close());
  const { engine, counts } = await startBenchEngine(store, inFlight);
  cleanups.unshift(() => engine.stop());
  const ceiling = postgresCeiling({ url, schema, clients: inFlight, dir });
  return {
    ceiling,
    subject: {
      label: 'PostgreSQL',
      ceilingLabel:
        ceiling.tool === 'pgbench'
          ? `pgbench -c ${inFlight} -T ${ceilingSeconds}, one saga-like INSERT per transaction`
          : `NOT pgbench: ${ceiling.detail}, ${inFlight} clients`,
      engine,
      counts,
      ceiling: (seconds) => ceiling.measure(seconds),
      commits: () => batches,
      ...newSeries(),
    },
  };
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};
const fmt = (n: number) => Math.round(n).toLocaleString('en');
const ratio = (n: number) => n.toFixed(2);

/** Measures `s`'s sagas once, recording the rates; returns sagas/s. */
async function measureSagas(s: Subject): Promise<number> {
  const commitsBefore = s.commits?.() ?? 0;
  const started = process.hrtime.bigint();
  const r = await runSagas(s.engine, s.counts, total, inFlight, roundTimeoutMs);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  s.sagas.push(r.sagasPerSecond);
  s.writes.push(r.writesPerSecond);
  s.writesPerSaga.push(r.writesPerSaga);
  if (s.commits !== undefined) s.commitsPerSecond.push((s.commits() - commitsBefore) / seconds);
  return r.sagasPerSecond;
}

let ceilingTool: PostgresCeiling['tool'] | undefined;
try {
  if (useSqlite) subjects.push(await sqliteSubject());
  if (admin !== undefined) {
    const { subject, ceiling } = await postgresSubject(admin);
    ceilingTool = ceiling.tool;
    subjects.push(subject);
    if (ceiling.tool === 'node-pg') console.log(`note: ${ceiling.detail}`);
  }

  console.log(
    `saga bench: 3-step sagas, in-process async steps, ${inFlight} in flight, ${total} sagas per round, ` +
      `${rounds} rounds (median), ceilings ${ceilingSeconds} s each; node ${process.version}`,
  );
  // Warm-up: open files and connections, create the tables, let the JIT settle.
  for (const s of subjects) {
    await runSagas(s.engine, s.counts, Math.min(1000, total), inFlight, roundTimeoutMs);
    await s.ceiling(1);
  }

  // Every contender once per round, in a rotating order; a round's ratio pairs a store's
  // sagas/s with the ceiling measured in the same round.
  type Step = { readonly subject: Subject; readonly kind: 'sagas' | 'ceiling' };
  const steps: Step[] = subjects.flatMap((subject): Step[] => [
    { subject, kind: 'sagas' },
    { subject, kind: 'ceiling' },
  ]);
  for (let round = 0; round < rounds; round++) {
    const got = new Map<string, number>();
    for (let i = 0; i < steps.length; i++) {
      const { subject, kind } = steps[(round + i) % steps.length] as Step;
      let value: number;
      if (kind === 'sagas') value = await measureSagas(subject);
      else {
        value = await subject.ceiling(ceilingSeconds);
        subject.ceilings.push(value);
      }
      got.set(`${subject.label}:${kind}`, value);
    }
    const line = subjects.map((s) => {
      const sagas = got.get(`${s.label}:sagas`) as number;
      const ceiling = got.get(`${s.label}:ceiling`) as number;
      s.ratios.push(sagas / ceiling);
      return `${s.label} ${fmt(sagas)} sagas/s, ceiling ${fmt(ceiling)} tps, ${ratio(sagas / ceiling)} x`;
    });
    console.log(`  round ${round + 1}: ${line.join(' | ')}`);
  }

  const header = [
    'store'.padEnd(14),
    'sagas/s'.padStart(8),
    'writes/saga'.padStart(12),
    'writes/s'.padStart(9),
    'commits/s'.padStart(10),
    'writes/commit'.padStart(14),
    'ceiling tps'.padStart(12),
    'sagas/ceiling'.padStart(14),
    'writes/ceiling'.padStart(15),
  ];
  console.log(`\n${header.join(' ')}`);
  for (const s of subjects) {
    const writesRatios = s.writes.map((w, i) => w / (s.ceilings[i] as number));
    console.log(
      [
        s.label.padEnd(14),
        fmt(median(s.sagas)).padStart(8),
        median(s.writesPerSaga).toFixed(2).padStart(12),
        fmt(median(s.writes)).padStart(9),
        (s.commitsPerSecond.length > 0 ? fmt(median(s.commitsPerSecond)) : 'n/a').padStart(10),
        (s.commitsPerSecond.length > 0
          ? median(s.writes.map((w, i) => w / (s.commitsPerSecond[i] as number))).toFixed(1)
          : 'n/a'
        ).padStart(14),
        fmt(median(s.ceilings)).padStart(12),
        `${ratio(median(s.ratios))} x`.padStart(14),
        `${ratio(median(writesRatios))} x`.padStart(15),
      ].join(' '),
    );
  }
  console.log(
    "\nmedians over rounds; the ratios are medians of per-round ratios (sagas/s over the same round's ceiling).",
  );
  console.log(
    'commits/s: transactions the store committed (PostgreSQL: its group-commit statements; SQLite: not observable from outside).',
  );
  for (const s of subjects) console.log(`ceiling ${s.label}: ${s.ceilingLabel}`);
  console.log(
    "target: completed sagas/s >= 0.25 x the ceiling TPS (the issue's ratio); writes/ceiling is shown for context only.",
  );

  const targets: Target[] = subjects.map((s) => ({
    what:
      s.label === 'PostgreSQL'
        ? `sagas/s vs PostgreSQL ${ceilingTool === 'pgbench' ? 'pgbench' : 'node-pg insert (no pgbench)'} ceiling`
        : 'sagas/s vs SQLite insert ceiling',
    measured: median(s.ratios),
    goal: GOAL,
    kind: 'min',
    unit: 'x',
  }));
  reportTargets(targets);
} catch (err) {
  console.error('saga bench failed:', err);
  process.exitCode = 1;
} finally {
  for (const cleanup of cleanups) {
    try {
      await cleanup();
    } catch (err) {
      console.error('saga bench cleanup:', err);
      process.exitCode = 1;
    }
  }
}
