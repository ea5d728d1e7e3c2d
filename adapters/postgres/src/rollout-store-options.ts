import { configIssues, invalidConfig, zDuration } from '@switchyard/core';
import type { Pool } from 'pg';
import * as z from 'zod';
import { postgresPoolSchema, postgresSchemaNameSchema, postgresUrlSchema } from './options.ts';

/**
 * The options of `createPostgresRolloutStore`, as a strict zod schema. An unknown field is an
 * error naming the closest known one.
 */
export const postgresRolloutStoreOptionsSchema = z
  .strictObject({
    /** Where PostgreSQL listens; give this or `pool`. */
    url: postgresUrlSchema,
    /** A `pg.Pool` to use instead of `url`; the store never ends it. */
    pool: postgresPoolSchema,
    /** The schema holding the tables; created on first use. @default 'switchyard' */
    schema: postgresSchemaNameSchema.default('switchyard'),
    /** Connections of the pool the store opens from `url`. @default 2 */
    poolSize: z.number().int().min(1).max(1000).default(2),
    /** How long opening a connection may take before `SY_POSTGRES_UNAVAILABLE`. @default '5s' */
    connectTimeout: zDuration()
      .refine((ms) => ms > 0, { message: 'expected a duration > 0, such as "5s"' })
      .default(5000),
  })
  .superRefine((value, ctx) => {
    if (value.url !== undefined && value.pool !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'give either url or pool, not both' });
    }
    if (value.url === undefined && value.pool === undefined) {
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'required (or give pool)' });
    }
  });

/** What `createPostgresRolloutStore` accepts. Durations take `"250ms"`, `"5s"` or milliseconds. */
export type PostgresRolloutStoreOptions = z.input<typeof postgresRolloutStoreOptionsSchema>;

/** {@link PostgresRolloutStoreOptions} with every default applied, durations in milliseconds. */
export interface ResolvedPostgresRolloutStoreOptions {
  readonly url: string | undefined;
  readonly pool: Pool | undefined;
  readonly schema: string;
  readonly poolSize: number;
  readonly connectTimeoutMs: number;
}

/**
 * Validates and completes the rollout store's options.
 *
 * @param root - path prefix in error messages @default 'postgres'
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming each bad field (`postgres.schema: ...`)
 * @example
 * ```ts
 * resolvePostgresRolloutStoreOptions({ url: 'postgres://127.0.0.1/app' }).schema; // "switchyard"
 * ```
 */
export function resolvePostgresRolloutStoreOptions(
  input: PostgresRolloutStoreOptions,
  root = 'postgres',
): ResolvedPostgresRolloutStoreOptions {
  const result = postgresRolloutStoreOptionsSchema.safeParse(input, { reportInput: true });
  if (!result.success) throw invalidConfig(configIssues(postgresRolloutStoreOptionsSchema, result.error, root));
  const { url, pool, schema, poolSize, connectTimeout } = result.data;
  return Object.freeze({ url, pool, schema, poolSize, connectTimeoutMs: connectTimeout });
}
