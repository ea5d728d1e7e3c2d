import { type ErrorCodeSpec, errorFactory } from '@switchyard/core';

/** Error codes owned by `@switchyard/service`. Codes are public API: never renamed or reused. */
export const serviceErrorCodes = {
  SY_SERVICE_LISTEN_FAILED: {
    summary: 'The service could not listen on its host and port (in use, or not permitted).',
    retryable: false,
  },
  SY_SERVICE_REGISTRATION_FAILED: {
    summary: 'The service could not register with the registry before the registration deadline.',
    retryable: true,
  },
  SY_SERVICE_BAD_TIMEOUT_HEADER: {
    summary:
      'A request carried a malformed `switchyard-timeout-ms` header (not whole milliseconds, or repeated with different values); it was answered 400 without being handled.',
    retryable: false,
  },
  SY_SERVICE_PEER_NOT_ALLOWED: {
    summary:
      'A caller presented a valid client certificate over mutual TLS, but its SPIFFE ID is not in the service’s `mtls.allow` list (or it carries none); it was answered 403 without being handled.',
    retryable: false,
  },
  SY_SERVICE_IDENTITY_INVALID: {
    summary:
      'Workload identity files (`identityFromFiles`, or the `SWITCHYARD_TLS_*_FILE` variables) do not form an X.509-SVID: unreadable PEM, a key that does not match the certificate, no single SPIFFE ID URI SAN, or an expired certificate.',
    retryable: true,
  },
  SY_SERVICE_IDENTITY_RELOAD_FAILED: {
    summary:
      'Re-reading renewed workload identity files failed (often a set caught mid-write); the previous certificate stays in use and the files are read again. Reported to onError listeners, never thrown.',
    retryable: true,
  },
} as const satisfies Record<string, ErrorCodeSpec>;

/** A code from {@link serviceErrorCodes}. */
export type ServiceErrorCode = keyof typeof serviceErrorCodes;

/** Creates an error with one of service's codes. */
export const serviceError = errorFactory(serviceErrorCodes);
