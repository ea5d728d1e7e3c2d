import { invalidConfig } from '@switchyard/core';

const identifier = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * Returns `name` quoted for SQL after checking it is a plain identifier (letters, digits and
 * `_`, not starting with a digit, at most 63 characters), so a table option can never carry
 * SQL. Throws `SY_CONFIG_INVALID` naming `path` otherwise.
 */
export function quoteIdentifier(name: unknown, path: string): string {
  if (typeof name !== 'string' || !identifier.test(name)) {
    throw invalidConfig([
      {
        path,
        message: `expected a table name of letters, digits and "_" (not starting with a digit, at most 63 characters), got ${JSON.stringify(name)}`,
      },
    ]);
  }
  return `"${name}"`;
}
