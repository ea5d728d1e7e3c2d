/**
 * What every PostgreSQL store of this adapter shares: the pool (opened from `url`, or the
 * caller's), where it points (for messages) and how driver errors become coded ones.
 */
import type { SwitchyardError } from '@switchyard/core';
import pg from 'pg';
import { postgresError } from '../errors.ts';

/** A store's pool: the given one, or one it opened (and so must end). */
export interface StorePool {
  readonly pool: pg.Pool;
  readonly owned: boolean;
  /** `host:port` for messages (no user or password). */
  readonly where: string;
}

/** Opens a pool for `url` (or wraps `pool`). Nothing connects until the first query. */
export function openPool(options: {
  readonly url: string | undefined;
  readonly pool: pg.Pool | undefined;
  readonly poolSize: number;
  readonly connectTimeoutMs: number;
  readonly applicationName: string;
}): StorePool {
  if (options.pool !== undefined) {
    const o = (options.pool as { options?: { host?: string; port?: number } }).options ?? {};
    return { pool: options.pool, owned: false, where: `${o.host ?? 'localhost'}:${o.port ?? 5432}` };
  }
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize,
    connectionTimeoutMillis: options.connectTimeoutMs,
    application_name: options.applicationName,
  });
  // An idle connection that dies emits 'error' on the pool; the next query reports it instead.
  pool.on('error', () => {});
  return { pool, owned: true, where: hostPort(options.url ?? '') };
}

/** `host:port` of a postgres URL. */
export function hostPort(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname || 'localhost'}:${parsed.port || '5432'}`;
  } catch {
    return '(unparsable url)';
  }
}

/** Network error codes of Node and the SQLSTATE classes that mean "the server is not there". */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EPIPE',
  'EAI_AGAIN',
]);
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);

/** True when `err` says PostgreSQL could not be reached or went away (not a statement error). */
export function isUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message : '';
  return (
    NETWORK_CODES.has(code) ||
    code.startsWith('08') ||
    UNAVAILABLE_SQLSTATES.has(code) ||
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
      message,
    )
  );
}

/**
 * Wraps a driver error: `SY_POSTGRES_UNAVAILABLE` naming `host:port` when the server is not
 * there, `SY_POSTGRES_QUERY_FAILED` with the SQLSTATE otherwise. Coded errors pass through.
 */
export function postgresFailure(err: unknown, where: string, what: string): SwitchyardError {
  if ((err as { code?: unknown })?.code !== undefined && typeof (err as { toJSON?: unknown }).toJSON === 'function') {
    const code = (err as { code: string }).code;
    if (code.startsWith('SY_')) return err as SwitchyardError;
  }
  const message = (err as Error)?.message || String(err);
  const sqlstate = (err as { code?: unknown })?.code;
  if (isUnavailable(err)) {
    const aggregate = (err as { errors?: { message?: string }[] }).errors;
    const detail = message === '' && aggregate?.[0]?.message !== undefined ? aggregate[0].message : message;
    return postgresError(
      'SY_POSTGRES_UNAVAILABLE',
      `${what}: cannot reach PostgreSQL at ${where} (${detail}); is it running?`,
      { cause: err, details: { where, ...(typeof sqlstate === 'string' ? { code: sqlstate } : {}) } },
    );
  }
  return postgresError('SY_POSTGRES_QUERY_FAILED', `${what}: PostgreSQL at ${where} failed: ${message}`, {
    cause: err,
    details: { where, ...(typeof sqlstate === 'string' ? { sqlstate } : {}) },
  });
}

/** Quotes an identifier validated by the options schema. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
