/**
 * Who may open an ADS stream. An xDS server hands out the whole service topology, so one bound
 * beyond loopback must check its clients: a bearer token in the gRPC `authorization` metadata
 * (Envoy: `initial_metadata` of the ADS `grpc_service`), client certificates (mTLS), or both.
 */
import * as grpc from '@grpc/grpc-js';
import { createSecretMatcher, isLoopbackHost, type SecretMatcher } from '@switchyard/core';
import * as z from 'zod';

const MIN_TOKEN_LENGTH = 16;
const pem = (what: string) =>
  z
    .string()
    .refine((text) => text.includes('-----BEGIN '), `expected PEM text (${what}), such as \${file:certs/xds.pem}`);

/**
 * Schema of the xDS server's `auth`: bearer `tokens`, `tls` with client certificates required,
 * or both (then a client needs a certificate and a token).
 *
 * @example
 * ```ts
 * xdsAuthSchema.parse({ tokens: [{ token: process.env.XDS_TOKEN, name: 'envoy' }] });
 * ```
 */
export const xdsAuthSchema = z
  .strictObject({
    /** Bearer tokens accepted in the `authorization` metadata. */
    tokens: z
      .array(
        z.strictObject({
          token: z
            .string()
            .min(
              MIN_TOKEN_LENGTH,
              `must be at least ${MIN_TOKEN_LENGTH} characters (an empty value usually means an unset variable; generate one with \`openssl rand -hex 32\`)`,
            ),
          /** Who holds it, for operators. */
          name: z.string().min(1).optional(),
        }),
      )
      .min(1, 'expected at least one token')
      .optional(),
    /** TLS for the server, with client certificates signed by `ca` required (mTLS). */
    tls: z
      .strictObject({
        /** The server's certificate chain, PEM. */
        cert: pem('a certificate'),
        /** The server's private key, PEM. */
        key: pem('a private key'),
        /** The CA that signs client certificates, PEM. */
        ca: pem('a CA certificate'),
      })
      .optional(),
  })
  .superRefine((auth, ctx) => {
    if (auth.tokens === undefined && auth.tls === undefined) {
      ctx.addIssue({ code: 'custom', path: [], message: 'expected tokens, tls or both' });
    }
  });

/** The xDS server's `auth` as written. */
export type XdsAuthOptions = z.input<typeof xdsAuthSchema>;
/** The xDS server's `auth` validated. */
export type ResolvedXdsAuthOptions = z.output<typeof xdsAuthSchema>;

/**
 * For a `superRefine` on `{ host, auth? }`: `auth` is required when the xDS server listens on a
 * host other than loopback.
 *
 * @example
 * ```ts
 * schema.superRefine((xds, ctx) => requireXdsAuthWhenExposed(xds, ctx));
 * ```
 */
export function requireXdsAuthWhenExposed(
  section: { readonly host: string; readonly auth?: unknown },
  ctx: z.RefinementCtx,
): void {
  if (section.auth !== undefined || isLoopbackHost(section.host)) return;
  ctx.addIssue({
    code: 'custom',
    path: ['auth'],
    message: `required when the xDS server listens on ${section.host} (not a loopback address): add auth.tokens (token: \${env:XDS_TOKEN}) or auth.tls (mTLS), or listen on 127.0.0.1`,
  });
}

/** The credentials to bind with: TLS requiring client certificates when `auth.tls` is set, else plaintext. */
export function xdsServerCredentials(auth: ResolvedXdsAuthOptions | undefined): grpc.ServerCredentials {
  if (auth?.tls === undefined) return grpc.ServerCredentials.createInsecure();
  return grpc.ServerCredentials.createSsl(
    Buffer.from(auth.tls.ca),
    [{ cert_chain: Buffer.from(auth.tls.cert), private_key: Buffer.from(auth.tls.key) }],
    true,
  );
}

/**
 * Why the xDS server refused an ADS call with `UNAUTHENTICATED`, for counting refusals (the
 * `reason` label of `switchyard_xds_auth_refused_total`): no `authorization: Bearer` metadata, or
 * a token that is not one of `auth.tokens`. A client without a valid certificate (mTLS) is
 * refused by the TLS handshake, before any call exists, and is not reported.
 */
export const XdsAuthRefusal = {
  MissingToken: 'missing_token',
  UnknownToken: 'unknown_token',
} as const;
/** A value of {@link XdsAuthRefusal}. */
export type XdsAuthRefusal = (typeof XdsAuthRefusal)[keyof typeof XdsAuthRefusal];

/** The bearer-token gate of ADS streams. */
export interface XdsCallGate {
  /**
   * Whether the call may go on; otherwise it has been ended with `UNAUTHENTICATED` and a reason
   * that never quotes the token.
   */
  admit(call: grpc.ServerDuplexStream<unknown, unknown>): boolean;
}

/**
 * Builds the gate for `auth.tokens` (tokens kept as SHA-256 digests, compared in constant time).
 * Without tokens every call is admitted: mTLS, when configured, was checked by the TLS handshake.
 * `onRefused` is told the reason of each refused call (a throw becomes a process warning).
 *
 * @example
 * ```ts
 * const gate = createXdsCallGate({ tokens: [{ token: process.env.XDS_TOKEN ?? '' }] }, (reason) => refused[reason]++);
 * // in the handler: if (!gate.admit(call)) return;
 * ```
 */
export function createXdsCallGate(
  auth: ResolvedXdsAuthOptions | undefined,
  onRefused?: (reason: XdsAuthRefusal) => void,
): XdsCallGate {
  const tokens: SecretMatcher<true> | undefined =
    auth?.tokens === undefined
      ? undefined
      : createSecretMatcher(auth.tokens.map((entry) => ({ secret: entry.token, value: true as const })));
  return {
    admit(call) {
      if (tokens === undefined) return true;
      const values = call.metadata.get('authorization');
      const header = values.length === 1 && typeof values[0] === 'string' ? values[0] : undefined;
      const presented = header === undefined ? undefined : /^Bearer +(\S+) *$/i.exec(header)?.[1];
      if (presented !== undefined && tokens.match(presented) === true) return true;
      const details =
        presented === undefined
          ? 'xds: an `authorization: Bearer <token>` metadata entry is required'
          : 'xds: the bearer token is not one of this server’s tokens';
      if (onRefused !== undefined) {
        try {
          onRefused(presented === undefined ? XdsAuthRefusal.MissingToken : XdsAuthRefusal.UnknownToken);
        } catch (err) {
          process.emitWarning(err instanceof Error ? err : String(err), 'SwitchyardMeshWarning');
        }
      }
      call.emit('error', { code: grpc.status.UNAUTHENTICATED, details, metadata: new grpc.Metadata() });
      return false;
    },
  };
}
