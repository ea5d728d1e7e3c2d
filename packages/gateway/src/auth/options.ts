import { createPublicKey } from 'node:crypto';
import { resolveOptions, secretDigest, zDuration } from '@switchyard/core';
import { z } from 'zod';
import { zHeaderName } from './header-name.ts';

/** JWS algorithms `jwtAuth` accepts in `algorithms`. `none` is never one of them. */
export const asymmetricAlgorithms = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;
const hmacAlgorithms = ['HS256', 'HS384', 'HS512'] as const;
const allAlgorithms: readonly string[] = [...asymmetricAlgorithms, ...hmacAlgorithms];
const isHmac = (alg: string) => alg.startsWith('HS');

const claimMap = z.record(zHeaderName(), z.string().min(1));

const jwtSchema = z
  .strictObject({
    jwksUrl: z.url({ protocol: /^https?$/ }).optional(),
    publicKeys: z
      .array(z.union([z.string().min(1), z.record(z.string(), z.unknown())]))
      .min(1)
      .optional(),
    secret: z.string().min(32, 'expected at least 32 characters (256 bits) for an HMAC secret').optional(),
    issuer: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    algorithms: z
      .array(z.string())
      .min(1, 'expected at least one algorithm, e.g. ["RS256"]')
      .superRefine((algs, ctx) => {
        algs.forEach((alg, i) => {
          if (alg.toLowerCase() === 'none') {
            ctx.addIssue({
              code: 'custom',
              path: [i],
              message: '"none" is never allowed: unsigned tokens prove nothing',
            });
          } else if (!allAlgorithms.includes(alg)) {
            ctx.addIssue({
              code: 'custom',
              path: [i],
              message: `expected one of ${allAlgorithms.join(', ')}, got "${alg}"`,
            });
          }
        });
        if (algs.some(isHmac) && algs.some((alg) => !isHmac(alg))) {
          ctx.addIssue({
            code: 'custom',
            message:
              'HS* cannot be mixed with asymmetric algorithms: a public key would become usable as an HMAC secret (algorithm confusion)',
          });
        }
      }),
    clockTolerance: zDuration().default(30_000),
    cacheMaxAge: zDuration().default(600_000),
    cooldown: zDuration().default(30_000),
    jwksTimeout: zDuration().default(5_000),
    identityHeaders: z.strictObject({ subject: zHeaderName().optional(), claims: claimMap.optional() }).default({}),
    optional: z.boolean().default(false),
    realm: z.string().min(1).default('switchyard'),
  })
  .superRefine((o, ctx) => {
    const sources = [o.jwksUrl, o.publicKeys, o.secret].filter((s) => s !== undefined).length;
    const hmac = o.algorithms.some(isHmac);
    if (sources !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['jwksUrl'],
        message: 'expected exactly one of jwksUrl, publicKeys or secret',
      });
    } else if (hmac && o.secret === undefined) {
      ctx.addIssue({ code: 'custom', path: ['algorithms'], message: 'HS* algorithms need `secret`, not public keys' });
    } else if (!hmac && o.secret !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['secret'], message: 'a secret verifies only HS* algorithms; list them' });
    }
    o.publicKeys?.forEach((key, i) => {
      const problem = publicKeyProblem(key);
      if (problem) ctx.addIssue({ code: 'custom', path: ['publicKeys', i], message: problem });
    });
  });

function publicKeyProblem(key: string | Record<string, unknown>): string | undefined {
  if (typeof key === 'string' ? key.includes('PRIVATE KEY') : 'd' in key || 'k' in key) {
    return 'expected a public key; a private or symmetric key must never be in gateway config';
  }
  try {
    createPublicKey(typeof key === 'string' ? key : { key: key as never, format: 'jwk' });
    return undefined;
  } catch (err) {
    return `not a usable public key (PEM SPKI or JWK): ${(err as Error).message}`;
  }
}

/** The options of `jwtAuth`, as a strict zod schema (the `jwt` middleware entry). */
export const jwtAuthOptionsSchema = jwtSchema;

/** Options of {@link jwtAuth}: the input form (durations as `"30s"` or milliseconds). */
export type JwtAuthOptions = z.input<typeof jwtSchema>;

/** {@link JwtAuthOptions} validated, defaulted and frozen; durations in milliseconds. */
export interface ResolvedJwtAuthOptions {
  readonly jwksUrl: string | undefined;
  readonly publicKeys: readonly (string | Readonly<Record<string, unknown>>)[] | undefined;
  readonly secret: string | undefined;
  readonly issuer: string | readonly string[];
  readonly audience: string | readonly string[];
  readonly algorithms: readonly string[];
  readonly clockToleranceMs: number;
  readonly cacheMaxAgeMs: number;
  readonly cooldownMs: number;
  readonly jwksTimeoutMs: number;
  readonly identityHeaders: {
    readonly subject?: string | undefined;
    readonly claims?: Readonly<Record<string, string>> | undefined;
  };
  readonly optional: boolean;
  readonly realm: string;
}

/**
 * Validates {@link JwtAuthOptions}.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming each field (`gateway.auth.jwt.audience: ...`)
 * @example
 * ```ts
 * resolveJwtAuthOptions({ jwksUrl: 'https://id.example/jwks', issuer: 'https://id.example', audience: 'shop', algorithms: ['RS256'] });
 * ```
 */
export function resolveJwtAuthOptions(input: JwtAuthOptions, root = 'gateway.auth.jwt'): ResolvedJwtAuthOptions {
  const o = resolveOptions(jwtSchema, input, root);
  return Object.freeze({
    jwksUrl: o.jwksUrl,
    publicKeys: o.publicKeys,
    secret: o.secret,
    issuer: o.issuer,
    audience: o.audience,
    algorithms: o.algorithms,
    clockToleranceMs: o.clockTolerance,
    cacheMaxAgeMs: o.cacheMaxAge,
    cooldownMs: o.cooldown,
    jwksTimeoutMs: o.jwksTimeout,
    identityHeaders: o.identityHeaders,
    optional: o.optional,
    realm: o.realm,
  });
}

