import { resolveOptions, zDuration } from '@switchyard/core';
import * as z from 'zod';

/** User input for {@link createBulkhead}. */
export interface BulkheadOptions {
  /** Calls allowed to run at once, >= 1. */
  maxConcurrent: number;
  /** Calls allowed to wait for a slot (first in, first out); beyond them calls are refused. @default 0 */
  maxQueue?: number;
  /**
   * How long a call may wait in the queue: `"250ms"`, `"1s"` or milliseconds; then it is refused
   * with `SY_RESILIENCE_BULKHEAD_FULL` (`details.queued: true`). Unset, it waits until a slot
   * frees or its signal aborts.
   */
  queueTimeout?: string | number;
}

/** {@link BulkheadOptions} after validation; times in milliseconds. */
export interface ResolvedBulkheadOptions {
  readonly maxConcurrent: number;
  readonly maxQueue: number;
  readonly queueTimeoutMs: number | undefined;
}

/** Schema for {@link BulkheadOptions}. */
export const bulkheadOptionsSchema = z.strictObject({
  maxConcurrent: z.number().int().min(1),
  maxQueue: z.number().int().min(0).default(0),
  queueTimeout: zDuration().optional(),
});

/**
 * Validates bulkhead options and fills in the defaults.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming the field (`resilience.bulkhead.maxConcurrent: required`)
 * @example
 * ```ts
 * resolveBulkheadOptions({ maxConcurrent: 10, maxQueue: 50, queueTimeout: '1s' });
 * // { maxConcurrent: 10, maxQueue: 50, queueTimeoutMs: 1000 }
 * ```
 */
export function resolveBulkheadOptions(input: BulkheadOptions, root = 'resilience.bulkhead'): ResolvedBulkheadOptions {
  const value = resolveOptions(bulkheadOptionsSchema, input, root);
  return Object.freeze({
    maxConcurrent: value.maxConcurrent,
    maxQueue: value.maxQueue,
    queueTimeoutMs: value.queueTimeout,
  });
}
