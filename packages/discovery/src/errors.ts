import { type ErrorCodeSpec, errorFactory } from '@switchyard/core';

/**
 * Error codes owned by `@switchyard/discovery`. Codes are public API: never renamed or reused.
 *
 * @example
 * ```ts
 * import { isSwitchyardError } from '@switchyard/core';
 * try {
 *   registry.register({ Name: '' });
 * } catch (err) {
 *   if (isSwitchyardError(err, 'SY_DISCOVERY_INVALID_REGISTRATION')) console.error(err.message);
 * }
 * ```
 */
export const discoveryErrorCodes = {
  SY_DISCOVERY_INVALID_REGISTRATION: {
    summary:
      'A service registration failed validation; the message names each bad field and `details.issues` lists them by path.',
    retryable: false,
  },
  SY_DISCOVERY_CHECK_NOT_FOUND: {
    summary: 'No health check with the given ID is registered.',
    retryable: false,
  },
  SY_DISCOVERY_CHECK_NOT_TTL: {
    summary:
      'Only TTL checks can be set passing, warning or critical through the API; the check is an HTTP or TCP one.',
    retryable: false,
  },
  SY_DISCOVERY_CLOSED: {
    summary: 'The registry, registry server or discovery client was closed; create a new one.',
    retryable: false,
  },
  SY_DISCOVERY_LISTEN_FAILED: {
    summary: 'The registry server could not listen on its host and port (port in use, no permission, bad host).',
    retryable: false,
  },
  SY_DISCOVERY_REGISTRY_UNREACHABLE: {
    summary:
      'The registry could not be reached (connection refused or reset, unknown host); `cause` has the socket error.',
    retryable: true,
  },
  SY_DISCOVERY_REGISTRY_TIMEOUT: {
    summary: 'The registry did not answer within the client timeout.',
    retryable: true,
  },
  SY_DISCOVERY_REGISTRY_REJECTED: {
    summary:
      'The registry answered with a non-2xx status; `details.status` and `details.body` hold its answer. Retryable for 5xx.',
    retryable: false,
  },
  SY_DISCOVERY_INVALID_RESPONSE: {
    summary:
      'The registry answered with a body that is not the Consul JSON expected; check that the URL points at a Consul API.',
    retryable: false,
  },
  SY_DISCOVERY_UNAVAILABLE: {
    summary:
      'No instance list for the service could be obtained before the initial timeout; `cause` holds the last registry error.',
    retryable: true,
  },
  SY_DISCOVERY_STORE_FAILED: {
    summary:
      'The registry could not open, read or write its data file (`details.file`); the file may be damaged, not a SQLite database, locked or unwritable. Nothing is dropped or half-written.',
    retryable: false,
  },
  SY_DISCOVERY_INVALID_FILTER: {
    summary:
      'A `filter` expression could not be parsed or names an unknown selector; the message gives the position (`line:column (offset)`).',
    retryable: false,
  },
  SY_DISCOVERY_ACL_NOT_FOUND: {
    summary:
      "The registry API refused a request (403) because its token is not one of `registry.acl.tokens`; the message starts with `ACL not found`, as Consul's does.",
    retryable: false,
  },
  SY_DISCOVERY_ACL_PERMISSION_DENIED: {
    summary:
      "The registry API refused a request (403) because it carries no token and `registry.acl.anonymous` does not allow it, or its token's policy does not cover it (a `read` token registering); the message starts with `Permission denied`, as Consul's does.",
    retryable: false,
  },
} as const satisfies Record<string, ErrorCodeSpec>;

/** A code from {@link discoveryErrorCodes}. */
export type DiscoveryErrorCode = keyof typeof discoveryErrorCodes;

/**
 * Creates a `SwitchyardError` with one of discovery's codes.
 *
 * @example
 * ```ts
 * throw discoveryError('SY_DISCOVERY_SERVICE_NOT_FOUND', 'unknown service ID "orders-9"');
 * ```
 */
export const discoveryError = errorFactory(discoveryErrorCodes);
