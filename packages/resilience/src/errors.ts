import { type ErrorCodeSpec, errorFactory } from '@switchyard/core';

/** Error codes owned by `@switchyard/resilience`. Codes are public API: never renamed or reused. */
export const resilienceErrorCodes = {
  SY_RESILIENCE_TIMEOUT: {
    summary: 'The operation did not finish within its timeout; its signal was aborted.',
    retryable: true,
  },
  SY_RESILIENCE_DEADLINE_EXCEEDED: {
    summary:
      "The call's deadline (inherited from an enclosing timeout or from the caller's budget) was already spent, so it was refused without being run.",
    retryable: false,
  },
  SY_RESILIENCE_CIRCUIT_OPEN: {
    summary:
      'The circuit breaker is open (or half-open with every probe slot taken) and refused the call without running it; `details.retryAfterMs` says when it will probe.',
    retryable: true,
  },
  SY_RESILIENCE_CIRCUIT_ISOLATED: {
    summary: 'The circuit breaker was isolated by hand and refuses every call until the isolation is released.',
    retryable: false,
  },
  SY_RESILIENCE_BULKHEAD_FULL: {
    summary: 'Every concurrency slot of the bulkhead and every place in its queue were taken, so the call was refused.',
    retryable: true,
  },
  SY_RESILIENCE_RETRY_BUDGET_EXHAUSTED: {
    summary:
      'A retry was due but the retry budget (a fraction of recent requests) was spent; `cause` is the last failure.',
    retryable: false,
  },
} as const satisfies Record<string, ErrorCodeSpec>;

/** A code from {@link resilienceErrorCodes}. */
export type ResilienceErrorCode = keyof typeof resilienceErrorCodes;

/** Creates an error with one of resilience's codes. */
export const resilienceError = errorFactory(resilienceErrorCodes);
