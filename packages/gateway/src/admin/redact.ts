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

/** Secret values known to this process, longest first (so a secret inside another is not half-masked). */
let knownSecrets: readonly string[] = [];

/**
 * Declares values as secrets for this process: from then on {@link redactSecrets} and
 * {@link redactSecretValues} replace them wherever they appear, whatever the field is named. The
 * config loader of the `switchyard` CLI declares every value that came from `${env:...}` or
 * `${file:...}`. Values shorter than 4 characters are ignored: masking every `on` in the output
 * would garble it and protect nothing. A value is also masked in its JSON-escaped form.
 *
 * @example
 * ```ts
 * addSecretValues([process.env.DATABASE_PASSWORD ?? '']);
 * redactSecretValues(`connecting with ${process.env.DATABASE_PASSWORD}`); // 'connecting with [redacted]'
 * ```
 */
export function addSecretValues(values: Iterable<string>): void {
  const all = new Set(knownSecrets);
  for (const value of values) {
    if (value.length < 4) continue;
    all.add(value);
    all.add(JSON.stringify(value).slice(1, -1));
  }
  knownSecrets = [...all].sort((a, b) => b.length - a.length);
}

/**
 * `text` with every value declared by {@link addSecretValues} replaced by `[redacted]`.
 *
 * @example
 * ```ts
 * redactSecretValues('token=abc'); // 'token=[redacted]' once 'abc' was declared
 * ```
 */
export function redactSecretValues(text: string): string {
  let out = text;
  for (const secret of knownSecrets) if (out.includes(secret)) out = out.replaceAll(secret, REDACTED);
  return out;
}

function redact(value: unknown, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return redactSecretValues(value.replace(urlPassword, `$1:${REDACTED}@`));
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
