/**
 * `@switchyard/resilience`: fault-tolerance policies with no I/O of their own.
 *
 * A policy wraps an async operation that receives a context with an `AbortSignal`; when the
 * policy gives up (a timeout, a cancelled caller) it aborts that signal so the operation can
 * stop its I/O.
 *
 * @example
 * ```ts
 * import { createTimeout } from '@switchyard/resilience';
 *
 * const timeout = createTimeout({ timeout: '2s' });
 * const res = await timeout.execute(({ signal }) => fetch('http://127.0.0.1:8080/health', { signal }));
 * ```
 *
 * @packageDocumentation
 */

// --- shared types, errors, deadlines ---

export type {
  BreakerReport,
  BreakerStateStore,
  OpenPeriod,
  ProbeOutcome,
  ProbeRequest,
  Quorum,
  SharedBreakerState,
} from './breaker-state-store.ts';
export { attachDeadline, deadlineOf, isPolicyContext, remainingTime, toContext } from './context.ts';
export { formatTimeoutHeader, parseTimeoutHeader, TIMEOUT_HEADER } from './deadline-header.ts';
export type { ResilienceErrorCode } from './errors.ts';
export { resilienceError, resilienceErrorCodes } from './errors.ts';
export type { Disposable, Listener, Operation, OutcomeClassifier, Policy, PolicyContext } from './types.ts';
export { Verdict } from './types.ts';

// --- timeout, retry, budget, bulkhead, fallback, composition ---

export type { BulkheadDeps, BulkheadPolicy, BulkheadRejectedEvent, BulkheadStats } from './bulkhead.ts';
export { createBulkhead } from './bulkhead.ts';
export type { BulkheadOptions, ResolvedBulkheadOptions } from './bulkhead-options.ts';
export { bulkheadOptionsSchema, resolveBulkheadOptions } from './bulkhead-options.ts';
export type {
  FallbackEvent,
  FallbackFunction,
  FallbackOptions,
  FallbackPolicy,
  PolicyOf,
} from './fallback.ts';
export { createFallback } from './fallback.ts';
export type { AsyncMethodName, AsyncMethodResult, GuardedFunction } from './guard.ts';
export { guard, guardMethod } from './guard.ts';
export type { ResolvedTimeoutOptions, TimeoutOptions } from './options.ts';
export { resolveTimeoutOptions, timeoutOptionsSchema } from './options.ts';
export type { GiveUpEvent, RetryDeps, RetryEvent, RetryPolicy } from './retry.ts';
export { createRetry, GiveUpReason } from './retry.ts';
export type { RetryBudget, RetryBudgetDeps } from './retry-budget.ts';
export { createRetryBudget, isRetryBudget } from './retry-budget.ts';
export type { ResolvedRetryBudgetOptions, RetryBudgetOptions } from './retry-budget-options.ts';
export { resolveRetryBudgetOptions, retryBudgetOptionsSchema } from './retry-budget-options.ts';
export type {
  BackoffInput,
  ResolvedBackoff,
  ResolvedRetryOptions,
  RetryOn,
  RetryOptions,
} from './retry-options.ts';
export {
  backoffSchema,
  defaultRetryAfter,
  defaultRetryOnError,
  resolveRetryOptions,
  retryOptionsSchema,
} from './retry-options.ts';
export type { TimeoutDeps, TimeoutPolicy } from './timeout.ts';
export { createTimeout } from './timeout.ts';
export type { ExtraResultOf, WrappedPolicy } from './wrap.ts';
export { wrap } from './wrap.ts';

// --- circuit breaker and registry ---

export type {
  BreakerStateJSON,
  CircuitBreakerOptions,
  ConsecutiveTripOptions,
  CountTripOptions,
  DurationInput,
  HalfOpenOptions,
  OpenBackoffOptions,
  ResolvedCircuitBreakerOptions,
  ResolvedConsecutiveTrip,
  ResolvedCountTrip,
  ResolvedSharedBreakerOptions,
  ResolvedTimeTrip,
  ResolvedTripOptions,
  ResolvedWindowTrip,
  SharedBreakerOptions,
  TimeTripOptions,
  TripOptions,
  WindowTripFields,
} from './breaker-options.ts';
export {
  breakerStateSchema,
  circuitBreakerOptionsSchema,
  resolveBreakerState,
  resolveCircuitBreakerOptions,
} from './breaker-options.ts';
export type {
  BreakerDefaults,
  BreakerOverrides,
  BreakerRegistry,
  BreakerRegistryOptions,
} from './breaker-registry.ts';
export { createBreakerRegistry } from './breaker-registry.ts';
export type {
  BreakerCallInfo,
  BreakerOutcomeEvent,
  BreakerRejectedEvent,
  BreakerSnapshot,
  BreakerStateChangeEvent,
  BreakerStoreErrorEvent,
  BreakerStoreOperation,
  BreakerTransitionReason,
  CircuitBreaker,
  CircuitBreakerDeps,
} from './circuit-breaker.ts';
export { CircuitState, createCircuitBreaker, defaultErrorVerdict } from './circuit-breaker.ts';

// --- shared breaker state: memory store ---

export type { MemoryBreakerStateStoreDeps } from './memory-breaker-state-store.ts';
export {
  breakerOpenPeriodMs,
  breakerQuorum,
  createMemoryBreakerStateStore,
} from './memory-breaker-state-store.ts';