const apiKeySchema = z.strictObject({
  header: zHeaderName().default('x-api-key'),
  keys: z
    .array(
      z
        .strictObject({
          id: z.string().min(1),
          hash: z
            .string()
            .regex(/^sha256:[0-9a-f]{64}$/, 'expected "sha256:<64 hex digits>" as produced by hashApiKey(key)')
            .optional(),
          /**
           * The key itself, for `key: ${env:BILLING_KEY}`: hashed as the options are read, so only
           * its digest is kept (and shown, redacted, by the admin API).
           */
          key: z.string().min(16, 'must be at least 16 characters (generateApiKey() makes 46)').optional(),
          subject: z.string().min(1).optional(),
        })
        .superRefine((entry, ctx) => {
          if ((entry.hash === undefined) === (entry.key === undefined)) {
            ctx.addIssue({
              code: 'custom',
              path: [],
              message: `expected either hash ("sha256:…" from hashApiKey) or key (the key, e.g. \${env:API_KEY}), not both`,
            });
          }
        })
        .transform(({ key, hash, ...rest }) => ({
          ...rest,
          hash: key === undefined ? (hash as string) : `sha256:${secretDigest(key).toString('hex')}`,
        })),
    )
    .min(1, 'expected at least one key')
    .superRefine((keys, ctx) => {
      const seen = new Set<string>();
      keys.forEach((key, i) => {
        if (seen.has(key.id))
          ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate key id "${key.id}"` });
        seen.add(key.id);
      });
    }),
  identityHeaders: z
    .strictObject({ apiKeyId: zHeaderName().optional(), subject: zHeaderName().optional() })
    .default({}),
  optional: z.boolean().default(false),
  realm: z.string().min(1).default('switchyard'),
});

/** The options of `apiKeyAuth`, as a strict zod schema (the `apiKey` middleware entry). */
export const apiKeyAuthOptionsSchema = apiKeySchema;

/** Options of {@link apiKeyAuth}. */
export type ApiKeyAuthOptions = z.input<typeof apiKeySchema>;
/** {@link ApiKeyAuthOptions} validated, defaulted and frozen. */
export type ResolvedApiKeyAuthOptions = Readonly<z.output<typeof apiKeySchema>>;

/**
 * Validates {@link ApiKeyAuthOptions}.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming each field (`gateway.auth.apiKey.keys[0].hash: ...`)
 * @example
 * ```ts
 * resolveApiKeyAuthOptions({ keys: [{ id: 'ci', hash: hashApiKey(process.env.CI_KEY ?? '') }] });
 * ```
 */
export function resolveApiKeyAuthOptions(
  input: ApiKeyAuthOptions,
  root = 'gateway.auth.apiKey',
): ResolvedApiKeyAuthOptions {
  return resolveOptions(apiKeySchema, input, root);
}

const source = z
  .string()
  .regex(/^(json:[^\s]+|header:[a-z0-9!#$%&'*+.^_`|~-]+)$/, 'expected "json:<field>" or "header:<lower-case name>"');

const remoteSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }),
  forwardHeaders: z
    .array(z.string().regex(/^[a-z0-9!#$%&'*+.^_`|~-]+$/, 'expected a lower-case header name'))
    .min(1)
    .default(['authorization', 'cookie']),
  timeout: zDuration().default(2_000),
  maxCacheTtl: zDuration().default(60_000),
  cacheSize: z.number().int().min(0).default(10_000),
  subjectFrom: source.default('json:sub'),
  identityHeaders: z
    .strictObject({ subject: zHeaderName().optional(), claims: z.record(zHeaderName(), source).optional() })
    .default({}),
  optional: z.boolean().default(false),
  realm: z.string().min(1).default('switchyard'),
});

/** The options of `remoteAuth`, as a strict zod schema (the `remoteAuth` middleware entry). */
export const remoteAuthOptionsSchema = remoteSchema;

/** Options of {@link remoteAuth}. */
export type RemoteAuthOptions = z.input<typeof remoteSchema>;

/** {@link RemoteAuthOptions} validated, defaulted and frozen; durations in milliseconds. */
export interface ResolvedRemoteAuthOptions {
  readonly url: string;
  readonly forwardHeaders: readonly string[];
  readonly timeoutMs: number;
  readonly maxCacheTtlMs: number;
  readonly cacheSize: number;
  readonly subjectFrom: string;
  readonly identityHeaders: {
    readonly subject?: string | undefined;
    readonly claims?: Readonly<Record<string, string>> | undefined;
  };
  readonly optional: boolean;
  readonly realm: string;
}

/**
 * Validates {@link RemoteAuthOptions}.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming each field (`gateway.auth.remote.url: ...`)
 * @example
 * ```ts
 * resolveRemoteAuthOptions({ url: 'http://auth.internal/validate', timeout: '1s' });
 * ```
 */
export function resolveRemoteAuthOptions(
  input: RemoteAuthOptions,
  root = 'gateway.auth.remote',
): ResolvedRemoteAuthOptions {
  const o = resolveOptions(remoteSchema, input, root);
  return Object.freeze({
    url: o.url,
    forwardHeaders: o.forwardHeaders,
    timeoutMs: o.timeout,
    maxCacheTtlMs: o.maxCacheTtl,
    cacheSize: o.cacheSize,
    subjectFrom: o.subjectFrom,
    identityHeaders: o.identityHeaders,
    optional: o.optional,
    realm: o.realm,
  });
}
