import { createHash, randomBytes } from 'node:crypto';
import { createDigestMatcher } from '@switchyard/core';
import type { GatewayMiddleware } from '../middleware.ts';
import { quoted, setHeader, stripHeaders, unauthenticated } from './identity.ts';
import { type ApiKeyAuthOptions, resolveApiKeyAuthOptions } from './options.ts';

/**
 * The config value for an API key: `sha256:<hex>`. Only this goes in config; the key itself
 * stays with its holder. A fast hash is enough because keys are long random strings (see
 * {@link generateApiKey}); it is not meant for human-chosen passwords.
 *
 * @example
 * ```ts
 * hashApiKey('sy_live_abc'); // 'sha256:…64 hex digits'
 * ```
 */
export function hashApiKey(key: string): string {
  return `sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}`;
}

/**
 * A new random API key: `sy_` and 32 random bytes in base64url (256 bits).
 *
 * @example
 * ```ts
 * const key = generateApiKey(); // give to the client
 * const hash = hashApiKey(key); // put in config
 * ```
 */
export function generateApiKey(): string {
  return `sy_${randomBytes(32).toString('base64url')}`;
}

/**
 * Authenticates requests by an API key in `header` (default `x-api-key`), compared against the
 * configured `sha256:` hashes in constant time (every key is compared, so timing does not reveal
 * which one, or whether any, matched). On success it sets `ctx.identity`
 * (`apiKeyId`, and `subject` when the key has one) and the configured identity headers;
 * incoming copies of those headers are always removed first. The key header itself is not
 * forwarded upstream.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` for invalid options (`gateway.auth.apiKey.<field>`)
 * @example
 * ```ts
 * const auth = apiKeyAuth({
 *   keys: [{ id: 'billing-batch', hash: 'sha256:9f86d0…', subject: 'billing' }],
 *   identityHeaders: { apiKeyId: 'x-api-key-id' },
 * });
 * ```
 */
export function apiKeyAuth(input: ApiKeyAuthOptions): GatewayMiddleware {
  const options = resolveApiKeyAuthOptions(input);
  // Only SHA-256 digests are kept: a `key` given in clear was hashed when the options were read.
  const keys = createDigestMatcher(
    options.keys.map((key) => ({
      digest: Buffer.from(key.hash.slice('sha256:'.length), 'hex'),
      value: { id: key.id, subject: key.subject },
    })),
  );
  const { apiKeyId: idHeader, subject: subjectHeader } = options.identityHeaders;
  const stripped = [options.header, ...[idHeader, subjectHeader].filter((h) => h !== undefined)];
  const challenge = `ApiKey realm=${quoted(options.realm)}, header=${quoted(options.header)}`;

  return (next) => async (ctx) => {
    const presented = ctx.req.headers[options.header];
    // The key authenticates to the gateway only; the upstream never sees it.
    stripHeaders(ctx, stripped);
    if (presented === undefined || presented === '') {
      if (options.optional) return next(ctx);
      unauthenticated(ctx, challenge, `an API key is required in the ${options.header} header`, {
        reason: 'missing_credentials',
      });
    }
    if (typeof presented !== 'string') {
      unauthenticated(ctx, challenge, `the ${options.header} header must appear once`, { reason: 'malformed' });
    }
    const match = keys.match(presented);
    if (match === undefined) unauthenticated(ctx, challenge, 'the API key is not valid', { reason: 'invalid_key' });
    ctx.identity =
      match.subject === undefined ? { apiKeyId: match.id } : { apiKeyId: match.id, subject: match.subject };
    setHeader(ctx, idHeader, match.id);
    setHeader(ctx, subjectHeader, match.subject);
    return next(ctx);
  };
}
