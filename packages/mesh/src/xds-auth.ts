/**
 * Who may open an ADS stream. An xDS server hands out the whole service topology, so one bound
 * beyond loopback must check its clients: a bearer token in the gRPC `authorization` metadata
 * (Envoy: `initial_metadata` of the ADS `grpc_service`), client certificates (mTLS), or both.
 */
import * as grpc from '@grpc/grpc-js';
import { createSecretMatcher, isLoopbackHost, type SecretMatcher, XdsAuthRefusal } from '@switchyard/core';
import * as z from 'zod';

/** Why a caller was refused: defined in `@switchyard/core`, shared with the metrics that count it. */
export { XdsAuthRefusal };

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
    /**
     * TLS for the server, with client certificates signed by `ca` required (mTLS): an ADS call from
     * a client without one is refused as `UNAUTHENTICATED` (reason `untrusted_certificate`).
     */
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

/**
 * The credentials to bind with: plaintext without `auth.tls`; with it, TLS that asks every client
 * for a certificate but lets the handshake finish without a valid one, so that the call gate
 * ({@link createXdsCallGate}) can refuse the call with `UNAUTHENTICATED` and report it as
 * `untrusted_certificate` (a handshake failure happens before any call and cannot be counted).
 * The TLS settings are otherwise those of `grpc.ServerCredentials.createSsl`: Node's defaults
 * (TLS 1.2 or later, `tls.DEFAULT_CIPHERS`), `auth.tls.ca` as the only trusted CA for clients,
 * except that grpc-js's `GRPC_SSL_CIPHER_SUITES` environment variable is not applied (grpc-js
 * installs provider certificates with `setSecureContext`, which resets the cipher list).
 *
 * @experimental Built on `@grpc/grpc-js`'s experimental certificate-provider credentials.
 */
export function xdsServerCredentials(auth: ResolvedXdsAuthOptions | undefined): grpc.ServerCredentials {
  if (auth?.tls === undefined) return grpc.ServerCredentials.createInsecure();
  const ca: grpc.experimental.CaCertificateUpdate = { caCertificate: Buffer.from(auth.tls.ca) };
  const identity: grpc.experimental.IdentityCertificateUpdate = {
    certificate: Buffer.from(auth.tls.cert),
    privateKey: Buffer.from(auth.tls.key),
  };
  // One provider serves both the CA and the identity: @grpc/grpc-js 1.14 declares
  // `createCertificateProviderServerCredentials(caProvider, identityProvider, ...)` but its
  // implementation uses the first argument as the identity provider and the second as the CA
  // provider, so passing the same object twice keeps this right whichever order a release uses.
  // Updates are delivered on the next tick: the server registers its watcher only after asking the
  // provider for updates, and drops connections until one has arrived.
  const provider: grpc.experimental.CertificateProvider = {
    addCaCertificateListener: (listener) => process.nextTick(listener, ca),
    removeCaCertificateListener() {},
    addIdentityCertificateListener: (listener) => process.nextTick(listener, identity),
    removeIdentityCertificateListener() {},
  };
  // `false` = `requestCert: true, rejectUnauthorized: false`: the certificate is checked per call.
  return grpc.experimental.createCertificateProviderServerCredentials(provider, provider, false);
}

/** The gate of ADS streams: client certificate (`auth.tls`), then bearer token (`auth.tokens`). */
export interface XdsCallGate {
  /**
   * Whether the call may go on; otherwise it has been ended with `UNAUTHENTICATED` and a reason
   * that never quotes the token.
   */
  admit(call: grpc.ServerDuplexStream<unknown, unknown>): boolean;
}

/**
 * Builds the gate for `auth`. With `auth.tls`, a call is admitted only when its peer presented a
 * certificate that verified against `auth.tls.ca` during the handshake (the server credentials of
 * {@link xdsServerCredentials} let the handshake finish without one, so the refusal is a call
 * status that can be counted). With `auth.tokens`, the call must also carry one of the tokens
 * (kept as SHA-256 digests, compared in constant time). Without `auth` every call is admitted.
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
  const requireCertificate = auth?.tls !== undefined;
  const tokens: SecretMatcher<true> | undefined =
    auth?.tokens === undefined
      ? undefined
      : createSecretMatcher(auth.tokens.map((entry) => ({ secret: entry.token, value: true as const })));
  const refuse = (call: grpc.ServerDuplexStream<unknown, unknown>, reason: XdsAuthRefusal, details: string) => {
    if (onRefused !== undefined) {
      try {
        onRefused(reason);
      } catch (err) {
        process.emitWarning(err instanceof Error ? err : String(err), 'SwitchyardMeshWarning');
      }
    }
    call.emit('error', { code: grpc.status.UNAUTHENTICATED, details, metadata: new grpc.Metadata() });
    return false;
  };
  return {
    admit(call) {
      // grpc-js reports `transportSecurityType: 'ssl'` only when the TLS socket is `authorized`:
      // the peer's certificate chain verified against `auth.tls.ca` and is within its validity.
      if (requireCertificate && call.getAuthContext().transportSecurityType !== 'ssl') {
        return refuse(
          call,
          XdsAuthRefusal.UntrustedCertificate,
          'xds: a client certificate signed by the configured CA (auth.tls.ca) is required',
        );
      }
      if (tokens === undefined) return true;
      const values = call.metadata.get('authorization');
      const header = values.length === 1 && typeof values[0] === 'string' ? values[0] : undefined;
      const presented = header === undefined ? undefined : /^Bearer +(\S+) *$/i.exec(header)?.[1];
      if (presented !== undefined && tokens.match(presented) === true) return true;
      return presented === undefined
        ? refuse(
            call,
            XdsAuthRefusal.MissingToken,
            'xds: an `authorization: Bearer <token>` metadata entry is required',
          )
        : refuse(call, XdsAuthRefusal.UnknownToken, 'xds: the bearer token is not one of this server’s tokens');
    },
  };
}
