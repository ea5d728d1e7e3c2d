import { isSwitchyardError } from '@switchyard/core';
import { type CircuitBreakerOptions, type OutcomeClassifier, Verdict } from '@switchyard/resilience';

/**
 * How the client's breakers judge an attempt. Failures: connection failures, timeouts, and 5xx
 * responses (which the client raises inside the breaker as errors, so any breaker counts them).
 * Ignored: a cancelled call (the caller left) and a timeout cut short by the caller's own
 * deadline (`details.deadline`), which says nothing about the instance: a caller with a tiny
 * budget must not open the breaker for everyone. Responses that resolve (1xx to 4xx) are
 * successes. Give it to a registry of your own: `createBreakerRegistry({ defaults: { classify: httpOutcomeClassifier } })`.
 *
 * @example
 * ```ts
 * const breakers = createBreakerRegistry({ defaults: { ...defaultBreakerOptions, openDuration: '30s' } });
 * ```
 */
export const httpOutcomeClassifier: OutcomeClassifier = Object.freeze({
  error(err: unknown) {
    if (isSwitchyardError(err, 'SY_CANCELLED')) return Verdict.Ignore;
    if (isSwitchyardError(err, 'SY_CLIENT_TIMEOUT') && err.details.deadline === true) return Verdict.Ignore;
    return Verdict.Failure;
  },
  result() {
    return Verdict.Success;
  },
});

/**
 * The breaker options of a client given no registry: per service, trip when at least half of
 * the attempts of the last 10 s failed (once there were 10), stay open 5 s, doubling up to
 * 1 min on repeated trips, then let one probe through. Judged by {@link httpOutcomeClassifier}.
 *
 * @example
 * ```ts
 * const client = createHttpClient({
 *   discovery,
 *   breakers: createBreakerRegistry({ defaults: { ...defaultBreakerOptions, openDuration: '30s' } }),
 * });
 * ```
 */
export const defaultBreakerOptions: CircuitBreakerOptions = Object.freeze({
  trip: Object.freeze({ type: 'time', window: '10s', buckets: 10, minimumCalls: 10, failureRate: 0.5 }),
  openDuration: '5s',
  openBackoff: Object.freeze({ factor: 2, max: '1m' }),
  halfOpen: Object.freeze({ maxProbes: 1, successesToClose: 1 }),
  classify: httpOutcomeClassifier,
}) as CircuitBreakerOptions;
