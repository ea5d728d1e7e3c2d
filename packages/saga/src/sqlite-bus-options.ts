import { type Clock, resolveOptions, zDuration } from '@switchyard/core';
import * as z from 'zod';

/** Options of `createSqliteEventBus`. Durations take `"50ms"`, `"5s"`, `"168h"` or milliseconds. */
export interface SqliteEventBusOptions {
  /** The log's SQLite file, shared by every process that opens the same path. Its directory must exist. */
  readonly path: string;
  /** How often a subscription looks for messages published by other processes (and for due redeliveries). @default "50ms" */
  readonly pollInterval?: string | number | undefined;
  /** How long a write waits for another process's write lock before failing with `SY_BUS_UNAVAILABLE`. @default "5s" */
  readonly busyTimeout?: string | number | undefined;
  /**
   * How long a message every group has acknowledged stays in the log before it is pruned
   * (messages still owed to a group are never pruned). @default "168h" (7 days)
   */
  readonly retention?: string | number | undefined;
  /** How often the log is pruned. @default "1m" */
  readonly pruneInterval?: string | number | undefined;
  /**
   * Added to `ackTimeout` for a claimed message's lease: a consumer that died (its handler
   * neither acknowledged nor failed) loses the message to another member after
   * `ackTimeout + leaseMargin`. @default "1s"
   */
  readonly leaseMargin?: string | number | undefined;
  /** SQLite `synchronous`: `full` survives power loss, `normal` may lose the last commits then. @default "full" */
  readonly synchronous?: 'full' | 'normal' | undefined;
  /** Time source for `publishedAt`, due times and leases. @default systemClock */
  readonly clock?: Clock | undefined;
  /**
   * Called with errors the background loops meet (a locked file, a full disk); the loops go on
   * and retry. @default a process warning, once per distinct message in a row
   */
  readonly onError?: ((error: unknown) => void) | undefined;
}

/** {@link SqliteEventBusOptions} after validation: complete, frozen, times in milliseconds. */
export interface ResolvedSqliteEventBusOptions {
  readonly path: string;
  readonly pollIntervalMs: number;
  readonly busyTimeoutMs: number;
  readonly retentionMs: number;
  readonly pruneIntervalMs: number;
  readonly leaseMarginMs: number;
  readonly synchronous: 'full' | 'normal';
  readonly clock: Clock | undefined;
  readonly onError: ((error: unknown) => void) | undefined;
}

const isClock = (value: unknown): value is Clock =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as Clock).now === 'function' &&
  typeof (value as Clock).setTimeout === 'function';

/** Schema of {@link SqliteEventBusOptions}: strict, with the documented defaults. */
export const sqliteEventBusOptionsSchema = z.strictObject({
  path: z.string().min(1),
  pollInterval: zDuration()
    .default(50)
    .refine((ms) => ms >= 1, { message: 'expected at least 1ms' }),
  busyTimeout: zDuration().default(5_000),
  retention: zDuration().default(7 * 24 * 3_600_000),
  pruneInterval: zDuration()
    .default(60_000)
    .refine((ms) => ms >= 1, { message: 'expected at least 1ms' }),
  leaseMargin: zDuration().default(1_000),
  synchronous: z.enum(['full', 'normal']).default('full'),
  clock: z.custom<Clock>(isClock, { message: 'expected a Clock ({ now, setTimeout })' }).optional(),
  onError: z
    .custom<(error: unknown) => void>((v) => typeof v === 'function', { message: 'expected a function' })
    .optional(),
});

/**
 * Validates {@link SqliteEventBusOptions}; throws `SY_CONFIG_INVALID` naming each bad field
 * (`sqliteBus.pollInterval: ...`).
 *
 * @example
 * ```ts
 * resolveSqliteEventBusOptions({ path: '.data/bus.db', pollInterval: '20ms' }).pollIntervalMs; // 20
 * ```
 */
export function resolveSqliteEventBusOptions(options: SqliteEventBusOptions): ResolvedSqliteEventBusOptions {
  const value = resolveOptions(sqliteEventBusOptionsSchema, options, 'sqliteBus');
  return Object.freeze({
    path: value.path,
    pollIntervalMs: value.pollInterval,
    busyTimeoutMs: value.busyTimeout,
    retentionMs: value.retention,
    pruneIntervalMs: value.pruneInterval,
    leaseMarginMs: value.leaseMargin,
    synchronous: value.synchronous,
    clock: value.clock,
    onError: value.onError,
  });
}
