import { JetStreamApiError, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
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
import { natsError } from './errors.ts';
import { encodeHeaders, encodePayload } from './internal/codec.ts';
import { describeServers, ensureStream, openConnection, openManager } from './internal/connect.ts';
import { consumerName } from './internal/consumer-name.ts';
import { ensureConsumer } from './internal/consumer-setup.ts';
import { startSubscription } from './internal/nats-subscription.ts';
import { type NatsEventBusOptions, type ResolvedNatsEventBusOptions, resolveNatsEventBusOptions } from './options.ts';

/** The `EventBus` on NATS JetStream, with the resolved options it runs with. */
export interface NatsEventBus extends EventBus {
  readonly options: ResolvedNatsEventBusOptions;
  /** False while the client is reconnecting after losing its server (publishes then fail at once). */
  readonly connected: boolean;
}

/**
 * Connects to NATS, creates (or updates) the JetStream stream capturing
 * `<subjectPrefix>.>`, and returns an `EventBus` on it. Topic `order.approved` is subject
 * `sy.order.approved`; each consumer group is a durable pull consumer on that subject, so a
 * group keeps what is published while none of its members runs. Handlers that fail are
 * redelivered with `nak(backoff)`; after `maxDeliveries` the message is published to the
 * dead-letter topic and terminated. One member with `concurrency: 1` gets a topic's messages
 * in publish order while none fails (`guarantees.ordering` is `per-topic`).
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` for bad options, `SY_NATS_CONNECT_FAILED` when no
 *   server answers within `connectTimeout`, `SY_NATS_JETSTREAM_UNAVAILABLE` without JetStream,
 *   `SY_NATS_STREAM_CONFLICT` when the stream cannot capture the subjects
 * @example
 * ```ts
 * const bus = await createNatsEventBus({ servers: 'nats://127.0.0.1:4222', stream: 'SHOP' });
 * await bus.subscribe('order.approved', async (m) => console.log(m.payload), { group: 'billing' });
 * await bus.publish('order.approved', { orderId: 'o-1' });
 * await bus.close();
 * ```
 */
export async function createNatsEventBus(input: NatsEventBusOptions = {}): Promise<NatsEventBus> {
  const options = resolveNatsEventBusOptions(input);
  const nc = await openConnection(options);
  try {
    const jsm = await openManager(nc, options);
    await ensureStream(jsm, options);
    return instrumentEventBus(new NatsBus(options, nc, jsm), { system: 'nats' });
  } catch (err) {
    await nc.close().catch(() => {});
    throw err;
  }
}

class NatsBus implements NatsEventBus {
  readonly options: ResolvedNatsEventBusOptions;
  readonly guarantees: BusGuarantees;
  readonly #nc: NatsConnection;
  readonly #jsm: JetStreamManager;
  readonly #js: JetStreamClient;
  readonly #subscriptions = new Set<Subscription>();
  #connected = true;
  #closing: Promise<void> | undefined;

  constructor(options: ResolvedNatsEventBusOptions, nc: NatsConnection, jsm: JetStreamManager) {
    this.options = options;
    this.guarantees = Object.freeze({ ordering: 'per-topic', durable: options.storage === 'file' });
    this.#nc = nc;
    this.#jsm = jsm;
    this.#js = jsm.jetstream();
    this.#watchStatus().catch(() => {});
  }

  get connected(): boolean {
    return this.#connected && !this.#nc.isClosed();
  }

  /** Tracks the connection, so a publish while disconnected fails at once instead of waiting out its timeout. */
  async #watchStatus(): Promise<void> {
    for await (const status of this.#nc.status()) {
      if (status.type === 'disconnect' || status.type === 'reconnecting') this.#connected = false;
      else if (status.type === 'reconnect') this.#connected = true;
    }
  }

  async publish<T extends JsonValue>(topic: string, payload: T, options?: PublishOptions): Promise<string> {
    this.#assertOpen('publish');
    const message = createBusMessage(topic, payload, options, Date.now());
    this.#assertConnected(`publish to ${JSON.stringify(topic)}`);
    const subject = `${this.options.subjectPrefix}.${topic}`;
    const stored = this.#js.publish(subject, encodePayload(message.payload), {
      msgID: message.id,
      headers: encodeHeaders(message),
      timeout: this.options.requestTimeoutMs,
    });
    try {
      await abortable(stored, options?.signal, `publish to ${JSON.stringify(topic)}`);
    } catch (err) {
      throw this.#publishError(err, topic);
    }
    return message.id;
  }

  async subscribe<T extends JsonValue>(
    topic: string,
    handler: MessageHandler<T>,
    options: SubscribeOptions,
  ): Promise<Subscription> {
    this.#assertOpen('subscribe');
    const resolved = resolveSubscribeOptions(topic, options);
    this.#assertConnected(`subscribe to ${JSON.stringify(topic)}`);
    const name = consumerName(resolved.group, topic, this.options.subjectPrefix);
    try {
      await ensureConsumer(this.#jsm, {
        stream: this.options.stream,
        name,
        filterSubject: `${this.options.subjectPrefix}.${topic}`,
        ackTimeoutMs: resolved.ackTimeoutMs,
      });
    } catch (err) {
      throw this.#requestError(err, `subscribe group ${JSON.stringify(resolved.group)} to ${JSON.stringify(topic)}`);
    }
    const subscription = await startSubscription(
      {
        js: this.#js,
        stream: this.options.stream,
        consumer: name,
        subjectPrefix: this.options.subjectPrefix,
        requestTimeoutMs: this.options.requestTimeoutMs,
        onClosed: (s) => this.#subscriptions.delete(s),
      },
      resolved,
      handler as MessageHandler,
    );
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
      if (!this.#nc.isClosed()) {
        // Send the last acknowledgements before the socket goes.
        await this.#nc.flush().catch(() => {});
        await this.#nc.close().catch(() => {});
      }
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
        `NATS event bus (stream ${JSON.stringify(this.options.stream)}): ${what} after close()`,
      );
    }
  }

  #assertConnected(what: string): void {
    if (!this.#connected || this.#nc.isClosed()) {
      throw sagaError(
        'SY_BUS_UNAVAILABLE',
        `NATS event bus: ${what}: not connected to ${describeServers(this.options.servers)} (reconnecting); nothing was done`,
        { details: { servers: describeServers(this.options.servers) } },
      );
    }
  }

  #publishError(err: unknown, topic: string): Error {
    if (isSwitchyardError(err, 'SY_CANCELLED')) return err;
    return this.#requestError(err, `publish to ${JSON.stringify(topic)}`);
  }

  #requestError(err: unknown, what: string): Error {
    if (isSwitchyardError(err)) return err;
    const reason = err instanceof Error ? err.message : String(err);
    if (err instanceof JetStreamApiError) {
      return natsError('SY_NATS_REQUEST_FAILED', `NATS event bus: ${what}: JetStream refused it (${reason})`, {
        cause: err,
        details: { stream: this.options.stream, apiCode: err.code },
      });
    }
    return sagaError(
      'SY_BUS_UNAVAILABLE',
      `NATS event bus: ${what}: ${describeServers(this.options.servers)} did not answer (${reason})`,
      { cause: err, details: { servers: describeServers(this.options.servers) } },
    );
  }
}

/** Rejects with `SY_CANCELLED` when `signal` aborts first (the publish may still be stored). */
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
