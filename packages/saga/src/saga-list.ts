import { sagaError } from './errors.ts';
import type { SagaPage, SagaQuery, SagaRecord } from './store.ts';

/** The default and the largest page size of `SagaStore.list`. */
export const DEFAULT_LIST_LIMIT = 100;
export const MAX_LIST_LIMIT = 1000;

/** A list position: sagas strictly older than (`createdAt`, `id`) in newest-first order. */
export interface ListCursor {
  readonly createdAt: number;
  readonly id: string;
}

/** Encodes the position after `record` as an opaque cursor. */
export function encodeCursor(record: Pick<SagaRecord, 'createdAt' | 'id'>): string {
  return Buffer.from(JSON.stringify([record.createdAt, record.id])).toString('base64url');
}

/** Decodes a cursor made by {@link encodeCursor}; a malformed one is a clear error. */
export function decodeCursor(cursor: string): ListCursor {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && Number.isSafeInteger(value[0]) && typeof value[1] === 'string') {
      return { createdAt: value[0] as number, id: value[1] };
    }
  } catch {
    // fall through to the error below
  }
  throw sagaError('SY_SAGA_INVALID_QUERY', `saga list: cursor "${cursor}" is not one a previous page returned`);
}

/** The page size a query asks for, bounded. */
export function listLimit(query: SagaQuery): number {
  const limit = query.limit ?? DEFAULT_LIST_LIMIT;
  if (!Number.isInteger(limit) || limit < 1) {
    throw sagaError('SY_SAGA_INVALID_QUERY', `saga list: limit must be an integer >= 1, got ${String(limit)}`);
  }
  return Math.min(limit, MAX_LIST_LIMIT);
}

/** The statuses a query filters on, as a list (empty means any). */
export function listStatuses(query: SagaQuery): readonly string[] {
  if (query.status === undefined) return [];
  return typeof query.status === 'string' ? [query.status] : query.status;
}

/** Filters, orders (newest first) and pages records held in memory. */
export function listPage(records: readonly SagaRecord[], query: SagaQuery): SagaPage {
  const limit = listLimit(query);
  const statuses = listStatuses(query);
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  const matching = records
    .filter((r) => statuses.length === 0 || statuses.includes(r.status))
    .filter((r) => query.name === undefined || r.name === query.name)
    .filter(
      (r) =>
        after === undefined || r.createdAt < after.createdAt || (r.createdAt === after.createdAt && r.id < after.id),
    )
    .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  const sagas = matching.slice(0, limit);
  const last = sagas.at(-1);
  return matching.length > limit && last !== undefined ? { sagas, nextCursor: encodeCursor(last) } : { sagas };
}
