import { createHash } from 'node:crypto';
import type { DatabaseSync } from 'node:sqlite';
import { type Clock, systemClock } from '@switchyard/core';
import { transaction } from '../database.ts';
import { shopError } from '../errors.ts';
import type { RouteHandler } from './router.ts';
import type { AppRequest, AppResponse } from './types.ts';

/** The request header carrying the client's idempotency key (lower case, as Node reports it). */
export const idempotencyKeyHeader = 'idempotency-key';

/** The response header set on a stored response that is replayed. */
export const idempotentReplayedHeader = 'idempotent-replayed';

/** Options for {@link idempotentMutations}. */
export interface IdempotencyOptions {
  /** Time source for key expiry. @default systemClock */
  clock?: Clock;
  /** How long a key is remembered, in milliseconds. @default 86_400_000 (24 hours) */
  ttlMs?: number;
}

/** Wraps a mutating route handler; see {@link idempotentMutations}. */
export type MutationWrapper = (handler: RouteHandler) => RouteHandler;

// Visible ASCII only: the key travels in a header and is echoed in messages.
const validKey = /^[\x21-\x7e]{1,255}$/;

/**
 * Returns a wrapper for mutating handlers that runs each one in a single SQLite write
 * transaction and honours the `Idempotency-Key` header.
 *
 * - No header: the handler just runs (in its transaction).
 * - A new key: the handler runs; the response it returns (status + body) is stored with the
 *   key, the method, the path and a hash of the body IN THE SAME TRANSACTION as the business
 *   change, so a crash cannot keep one without the other.
 * - A known key with the same method, path and body: the stored response is returned with
 *   `Idempotent-Replayed: true` and the handler does not run.
 * - A known key with another method, path or body: 422 `SY_SHOP_IDEMPOTENCY_MISMATCH`.
 * - A handler that throws rolls back and leaves no key behind, so the client may retry with
 *   the same key (a 409 for missing stock can succeed later). A handler that must remember a
 *   refusal together with a change (a declined payment) returns the error response instead.
 * - A malformed key (not 1..255 visible ASCII characters): 400 `SY_SHOP_INVALID_IDEMPOTENCY_KEY`.
 *
 * Keys live in the table `idempotency_keys` of the service's own database and expire after
 * `ttlMs`.
 *
 * @example
 * ```ts
 * const mutation = idempotentMutations(db);
 * router.route('POST', '/orders', mutation((req) => ({ status: 201, body: createOrder(req.body) })));
 * ```
 */
export function idempotentMutations(db: DatabaseSync, options: IdempotencyOptions = {}): MutationWrapper {
  const clock = options.clock ?? systemClock;
  const ttlMs = options.ttlMs ?? 86_400_000;
  db.exec(`
    CREATE TABLE IF NOT EXISTS idempotency_keys (
      key TEXT PRIMARY KEY,
      method TEXT NOT NULL,
      path TEXT NOT NULL,
      body_hash TEXT NOT NULL,
      status INTEGER NOT NULL,
      response TEXT,
      created_at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX IF NOT EXISTS idempotency_keys_created_at ON idempotency_keys (created_at);
  `);
  const prune = db.prepare('DELETE FROM idempotency_keys WHERE created_at <= ?');
  const find = db.prepare('SELECT method, path, body_hash, status, response FROM idempotency_keys WHERE key = ?');
  const remember = db.prepare(
    'INSERT INTO idempotency_keys (key, method, path, body_hash, status, response, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );

  return (handler) => (req, params) => {
    const key = readIdempotencyKey(req);
    return transaction(db, () => {
      if (key === undefined) return handler(req, params);
      const now = clock.now();
      prune.run(now - ttlMs);
      const hash = bodyHash(req.body);
      const stored = find.get(key) as StoredRow | undefined;
      if (stored !== undefined) return replay(key, stored, req, hash);
      const response = handler(req, params);
      if (response.status < 500) {
        const body = response.body === undefined ? null : JSON.stringify(response.body);
        remember.run(key, req.method, req.path, hash, response.status, body, now);
      }
      return response;
    });
  };
}

interface StoredRow {
  method: string;
  path: string;
  body_hash: string;
  status: number;
  response: string | null;
}

/**
 * The request's `Idempotency-Key`, or `undefined` when it has none.
 *
 * @throws SwitchyardError `SY_SHOP_INVALID_IDEMPOTENCY_KEY` when it is not 1..255 visible ASCII characters
 * @example
 * ```ts
 * readIdempotencyKey(appRequest('POST', '/orders', { headers: { 'Idempotency-Key': 'order-1' } })); // 'order-1'
 * ```
 */
export function readIdempotencyKey(req: AppRequest): string | undefined {
  const key = req.headers[idempotencyKeyHeader];
  if (key === undefined) return undefined;
  if (!validKey.test(key)) {
    const shown =
      key.length > 40 ? `${JSON.stringify(key.slice(0, 40))}… (${key.length} characters)` : JSON.stringify(key);
    throw shopError(
      'SY_SHOP_INVALID_IDEMPOTENCY_KEY',
      `Idempotency-Key: expected 1..255 visible ASCII characters, got ${shown}`,
    );
  }
  return key;
}

function replay(key: string, stored: StoredRow, req: AppRequest, hash: string): AppResponse {
  if (stored.method !== req.method || stored.path !== req.path) {
    throw shopError(
      'SY_SHOP_IDEMPOTENCY_MISMATCH',
      `Idempotency-Key ${JSON.stringify(key)} was first used for ${stored.method} ${stored.path}, not ${req.method} ${req.path}; use a new key for a new request`,
    );
  }
  if (stored.body_hash !== hash) {
    throw shopError(
      'SY_SHOP_IDEMPOTENCY_MISMATCH',
      `Idempotency-Key ${JSON.stringify(key)} was first used for ${stored.method} ${stored.path} with a different body; use a new key for a new request`,
    );
  }
  const body: unknown = stored.response === null ? undefined : JSON.parse(stored.response);
  return { status: stored.status, body, headers: { [idempotentReplayedHeader]: 'true' } };
}

/**
 * SHA-256 (hex) of a request body as canonical JSON (keys sorted), so key order does not make
 * a mismatch; what a repeated `Idempotency-Key` is compared by.
 *
 * @example
 * ```ts
 * bodyHash({ b: 1, a: 2 }) === bodyHash({ a: 2, b: 1 }); // true
 * ```
 */
export function bodyHash(body: unknown): string {
  return createHash('sha256')
    .update(body === undefined ? '' : canonicalJson(body))
    .digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}
