import { configIssues, invalidConfig, zDuration } from '@switchyard/core';
import { backoffSchema, defaultRetryOnError, type ResolvedBackoff } from '@switchyard/resilience';
import * as z from 'zod';

const isFunction = (value: unknown): value is (...args: never[]) => unknown => typeof value === 'function';

/** Schema of one step's `retry`: the shape of `@switchyard/resilience` retry options, minus what a saga cannot use. */
export const stepRetrySchema = z
  .strictObject({
    maxAttempts: z.number().int().min(1).default(1),
    backoff: backoffSchema({ initial: 100, max: 10_000, factor: 2, jitter: 'full' }),
    retryOn: z
      .custom<(error: unknown, attempt: number) => boolean>(isFunction, { message: 'expected a function' })
      .optional(),
  })
  .prefault({});

/** Schema of one step's options, functions checked for shape. */
export const stepSpecSchema = z.strictObject({
  execute: z.custom<(...args: never[]) => unknown>(isFunction, { message: 'expected a function' }),
  compensate: z.custom<(...args: never[]) => unknown>(isFunction, { message: 'expected a function' }).optional(),
  retry: stepRetrySchema,
  timeout: zDuration().optional(),
});

/** A step's retry policy after validation; times in milliseconds. */
export interface ResolvedStepRetry {
  readonly maxAttempts: number;
  readonly backoff: ResolvedBackoff;
  readonly retryOn: (error: unknown, attempt: number) => boolean;
}

/** Validates a step's options, naming the field (`saga.order.steps.charge.retry.maxAttempts: ...`). */
export function parseStepSpec(input: unknown, root: string): z.output<typeof stepSpecSchema> {
  const result = stepSpecSchema.safeParse(input, { reportInput: true });
  if (!result.success) throw invalidConfig(configIssues(stepSpecSchema, result.error, root));
  return result.data;
}

/** The resolved retry policy of a parsed step. */
export function resolveStepRetry(retry: z.output<typeof stepRetrySchema>): ResolvedStepRetry {
  return Object.freeze({
    maxAttempts: retry.maxAttempts,
    backoff: Object.freeze({
      initialMs: retry.backoff.initial,
      maxMs: retry.backoff.max,
      factor: retry.backoff.factor,
      jitter: retry.backoff.jitter,
    }),
    retryOn: retry.retryOn ?? defaultRetryOnError,
  });
}
