import type { Clock } from '@switchyard/core';
import type { PolicyContext } from './types.ts';

/** A signal that never aborts, shared by every call made without one. */
const neverAborted: AbortSignal = new AbortController().signal;

/** The context of every call made without a signal: shared, so such calls allocate none. */
const rootContext: PolicyContext = Object.freeze({ signal: neverAborted, attempt: 1, deadline: undefined });

/** Deadlines attached to signals by {@link attachDeadline}, read by {@link deadlineOf}. */
const deadlines = new WeakMap<AbortSignal, number>();

/**
 * The deadline attached to `signal` (absolute ms on the clock that set it, `Date.now()` for
 * the system clock), or `undefined`. A timeout policy attaches its deadline to the signal it
 * hands over, so code that receives only the signal (the resilient HTTP client, a nested
 * policy) still knows how much time is left.
 *
 * @example
 * ```ts
 * await createTimeout({ timeout: '2s' }).execute(({ signal }) => {
 *   deadlineOf(signal); // Date.now() + 2000, give or take
 * });
 * ```
 */
export function deadlineOf(signal: AbortSignal | undefined): number | undefined {
  return signal === undefined ? undefined : deadlines.get(signal);
}

/**
 * Attaches `deadline` to `signal` so {@link deadlineOf} returns it. Use it for a signal you
 * made yourself (for example from an incoming request's budget) and will abort at that time.
 */
export function attachDeadline(signal: AbortSignal, deadline: number): void {
  deadlines.set(signal, deadline);
}

/**
 * Milliseconds left before the deadline carried by `signal` or `context`, or `undefined` when
 * there is none. Never negative.
 */
export function remainingTime(from: AbortSignal | PolicyContext | undefined, clock: Clock): number | undefined {
  const deadline = isPolicyContext(from) ? from.deadline : deadlineOf(from);
  return deadline === undefined ? undefined : Math.max(0, deadline - clock.now());
}

/** True for a {@link PolicyContext} (as opposed to a bare `AbortSignal`). */
export function isPolicyContext(value: AbortSignal | PolicyContext | undefined): value is PolicyContext {
  return value !== undefined && !(value instanceof AbortSignal);
}

/**
 * Normalises the second argument of `execute` into a context: a context passes through as is
 * (no allocation), a signal or nothing gets a fresh first-attempt context.
 */
export function toContext(from: AbortSignal | PolicyContext | undefined): PolicyContext {
  if (from === undefined) return rootContext;
  if (isPolicyContext(from)) return from;
  return { signal: from, attempt: 1, deadline: deadlines.get(from) };
}
