import { resolveOptions, zDuration } from '@switchyard/core';
import * as z from 'zod';

/** User input for {@link createRetryBudget}, after Finagle's `RetryBudget` and Linkerd's retry budget. */
export interface RetryBudgetOptions {
  /** Retries allowed per call made, on top of the floor: 0.2 lets retries add 20% load. @default 0.2 */
  ratio?: number;
  /** Retries allowed per second whatever the traffic, so a quiet service can still retry. @default 10 */
  minRetriesPerSecond?: number;
  /** How long a call (and a retry) counts: the window the ratio applies to, 1s to 60s. @default "10s" */
  ttl?: string | number;
}

/** {@link RetryBudgetOptions} after validation. */
export interface ResolvedRetryBudgetOptions {
  readonly ratio: number;
  readonly minRetriesPerSecond: number;
  readonly ttlMs: number;
}

/** Schema for {@link RetryBudgetOptions}. */
export const retryBudgetOptionsSchema = z.strictObject({
  ratio: z.number().min(0).max(1000).default(0.2),
  minRetriesPerSecond: z.number().min(0).default(10),
  ttl: zDuration()
    .refine((ms) => ms >= 1000 && ms <= 60_000, { message: 'expected a duration from 1s to 60s' })
    .default(10_000),
});

/**
 * Validates retry budget options and fills in the defaults.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming the field (`resilience.retryBudget.ratio: ...`)
 */
export function resolveRetryBudgetOptions(
  input: RetryBudgetOptions = {},
  root = 'resilience.retryBudget',
): ResolvedRetryBudgetOptions {
  const value = resolveOptions(retryBudgetOptionsSchema, input, root);
  return Object.freeze({ ratio: value.ratio, minRetriesPerSecond: value.minRetriesPerSecond, ttlMs: value.ttl });
}
