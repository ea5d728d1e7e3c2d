import { invalidConfig } from '@switchyard/core';
import type { PolicyOf } from './fallback.ts';
import type { Disposable, PolicyContext } from './types.ts';

/** A function guarded by {@link guard}: the original arguments, a promise of the result. */
export interface GuardedFunction<A extends unknown[], R, This = unknown> {
  /** Calls the function under the policy, with no signal of the caller's. */
  (this: This, ...args: A): Promise<R>;
  /**
   * Calls the function under the policy with the caller's signal (or an enclosing policy's
   * context): aborting it cancels the call.
   */
  withSignal(this: This, signal: AbortSignal | PolicyContext | undefined, ...args: A): Promise<R>;
}

/**
 * Guards `fn` with `policy`: returns a function taking `fn`'s arguments (without the context)
 * that runs `fn` under the policy, handing it the policy's context first. `this` is passed
 * through, so a guarded function can be a method.
 *
 * @example
 * ```ts
 * import { createTimeout, guard } from '@switchyard/resilience';
 *
 * const getUser = guard(createTimeout({ timeout: '1s' }), async ({ signal }, id: string) => {
 *   const res = await fetch(`http://127.0.0.1:8080/users/${id}`, { signal });
 *   return (await res.json()) as { name: string };
 * });
 * const user = await getUser('42'); // Promise<{ name: string }>
 * const again = await getUser.withSignal(AbortSignal.timeout(5000), '42');
 * ```
 */
export function guard<A extends unknown[], T, R = never, This = unknown>(
  policy: PolicyOf<R>,
  fn: (this: This, context: PolicyContext, ...args: A) => Promise<T> | T,
): GuardedFunction<A, T | R, This> {
  if (typeof fn !== 'function') throw invalidConfig([{ path: 'guard.fn', message: 'expected a function' }]);
  function withSignal(this: This, signal: AbortSignal | PolicyContext | undefined, ...args: A): Promise<T | R> {
    return policy.execute((context) => fn.call(this, context, ...args), signal);
  }
  const guarded = function (this: This, ...args: A): Promise<T | R> {
    return policy.execute((context) => fn.call(this, context, ...args));
  } as GuardedFunction<A, T | R, This>;
  guarded.withSignal = withSignal;
  return guarded;
}

/** The names of `O`'s methods that return a promise: the ones {@link guardMethod} accepts. */
export type AsyncMethodName<O> = {
  [K in keyof O]-?: O[K] extends (...args: never[]) => PromiseLike<unknown> ? K : never;
}[keyof O];

/** What the method named `K` of `O` resolves with. */
export type AsyncMethodResult<O, K extends keyof O> = O[K] extends (...args: never[]) => PromiseLike<infer R>
  ? R
  : never;

/**
 * Replaces the method `methodName` of `object` with one that runs the original under `policy`,
 * with the same arguments and `this`. The method still sees only its own arguments: it cannot
 * see the policy's signal, so a timeout rejects the call on time but cannot stop the method's
 * I/O. When the method can take a signal, prefer {@link guard}.
 *
 * @returns a handle whose `dispose()` puts the original method back
 * @throws SwitchyardError `SY_CONFIG_INVALID` when `object[methodName]` is not a function
 * @example
 * ```ts
 * import { createRetry, guardMethod } from '@switchyard/resilience';
 *
 * const restore = guardMethod(inventoryClient, 'reserve', createRetry({ maxAttempts: 3 }));
 * await inventoryClient.reserve('sku-1', 2); // retried on failure
 * restore.dispose();
 * ```
 */
export function guardMethod<O extends object, K extends AsyncMethodName<O>>(
  object: O,
  methodName: K,
  policy: PolicyOf<AsyncMethodResult<O, K>>,
): Disposable {
  const original = object[methodName] as unknown;
  if (typeof original !== 'function') {
    throw invalidConfig([{ path: `guardMethod.${String(methodName)}`, message: 'expected a method' }]);
  }
  const own = Object.hasOwn(object, methodName);
  const target = object as Record<PropertyKey, unknown>;
  const guarded = function (this: unknown, ...args: unknown[]): Promise<unknown> {
    return policy.execute(() => original.apply(this, args));
  };
  target[methodName] = guarded;
  let disposed = false;
  const dispose = (): void => {
    if (disposed) return;
    disposed = true;
    // Only undo our own replacement: someone may have replaced it again since.
    if (target[methodName] !== guarded) return;
    if (own) target[methodName] = original;
    else delete target[methodName];
  };
  return { dispose, [Symbol.dispose]: dispose };
}
