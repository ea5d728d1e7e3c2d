/**
 * A bounded memory of tokens already verified, so that a client sending the same bearer token
 * on every request pays for one signature check per minute instead of one per request (HMAC
 * and RSA checks through WebCrypto take a thread-pool round trip each). Envoy's `jwt_authn`
 * keeps the same kind of cache.
 */

/** Tokens remembered at most. Past it, the oldest entry makes room. */
export const VERIFIED_TOKENS_MAX = 10_000;
/** How long a verified token is remembered at most, in ms; `exp` cuts it shorter. */
export const VERIFIED_TOKEN_MAX_AGE_MS = 60_000;

interface Entry {
  readonly payload: Record<string, unknown>;
  /** Wall-clock ms after which the entry is no longer used. */
  readonly until: number;
}

/**
 * Verified tokens by their exact text. An entry is used until the earliest of `maxAgeMs`
 * after it was verified and the token's `exp` (without the clock tolerance, so a cached token
 * never outlives what a fresh check would accept); a token not valid yet (`nbf` ahead) is not
 * remembered.
 *
 * @example
 * ```ts
 * const verified = new VerifiedTokens();
 * const payload = verified.get(token, Date.now()) ?? verified.set(token, await verify(token), Date.now());
 * ```
 */
export class VerifiedTokens {
  readonly #entries = new Map<string, Entry>();
  readonly #max: number;
  readonly #maxAgeMs: number;

  constructor(max = VERIFIED_TOKENS_MAX, maxAgeMs = VERIFIED_TOKEN_MAX_AGE_MS) {
    this.#max = max;
    this.#maxAgeMs = maxAgeMs;
  }

  /** Tokens held now. */
  get size(): number {
    return this.#entries.size;
  }

  /** The payload of `token` when it was verified and its entry is still good at `now`. */
  get(token: string, now: number): Record<string, unknown> | undefined {
    const entry = this.#entries.get(token);
    if (entry === undefined) return undefined;
    if (now < entry.until) return entry.payload;
    this.#entries.delete(token);
    return undefined;
  }

  /** Remembers `token` as verified with `payload` (verified at `now`); returns `payload`. */
  set(token: string, payload: Record<string, unknown>, now: number): Record<string, unknown> {
    const nbf = payload.nbf;
    if (typeof nbf === 'number' && nbf * 1000 > now) return payload;
    const exp = payload.exp;
    const until = Math.min(now + this.#maxAgeMs, typeof exp === 'number' ? exp * 1000 : now);
    if (until <= now) return payload;
    if (this.#entries.size >= this.#max) {
      // Maps iterate in insertion order: the first key is the oldest entry.
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(token, { payload, until });
    return payload;
  }
}
