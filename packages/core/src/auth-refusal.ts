/**
 * Why a control plane refused a caller, as the `reason` label of its refusal counter. One
 * definition for the server that refuses (`@switchyard/discovery`, `@switchyard/mesh`) and the
 * metrics that count (`@switchyard/telemetry`), which do not depend on each other.
 */

/**
 * Why the registry's Consul-compatible API refused a request (403), the `reason` label of
 * `switchyard_registry_auth_refused_total`: no token (and the anonymous policy does not allow
 * the request), a token the ACL does not know, or a known token whose policy does not cover it.
 */
export const RegistryAuthRefusal = {
  MissingToken: 'missing_token',
  UnknownToken: 'unknown_token',
  InsufficientPolicy: 'insufficient_policy',
} as const;
/** A value of {@link RegistryAuthRefusal}. */
export type RegistryAuthRefusal = (typeof RegistryAuthRefusal)[keyof typeof RegistryAuthRefusal];

/**
 * Why the xDS server refused an ADS call with `UNAUTHENTICATED`, the `reason` label of
 * `switchyard_xds_auth_refused_total`: with `auth.tls`, a client that presented no certificate
 * or one that does not verify against `auth.tls.ca` (another CA, expired, not yet valid); with
 * `auth.tokens`, no `authorization: Bearer` metadata, or a token that is not one of
 * `auth.tokens`. The certificate is checked first.
 */
export const XdsAuthRefusal = {
  UntrustedCertificate: 'untrusted_certificate',
  MissingToken: 'missing_token',
  UnknownToken: 'unknown_token',
} as const;
/** A value of {@link XdsAuthRefusal}. */
export type XdsAuthRefusal = (typeof XdsAuthRefusal)[keyof typeof XdsAuthRefusal];
