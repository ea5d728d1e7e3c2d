import { type ErrorCodeSpec, errorFactory } from '@switchyard/core';

/**
 * Error codes owned by `@switchyard/client`. Codes are public API: never renamed or reused.
 *
 * Refusals by the resilience policies keep their own codes: an open breaker is
 * `SY_RESILIENCE_CIRCUIT_OPEN`, a spent budget `SY_RESILIENCE_DEADLINE_EXCEEDED`, a refused
 * retry `SY_RESILIENCE_RETRY_BUDGET_EXHAUSTED`, a cancelled call `SY_CANCELLED`.
 *
 * @example
 * ```ts
 * clientErrorCodes.SY_CLIENT_CONNECT_FAILED.retryable; // true
 * ```
 */
export const clientErrorCodes = {
  SY_CLIENT_NO_INSTANCE: {
    summary: 'Discovery reports no usable (passing or warning) instance of the service; nothing was sent.',
    retryable: true,
  },
  SY_CLIENT_DISCOVERY_FAILED: {
    summary: 'Looking up the instances of the service failed; nothing was sent. `cause` is the discovery error.',
    retryable: true,
  },
  SY_CLIENT_CONNECT_FAILED: {
    summary:
      'The connection to the instance could not be opened (refused, unreachable, DNS, connect timeout), so the request never left.',
    retryable: true,
  },
  SY_CLIENT_UPSTREAM_FAILED: {
    summary:
      'The connection failed after the request may have been sent (reset, closed by the instance) and before the response headers arrived.',
    retryable: true,
  },
  SY_CLIENT_TIMEOUT: {
    summary:
      'The instance did not send response headers within the attempt timeout (or the caller’s remaining deadline, when shorter); the request was aborted.',
    retryable: true,
  },
  SY_CLIENT_CLOSED: {
    summary: 'The client was closed; it sends no more requests.',
    retryable: false,
  },
} as const satisfies Record<string, ErrorCodeSpec>;

/** A code from {@link clientErrorCodes}. */
export type ClientErrorCode = keyof typeof clientErrorCodes;

/**
 * Creates an error with one of the client's codes.
 *
 * @example
 * ```ts
 * throw clientError('SY_CLIENT_NO_INSTANCE', 'no usable instance of service "orders"', { details: { service: 'orders' } });
 * ```
 */
export const clientError = errorFactory(clientErrorCodes);
