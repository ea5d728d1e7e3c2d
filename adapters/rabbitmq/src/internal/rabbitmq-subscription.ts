/**
 * One running subscription: consumes the group's queue with prefetch = concurrency and manual
 * acks, and settles each message (ack; republish to the retry queue with the backoff as its
 * expiration; or publish to the dead-letter topic) before acknowledging it. When the channel or
 * the connection is lost it declares and consumes again as soon as the link is back.
 */
import {
  deadLetterHeaders,
  type MessageHandler,
  type ResolvedSubscribeOptions,
  runHandler,
  type Subscription,
} from '@switchyard/saga';
import type { Channel, ConsumeMessage } from 'amqplib';
import { rabbitMqError } from '../errors.ts';
import { BusHeader, decodeMessage, encodeMessage } from './codec.ts';
import { type AmqpLink, hasReplyCode } from './link.ts';
import { publishConfirmed } from './publish.ts';
import type { QueueNames } from './queue-names.ts';

/** What a subscription needs from its bus. */
export interface SubscriptionContext {
  readonly link: AmqpLink;
  readonly queues: QueueNames;
  /** Called once the subscription has closed, so the bus forgets it. */
  readonly onClosed: (subscription: Subscription) => void;
}

const noop = (): void => {};

interface Consuming {
  readonly channel: Channel;
  readonly consumerTag: string;
}

/** Declares the group's queues and starts consuming; rejects when the first declaration fails. */
export async function startSubscription(
  ctx: SubscriptionContext,
  options: ResolvedSubscribeOptions,
  handler: MessageHandler,
): Promise<Subscription> {
  const running = new Set<Promise<void>>();
  let closing = false;
  let consuming: Consuming | undefined;

  const onMessage = (channel: Channel, msg: ConsumeMessage | null) => {
    if (msg === null) {
      // The broker cancelled the consumer (its queue was deleted): start over on a new channel.
      channel.close().catch(noop);
      return;
    }
    if (closing) {
      safe(() => channel.nack(msg, false, true));
      return;
    }
    const run = handle(ctx, options, handler, channel, msg)
      .catch(noop) // acks go through safe(); nothing else can reject, but a loose rejection would crash the process
      .finally(() => running.delete(run));
    running.add(run);
  };

  const start = async (): Promise<Consuming> => {
    const connected = ctx.link.current;
    if (connected === undefined) throw new Error('not connected');
    const channel = await connected.model.createChannel();
    channel.on('error', noop);
    try {
      await declare(channel, ctx, options);
      await channel.prefetch(options.concurrency);
      const { consumerTag } = await channel.consume(ctx.queues.work, (msg) => onMessage(channel, msg), {
        noAck: false,
      });
      channel.on('close', () => {
        if (consuming?.channel === channel) consuming = undefined;
        if (!closing) void resume();
      });
      return { channel, consumerTag };
    } catch (err) {
      channel.close().catch(noop);
      throw err;
    }
  };

  let resuming = false;
  /** Consumes again once the link is back; retries with the link's reconnect delay. */
  const resume = async () => {
    if (resuming) return;
    resuming = true;
    try {
      for (let attempt = 1; !closing; attempt++) {
        const connected = await ctx.link.whenConnected();
        if (connected === undefined || closing) return;
        try {
          consuming = await start();
          if (closing) await stop();
          return;
        } catch {
          await new Promise((resolve) =>
            setTimeout(
              resolve,
              Math.min(ctx.link.options.maxReconnectDelayMs, ctx.link.options.reconnectDelayMs * 2 ** attempt),
            ),
          );
        }
      }
    } finally {
      resuming = false;
    }
  };

  const stop = async () => {
    const current = consuming;
    consuming = undefined;
    if (current === undefined) return;
    await current.channel.cancel(current.consumerTag).catch(noop);
    await Promise.allSettled([...running]);
    await current.channel.close().catch(noop);
  };

  consuming = await start();

  let closed: Promise<void> | undefined;
  const subscription: Subscription = {
    topic: options.topic,
    group: options.group,
    close() {
      closed ??= (async () => {
        closing = true;
        await stop();
        await Promise.allSettled([...running]);
        ctx.onClosed(subscription);
      })();
      return closed;
    },
    [Symbol.asyncDispose]() {
      return subscription.close();
    },
  };
  return subscription;
}

/**
 * The durable queue of the group (quorum or classic), bound to the exchange with the topic as
 * routing key, and its retry queue: classic, with no consumer, whose expired messages RabbitMQ
 * dead-letters back to the work queue through the default exchange.
 */
