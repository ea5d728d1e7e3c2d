import { createPublicKey, type JsonWebKey } from 'node:crypto';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import { gatewayError } from '../errors.ts';
import type { GatewayMiddleware } from '../middleware.ts';
import { quoted, setHeader, stripHeaders, unauthenticated } from './identity.ts';
import { type JwtAuthOptions, resolveJwtAuthOptions } from './options.ts';
import { VERIFIED_TOKEN_MAX_AGE_MS, VERIFIED_TOKENS_MAX, VerifiedTokens } from './verified-tokens.ts';

/** Thrown by the JWKS fetch when the endpoint cannot give a usable key set. */
class JwksUnreachable extends Error {
  override name = 'JwksUnreachable';
}

/**
 * Authenticates requests by a JWT in `Authorization: Bearer <token>`, verified locally with
 * `jose`: signature against the JWKS (fetched from `jwksUrl`, cached for `cacheMaxAge`, refetched
 * at most once per `cooldown` when a token names an unknown `kid`, so a key rotation is picked up
 * without a restart), a fixed `publicKeys` list or an HMAC `secret`; `iss`, `aud`, `exp`/`nbf`
 * within `clockTolerance` (`exp` is required); and the algorithm in `algorithms` (never `none`; HS* never mixed
 * with asymmetric ones, so a public key cannot be replayed as an HMAC secret).
 *
 * On success it sets `ctx.identity` (`subject` = `sub`, `claims` = the payload) and the
 * configured identity headers for the upstream; incoming copies of those headers are always
 * removed first. A missing token is `SY_GATEWAY_UNAUTHENTICATED` (401) unless `optional`; an
 * invalid one is 401 even then.
 *
 * A token that passed is remembered (up to 10,000 tokens) for 60 s (with `jwksUrl`, at most
 * `cacheMaxAge`), or until its `exp` if sooner, so a client repeating its token is checked
 * once a minute; a key removed from the JWKS thus stops admitting the tokens it signed within
 * that time rather than at once, as it already did through the key set cache.
 *
 * When the JWKS endpoint is down, the last key set fetched keeps verifying tokens whatever its
 * age; a token naming a `kid` that set lacks is then `SY_GATEWAY_AUTH_UNAVAILABLE` (503),
 * because a freshly rotated key cannot be told from a forged `kid` until the JWKS answers.
 * With the endpoint up, an unknown `kid` is 401.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` for invalid options (`gateway.auth.jwt.<field>`)
 * @example
 * ```ts
 * const auth = jwtAuth({
 *   jwksUrl: 'https://id.example/.well-known/jwks.json',
 *   issuer: 'https://id.example',
 *   audience: 'shop-api',
 *   algorithms: ['RS256'],
 *   identityHeaders: { subject: 'x-user-id', claims: { 'x-user-email': 'email' } },
 * });
 * await createGateway({ options, discovery, middleware: [auth] });
 * ```
 */
export function jwtAuth(input: JwtAuthOptions): GatewayMiddleware {
  const options = resolveJwtAuthOptions(input);
  const key = keySource(options);
  const { subject: subjectHeader, claims: claimHeaders = {} } = options.identityHeaders;
  const claimEntries = Object.entries(claimHeaders);
  const stripped = [...(subjectHeader === undefined ? [] : [subjectHeader]), ...Object.keys(claimHeaders)];
  const verifyOptions = {
    issuer: options.issuer as string | string[],
    audience: options.audience as string | string[],
    algorithms: options.algorithms as string[],
    clockTolerance: Math.ceil(options.clockToleranceMs / 1000),
    // A token without `exp` would be valid forever once leaked.
    requiredClaims: ['exp'],
  };
  const realm = `realm=${quoted(options.realm)}`;
  // A token is remembered no longer than the key set that verified it is (`cacheMaxAge`).
  const verified = new VerifiedTokens(
    VERIFIED_TOKENS_MAX,
    options.jwksUrl === undefined
      ? VERIFIED_TOKEN_MAX_AGE_MS
      : Math.min(VERIFIED_TOKEN_MAX_AGE_MS, options.cacheMaxAgeMs),
  );

  return (next) => async (ctx) => {
    stripHeaders(ctx, stripped);
    const header = ctx.req.headers.authorization;
    const token = typeof header === 'string' ? /^Bearer +([^\s]+) *$/i.exec(header)?.[1] : undefined;
    if (token === undefined) {
      // Optional: anonymous requests, and other schemes meant for the upstream, pass untouched.
      if (options.optional) return next(ctx);
      unauthenticated(ctx, `Bearer ${realm}`, 'a bearer token is required (Authorization: Bearer <token>)', {
        reason: 'missing_credentials',
      });
    }
    let payload = verified.get(token, Date.now());
    if (payload === undefined) {
      try {
        const result = await (typeof key === 'function'
          ? jwtVerify(token, key, verifyOptions)
          : jwtVerify(token, key, verifyOptions));
        payload = verified.set(token, result.payload, Date.now());
      } catch (err) {
        if (err instanceof JwksUnreachable) {
          throw gatewayError(
            'SY_GATEWAY_AUTH_UNAVAILABLE',
            `the JWKS at ${options.jwksUrl} could not be fetched: ${err.message}`,
            {
              cause: err,
            },
          );
        }
        const reason = reasonOf(err);
        unauthenticated(
          ctx,
          `Bearer ${realm}, error="invalid_token", error_description=${quoted(reason.message)}`,
          reason.message,
          {
            reason: reason.code,
          },
        );
      }
    }
    ctx.identity = typeof payload.sub === 'string' ? { subject: payload.sub, claims: payload } : { claims: payload };
    setHeader(ctx, subjectHeader, payload.sub);
    for (const [name, claim] of claimEntries) setHeader(ctx, name, payload[claim]);
    return next(ctx);
  };
}

