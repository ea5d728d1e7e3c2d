import type { JsonValue } from '@switchyard/core';
import type { BackoffInput } from '@switchyard/resilience';

/**
 * A message as published: a JSON payload on a topic, with string headers that carry trace
 * context (`traceparent`, `baggage`) and the saga id (`sy-saga-id`) between services.
 */
export interface BusMessage<T extends JsonValue = JsonValue> {
  /** Unique per message; the inbox drops a second delivery of the same id. */
  readonly id: string;
  /** Dot-separated words: `order.approved`, `inventory.reservation.committed`. */
  readonly topic: string;
  readonly payload: T;
  readonly headers: Readonly<Record<string, string>>;
  /** Epoch milliseconds, set by the publisher. */
  readonly publishedAt: number;
}

/** A message as a subscriber receives it. */
export interface Delivery<T extends JsonValue = JsonValue> extends BusMessage<T> {
  /** 1 on the first delivery to this consumer group, 2 on the first redelivery... */
  readonly attempt: number;
  /** The consumer group it was delivered to. */
  readonly group: string;
}

/** Options of {@link EventBus.publish}. */
export interface PublishOptions {
  /** The message id; a random UUID when absent. Outbox relays pass the outbox row's id. */
  readonly id?: string | undefined;
  readonly headers?: Readonly<Record<string, string>> | undefined;
  readonly signal?: AbortSignal | undefined;
}

/**
 * How a subscription consumes. Acknowledgement follows the handler: resolving acks the
 * message; throwing (or running past `ackTimeout`) makes it due again after a backoff, and
 * after `maxDeliveries` it goes to the dead-letter topic instead.
 */
export interface SubscribeOptions {
  /**
   * The consumer group. Each message published to the topic after the group first subscribed
   * reaches one member of every group, including messages published while no member was
   * connected. Members of one group share the work.
   */
  readonly group: string;
  /** Messages handled at once by this member. @default 1 */
  readonly concurrency?: number | undefined;
  /** Deliveries before a message is dead-lettered (1 = no redelivery). @default 5 */
  readonly maxDeliveries?: number | undefined;
  /** Delay before a redelivery. @default { initial: "100ms", max: "30s", factor: 2, jitter: "full" } */
  readonly backoff?: BackoffInput | undefined;
  /** How long a handler may run before the message counts as failed (`"30s"` or ms). @default 30000 */
  readonly ackTimeout?: string | number | undefined;
  /**
   * Where a message goes after `maxDeliveries` failures, with its id, payload and headers
   * kept and `sy-dead-letter-group`, `sy-dead-letter-error` and `sy-deliveries` headers added.
   * @default `dead-letter.<topic>`
   */
  readonly deadLetterTopic?: string | undefined;
}

/** Handles one delivery. Resolve to acknowledge; throw to have it redelivered later. */
export type MessageHandler<T extends JsonValue = JsonValue> = (
  message: Delivery<T>,
  signal: AbortSignal,
) => Promise<void>;

/** A running subscription. */
export interface Subscription extends AsyncDisposable {
  readonly topic: string;
  readonly group: string;
  /** Stops taking messages and waits for the handlers running to settle. Idempotent. */
  close(): Promise<void>;
}

/** What a bus implementation actually guarantees, stated for documentation and contract tests. */
export interface BusGuarantees {
  /**
   * `per-topic`: one group member with concurrency 1 sees a topic's messages in publish order
   * when none fails. `none`: no order is promised.
   */
  readonly ordering: 'per-topic' | 'none';
  /** Published messages survive a restart of the process (and of the broker, where there is one). */
  readonly durable: boolean;
}

/**
 * The port services publish and consume events through. Implementations: memory (tests and
 * one process), a durable SQLite log shared by local processes (the embedded default), NATS
 * JetStream (`@switchyard/adapter-nats`), RabbitMQ (`@switchyard/adapter-rabbitmq`); all pass
 * `eventBusContract` from `@switchyard/saga/testing`. Delivery is at least once: handlers
 * must tolerate duplicates (the inbox does that for them).
 */
export interface EventBus extends AsyncDisposable {
  readonly guarantees: BusGuarantees;
  /** Resolves once the message is stored (durable buses) and returns its id. */
  publish<T extends JsonValue>(topic: string, payload: T, options?: PublishOptions): Promise<string>;
  /** Resolves once the group exists, so messages published after it are kept for the group. */
  subscribe<T extends JsonValue>(
    topic: string,
    handler: MessageHandler<T>,
    options: SubscribeOptions,
  ): Promise<Subscription>;
  /** Closes every subscription (waiting for running handlers) and the connection. Idempotent. */
  close(): Promise<void>;
}
