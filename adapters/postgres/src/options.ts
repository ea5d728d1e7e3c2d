import { configIssues, invalidConfig, zDuration } from '@switchyard/core';
import type { Pool } from 'pg';
import * as z from 'zod';

/** Duck-typed so a pool from another copy of `pg` is accepted too. */
function isPool(value: unknown): value is Pool {
  const v = value as { query?: unknown; connect?: unknown; end?: unknown } | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.query === 'function' &&
    typeof v.connect === 'function' &&
    typeof v.end === 'function'
  );
}

/** Where PostgreSQL listens: `postgres://user:password@host:port/database`. Not with `pool`. */
export const postgresUrlSchema = z
  .string()
  .refine((v) => /^postgres(ql)?:\/\/./.test(v) && URL.canParse(v), {
    message: 'expected a postgres:// or postgresql:// URL, such as "postgres://user@127.0.0.1:5432/app"',
  })
  .optional();

/** A `pg.Pool` the caller owns: the store uses it and never ends it. Not with `url`. */
export const postgresPoolSchema = z.custom<Pool>(isPool, { message: 'expected a pg Pool instance' }).optional();

/** A schema name: letters, digits and `_`, not starting with a digit, at most 63 bytes. */
export const postgresSchemaNameSchema = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, {
  message: 'expected letters, digits and _ (not starting with a digit), at most 63, such as "switchyard"',
});

/**
 * The options of `createPostgresSagaStore`, as a strict zod schema (also used for
 * `switchyard.yaml`). An unknown field is an error naming the closest known one.
 */
export const postgresSagaStoreOptionsSchema = z
  .strictObject({
    /** Where PostgreSQL listens; give this or `pool`. */
    url: postgresUrlSchema,
    /** A `pg.Pool` to use instead of `url`; the store never ends it. */
    pool: postgresPoolSchema,
    /** The schema holding the tables; created by `init()`. @default 'switchyard' */
    schema: postgresSchemaNameSchema.default('switchyard'),
    /** Connections of the pool the store opens from `url`. @default 10 */
    poolSize: z.number().int().min(1).max(1000).default(10),
    /** How long opening a connection may take before `SY_POSTGRES_UNAVAILABLE`. @default '5s' */
    connectTimeout: zDuration()
      .refine((ms) => ms > 0, { message: 'expected a duration > 0, such as "5s"' })
      .default(5000),
    /** The most writes committed in one statement; more wait for the next one. @default 500 */
    maxBatch: z.number().int().min(1).max(10_000).default(500),
    /**
     * Batch statements in flight at once (each on its own connection; a saga is in at most
     * one). Two keep the server busy while the next batch gathers; more split the same writes
     * into smaller statements that cost more each (measured with `npm run bench -- saga`:
     * 8 in flight gave half the sagas/s of 2 with 50 sagas running). Raise it when the
     * server has many cores and the writers are many. Keep it below `poolSize`, so claims and
     * reads still find a connection. @default 2
     */
    batchesInFlight: z.number().int().min(1).max(100).default(2),
  })
  .superRefine((value, ctx) => {
    if (value.url !== undefined && value.pool !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'give either url or pool, not both' });
    }
    if (value.url === undefined && value.pool === undefined) {
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'required (or give pool)' });
    }
  });

/** What `createPostgresSagaStore` accepts. Durations take `"250ms"`, `"5s"` or milliseconds. */
export type PostgresSagaStoreOptions = z.input<typeof postgresSagaStoreOptionsSchema>;

/** {@link PostgresSagaStoreOptions} with every default applied, durations in milliseconds. */
export interface ResolvedPostgresSagaStoreOptions {
  /** The URL connected to; `undefined` when `pool` was given. */
  readonly url: string | undefined;
  /** The pool passed in, if any (not frozen: it stays the caller's). */
  readonly pool: Pool | undefined;
  readonly schema: string;
  readonly poolSize: number;
  readonly connectTimeoutMs: number;
  readonly maxBatch: number;
  readonly batchesInFlight: number;
}

/**
 * Validates and completes the saga store's options.
 *
 * @param root - path prefix in error messages @default 'postgres'
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming each bad field (`postgres.schema: ...`)
 * @example
 * ```ts
 * resolvePostgresSagaStoreOptions({ url: 'postgres://127.0.0.1/app' }).schema; // "switchyard"
 * ```
 */
export function resolvePostgresSagaStoreOptions(
  input: PostgresSagaStoreOptions,
  root = 'postgres',
): ResolvedPostgresSagaStoreOptions {
  const result = postgresSagaStoreOptionsSchema.safeParse(input, { reportInput: true });
  if (!result.success) throw invalidConfig(configIssues(postgresSagaStoreOptionsSchema, result.error, root));
  const { url, pool, schema, poolSize, connectTimeout, maxBatch, batchesInFlight } = result.data;
  // Frozen shallowly rather than with resolveOptions: deep-freezing would freeze the caller's pool.
  return Object.freeze({ url, pool, schema, poolSize, connectTimeoutMs: connectTimeout, maxBatch, batchesInFlight });
}
