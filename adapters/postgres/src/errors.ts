import { type ErrorCodeSpec, errorFactory } from '@switchyard/core';

/** Error codes owned by `@switchyard/adapter-postgres`. Codes are public API: never renamed or reused. */
export const postgresErrorCodes = {
  SY_POSTGRES_UNAVAILABLE: {
    summary:
      'PostgreSQL could not be reached (connection refused, lost, or timed out), so the statement did not run; `cause` is the driver error.',
    retryable: true,
  },
  SY_POSTGRES_QUERY_FAILED: {
    summary:
      'PostgreSQL answered a statement with an error (permission denied, a missing table, a constraint); `cause` is the driver error with its SQLSTATE `code`.',
    retryable: false,
  },
  SY_POSTGRES_MIGRATION_FAILED: {
    summary:
      'Creating or migrating the schema failed, or the schema was written by a newer version of the adapter; nothing of the failing migration was applied.',
    retryable: false,
  },
} as const satisfies Record<string, ErrorCodeSpec>;

/** A code from {@link postgresErrorCodes}. */
export type PostgresErrorCode = keyof typeof postgresErrorCodes;

/**
 * Creates an error with one of the PostgreSQL adapter's codes.
 *
 * @example
 * ```ts
 * throw postgresError('SY_POSTGRES_UNAVAILABLE', 'postgres 127.0.0.1:5432: connection refused');
 * ```
 */
export const postgresError = errorFactory(postgresErrorCodes);
