/**
 * Error codes of failures raised before any byte of the request left: the instance was never
 * reached, so sending the same request elsewhere cannot apply it twice.
 */
const connectErrorCodes: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
  // TLS: the instance's certificate was refused during the handshake, before any request byte.
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
]);

/**
 * True when `err` is a connection failure raised before the request was sent (refused,
 * unreachable, DNS, connect timeout, an instance certificate refused in the TLS handshake).
 *
 * @example
 * ```ts
 * isConnectError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })); // true
 * isConnectError(Object.assign(new Error('reset'), { code: 'ECONNRESET' })); // false: it may have been sent
 * ```
 */
export function isConnectError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && connectErrorCodes.has(code);
}

/** `err`'s message, with its code when the message does not already say it. */
export function describeError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && !message.includes(code) ? `${message} (${code})` : message;
}
