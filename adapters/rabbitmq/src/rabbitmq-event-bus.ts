import { cancelledError, isSwitchyardError, type JsonValue } from '@switchyard/core';
import {
  type BusGuarantees,
  createBusMessage,
  type EventBus,
  instrumentEventBus,
  type MessageHandler,
  type PublishOptions,
  resolveSubscribeOptions,
  type SubscribeOptions,
  type Subscription,
  sagaError,
} from '@switchyard/saga';
import { encodeMessage, encodePayload } from './internal/codec.ts';
import { AmqpLink } from './internal/link.ts';
import { publishConfirmed, unavailable } from './internal/publish.ts';
import { queueNames } from './internal/queue-names.ts';
import { startSubscription } from './internal/rabbitmq-subscription.ts';
import {
  type RabbitMqEventBusOptions,
  type ResolvedRabbitMqEventBusOptions,
  resolveRabbitMqEventBusOptions,
} from './options.ts';

/** The `EventBus` on RabbitMQ, with the resolved options it runs with. */
export interface RabbitMqEventBus extends EventBus {
  readonly options: ResolvedRabbitMqEventBusOptions;
  /** False while the bus is reconnecting after losing its connection (publishes then fail at once). */
  readonly connected: boolean;
}

/**
 * Connects to RabbitMQ, declares the durable topic exchange, and returns an `EventBus` on it.
 * A publish is a persistent message on the exchange with the topic as routing key, resolved on
 * the broker's confirm. Each consumer group is a durable queue (`<exchange>:<group>:<topic>`,
 * quorum by default) bound to its topic, consumed with prefetch = `concurrency` and manual
 * acks. A failed message is republished to the group's retry queue with the backoff as its
 * expiration, and RabbitMQ moves it back when it expires; after `maxDeliveries` it is published
 * to the dead-letter topic. A lost connection is reopened with backoff and every subscription
 * resumes; publishes meanwhile fail at once with `SY_BUS_UNAVAILABLE`.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` for bad options, `SY_RABBITMQ_CONNECT_FAILED` when
 *   RabbitMQ does not accept the connection within `connectTimeout`,
 *   `SY_RABBITMQ_TOPOLOGY_CONFLICT` when the exchange exists with another type
 * @example
 * ```ts
 * const bus = await createRabbitMqEventBus({ url: 'amqp://guest:guest@127.0.0.1:5672', exchange: 'shop' });
 * await bus.subscribe('order.approved', async (m) => console.log(m.payload), { group: 'billing' });
 * await bus.publish('order.approved', { orderId: 'o-1' });
 * await bus.close();
 * ```
 */
export async function createRabbitMqEventBus(input: RabbitMqEventBusOptions = {}): Promise<RabbitMqEventBus> {
  const options = resolveRabbitMqEventBusOptions(input);
  return instrumentEventBus(new RabbitMqBus(options, await AmqpLink.open(options)), { system: 'rabbitmq' });
}

class RabbitMqBus implements RabbitMqEventBus {
  readonly options: ResolvedRabbitMqEventBusOptions;
  readonly guarantees: BusGuarantees = Object.freeze({ ordering: 'per-topic', durable: true });
  readonly #link: AmqpLink;
  readonly #subscriptions = new Set<Subscription>();
  #closing: Promise<void> | undefined;

  constructor(options: ResolvedRabbitMqEventBusOptions, link: AmqpLink) {
    this.options = options;
    this.#link = link;
  }

  get connected(): boolean {
    return this.#link.current !== undefined;
  }

  async publish<T extends JsonValue>(topic: string, payload: T, options?: PublishOptions): Promise<string> {
    this.#assertOpen('publish');
    const message = createBusMessage(topic, payload, options, Date.now());
    const { body, properties } = encodeMessage(message, encodePayload(message.payload));
    const what = `publish to ${JSON.stringify(topic)}`;
    const confirmed = publishConfirmed(this.#link, this.options.exchange, topic, body, properties, what);
    await abortable(confirmed, options?.signal, what);
    return message.id;
  }

  async subscribe<T extends JsonValue>(
    topic: string,
    handler: MessageHandler<T>,
    options: SubscribeOptions,
  ): Promise<Subscription> {
    this.#assertOpen('subscribe');
    const resolved = resolveSubscribeOptions(topic, options);
    const what = `subscribe group ${JSON.stringify(resolved.group)} to ${JSON.stringify(topic)}`;
    if (this.#link.current === undefined) throw unavailable(this.#link, what, 'not connected (reconnecting)');
    let subscription: Subscription;
    try {
      subscription = await startSubscription(
        {
          link: this.#link,
          queues: queueNames(this.options.exchange, resolved.group, topic),
          onClosed: (s) => this.#subscriptions.delete(s),
        },
        resolved,
        handler as MessageHandler,
      );
    } catch (err) {
      if (isSwitchyardError(err)) throw err;
      throw unavailable(this.#link, what, (err as Error).message, err);
    }
    if (this.#closing !== undefined) {
      await subscription.close();
      this.#assertOpen('subscribe');
    }
    this.#subscriptions.add(subscription);
    return subscription;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.allSettled([...this.#subscriptions].map((s) => s.close()));
      await this.#link.close();
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #assertOpen(what: string): void {
    if (this.#closing !== undefined) {
      throw sagaError(
        'SY_BUS_CLOSED',
        `RabbitMQ event bus (exchange ${JSON.stringify(this.options.exchange)}): ${what} after close()`,
      );
    }
  }
}

/** Rejects with `SY_CANCELLED` when `signal` aborts first (the message may still be stored). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (signal === undefined) return promise;
  promise.catch(() => {}); // its outcome no longer matters once the caller gave up
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(cancelledError(signal, what));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
