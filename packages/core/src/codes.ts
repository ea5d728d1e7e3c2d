import { type ErrorCodeSpec, errorFactory } from './errors.ts';

/** Cross-cutting error codes owned by core. Codes are public API: never renamed or reused. */
export const coreErrorCodes = {
  SY_CONFIG_INVALID: {
    summary: 'Configuration failed validation; `details.issues` lists each problem with its path.',
    retryable: false,
  },
  SY_CANCELLED: {
    summary: 'The operation was aborted through its AbortSignal; `cause` is the signal reason.',
    retryable: false,
  },
} as const satisfies Record<string, ErrorCodeSpec>;

/** A code from {@link coreErrorCodes}. */
export type CoreErrorCode = keyof typeof coreErrorCodes;

/** Creates an error with one of core's codes. */
export const coreError = errorFactory(coreErrorCodes);

/** Builds the `SY_CANCELLED` error for an aborted signal, keeping `signal.reason` as cause. */
export function cancelledError(signal: AbortSignal, what = 'operation'): Error {
  return coreError('SY_CANCELLED', `${what} was cancelled`, { cause: signal.reason });
}

/** Throws `SY_CANCELLED` when `signal` is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined, what?: string): void {
  if (signal?.aborted) throw cancelledError(signal, what);
}
