import { type ErrorCodeSpec, errorFactory } from '@switchyard/core';

/** Error codes owned by `@switchyard/resilience`. Codes are public API: never renamed or reused. */
export const resilienceErrorCodes = {
  SY_RESILIENCE_TIMEOUT: {
    summary: 'The operation did not finish within its timeout; its signal was aborted.',
    retryable: true,
  },
} as const satisfies Record<string, ErrorCodeSpec>;

/** A code from {@link resilienceErrorCodes}. */
export type ResilienceErrorCode = keyof typeof resilienceErrorCodes;

/** Creates an error with one of resilience's codes. */
export const resilienceError = errorFactory(resilienceErrorCodes);
