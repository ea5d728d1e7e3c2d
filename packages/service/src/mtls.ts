import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import {
  type IdentitySubscription,
  invalidConfig,
  matchesSpiffePattern,
  spiffeIdOfSubjectAltName,
  spiffePatternProblem,
  type WorkloadIdentity,
  type WorkloadIdentitySource,
} from '@switchyard/core';
import { serviceError } from './errors.ts';

/**
 * Mutual TLS for a service: the `mtls` option of `startService`.
 *
 * @example
 * ```ts
 * const mtls: ServiceMtlsOptions = {
 *   identity, // identityFromFiles(...) of this package, or createLocalCa(...).workloadIdentity(...) of @switchyard/mesh
 *   allow: ['spiffe://shop.local/ns/default/sa/gateway', 'spiffe://shop.local/ns/jobs/sa/*'],
 * };
 * ```
 */
export interface ServiceMtlsOptions {
  /** The service's certificate, key and CA bundle, renewed in place (`server.setSecureContext`). */
  identity: WorkloadIdentitySource;
  /**
   * SPIFFE IDs allowed to call: exact IDs, or patterns whose `*` segments match any one
   * segment (`spiffe://td/ns/default/sa/*`). A verified peer not matching any is answered
   * 403 `SY_SERVICE_PEER_NOT_ALLOWED`.
   */
  allow: readonly string[];
}

/**
 * Checks `mtls` options and returns them with the allow list frozen.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming the field (`service.mtls.allow[1]: ...`)
 * @example
 * ```ts
 * resolveServiceMtlsOptions({ identity, allow: ['spiffe://td/ns/default/sa/gateway'] });
 * ```
 */
export function resolveServiceMtlsOptions(input: ServiceMtlsOptions): Readonly<ServiceMtlsOptions> {
  const issues: { path: string; message: string }[] = [];
  const identity = input?.identity;
  if (
    identity === null ||
    typeof identity !== 'object' ||
    typeof identity.current !== 'function' ||
    typeof identity.onRotate !== 'function'
  ) {
    issues.push({
      path: 'service.mtls.identity',
      message:
        'expected a workload identity source ({ current(), onRotate(listener) }), such as createLocalCa().workloadIdentity()',
    });
  }
  const allow = input?.allow;
  if (!Array.isArray(allow) || allow.length === 0) {
    issues.push({
      path: 'service.mtls.allow',
      message: 'expected a non-empty list of SPIFFE IDs or patterns (spiffe://<trust-domain>/ns/<ns>/sa/<sa or *>)',
    });
  } else {
    allow.forEach((pattern: unknown, i) => {
      const problem = typeof pattern === 'string' ? spiffePatternProblem(pattern) : 'expected a string';
      if (problem !== undefined)
        issues.push({ path: `service.mtls.allow[${i}]`, message: `${JSON.stringify(pattern)}: ${problem}` });
    });
  }
  if (issues.length > 0) throw invalidConfig(issues);
  return Object.freeze({ identity, allow: Object.freeze([...allow]) });
}

/** An HTTPS server requiring client certificates, following identity rotation; see {@link createMtlsServer}. */
export interface MtlsServer {
  readonly server: Server;
  /** Stops following rotation. */
  dispose(): void;
}

/**
 * Creates an HTTPS server for mutual TLS: it presents `identity`'s certificate, requires a
 * client certificate chaining to `identity`'s CA (TLS refuses a peer without one, or with an
 * expired or foreign one), and answers 403 `SY_SERVICE_PEER_NOT_ALLOWED` to a verified peer
 * whose SPIFFE ID is not in `allow`. On rotation the new certificate is swapped in with
 * `server.setSecureContext`: new handshakes use it, open connections carry on. `onRefused`
 * hears of each connection refused in the handshake, with the reason.
 *
 * `startService({ mtls })` uses it; call it for a `node:https` server of your own.
 *
 * @example
 * ```ts
 * const { server } = createMtlsServer({ identity, allow: ['spiffe://td/ns/default/sa/gateway'] }, (req, res) => {
 *   res.end(`hello ${peerSpiffeId(req)}\n`);
 * });
 * server.listen(8443);
 * ```
 */
export function createMtlsServer(
  options: ServiceMtlsOptions,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  onRefused?: (event: MtlsRefusedEvent) => void,
): MtlsServer {
  const { identity, allow } = resolveServiceMtlsOptions(options);
  const server = createServer(
    {
      keepAliveTimeout: 5000,
      ...secureContextOf(identity.current()),
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
    },
    (req, res) => {
      const spiffeId = peerSpiffeId(req);
      if (spiffeId === undefined || !allow.some((pattern) => matchesSpiffePattern(spiffeId, pattern))) {
        refuse(res, spiffeId, allow);
        return;
      }
      handler(req, res);
    },
  );
  if (onRefused !== undefined) {
    // Node closes the connection of a peer whose certificate does not verify without telling
    // it why (only a missing certificate gets a TLS alert); the reason is only known here.
    server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
      try {
        onRefused({
          reason: socket.authorizationError?.toString() ?? err.code ?? err.message,
          remoteAddress: socket.remoteAddress,
        });
      } catch {
        // A listener's failure must not take the server down.
      }
    });
  }
  const subscription: IdentitySubscription = identity.onRotate((next) => {
    server.setSecureContext(secureContextOf(next));
  });
  return { server, dispose: () => subscription.dispose() };
}

/** A connection refused during the TLS handshake; see {@link createMtlsServer}. */
export interface MtlsRefusedEvent {
  /**
   * OpenSSL's reason: `CERT_HAS_EXPIRED`, `UNABLE_TO_VERIFY_LEAF_SIGNATURE` (another CA),
   * `ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE` (none), or the TLS error of a failed handshake.
   */
  readonly reason: string;
  readonly remoteAddress: string | undefined;
}

/** SPIFFE IDs of verified peers, one parse per connection rather than per request. */
const peerIds = new WeakMap<object, string | null>();

/**
 * The SPIFFE ID of the verified client certificate of a request served over mutual TLS, or
 * `undefined` (plain HTTP, no certificate, or no single SPIFFE ID URI SAN).
 *
 * @example
 * ```ts
 * const caller = peerSpiffeId(req); // 'spiffe://shop.local/ns/default/sa/gateway'
 * ```
 */
export function peerSpiffeId(req: IncomingMessage): string | undefined {
  const socket = req.socket as Partial<TLSSocket>;
  if (typeof socket.getPeerCertificate !== 'function' || socket.authorized !== true) return undefined;
  let id = peerIds.get(socket);
  if (id === undefined) {
    id = spiffeIdOfSubjectAltName(socket.getPeerCertificate().subjectaltname) ?? null;
    peerIds.set(socket, id);
  }
  return id ?? undefined;
}

function secureContextOf(identity: WorkloadIdentity): { cert: string; key: string; ca: string } {
  return { cert: identity.certPem, key: identity.keyPem, ca: identity.caPem };
}

function refuse(res: ServerResponse, spiffeId: string | undefined, allow: readonly string[]): void {
  const error = serviceError(
    'SY_SERVICE_PEER_NOT_ALLOWED',
    spiffeId === undefined
      ? 'the client certificate carries no SPIFFE ID (exactly one spiffe:// URI SAN is required)'
      : `${spiffeId} is not allowed to call this service (allowed: ${allow.join(', ')})`,
    { details: { spiffeId: spiffeId ?? null } },
  );
  const body = JSON.stringify({ error: { code: error.code, message: error.message, spiffeId: spiffeId ?? null } });
  res.writeHead(403, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}
