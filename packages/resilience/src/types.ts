/**
 * Types every policy shares. This file is the leaf of the package: it imports nothing from
 * it, the policies import it, and the composing helpers sit above the policies.
 */

/** What a policy hands to the work it runs. */
export interface PolicyContext {
  /**
   * Aborts when the caller cancels or an enclosing policy gives up (a timeout, a spent
   * deadline). Pass it on to every I/O call the operation makes.
   */
  readonly signal: AbortSignal;
  /** 1 for the first attempt; an enclosing retry increments it. */
  readonly attempt: number;
  /**
   * The absolute time (on the policy's clock, ms since the epoch) by which the whole call must
   * be done, inherited from enclosing timeouts and from the caller's signal; `undefined` when
   * nothing set one.
   */
  readonly deadline: number | undefined;
}

/** The work a policy runs. It may return a value or a promise. */
export type Operation<T> = (context: PolicyContext) => Promise<T> | T;

/**
 * A fault-tolerance policy. `execute` runs `operation` under the policy.
 *
 * The second argument is the caller's `AbortSignal`, or the {@link PolicyContext} an enclosing
 * policy handed over (so attempts and deadlines flow through `wrap`).
 */
export interface Policy {
  execute<T>(operation: Operation<T>, signal?: AbortSignal | PolicyContext): Promise<T>;
}

/** Returned by every `onX(listener)`: call `dispose()` to stop listening. */
export interface Disposable {
  dispose(): void;
  [Symbol.dispose](): void;
}

/** A listener for events of type `T`. */
export type Listener<T> = (event: T) => void;

/**
 * How a policy judges a finished call: a failure, a success, or neither (ignored: the call
 * does not count for or against a breaker, and a retry does not retry it).
 */
export const Verdict = {
  Success: 'success',
  Failure: 'failure',
  Ignore: 'ignore',
} as const;
export type Verdict = (typeof Verdict)[keyof typeof Verdict];

/**
 * Classifies outcomes. `error` judges a thrown error, `result` a returned value (an HTTP
 * response with status 503, for example). Omitted functions use the policy's default.
 */
export interface OutcomeClassifier<T = unknown> {
  error?: (error: unknown) => Verdict;
  result?: (value: T) => Verdict;
}
