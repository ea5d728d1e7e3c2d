import { isSwitchyardError } from '@switchyard/core';
import { toContext } from './context.ts';
import { Event } from './events.ts';
import type { Disposable, Listener, Operation, PolicyContext } from './types.ts';

/**
 * The key under which a policy's type records the extra result type `R` of {@link PolicyOf}.
 * Types only: no object carries it at runtime. It exists because TypeScript cannot infer `R`
 * back from the generic `execute` signature alone.
 */
export const extraResult: unique symbol = Symbol('switchyard.extraResult');

/**
 * A policy whose `execute` may resolve with `R` besides the operation's own result: a
 * {@link FallbackPolicy}'s value, or a composition containing one. A plain `Policy` fits
 * wherever a `PolicyOf<R>` is expected.
 */
export interface PolicyOf<R> {
  execute<T>(operation: Operation<T>, signal?: AbortSignal | PolicyContext): Promise<T | R>;
  /** Types only: records `R` for inference (`wrap`, `guard`); never present at runtime. */
  readonly [extraResult]?: R;
}

/** Emitted when a fallback replaces a failure. */
export interface FallbackEvent {
  /** The failure the fallback replaced. */
  readonly error: unknown;
}

/** Options for {@link createFallback}. */
export interface FallbackOptions {
  /**
   * True for the errors the fallback replaces; the others pass through unchanged.
   * @default every error except `SY_CANCELLED`, and none once the caller's signal has aborted
   */
  handle?: (error: unknown) => boolean;
}

/** A fallback policy: a failure becomes a value of type `R`. */
export interface FallbackPolicy<R> extends PolicyOf<R> {
  /**
   * Runs `operation`; when it fails (a policy inside refusing counts, `SY_RESILIENCE_CIRCUIT_OPEN`
   * say) and `handle` accepts the error, resolves with the fallback instead.
   *
   * @throws the operation's error, unchanged, when `handle` rejects it (by default
   *   `SY_CANCELLED`, or any error once the caller's signal has aborted)
   * @throws what the fallback function throws
   */
  execute<T>(operation: Operation<T>, signal?: AbortSignal | PolicyContext): Promise<T | R>;
  /** Called each time the fallback is used. */
  onFallback(listener: Listener<FallbackEvent>): Disposable;
}

/** A fallback function: receives the failure and the call's context. */
export type FallbackFunction<R> = (error: unknown, context: PolicyContext) => R | PromiseLike<R>;

/** The context handed over when the caller passes none; contexts are read-only, so one serves all. */
const idle: PolicyContext = Object.freeze(toContext(undefined));

/**
 * Creates a fallback policy. `fallback` is a value, or a function called with the error (and
 * the context) whose result, awaited, is used. A function is always called, so to fall back to a
 * function value, return it from one: `createFallback(() => fn)`.
 *
 * @example
 * ```ts
 * import { createFallback, wrap, createRetry } from '@switchyard/resilience';
 *
 * const cached = { items: [], stale: true };
 * const policy = wrap(createFallback(cached), createRetry({ maxAttempts: 2 }));
 * const catalog = await policy.execute(({ signal }) => loadCatalog(signal)); // cached when both attempts fail
 * ```
 */
export function createFallback<R>(fallback: FallbackFunction<R>, options?: FallbackOptions): FallbackPolicy<R>;
export function createFallback<R>(fallback: R, options?: FallbackOptions): FallbackPolicy<R>;
export function createFallback<R>(fallback: R | FallbackFunction<R>, options: FallbackOptions = {}): FallbackPolicy<R> {
  const handle = options.handle;
  const used = new Event<FallbackEvent>();

  function recover(error: unknown, context: PolicyContext): R | PromiseLike<R> {
    const handled =
      handle === undefined ? !isSwitchyardError(error, 'SY_CANCELLED') && !context.signal.aborted : handle(error);
    if (!handled) throw error;
    if (used.size > 0) used.emit({ error });
    return typeof fallback === 'function' ? (fallback as FallbackFunction<R>)(error, context) : fallback;
  }

  return {
    execute<T>(operation: Operation<T>, from?: AbortSignal | PolicyContext): Promise<T | R> {
      const context = from === undefined ? idle : toContext(from);
      let result: Promise<T> | T;
      try {
        result = operation(context);
      } catch (err) {
        return new Promise<T | R>((resolve) => resolve(recover(err, context)));
      }
      return Promise.resolve(result).then(undefined, (err: unknown) => recover(err, context));
    },
    onFallback: (listener) => used.on(listener),
  };
}
