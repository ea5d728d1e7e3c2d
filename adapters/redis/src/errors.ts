import { type ErrorCodeSpec, errorFactory } from '@switchyard/core';

/** Error codes owned by `@switchyard/adapter-redis`. Codes are public API: never renamed or reused. */
export const redisErrorCodes = {
  SY_REDIS_UNAVAILABLE: {
    summary:
      'Redis could not be reached (connection refused, lost, or still reconnecting), so the command did not run; `cause` is the driver error.',
    retryable: true,
  },
  SY_REDIS_TIMEOUT: {
    summary: 'Redis did not answer within `commandTimeout`; the command may or may not have run.',
    retryable: true,
  },
  SY_REDIS_COMMAND_FAILED: {
    summary:
      'Redis answered with an error (a script error, out of memory, a read-only replica, no permission); `cause` is the reply.',
    retryable: false,
  },
  SY_REDIS_CLOSED: {
    summary: 'The Redis store was used after `close()`.',
    retryable: false,
  },
} as const satisfies Record<string, ErrorCodeSpec>;

/** A code from {@link redisErrorCodes}. */
export type RedisErrorCode = keyof typeof redisErrorCodes;

/**
 * Creates an error with one of the Redis adapter's codes.
 *
 * @example
 * ```ts
 * throw redisError('SY_REDIS_CLOSED', 'breaker store "payments": used after close()');
 * ```
 */
export const redisError = errorFactory(redisErrorCodes);
