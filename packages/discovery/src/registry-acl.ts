/**
 * Access control for the embedded registry's Consul-compatible API, shaped like Consul's ACL
 * system so Consul clients keep working: a token travels in `X-Consul-Token`,
 * `Authorization: Bearer` or `?token=`; every refusal is a 403 with a JSON body
 * `{ "error": { "code", "message" } }`. An unknown token gets code `SY_DISCOVERY_ACL_NOT_FOUND`
 * and a message starting `ACL not found`, a token (or anonymous) without the needed policy
 * `SY_DISCOVERY_ACL_PERMISSION_DENIED` and a message starting `Permission denied`: the words
 * Consul's agent answers with, so clients that match on them still recognise the refusal.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { createSecretMatcher, isLoopbackHost, RegistryAuthRefusal } from '@switchyard/core';
import * as z from 'zod';

/** Why a caller was refused: defined in `@switchyard/core`, shared with the metrics that count it. */
export { RegistryAuthRefusal };

/** What a registry token may do: `read` (health, catalog, agent lists) or `write` (also register, deregister, update checks). */
export const RegistryPolicy = { Read: 'read', Write: 'write' } as const;
/** A value of {@link RegistryPolicy}. */
export type RegistryPolicy = (typeof RegistryPolicy)[keyof typeof RegistryPolicy];

const MIN_TOKEN_LENGTH = 16;

/**
 * Schema of `registry.acl`: the tokens the registry API accepts, and what a request without a
 * token may do (`anonymous`, default `none`).
 *
 * @example
 * ```ts
 * registryAclSchema.parse({ tokens: [{ token: process.env.REGISTRY_TOKEN, policy: 'write' }] });
 * ```
 */
export const registryAclSchema = z.strictObject({
  tokens: z
    .array(
      z.strictObject({
        /** The token; write `${env:REGISTRY_TOKEN}` in a config file. A UUID, as Consul makes, fits. */
        token: z
          .string()
          .min(
            MIN_TOKEN_LENGTH,
            `must be at least ${MIN_TOKEN_LENGTH} characters (an empty value usually means an unset variable; \`uuidgen\` makes one)`,
          ),
        policy: z.enum(['read', 'write']),
        /** Who holds it, for operators. */
        name: z.string().min(1).optional(),
      }),
    )
    .min(1, 'expected at least one token')
    .superRefine((tokens, ctx) => {
      const seen = new Map<string, number>();
      for (const [index, entry] of tokens.entries()) {
        const first = seen.get(entry.token);
        if (first !== undefined) {
          ctx.addIssue({ code: 'custom', path: [index, 'token'], message: `same token as tokens[${first}]` });
        }
        seen.set(entry.token, index);
      }
    }),
  /** What a request without a token may do: nothing, or read. @default "none" */
  anonymous: z.enum(['none', 'read']).default('none'),
});

/** `registry.acl` as written. */
export type RegistryAclOptions = z.input<typeof registryAclSchema>;
/** `registry.acl` validated. */
export type ResolvedRegistryAclOptions = z.output<typeof registryAclSchema>;

/**
 * For a `superRefine` on `{ host, acl? }`: `acl` is required when the registry API listens on a
 * host other than loopback, since anyone who reaches it could register an instance and take
 * a service's traffic.
 *
 * @example
 * ```ts
 * schema.superRefine((registry, ctx) => requireRegistryAclWhenExposed(registry, ctx));
 * ```
 */
export function requireRegistryAclWhenExposed(
  section: { readonly host: string; readonly acl?: unknown },
  ctx: z.RefinementCtx,
): void {
  if (section.acl !== undefined || isLoopbackHost(section.host)) return;
  ctx.addIssue({
    code: 'custom',
    path: ['acl'],
    message: `required when the registry API listens on ${section.host} (not a loopback address): add acl.tokens with a read or write policy (token: \${env:REGISTRY_TOKEN}), or listen on 127.0.0.1`,
  });
}

/** The `error.code` of a registry ACL refusal: an unknown token, or a policy that does not cover the request. */
export type RegistryAclErrorCode = 'SY_DISCOVERY_ACL_NOT_FOUND' | 'SY_DISCOVERY_ACL_PERMISSION_DENIED';

/**
 * What {@link RegistryAcl.check} answers: go ahead, or the refusal to send as a 403 JSON body
 * (`code`, `message`) with the `reason` it is counted under. `message` never quotes a token.
 */
export type RegistryAclDecision =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly code: RegistryAclErrorCode;
      readonly reason: RegistryAuthRefusal;
      readonly message: string;
    };

/** Checks requests to the registry API against `registry.acl`. */
export interface RegistryAcl {
  /** Whether the request's token (or the anonymous policy) grants `need`. */
  check(req: { readonly headers: IncomingHttpHeaders }, url: URL, need: RegistryPolicy): RegistryAclDecision;
}

/**
 * Builds the registry's ACL check. Tokens are kept as SHA-256 digests and compared in constant
 * time; `X-Consul-Token` wins over `Authorization: Bearer`, which wins over `?token=`, as in Consul.
 *
 * @example
 * ```ts
 * const acl = createRegistryAcl({ tokens: [{ token: 'b7c1e0f2-…', policy: 'write' }], anonymous: 'read' });
 * acl.check(req, url, 'write');
 * // { ok: false, code: 'SY_DISCOVERY_ACL_PERMISSION_DENIED', reason: 'missing_token',
 * //   message: "Permission denied: anonymous token lacks permission 'service:write'" }
 * ```
 */
export function createRegistryAcl(options: ResolvedRegistryAclOptions): RegistryAcl {
  const tokens = createSecretMatcher(
    options.tokens.map((entry) => ({ secret: entry.token, value: entry.policy as RegistryPolicy })),
  );
  const anonymous: RegistryPolicy | undefined = options.anonymous === 'read' ? RegistryPolicy.Read : undefined;
  return {
    check(req, url, need) {
      const presented = tokenOf(req.headers, url);
      let policy: RegistryPolicy | undefined;
      let who: string;
      if (presented === undefined) {
        policy = anonymous;
        who = 'anonymous token';
      } else {
        policy = tokens.match(presented);
        // Consul's answer for a token it does not know.
        if (policy === undefined) {
          return {
            ok: false,
            code: 'SY_DISCOVERY_ACL_NOT_FOUND',
            reason: RegistryAuthRefusal.UnknownToken,
            message: 'ACL not found',
          };
        }
        who = `token with policy '${policy}'`;
      }
      if (policy === RegistryPolicy.Write || (policy === RegistryPolicy.Read && need === RegistryPolicy.Read)) {
        return { ok: true };
      }
      return {
        ok: false,
        code: 'SY_DISCOVERY_ACL_PERMISSION_DENIED',
        reason: presented === undefined ? RegistryAuthRefusal.MissingToken : RegistryAuthRefusal.InsufficientPolicy,
        message: `Permission denied: ${who} lacks permission '${need === RegistryPolicy.Write ? 'service:write' : 'service:read'}'`,
      };
    },
  };
}

function tokenOf(headers: IncomingHttpHeaders, url: URL): string | undefined {
  const consul = headers['x-consul-token'];
  if (typeof consul === 'string' && consul !== '') return consul;
  const bearer = /^Bearer +(\S+) *$/i.exec(headers.authorization ?? '')?.[1];
  if (bearer !== undefined) return bearer;
  const query = url.searchParams.get('token');
  return query === null || query === '' ? undefined : query;
}
