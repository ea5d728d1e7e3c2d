// The secrets of a loaded config: values that came from `${env:...}` / `${file:...}` and values
// of secret-named fields. Output paths (validate, error messages, logs, the admin API) replace
// them with `[redacted]`.

/** What replaces a secret in output. */
export const REDACTED = '[redacted]';

/**
 * Names of fields whose values are secrets wherever they come from. A bare `key` is not one:
 * in this config it is a rate-limit key (`ip`) or a path to a TLS key file.
 */
const secretField = /token|secret|passw(or)?d|authorization|credential|api[-_]?keys?$|private[-_]?key/i;

/**
 * Values shorter than this are not masked inside other text: replacing every `a` or `on` in the
 * output would garble it while protecting nothing (such a value is guessable anyway).
 */
export const MIN_REDACTED_LENGTH = 4;

/**
 * Whether a field of this name holds a secret (`token`, `clientSecret`, `password`,
 * `authorization`, `apiKey`, `privateKey`, ...).
 *
 * @example
 * ```ts
 * isSecretField('adminToken'); // true
 * isSecretField('key');        // false: a rate-limit key or a key file path
 * ```
 */
export function isSecretField(name: string): boolean {
  return secretField.test(name);
}

/**
 * Adds to `into` the string values of secret-named fields anywhere in `data` (a parsed config),
 * and the strings of a list in such a field. Objects under a secret-named field are walked as
 * any other (in `tokens: [{ token, scope }]` only `token` is a secret, not `scope`).
 *
 * @example
 * ```ts
 * const secrets = new Set<string>();
 * collectSecretFields({ redis: { password: 'hunter22' } }, secrets); // secrets has 'hunter22'
 * ```
 */
export function collectSecretFields(data: unknown, into: Set<string>, inSecret = false): void {
  if (typeof data === 'string') {
    if (inSecret && data.length > 0) into.add(data);
    return;
  }
  if (data === null || typeof data !== 'object') return;
  if (Array.isArray(data)) {
    for (const item of data) collectSecretFields(item, into, inSecret);
    return;
  }
  for (const [key, value] of Object.entries(data)) collectSecretFields(value, into, isSecretField(key));
}

/**
 * `text` with every secret in `secrets` (at least {@link MIN_REDACTED_LENGTH} characters) replaced
 * by `[redacted]`, also where it appears JSON-escaped (inside a log line or a JSON body).
 *
 * @example
 * ```ts
 * redactSecrets('connecting with s3cr3t-pw', new Set(['s3cr3t-pw'])); // 'connecting with [redacted]'
 * ```
 */
export function redactSecrets(text: string, secrets: Iterable<string>): string {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret.length < MIN_REDACTED_LENGTH) continue;
    forms.add(secret);
    forms.add(JSON.stringify(secret).slice(1, -1));
  }
  // Longest first, so a secret containing another is masked whole.
  let out = text;
  for (const form of [...forms].sort((a, b) => b.length - a.length)) {
    if (out.includes(form)) out = out.replaceAll(form, REDACTED);
  }
  return out;
}
