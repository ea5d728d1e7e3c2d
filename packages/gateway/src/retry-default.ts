import type { HttpRetryOptions } from '@switchyard/client';

/**
 * How the gateway retries: once, at once, on another instance, and only when the request
 * never left (the connection was refused, no instance answered the lookup). A client that
 * talks to the gateway decides for itself whether to repeat a request that may have reached
 * an upstream; the gateway passes 5xx answers and timeouts through. The client's own rules
 * still apply: only idempotent requests, or requests with an `Idempotency-Key`, are repeated,
 * and a streamed body only while none of it was read.
 */
export const gatewayRetry: HttpRetryOptions = Object.freeze({
  maxAttempts: 2,
  backoff: Object.freeze({ initial: 0, max: 0, jitter: 'none' as const }),
  statuses: Object.freeze([]) as unknown as number[],
  afterSend: false,
});
