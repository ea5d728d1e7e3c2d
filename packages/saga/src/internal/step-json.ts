import type { JsonValue } from '@switchyard/core';
import { sagaError } from '../errors.ts';

/**
 * Returns a JSON copy of `value`, or throws `SY_SAGA_NOT_JSON` naming the first bad field.
 * Saga inputs and step outputs go through it before they reach a store, so every store (memory,
 * SQLite, PostgreSQL) keeps the same value. `undefined` at the top level becomes `null` (a step
 * that returns nothing); object properties set to `undefined` are dropped, as `JSON.stringify`
 * does. Class instances (Date, Map...), functions, symbols, bigints, NaN and Infinity are refused
 * rather than silently changed.
 *
 * @param what - where the value comes from, for the message (`saga "order" step "charge" output`)
 */
export function toJsonValue(value: unknown, what: string): JsonValue {
  if (value === undefined) return null;
  return copy(value, what, '', new Set());
}

function copy(value: unknown, what: string, path: string, seen: Set<object>): JsonValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return value;
    throw notJson(what, path, String(value));
  }
  if (typeof value !== 'object') throw notJson(what, path, `a ${typeof value}`);
  if (seen.has(value)) throw notJson(what, path, 'a circular reference');
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((item, i) => copy(item, what, `${path}[${i}]`, seen));
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) {
      throw notJson(what, path, `an instance of ${(value as object).constructor?.name ?? 'a class'}`);
    }
    const out: { [key: string]: JsonValue } = {};
    for (const [key, item] of Object.entries(value)) {
      if (item === undefined) continue;
      out[key] = copy(item, what, path === '' ? key : `${path}.${key}`, seen);
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

function notJson(what: string, path: string, got: string): Error {
  const where = path === '' ? what : `${what} at "${path}"`;
  return sagaError('SY_SAGA_NOT_JSON', `${where}: expected a JSON value, got ${got}`, {
    details: { path, got },
  });
}
