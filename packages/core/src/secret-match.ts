import { createHash, timingSafeEqual } from 'node:crypto';

// Hashing is computation, not I/O: `node:crypto` keeps core pure (scripts/dependency-rules.ts).
// Secrets are compared as SHA-256 digests: every digest is 32 bytes, so `timingSafeEqual` never
// sees two lengths and the comparison time says nothing about a secret's length or content.

/**
 * The SHA-256 digest of `secret` (UTF-8), 32 bytes: what {@link createSecretMatcher} keeps
 * instead of the secret.
 *
 * @example
 * ```ts
 * secretDigest('s3cret').length; // 32
 * ```
 */
export function secretDigest(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/**
 * Whether `presented` equals `expected`, in time that depends on neither value: both are
 * hashed to SHA-256 and the digests compared with `crypto.timingSafeEqual`.
 *
 * @example
 * ```ts
 * secretEquals(req.headers['x-token'] ?? '', process.env.TOKEN ?? ''); // true or false
 * ```
 */
export function secretEquals(presented: string, expected: string): boolean {
  return timingSafeEqual(secretDigest(presented), secretDigest(expected));
}

/** One secret a {@link SecretMatcher} knows, and what it grants. */
export interface SecretEntry<T> {
  /** The secret in clear; only its digest is kept. */
  readonly secret: string;
  readonly value: T;
}

/** Finds which configured secret a presented credential is, without keeping the secrets. */
export interface SecretMatcher<T> {
  /** The value of the entry whose secret is `presented`, else `undefined`. */
  match(presented: string): T | undefined;
  /** How many secrets it knows. */
  readonly size: number;
}

/**
 * A matcher over `entries` that keeps only their SHA-256 digests. `match` hashes the presented
 * credential and compares it with every digest in constant time (no early exit), so neither
 * which entry matched, nor whether any did, nor a secret's length shows in the response time.
 * With two equal secrets the first entry wins.
 *
 * @example
 * ```ts
 * const tokens = createSecretMatcher([{ secret: process.env.ADMIN_TOKEN ?? '', value: 'write' }]);
 * tokens.match(bearer); // 'write' or undefined
 * ```
 */
export function createSecretMatcher<T>(entries: readonly SecretEntry<T>[]): SecretMatcher<T> {
  return createDigestMatcher(entries.map((entry) => ({ digest: secretDigest(entry.secret), value: entry.value })));
}

/**
 * Like {@link createSecretMatcher} for secrets already hashed: each `digest` is the 32-byte
 * SHA-256 of a secret (as `secretDigest` makes it).
 *
 * @throws RangeError when a digest is not 32 bytes long
 * @example
 * ```ts
 * const keys = createDigestMatcher([{ digest: Buffer.from(hex, 'hex'), value: 'billing' }]);
 * keys.match(presentedKey); // 'billing' or undefined
 * ```
 */
export function createDigestMatcher<T>(
  entries: readonly { readonly digest: Uint8Array; readonly value: T }[],
): SecretMatcher<T> {
  const known = entries.map((entry) => {
    if (entry.digest.byteLength !== 32) {
      throw new RangeError(`expected a 32-byte SHA-256 digest, got ${entry.digest.byteLength} bytes`);
    }
    return { digest: Buffer.from(entry.digest), value: entry.value };
  });
  return {
    size: known.length,
    match(presented) {
      const digest = secretDigest(presented);
      let found: T | undefined;
      let matched = false;
      for (const entry of known) {
        // Every entry is compared, whatever matched before, so the loop always takes as long.
        const equal = timingSafeEqual(digest, entry.digest);
        if (equal && !matched) {
          matched = true;
          found = entry.value;
        }
      }
      return found;
    },
  };
}
