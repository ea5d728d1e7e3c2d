/**
 * `@switchyard/resilience`: fault-tolerance policies with no I/O of their own.
 *
 * A policy wraps an async operation that receives an `AbortSignal`; when the policy gives up
 * (a timeout, a cancelled caller) it aborts that signal so the operation can stop its I/O.
 *
 * @example
 * ```ts
 * import { createTimeout } from '@switchyard/resilience';
 *
 * const timeout = createTimeout({ timeout: '2s' });
 * const res = await timeout.execute((signal) => fetch('http://127.0.0.1:8080/health', { signal }));
 * ```
 *
 * @packageDocumentation
 */

export type { ResilienceErrorCode } from './errors.ts';
export { resilienceError, resilienceErrorCodes } from './errors.ts';
export type { ResolvedTimeoutOptions, TimeoutOptions } from './options.ts';
export { resolveTimeoutOptions, timeoutOptionsSchema } from './options.ts';
export type { Operation, TimeoutPolicy } from './timeout.ts';
export { createTimeout } from './timeout.ts';