function reasonOf(err: unknown): { code: string; message: string } {
  const code = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : 'ERR_UNKNOWN';
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return { code, message: 'the token has expired' };
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const { claim, reason } = err as { claim: string; reason: string };
      return { code, message: `the token's "${claim}" claim is not accepted (${reason})` };
    }
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return { code, message: "the token's algorithm is not allowed" };
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return { code, message: "the token's signature is invalid" };
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return { code, message: 'no trusted key matches the token' };
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return { code, message: 'the token is malformed' };
    default:
      return { code, message: 'the token was rejected' };
  }
}

type Key = JWTVerifyGetKey | Uint8Array;

function keySource(options: ReturnType<typeof resolveJwtAuthOptions>): Key {
  if (options.secret !== undefined) return new TextEncoder().encode(options.secret);
  if (options.publicKeys !== undefined) {
    const keys = options.publicKeys.map((key) =>
      typeof key === 'string' ? (createPublicKey(key).export({ format: 'jwk' }) as JsonWebKey) : { ...key },
    );
    const local = createLocalJWKSet({ keys } as JSONWebKeySet);
    const kids = new Set(keys.map((key) => key.kid));
    // A PEM carries no key id: a token's `kid` only narrows the choice when some key has it,
    // otherwise every configured key is tried (the signature decides, as always).
    return (header, token) => {
      if (kids.has(header.kid)) return local(header, token);
      const { kid: _, ...rest } = header;
      return local(rest, token);
    };
  }
  return remoteKeys(options.jwksUrl as string, options);
}

/**
 * jose's remote key set, made to keep serving its last good keys while the endpoint is down.
 * jose rethrows a failed refresh once `cacheMaxAge` has passed; here such a failure falls back to
 * the keys already held, and further fetches wait `cooldown` so an unreachable endpoint costs
 * one timeout per cooldown rather than one per request.
 */
function remoteKeys(url: string, options: ReturnType<typeof resolveJwtAuthOptions>): JWTVerifyGetKey {
  let failedAt = Number.NEGATIVE_INFINITY;
  const fetchJwks = async (target: string, init: RequestInit): Promise<Response> => {
    try {
      const response = await fetch(target, init);
      const text = await response.text();
      if (response.status !== 200) throw new JwksUnreachable(`HTTP ${response.status}`);
      const body = JSON.parse(text) as { keys?: unknown };
      if (!Array.isArray(body.keys)) throw new JwksUnreachable('the response is not a JWK set');
      return new Response(text, { status: 200, headers: { 'content-type': 'application/json' } });
    } catch (err) {
      failedAt = Date.now();
      if (err instanceof JwksUnreachable) throw err;
      throw new JwksUnreachable((err as Error).message, { cause: err });
    }
  };
  const remote = createRemoteJWKSet(new URL(url), {
    cacheMaxAge: options.cacheMaxAgeMs,
    cooldownDuration: options.cooldownMs,
    timeoutDuration: options.jwksTimeoutMs,
    [customFetch]: fetchJwks,
  });
  let staleSet: JSONWebKeySet | undefined;
  let stale: JWTVerifyGetKey | undefined;
  const fromStale = async (...args: Parameters<JWTVerifyGetKey>) => {
    const jwks = remote.jwks();
    if (jwks === undefined) throw new JwksUnreachable('no key set has been fetched yet');
    if (jwks !== staleSet) {
      staleSet = jwks;
      stale = createLocalJWKSet(jwks);
    }
    try {
      return await (stale as JWTVerifyGetKey)(...args);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === 'ERR_JWKS_NO_MATCHING_KEY')
        throw new JwksUnreachable('the cached key set has no key for this token');
      throw err;
    }
  };
  return async (...args) => {
    if (Date.now() < failedAt + options.cooldownMs) return fromStale(...args);
    try {
      return await remote(...args);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (err instanceof JwksUnreachable || code === 'ERR_JWKS_TIMEOUT' || code === 'ERR_JWKS_INVALID') {
        failedAt = Date.now();
        return fromStale(...args);
      }
      throw err;
    }
  };
}
