import { type ErrorCodeSpec, errorFactory } from '@switchyard/core';

/** Error codes owned by `@switchyard/adapter-etcd`. Codes are public API: never renamed or reused. */
export const etcdErrorCodes = {
  SY_ETCD_UNAVAILABLE: {
    summary:
      'etcd could not be reached or did not answer within `callTimeout` (connection refused, lost, or a watch stream broke); `cause` is the driver error.',
    retryable: true,
  },
  SY_ETCD_REQUEST_FAILED: {
    summary:
      'etcd answered a request with an error (permission denied, bad auth token, invalid argument); `cause` is the reply.',
    retryable: false,
  },
  SY_ETCD_INVALID_REGISTRATION: {
    summary: 'A registration cannot be stored: a missing `Name`, a `/` in `Name` or `ID`, a bad `Port` or `Weights`.',
    retryable: false,
  },
  SY_ETCD_INVALID_VALUE: {
    summary: 'A key under the service prefix holds a value that is not an instance record; the key is skipped.',
    retryable: false,
  },
  SY_ETCD_LEASE_LOST: {
    summary:
      "The lease holding this process's instances expired or was revoked (etcd restarted empty, a partition or pause longer than the TTL); the registry re-creates it and re-puts its keys.",
    retryable: true,
  },
  SY_ETCD_COMPACTED: {
    summary:
      'A watch could not resume because etcd compacted the revision it had reached; the source re-listed the service and follows it again.',
    retryable: true,
  },
  SY_ETCD_CLOSED: {
    summary: 'The etcd registry was used after `close()`.',
    retryable: false,
  },
} as const satisfies Record<string, ErrorCodeSpec>;

/** A code from {@link etcdErrorCodes}. */
export type EtcdErrorCode = keyof typeof etcdErrorCodes;

/**
 * Creates an error with one of the etcd adapter's codes.
 *
 * @example
 * ```ts
 * throw etcdError('SY_ETCD_CLOSED', 'etcd registry: register() after close()');
 * ```
 */
export const etcdError = errorFactory(etcdErrorCodes);
