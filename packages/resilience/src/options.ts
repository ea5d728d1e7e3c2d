import { resolveOptions, zDuration } from '@switchyard/core';
import * as z from 'zod';

/** Schema for {@link TimeoutOptions}. */
export const timeoutOptionsSchema = z.strictObject({
  timeout: zDuration(),
});

/** User input for a timeout policy. */
export interface TimeoutOptions {
  /** How long the operation may run: `"250ms"`, `"5s"` or milliseconds. */
  timeout: string | number;
}

/** {@link TimeoutOptions} after validation; durations in milliseconds. */
export interface ResolvedTimeoutOptions {
  readonly timeoutMs: number;
}

/**
 * Validates timeout options.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming the field (`resilience.timeout.timeout: ...`)
 */
export function resolveTimeoutOptions(input: TimeoutOptions, root = 'resilience.timeout'): ResolvedTimeoutOptions {
  const parsed = resolveOptions(timeoutOptionsSchema, input, root);
  return Object.freeze({ timeoutMs: parsed.timeout });
}
