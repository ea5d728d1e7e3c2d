import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { createSecretMatcher, isLoopbackHost } from '@switchyard/core';
import { AdminAuthRefusal, globalMetrics } from '@switchyard/telemetry';
import * as z from 'zod';

/** What an admin token may do: `read` the views, or `write` (reload, actions), which implies read. */
export const AdminScope = { Read: 'read', Write: 'write' } as const;
/** A value of {@link AdminScope}. */
export type AdminScope = (typeof AdminScope)[keyof typeof AdminScope];

/** Shortest token accepted: 16 characters (`openssl rand -hex 32` makes 64). */
const MIN_TOKEN_LENGTH = 16;

const adminTokenSchema = z.strictObject({
  /** The bearer token; write `${env:ADMIN_TOKEN}` or `${file:...}` in a config file. */
  token: z
    .string()
    .min(
      MIN_TOKEN_LENGTH,
      `must be at least ${MIN_TOKEN_LENGTH} characters (an empty value usually means an unset variable; generate one with \`openssl rand -hex 32\`)`,
    ),
  /** `read` or `write`; `write` implies `read`. */
  scope: z.enum(['read', 'write']),
  /** Who holds the token, for logs. */
  name: z.string().min(1).optional(),
});

/**
 * Schema of an admin API's `auth`: the bearer tokens it accepts, each with a scope.
 *
 * @example
 * ```ts
 * adminAuthOptionsSchema.parse({ tokens: [{ token: process.env.ADMIN_TOKEN, scope: 'write' }] });
 * ```
 */
export const adminAuthOptionsSchema = z.strictObject({
  tokens: z
    .array(adminTokenSchema)
    .min(1, 'expected at least one token')
    .superRefine((tokens, ctx) => {
      const seen = new Map<string, number>();
      for (const [index, entry] of tokens.entries()) {
        const first = seen.get(entry.token);
        // The message must not quote the token: it is a secret.
        if (first !== undefined) {
          ctx.addIssue({ code: 'custom', path: [index, 'token'], message: `same token as tokens[${first}]` });
        }
        seen.set(entry.token, index);
      }
    }),
});

/** An admin API's `auth` as written. */
export type AdminAuthOptions = z.input<typeof adminAuthOptionsSchema>;
/** An admin API's `auth` after validation. */
export type ResolvedAdminAuthOptions = z.output<typeof adminAuthOptionsSchema>;

/**
 * For a `superRefine` on an admin section `{ host, auth? }`: reports `<root>.auth` as required
 * when `host` is not a loopback address and no tokens are configured, since the control plane
 * would then answer anyone on the network.
 *
 * @example
 * ```ts
 * z.strictObject({ host: z.string(), auth: adminAuthOptionsSchema.optional() })
 *   .superRefine((admin, ctx) => requireAdminAuthWhenExposed(admin, ctx, 'the admin API'));
 * ```
 */
export function requireAdminAuthWhenExposed(
  section: { readonly host: string; readonly auth?: unknown },
  ctx: z.RefinementCtx,
  what = 'the admin API',
): void {
  if (section.auth !== undefined || isLoopbackHost(section.host)) return;
  ctx.addIssue({
    code: 'custom',
    path: ['auth'],
    message: `required when ${what} listens on ${section.host} (not a loopback address): add auth.tokens with a read or write scope (token: \${env:ADMIN_TOKEN}), or listen on 127.0.0.1`,
  });
}

/** What {@link AdminAuth.authorize} answers: go ahead, or the refusal to send. */
export type AdminAuthDecision =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly status: 401 | 403;
      readonly code: 'SY_GATEWAY_ADMIN_UNAUTHENTICATED' | 'SY_GATEWAY_ADMIN_FORBIDDEN';
      readonly message: string;
    };

/** Checks admin API callers against the configured bearer tokens. */
export interface AdminAuth {
  /**
   * Whether the request's `Authorization: Bearer <token>` grants `scope`: 401 without a token or
   * with an unknown one, 403 with a `read` token where `write` is needed. Each refusal is counted
   * in `switchyard_admin_auth_refused_total{reason}`.
   */
  authorize(req: { readonly headers: IncomingHttpHeaders }, scope: AdminScope): AdminAuthDecision;
}

/** The `WWW-Authenticate` challenge of a 401 from an admin API (RFC 6750 §3). */
export const ADMIN_AUTH_CHALLENGE = 'Bearer realm="switchyard-admin"';

