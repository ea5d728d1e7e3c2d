import type { JsonValue } from '@switchyard/core';

/**
 * An event to publish through an outbox: written in the same local transaction as the
 * business change it announces, and published by a relay after the commit.
 */
export interface OutboxEvent<T extends JsonValue = JsonValue> {
  /** Dot-separated words, as for {@link EventBus.publish}. */
  readonly topic: string;
  readonly payload: T;
  /**
   * Headers to publish with it. Pass the propagation headers of the work in hand
   * (`traceparent`, `baggage`, `sy-saga-id`) so the trace and the saga carry on.
   */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /**
   * The message id; a random UUID when absent. Give a deterministic id when the same event
   * may be written twice (it is then stored once).
   */
  readonly id?: string | undefined;
}

/** An event as an outbox keeps it until a relay has published it. */
export interface OutboxRecord {
  /** The message id the relay publishes it with, on every attempt. */
  readonly id: string;
  readonly topic: string;
  readonly payload: JsonValue;
  readonly headers: Readonly<Record<string, string>>;
  /** Epoch milliseconds when it was written. */
  readonly createdAt: number;
}

/**
 * Unsent events taken by one relay. Until {@link OutboxClaim.settle} resolves no other relay
 * of a source that locks (PostgreSQL) is given them.
 */
export interface OutboxClaim {
  /** In the order they were written (per topic, the order to publish them in). */
  readonly events: readonly OutboxRecord[];
  /**
   * Marks `sentIds` sent and releases the claim; the other events stay unsent and come back
   * in a later claim. When it rejects nothing is marked, so the sent events are published again
   * later with the same ids (at least once: inboxes drop the second copy).
   */
  settle(sentIds: readonly string[]): Promise<void>;
}

/**
 * The port an outbox relay reads: implemented by `createSqliteOutbox(...).source` and by the
 * PostgreSQL adapter's outbox. A source never loses an unsent event: an event leaves it only
 * through a settled claim that names it.
 */
export interface OutboxSource {
  /** Names the source in errors and logs (`sqlite outbox "sy_outbox"`). */
  readonly name: string;
  /** Takes up to `limit` unsent events, oldest first; the claim may be empty. */
  claim(limit: number, signal?: AbortSignal): Promise<OutboxClaim>;
}
