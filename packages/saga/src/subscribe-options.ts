import { type BackoffDelay, exponentialBackoff, resolveOptions, zDuration } from '@switchyard/core';
import { backoffSchema } from '@switchyard/resilience';
import * as z from 'zod';
import type { SubscribeOptions } from './bus.ts';
import { assertTopicName } from './topic.ts';

/** Deliveries of a message before it is dead-lettered, when `maxDeliveries` is not given. */
export const DEFAULT_MAX_DELIVERIES = 5;

/** Schema of {@link SubscribeOptions}: strict, with the documented defaults. */
export const subscribeOptionsSchema = z.strictObject({
  group: z.string().min(1),
  concurrency: z.number().int().min(1).max(10_000).default(1),
  maxDeliveries: z.number().int().min(1).max(1_000).default(DEFAULT_MAX_DELIVERIES),
  backoff: backoffSchema({ initial: 100, max: 30_000, factor: 2, jitter: 'full' }),
  ackTimeout: zDuration().default(30_000),
  deadLetterTopic: z.string().min(1).optional(),
});

/** {@link SubscribeOptions} after validation: complete, frozen, times in milliseconds. */
export interface ResolvedSubscribeOptions {
  readonly topic: string;
  readonly group: string;
  readonly concurrency: number;
  readonly maxDeliveries: number;
  /** The delay before redelivery number `attempt` (2 = the first redelivery). */
  readonly redeliveryDelay: BackoffDelay;
  readonly ackTimeoutMs: number;
  readonly deadLetterTopic: string;
}

/**
 * Validates a subscription's topic and options for any bus: names checked with
 * {@link assertTopicName}, every bad field reported by path (`subscribe.concurrency: ...`).
 *
 * @example
 * ```ts
 * const o = resolveSubscribeOptions('order.approved', { group: 'inventory', maxDeliveries: 3 });
 * o.deadLetterTopic; // "dead-letter.order.approved"
 * ```
 */
export function resolveSubscribeOptions(topic: string, options: SubscribeOptions): ResolvedSubscribeOptions {
  assertTopicName(topic);
  const value = resolveOptions(subscribeOptionsSchema, options, 'subscribe');
  assertTopicName(value.group, 'consumer group');
  const deadLetterTopic = value.deadLetterTopic ?? `dead-letter.${topic}`;
  assertTopicName(deadLetterTopic, 'dead-letter topic');
  const delay = exponentialBackoff({
    initialMs: value.backoff.initial,
    maxMs: value.backoff.max,
    factor: value.backoff.factor,
    jitter: value.backoff.jitter,
  });
  return Object.freeze({
    topic,
    group: value.group,
    concurrency: value.concurrency,
    maxDeliveries: value.maxDeliveries,
    redeliveryDelay: (attempt: number) => delay(Math.max(1, attempt - 1)),
    ackTimeoutMs: value.ackTimeout,
    deadLetterTopic,
  });
}
