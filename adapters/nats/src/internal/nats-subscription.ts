/**
 * One running subscription: pulls the group's durable consumer, runs the handler for up to
 * `concurrency` messages at once, and settles each message (ack, delayed nak, or dead letter
 * then term).
 */
import type { ConsumerMessages, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import type { MsgHdrs } from '@nats-io/transport-node';
import { headers as natsHeaders } from '@nats-io/transport-node';
import {
  type Delivery,
  deadLetterHeaders,
  type MessageHandler,
  type ResolvedSubscribeOptions,
  runHandler,
  type Subscription,
} from '@switchyard/saga';
import { BusHeader, decodeMessage } from './codec.ts';

/** What a subscription needs from its bus. */
export interface SubscriptionContext {
  readonly js: JetStreamClient;
  readonly stream: string;
  readonly consumer: string;
  readonly subjectPrefix: string;
  readonly requestTimeoutMs: number;
  /** Called once the subscription has closed, so the bus forgets it. */
  readonly onClosed: (subscription: Subscription) => void;
}

/** Starts consuming; resolves once the first pull is under way. */
export async function startSubscription(
  ctx: SubscriptionContext,
  options: ResolvedSubscribeOptions,
  handler: MessageHandler,
): Promise<Subscription> {
  const consumer = await ctx.js.consumers.get(ctx.stream, ctx.consumer);
  // Pull no more than the member can run at once, so messages do not wait in this process
  // while another member of the group is idle.
  const messages: ConsumerMessages = await consumer.consume({ max_messages: options.concurrency });
  const running = new Set<Promise<void>>();
  let closing = false;

  // An ack on a connection that just closed throws; the server redelivers that message, and
  // the loop must go on with the next one.
  const settle = (msg: JsMsg) => handle(ctx, options, handler, msg).catch(() => {});

  const loop = (async () => {
    for await (const msg of messages) {
      while (running.size >= options.concurrency && !closing) await Promise.race(running);
      if (closing) {
        // Not started: hand it back at once rather than after the ack wait.
        msg.nak();
        continue;
      }
      const run = settle(msg).finally(() => running.delete(run));
      running.add(run);
    }
  })();

  let closed: Promise<void> | undefined;
  const subscription: Subscription = {
    topic: options.topic,
    group: options.group,
    close() {
      closed ??= (async () => {
        closing = true;
        await messages.close().catch(() => {});
        await loop.catch(() => {});
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

async function handle(
  ctx: SubscriptionContext,
  options: ResolvedSubscribeOptions,
  handler: MessageHandler,
  msg: JsMsg,
): Promise<void> {
  // The ack wait ran while the message waited for a free slot: restart it for this run.
  msg.working();
  const decoded = decodeMessage(msg, options.topic, options.group);
  if (!decoded.ok) {
    await deadLetter(ctx, options, msg, decoded.headers, decoded.id, decoded.error);
    return;
  }
  const delivery = decoded.delivery;
  if (delivery.attempt > options.maxDeliveries) {
    // A member ran out of time (or died) on the last delivery: the server redelivered it.
    const error = new Error(
      `delivery ${delivery.attempt - 1} of ${options.maxDeliveries} was not acknowledged ` +
        '(the member handling it stopped or lost its connection)',
    );
    await deadLetter(ctx, options, msg, delivery.headers, delivery.id, error, delivery.attempt - 1);
    return;
  }
  const outcome = await runHandler(handler, delivery, { ackTimeoutMs: options.ackTimeoutMs });
  if (outcome.ok) {
    msg.ack();
  } else if (delivery.attempt >= options.maxDeliveries) {
    await deadLetter(ctx, options, msg, delivery.headers, delivery.id, outcome.error, delivery.attempt, delivery);
  } else {
    msg.nak(options.redeliveryDelay(delivery.attempt + 1));
  }
}

/**
 * Publishes the message to the dead-letter topic, then terminates it for this group. When the
 * dead-letter publish fails it is redelivered later and dead-lettered then.
 */
async function deadLetter(
  ctx: SubscriptionContext,
  options: ResolvedSubscribeOptions,
  msg: JsMsg,
  headers: Readonly<Record<string, string>>,
  id: string,
  error: unknown,
  deliveries: number = msg.info.deliveryCount,
  delivery?: Delivery,
): Promise<void> {
  const all = deadLetterHeaders({ topic: options.topic, group: options.group, headers, deliveries, error });
  const h: MsgHdrs = natsHeaders();
  for (const [name, value] of Object.entries(all)) h.set(name, value);
  h.set(BusHeader.Id, id);
  h.set(BusHeader.PublishedAt, String(delivery?.publishedAt ?? Math.floor(msg.info.timestampNanos / 1_000_000)));
  // One dead letter per stored message and group, however often this publish is retried.
  const dedupeId = `dead-letter:${options.group}:${msg.info.stream}:${msg.info.streamSequence}`;
  try {
    await ctx.js.publish(`${ctx.subjectPrefix}.${options.deadLetterTopic}`, msg.data, {
      msgID: dedupeId,
      headers: h,
      timeout: ctx.requestTimeoutMs,
    });
    msg.term();
  } catch {
    msg.nak(options.redeliveryDelay(msg.info.deliveryCount + 1));
  }
}
