import { type ErrorCodeSpec, errorFactory } from '@switchyard/core';

/** Error codes owned by `@switchyard/mesh`. Codes are public API: never renamed or reused. */
export const meshErrorCodes = {
  SY_MESH_ENVOY_INVALID: {
    summary:
      'A generated or given Envoy configuration does not match Envoy’s v3 protos (unknown field, wrong type, bad enum or duration, unresolvable @type, or a validate rule); the message names the field path.',
    retryable: false,
  },
  SY_MESH_ENVOY_PROTOS_MISSING: {
    summary:
      'Envoy’s v3 .proto files (shipped in @grpc/grpc-js-xds’s deps/ folder) or protobufjs could not be found or parsed, so Envoy configs cannot be checked.',
    retryable: false,
  },
  SY_MESH_XDS_BIND_FAILED: {
    summary:
      'The xDS server could not listen on its host and port (port in use, address not local, permission denied); the cause is gRPC’s error.',
    retryable: false,
  },
  SY_MESH_XDS_SNAPSHOT_FAILED: {
    summary:
      'Building xDS resources from the source’s services failed, so the previous version keeps being served; logged, never thrown to the caller.',
    retryable: false,
  },
  SY_MESH_CA_LOAD_FAILED: {
    summary:
      'The local certificate authority could not load or save its root in its directory: a file is missing, unreadable or not PEM, the key does not match the certificate, or the root belongs to another trust domain.',
    retryable: false,
  },
  SY_MESH_CA_ROOT_EXPIRED: {
    summary:
      'The local certificate authority’s root certificate has expired (or is not valid yet), so it cannot issue workload certificates.',
    retryable: false,
  },
  SY_MESH_IDENTITY_ROTATION_FAILED: {
    summary:
      'Renewing a workload certificate from the CA failed; the previous certificate stays in use and renewal is tried again. Reported to onError listeners, never thrown.',
    retryable: true,
  },
  SY_MESH_ISTIO_INVALID: {
    summary:
      'Generated or given Istio resources do not pass the CRD schemas or the stricter checks (unknown field, weights not summing to 100, duration syntax, DNS-1123 names, ports); `details.issues` lists `<kind>/<name>: <path>` and a message for each.',
    retryable: false,
  },
} as const satisfies Record<string, ErrorCodeSpec>;

/** A code from {@link meshErrorCodes}. */
export type MeshErrorCode = keyof typeof meshErrorCodes;

/**
 * Creates an error with one of the mesh package's codes.
 *
 * @example
 * ```ts
 * throw meshError('SY_MESH_ENVOY_INVALID', 'static_resources.clusters[0].lb_polcy: unknown field');
 * ```
 */
export const meshError = errorFactory(meshErrorCodes);