async function declare(channel: Channel, ctx: SubscriptionContext, options: ResolvedSubscribeOptions): Promise<void> {
  const { exchange, queueType } = ctx.link.options;
  try {
    await channel.assertQueue(ctx.queues.work, {
      durable: true,
      arguments: queueType === 'quorum' ? { 'x-queue-type': 'quorum' } : {},
    });
    await channel.assertQueue(ctx.queues.retry, {
      durable: true,
      arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': ctx.queues.work },
    });
    await channel.bindQueue(ctx.queues.work, exchange, options.topic);
  } catch (err) {
    if (!hasReplyCode(err, 406)) throw err;
    throw rabbitMqError(
      'SY_RABBITMQ_TOPOLOGY_CONFLICT',
      `RabbitMQ event bus: queue ${JSON.stringify(ctx.queues.work)} of group ${JSON.stringify(options.group)} exists ` +
        `with other settings (${(err as Error).message}); queueType must match how it was first declared`,
      { cause: err, details: { queue: ctx.queues.work, group: options.group, queueType } },
    );
  }
}

async function handle(
  ctx: SubscriptionContext,
  options: ResolvedSubscribeOptions,
  handler: MessageHandler,
  channel: Channel,
  msg: ConsumeMessage,
): Promise<void> {
  const decoded = decodeMessage(msg, options.topic, options.group);
  if (!decoded.ok) {
    await deadLetter(ctx, options, channel, msg, decoded, decoded.error, decoded.attempt);
    return;
  }
  const delivery = decoded.delivery;
  if (delivery.attempt > options.maxDeliveries) {
    // The last delivery was lost with its member or connection, and RabbitMQ redelivered it.
    const error = new Error(
      `delivery ${delivery.attempt - 1} of ${options.maxDeliveries} was not acknowledged ` +
        '(the member handling it stopped or lost its connection)',
    );
    await deadLetter(ctx, options, channel, msg, delivery, error, delivery.attempt - 1);
    return;
  }
  const outcome = await runHandler(handler, delivery, { ackTimeoutMs: options.ackTimeoutMs });
  if (outcome.ok) {
    safe(() => channel.ack(msg));
  } else if (delivery.attempt >= options.maxDeliveries) {
    await deadLetter(ctx, options, channel, msg, delivery, outcome.error, delivery.attempt);
  } else {
    await retryLater(ctx, options, channel, msg, delivery, delivery.attempt + 1);
  }
}

/** Republishes the message to the retry queue, due after the backoff, then acknowledges it. */
async function retryLater(
  ctx: SubscriptionContext,
  options: ResolvedSubscribeOptions,
  channel: Channel,
  msg: ConsumeMessage,
  message: { id: string; headers: Readonly<Record<string, string>>; publishedAt: number },
  nextAttempt: number,
): Promise<void> {
  const delay = Math.max(0, Math.round(options.redeliveryDelay(nextAttempt)));
  const { body, properties } = encodeMessage(message, msg.content, { [BusHeader.Attempt]: String(nextAttempt) });
  try {
    await publishConfirmed(ctx.link, '', ctx.queues.retry, body, { ...properties, expiration: String(delay) }, 'retry');
    safe(() => channel.ack(msg));
  } catch {
    // Not parked for a retry: hand it back, so it is not lost (it comes back sooner than the backoff).
    safe(() => channel.nack(msg, false, true));
  }
}

/** Publishes the message to the dead-letter topic (confirmed), then acknowledges it. */
async function deadLetter(
  ctx: SubscriptionContext,
  options: ResolvedSubscribeOptions,
  channel: Channel,
  msg: ConsumeMessage,
  message: { id: string; headers: Readonly<Record<string, string>>; publishedAt: number },
  error: unknown,
  deliveries: number,
): Promise<void> {
  const headers = deadLetterHeaders({
    topic: options.topic,
    group: options.group,
    headers: message.headers,
    deliveries,
    error,
  });
  const { body, properties } = encodeMessage({ ...message, headers }, msg.content);
  try {
    await publishConfirmed(
      ctx.link,
      ctx.link.options.exchange,
      options.deadLetterTopic,
      body,
      properties,
      'dead-letter',
    );
    safe(() => channel.ack(msg));
  } catch {
    safe(() => channel.nack(msg, false, true));
  }
}

/** Acks and nacks on a channel that closed meanwhile throw; the broker redelivers those messages anyway. */
function safe(action: () => void): void {
  try {
    action();
  } catch {
    // The channel is gone: RabbitMQ requeues its unacknowledged messages.
  }
}
