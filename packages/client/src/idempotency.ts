/**
 * Methods RFC 9110 §9.2.2 defines as idempotent: sending one twice has the effect of sending
 * it once, so a retry after an uncertain failure cannot apply it twice.
 */
const idempotentMethods: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** The request header that makes a non-idempotent request safe to repeat (IETF draft `Idempotency-Key`). */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';

/**
 * True when `method` is idempotent (RFC 9110 §9.2.2): GET, HEAD, OPTIONS, TRACE, PUT, DELETE.
 * Case-sensitive, as methods are (RFC 9110 §9.1): `get` is not `GET`.
 *
 * @example
 * ```ts
 * isIdempotentMethod('PUT'); // true
 * isIdempotentMethod('POST'); // false
 * ```
 */
export function isIdempotentMethod(method: string): boolean {
  return idempotentMethods.has(method);
}

/**
 * True when a request may be sent again after a failure that leaves its fate unknown: its
 * method is idempotent, or it carries a non-empty `Idempotency-Key` header (the server then
 * applies it at most once).
 *
 * @param headers - request headers with lower-case names
 * @example
 * ```ts
 * isRetryableRequest('POST', { 'idempotency-key': 'order-42' }); // true
 * isRetryableRequest('POST', {}); // false
 * ```
 */
export function isRetryableRequest(
  method: string,
  headers: Readonly<Record<string, string | readonly string[] | undefined>>,
): boolean {
  if (idempotentMethods.has(method)) return true;
  const key = headers[IDEMPOTENCY_KEY_HEADER];
  return typeof key === 'string' ? key.length > 0 : key !== undefined && key.length > 0;
}
