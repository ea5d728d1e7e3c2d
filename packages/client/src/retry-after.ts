/**
 * Reads a `Retry-After` header (RFC 9110 §10.2.3): a number of seconds, or an HTTP date.
 *
 * @param value - the header value as received
 * @param now - the current time in ms since the epoch (the client's clock), for a date
 * @returns milliseconds to wait (0 for a date in the past), or `undefined` when absent or malformed
 * @example
 * ```ts
 * parseRetryAfter('2', 0); // 2000
 * parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:58 GMT')); // 2000
 * parseRetryAfter('soon', 0); // undefined
 * ```
 */
export function parseRetryAfter(value: string | readonly string[] | undefined, now: number): number | undefined {
  const text = (typeof value === 'string' ? value : value?.[0])?.trim();
  if (text === undefined || text === '') return undefined;
  if (/^\d+$/.test(text)) {
    const seconds = Number(text);
    return Number.isSafeInteger(seconds) ? seconds * 1000 : undefined;
  }
  // IMF-fixdate, and the obsolete RFC 850 and asctime forms the RFC asks recipients to accept:
  // all contain letters, which rules out the bare numbers Date.parse would also take.
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
