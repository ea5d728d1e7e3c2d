import { invalidConfig } from '@switchyard/core';
import { toContext } from './context.ts';
import type { extraResult, PolicyOf } from './fallback.ts';
import type { Operation, PolicyContext } from './types.ts';

/** The extra result type a policy may resolve with (a fallback's value); `never` for most. */
export type ExtraResultOf<P> = P extends { readonly [extraResult]?: infer R }
  ? typeof extraResult extends keyof P
    ? R
    : never
  : never;

/** Policies composed by {@link wrap}: itself a policy. */
export interface WrappedPolicy<R = never> extends PolicyOf<R> {
  /** The policies, outermost first. */
  readonly policies: readonly PolicyOf<unknown>[];
  /**
   * Runs `operation` through every policy, the first one outermost: `wrap(a, b, c).execute(fn)`
   * is `a.execute((ctx) => b.execute((ctx2) => c.execute(fn, ctx2), ctx))`. Each policy hands its
   * context (signal, attempt, deadline) to the next, so the operation sees them all.
   */
  execute<T>(operation: Operation<T>, signal?: AbortSignal | PolicyContext): Promise<T | R>;
}

/**
 * Composes policies into one; the first is outermost. Order decides meaning:
 *
 * - `wrap(retry, breaker, timeout)`: each attempt is timed on its own and counted by the
 *   breaker; an open breaker's refusal ends the retries (it is not retried by default).
 * - `wrap(timeout, retry, breaker)`: one deadline for all attempts together; the retry stops
 *   when the next attempt could not start before it.
 * - `wrap(fallback, ...)`: the fallback replaces whatever failure comes out of the rest,
 *   refusals included.
 * - `wrap(bulkhead, retry, ...)`: a call holds its slot through all its attempts;
 *   `wrap(retry, bulkhead, ...)` queues again for each attempt.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` when an argument is not a policy (`wrap[1]: ...`)
 * @example
 * ```ts
 * import { createRetry, createTimeout, wrap } from '@switchyard/resilience';
 *
 * // Each attempt gets 500ms; the whole call never takes more than 2s.
 * const policy = wrap(createTimeout({ timeout: '2s' }), createRetry({ maxAttempts: 3 }), createTimeout({ timeout: '500ms' }));
 * const res = await policy.execute(({ signal, attempt }) => fetch(`http://127.0.0.1:8080/?try=${attempt}`, { signal }));
 * ```
 */
export function wrap<const P extends readonly PolicyOf<unknown>[]>(
  ...policies: P
): WrappedPolicy<ExtraResultOf<P[number]>> {
  const issues = policies.flatMap((policy, i) =>
    typeof (policy as { execute?: unknown } | null)?.execute === 'function'
      ? []
      : [{ path: `wrap[${i}]`, message: 'expected a policy (an object with an execute method)' }],
  );
  if (issues.length > 0) throw invalidConfig(issues);
  const list: readonly PolicyOf<unknown>[] = Object.freeze([...policies]);
  const last = list.length - 1;

  // Layer i runs the operation under policies i..last; a closure per layer and call, no more.
  function run(
    i: number,
    operation: Operation<unknown>,
    context: AbortSignal | PolicyContext | undefined,
  ): Promise<unknown> {
    const policy = list[i] as PolicyOf<unknown>;
    if (i === last) return policy.execute(operation, context);
    return policy.execute((inner) => run(i + 1, operation, inner), context);
  }

  return {
    policies: list,
    execute<T>(operation: Operation<T>, from?: AbortSignal | PolicyContext): Promise<T | ExtraResultOf<P[number]>> {
      if (last < 0) return runBare(operation, from);
      return run(0, operation, from) as Promise<T>;
    },
  };
}

/** `wrap()` with no policy: runs the operation as it is, with a context. */
function runBare<T>(operation: Operation<T>, from: AbortSignal | PolicyContext | undefined): Promise<T> {
  try {
    return Promise.resolve(operation(toContext(from)));
  } catch (err) {
    return Promise.reject(err);
  }
}
