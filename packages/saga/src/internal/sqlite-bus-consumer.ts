import type { Clock } from '@switchyard/core';
import type { BusMessage, Delivery, MessageHandler, Subscription } from '../bus.ts';
import { deadLetterHeaders } from '../dead-letter.ts';
import { sagaError } from '../errors.ts';
import { type HandlerOutcome, runHandler } from '../handler-run.ts';
import { newMessageId } from '../message-id.ts';
import type { ResolvedSubscribeOptions } from '../subscribe-options.ts';
import type { ClaimedMessage, SqliteBusLog } from './sqlite-bus-log.ts';

/** What a consumer needs from the bus that created it. */
export interface ConsumerContext {
  readonly log: SqliteBusLog;
  readonly clock: Clock;
  readonly pollIntervalMs: number;
  readonly leaseMarginMs: number;
  /** Called after a dead-letter is written, to wake this process's subscribers of its topic. */
  readonly published: (topic: string) => void;
  readonly reportError: (error: unknown) => void;
}

/**
 * One member of a consumer group on the SQLite log: claims due messages (up to its
 * concurrency) when woken by a publish in this process, by its poll timer or by a handler
 * finishing; runs each handler with the ack timeout; then acknowledges, schedules the
 * redelivery, or dead-letters. A claimed message is leased for `ackTimeout + leaseMargin`, so
 * if this process dies another member gets it back when the lease ends.
 */
export class SqliteConsumer implements Subscription {
  readonly topic: string;
  readonly group: string;
  readonly #options: ResolvedSubscribeOptions;
  readonly #handler: MessageHandler;
  readonly #context: ConsumerContext;
  /** The lease owner written on claimed rows: unique per subscription, across processes. */
  readonly #owner = newMessageId();
  readonly #running = new Set<Promise<void>>();
  #cancelTimer: (() => void) | undefined;
  #closing: Promise<void> | undefined;
  #pumping = false;
  #again = false;
  readonly #onClosed: () => void;

  constructor(
    options: ResolvedSubscribeOptions,
    handler: MessageHandler,
    context: ConsumerContext,
    onClosed: () => void,
  ) {
    this.topic = options.topic;
    this.group = options.group;
    this.#options = options;
    this.#handler = handler;
    this.#context = context;
    this.#onClosed = onClosed;
  }

  /** Looks for due messages now. Safe to call at any time, any number of times. */
  wake = (): void => {
    if (this.#closing) return;
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = true;
    try {
      do {
        this.#again = false;
        this.#claimAndDispatch();
      } while (this.#again && !this.#closing);
    } catch (err) {
      this.#context.reportError(err);
    } finally {
      this.#pumping = false;
    }
    this.#schedule();
  };

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#cancelTimer?.();
      this.#cancelTimer = undefined;
      while (this.#running.size > 0) await Promise.all([...this.#running]);
      this.#onClosed();
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #claimAndDispatch(): void {
    const free = this.#options.concurrency - this.#running.size;
    if (free <= 0) return;
    const { log, clock } = this.#context;
    const now = clock.now();
    if (!log.hasDue(this.topic, this.group, now)) return;
    let lettered = false;
    const claimed = log.claim({
      topic: this.topic,
      group: this.group,
      owner: this.#owner,
      now,
      leaseMs: this.#options.ackTimeoutMs + this.#context.leaseMarginMs,
      limit: free,
      maxDeliveries: this.#options.maxDeliveries,
      deadLetter: (expired) => {
        lettered = true;
        return this.#letter(
          expired,
          sagaError(
            'SY_BUS_ACK_TIMEOUT',
            `message ${JSON.stringify(expired.message.id)}: the member holding delivery ${expired.attempt} ` +
              'neither acknowledged nor failed it before its lease ended (the process died?)',
          ),
        );
      },
    });
    if (lettered) this.#context.published(this.#options.deadLetterTopic);
    for (const message of claimed) this.#dispatch(message);
  }

  #dispatch(claimed: ClaimedMessage): void {
    const delivery: Delivery = Object.freeze({ ...claimed.message, attempt: claimed.attempt, group: this.group });
    const { clock } = this.#context;
    const run = runHandler(this.#handler, delivery, { ackTimeoutMs: this.#options.ackTimeoutMs, clock })
      .then((outcome) => this.#settle(claimed, outcome))
      .catch((err: unknown) => this.#context.reportError(err));
    this.#running.add(run);
    void run.finally(() => {
      this.#running.delete(run);
      this.wake();
    });
  }

  /** Acknowledges, schedules the redelivery or dead-letters; a failed write leaves the lease to run out. */
  #settle(claimed: ClaimedMessage, outcome: HandlerOutcome): void {
    const { log, clock } = this.#context;
    if (outcome.ok) {
      log.ack(this.topic, this.group, claimed.seq);
      return;
    }
    if (claimed.attempt >= this.#options.maxDeliveries) {
      if (log.deadLetter(this.group, claimed, this.#owner, this.#letter(claimed, outcome.error))) {
        this.#context.published(this.#options.deadLetterTopic);
      }
      return;
    }
    const at = clock.now() + this.#options.redeliveryDelay(claimed.attempt + 1);
    log.retry(this.topic, this.group, claimed.seq, this.#owner, claimed.attempt, at);
  }

  #letter(claimed: ClaimedMessage, error: unknown): BusMessage {
    const { message } = claimed;
    const headers = deadLetterHeaders({
      topic: message.topic,
      group: this.group,
      headers: message.headers,
      deliveries: claimed.attempt,
      error,
    });
    return Object.freeze({
      ...message,
      topic: this.#options.deadLetterTopic,
      headers,
      publishedAt: this.#context.clock.now(),
    });
  }

  /** Arms the timer for the next due message, at most `pollInterval` away (other processes publish unseen). */
  #schedule(): void {
    if (this.#closing) return;
    this.#cancelTimer?.();
    const { log, clock, pollIntervalMs } = this.#context;
    let delay = pollIntervalMs;
    if (this.#running.size < this.#options.concurrency) {
      try {
        const next = log.nextDue(this.topic, this.group);
        if (next !== undefined) delay = Math.min(delay, Math.max(1, next - clock.now()));
      } catch (err) {
        this.#context.reportError(err);
      }
    }
    this.#cancelTimer = clock.setTimeout(() => {
      this.#cancelTimer = undefined;
      this.wake();
    }, delay);
  }
}
