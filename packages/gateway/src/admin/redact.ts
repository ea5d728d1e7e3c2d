/** What replaces a secret in admin API output. */
export const REDACTED = '[redacted]';

/**
 * Field names whose values are secrets: passwords, tokens, JWT secrets and private keys, API
 * keys and their hashes (a hash of a short key can be brute-forced offline), credentials.
 */
const secretKey = /secret|passw(or)?d|token|hash|api[-_]?keys?$|^keys$|private|credential|authorization|cookie/i;

/** `scheme://user:password@host`: the password part of a URL's userinfo. */
const urlPassword = /^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*):([^/?#@]*)@/i;

/**
 * A deep copy of `value` fit to show an operator: values of secret-looking fields become
 * `"[redacted]"` and passwords inside URLs (`redis://:pw@host`) become `[redacted]`.
 * Functions and class instances (a store, a logger given in code) are shown by kind only.
 *
 * @example
 * ```ts
 * redactSecrets({ url: 'redis://:hunter2@127.0.0.1:6379', jwt: { secret: 'abc' } });
 * // { url: 'redis://:[redacted]@127.0.0.1:6379', jwt: { secret: '[redacted]' } }
 * ```
 */
export function redactSecrets(value: unknown): unknown {
  return redact(value, new WeakSet());
}

function redact(value: unknown, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return value.replace(urlPassword, `$1:${REDACTED}@`);
  if (typeof value === 'function') return '[function]';
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => redact(item, seen));
  if (value instanceof URL) return redact(value.href, seen);
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return `[${value.constructor?.name ?? 'object'}]`;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    out[key] = secretKey.test(key) && child !== undefined && child !== null ? REDACTED : redact(child, seen);
  }
  return out;
}
