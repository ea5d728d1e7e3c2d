import { resolveOptions, zDuration } from '@switchyard/core';
import * as z from 'zod';

/**
 * The options of `createSqliteSagaStore`, as a strict zod schema (also used for
 * `switchyard.yaml`). An unknown field is an error naming the closest known one.
 */
export const sqliteSagaStoreOptionsSchema = z.strictObject({
  /** The database file; created when missing. `":memory:"` keeps nothing and has no second view. */
  path: z.string().min(1, { message: 'expected a file path, such as "./sagas.db"' }),
  /**
   * `full`: every commit is on disk when the write resolves (`synchronous=FULL`), surviving a
   * power cut. `normal`: `synchronous=NORMAL` under WAL, which survives a crash of the process
   * but may lose the last commits on a power cut or OS crash. @default 'full'
   */
  durability: z.enum(['full', 'normal']).default('full'),
  /** How long a statement waits for another process's write lock before failing. @default '5s' */
  busyTimeout: zDuration().default(5000),
  /** The most writes committed in one transaction; more wait for the next one. @default 1000 */
  maxBatch: z.number().int().min(1).max(100_000).default(1000),
});

/** What `createSqliteSagaStore` accepts. Durations take `"250ms"`, `"5s"` or milliseconds. */
export type SqliteSagaStoreOptions = z.input<typeof sqliteSagaStoreOptionsSchema>;

/** {@link SqliteSagaStoreOptions} with every default applied, durations in milliseconds. */
export interface ResolvedSqliteSagaStoreOptions {
  readonly path: string;
  readonly durability: 'full' | 'normal';
  readonly busyTimeoutMs: number;
  readonly maxBatch: number;
}

/**
 * Validates and completes the SQLite saga store's options.
 *
 * @param root - path prefix in error messages @default 'saga.sqlite'
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming each bad field (`saga.sqlite.path: required`)
 * @example
 * ```ts
 * resolveSqliteSagaStoreOptions({ path: 'sagas.db', busyTimeout: '2s' }).busyTimeoutMs; // 2000
 * ```
 */
export function resolveSqliteSagaStoreOptions(
  input: SqliteSagaStoreOptions,
  root = 'saga.sqlite',
): ResolvedSqliteSagaStoreOptions {
  const value = resolveOptions(sqliteSagaStoreOptionsSchema, input, root);
  return Object.freeze({
    path: value.path,
    durability: value.durability,
    busyTimeoutMs: value.busyTimeout,
    maxBatch: value.maxBatch,
  });
}
