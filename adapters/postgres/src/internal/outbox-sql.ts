/**
 * Shared by the PostgreSQL outbox and inbox (not exported by the package): identifier
 * checking, driver-error wrapping, and reading the options that hold live objects.
 */
import { createHash } from 'node:crypto';
import { invalidConfig } from '@switchyard/core';
import type pg from 'pg';
import { postgresError } from '../errors.ts';

const identifier = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** `name` quoted for SQL, after checking it is a plain identifier; `SY_CONFIG_INVALID` naming `path` otherwise. */
export function quoteIdent(name: unknown, path: string): string {
  if (typeof name !== 'string' || !identifier.test(name)) {
    throw invalidConfig([
      {
        path,
        message: `expected a name of letters, digits and "_" (not starting with a digit, at most 63 characters), got ${JSON.stringify(name)}`,
      },
    ]);
  }
  return `"${name}"`;
}

/** Throws `SY_CONFIG_INVALID` unless `pool` looks like a `pg.Pool`. */
export function checkPool(pool: unknown, path: string): pg.Pool {
  const candidate = pool as Partial<pg.Pool> | undefined;
  if (typeof candidate?.connect !== 'function' || typeof candidate.query !== 'function') {
    throw invalidConfig([{ path, message: 'expected a pg.Pool (new pg.Pool({ connectionString }))' }]);
  }
  return pool as pg.Pool;
}

/** A short, stable name for a table's advisory locks and notification channel. */
export function tableKey(schema: string, table: string): string {
  return createHash('sha256').update(`${schema}.${table}`).digest('hex').slice(0, 16);
}

const connectionCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH']);

/** Whether a driver error means the connection is gone (as opposed to a statement error). */
export function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') {
    // SQLSTATE class 08 is connection exceptions; 57P01-57P03 are server shutdown and startup.
    if (connectionCodes.has(code) || code.startsWith('08') || /^57P0[123]$/.test(code)) return true;
  }
  const message = (error as Error | undefined)?.message ?? '';
  return /Connection terminated|connection timeout|Client has encountered a connection error|not queryable/i.test(
    message,
  );
}

/** Wraps a driver error as `SY_POSTGRES_UNAVAILABLE` or `SY_POSTGRES_QUERY_FAILED`, keeping it as `cause`. */
export function wrapPgError(error: unknown, where: string): Error {
  const message = (error as Error | undefined)?.message ?? String(error);
  const sqlState = (error as { code?: unknown } | undefined)?.code;
  const details = typeof sqlState === 'string' ? { where, code: sqlState } : { where };
  return isConnectionError(error)
    ? postgresError('SY_POSTGRES_UNAVAILABLE', `${where}: ${message}`, { cause: error, details })
    : postgresError('SY_POSTGRES_QUERY_FAILED', `${where}: ${message}`, { cause: error, details });
}