/**
 * Builds the bearer-token check of an admin API. Only SHA-256 digests of the tokens are kept;
 * a presented token is compared with each in constant time, so the response time says nothing
 * about which tokens exist or how long they are.
 *
 * Pass options validated by {@link adminAuthOptionsSchema} (the admin options schema does it).
 *
 * @example
 * ```ts
 * const auth = createAdminAuth({ tokens: [{ token: process.env.ADMIN_TOKEN ?? '', scope: 'read' }] });
 * const decision = auth.authorize(req, 'write');
 * if (!decision.ok) sendAdminAuthRefusal(res, decision, requestId);
 * ```
 */
export function createAdminAuth(options: ResolvedAdminAuthOptions | AdminAuthOptions): AdminAuth {
  const tokens = createSecretMatcher(
    options.tokens.map((entry) => ({ secret: entry.token, value: entry.scope as AdminScope })),
  );
  return {
    authorize(req, scope) {
      const presented = bearerToken(req.headers.authorization);
      if (presented === undefined) {
        globalMetrics().admin.authRefused(AdminAuthRefusal.MissingToken);
        return {
          ok: false,
          status: 401,
          code: 'SY_GATEWAY_ADMIN_UNAUTHENTICATED',
          message: 'the admin API requires an `Authorization: Bearer <token>` header',
        };
      }
      const granted = tokens.match(presented);
      if (granted === undefined) {
        globalMetrics().admin.authRefused(AdminAuthRefusal.UnknownToken);
        return {
          ok: false,
          status: 401,
          code: 'SY_GATEWAY_ADMIN_UNAUTHENTICATED',
          message: 'the bearer token is not one of the admin API’s tokens',
        };
      }
      if (scope === AdminScope.Write && granted !== AdminScope.Write) {
        globalMetrics().admin.authRefused(AdminAuthRefusal.InsufficientScope);
        return {
          ok: false,
          status: 403,
          code: 'SY_GATEWAY_ADMIN_FORBIDDEN',
          message: 'this token has the read scope; this endpoint needs a token with the write scope',
        };
      }
      return { ok: true };
    },
  };
}

/** The token of `Authorization: Bearer <token>` (scheme case-insensitive), else undefined. */
function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer +(\S+) *$/i.exec(header);
  return match?.[1];
}

/** The scope an admin request needs: `read` for GET and HEAD, `write` for anything else. */
export function adminScopeFor(method: string | undefined): AdminScope {
  return method === 'GET' || method === 'HEAD' ? AdminScope.Read : AdminScope.Write;
}

/** Admin endpoints that answer without a token: load balancers and orchestrators probe them. */
export const OPEN_ADMIN_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

/**
 * Writes an admin auth refusal: the status, `WWW-Authenticate` (`Bearer` on 401,
 * `error="insufficient_scope"` on 403) and the JSON error body
 * `{ "error": { code, message, requestId } }`.
 *
 * @example
 * ```ts
 * const decision = auth.authorize(req, adminScopeFor(req.method));
 * if (!decision.ok) return sendAdminAuthRefusal(res, decision, requestId);
 * ```
 */
export function sendAdminAuthRefusal(
  res: ServerResponse,
  decision: Extract<AdminAuthDecision, { ok: false }>,
  requestId: string,
): void {
  // A refused request's body is never read; drain it so the connection can be reused.
  res.req.resume();
  const body = JSON.stringify({ error: { code: decision.code, message: decision.message, requestId } }, null, 2);
  res.writeHead(decision.status, {
    'www-authenticate':
      decision.status === 401 ? ADMIN_AUTH_CHALLENGE : `${ADMIN_AUTH_CHALLENGE}, error="insufficient_scope"`,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-request-id': requestId,
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/**
 * The admin server's gate: `true` when the request may go on, else it has answered the refusal.
 * Health and readiness stay open; without `auth` every request goes on (loopback only, which
 * the options schema enforces).
 */
export function admitAdminRequest(
  auth: AdminAuth | undefined,
  path: string,
  req: { readonly method?: string | undefined; readonly headers: IncomingHttpHeaders },
  res: ServerResponse,
  requestId: string,
): boolean {
  if (auth === undefined || OPEN_ADMIN_PATHS.has(path)) return true;
  const decision = auth.authorize(req, adminScopeFor(req.method));
  if (decision.ok) return true;
  sendAdminAuthRefusal(res, decision, requestId);
  return false;
}
