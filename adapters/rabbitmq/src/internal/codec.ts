/**
 * How a bus message travels on AMQP: the JSON payload as a persistent body, `messageId` =
 * the message id, the message's headers as AMQP headers beside the bus's own (publish time,
 * the attempt a retried message is on), which a delivery strips again with the broker's.
 */
import { randomUUID } from 'node:crypto';
import type { JsonValue } from '@switchyard/core';
import type { BusMessage, Delivery } from '@switchyard/saga';
import type { ConsumeMessage, Options } from 'amqplib';

/** Headers the bus writes itself; never part of a delivery's `headers`. */
export const BusHeader = {
  /** `publishedAt`, epoch milliseconds as a decimal string. */
  PublishedAt: 'sy-published-at',
  /** The delivery number a retried message is republished for (2, 3, ...). */
  Attempt: 'sy-attempt',
} as const;

/** Headers RabbitMQ adds (dead-lettering through the retry queue, quorum delivery counts). */
const brokerHeaders = new Set([
  'x-death',
  'x-first-death-exchange',
  'x-first-death-queue',
  'x-first-death-reason',
  'x-last-death-exchange',
  'x-last-death-queue',
  'x-last-death-reason',
  'x-delivery-count',
]);

const reserved = new Set<string>([...Object.values(BusHeader), ...brokerHeaders]);
const decoder = new TextDecoder('utf-8', { fatal: true });

/** The body and properties of a published message. */
export function encodeMessage(
  message: Pick<BusMessage, 'id' | 'headers' | 'publishedAt'>,
  payload: Buffer,
  extra: Record<string, string> = {},
): { body: Buffer; properties: Options.Publish } {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers)) if (!reserved.has(name)) headers[name] = value;
  headers[BusHeader.PublishedAt] = String(message.publishedAt);
  Object.assign(headers, extra);
  return {
    body: payload,
    properties: {
      persistent: true,
      messageId: message.id,
      contentType: 'application/json',
      timestamp: Math.floor(message.publishedAt / 1000),
      headers,
    },
  };
}

/** The payload as UTF-8 JSON. */
export function encodePayload(payload: JsonValue): Buffer {
  return Buffer.from(JSON.stringify(payload), 'utf8');
}

/** A received message that decoded, or one that cannot be a delivery (its body is not JSON). */
export type Decoded =
  | { readonly ok: true; readonly delivery: Delivery }
  | {
      readonly ok: false;
      readonly error: Error;
      readonly id: string;
      readonly headers: Record<string, string>;
      readonly publishedAt: number;
      readonly attempt: number;
    };

/**
 * Turns an AMQP delivery into a bus delivery. `attempt` is the attempt the message was
 * republished for (1 when first published) plus the broker's count of failed deliveries of this
 * copy: `x-delivery-count` on quorum queues, the `redelivered` flag (at most 1) on classic ones.
 * Messages from other publishers are accepted: without a `messageId` each delivery gets a new
 * random id (so an inbox cannot drop duplicates of it), without a publish time the AMQP
 * timestamp (whole seconds) or the time of receipt is used.
 */
export function decodeMessage(msg: ConsumeMessage, topic: string, group: string): Decoded {
  const raw = msg.properties.headers ?? {};
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (!reserved.has(name) && value !== undefined && value !== null) headers[name] = headerText(value);
  }
  const id =
    typeof msg.properties.messageId === 'string' && msg.properties.messageId !== ''
      ? msg.properties.messageId
      : randomUUID();
  let publishedAt = Number(headerText(raw[BusHeader.PublishedAt] ?? ''));
  if (!Number.isFinite(publishedAt) || publishedAt <= 0) {
    const ts = Number(msg.properties.timestamp);
    publishedAt = Number.isFinite(ts) && ts > 0 ? ts * 1000 : Date.now();
  }
  const republishedFor = Math.max(1, Math.floor(Number(headerText(raw[BusHeader.Attempt] ?? '1'))) || 1);
  const count = Number(raw['x-delivery-count']);
  const failedBefore = Number.isFinite(count) && count > 0 ? count : msg.fields.redelivered ? 1 : 0;
  const attempt = republishedFor + failedBefore;
  let payload: JsonValue;
  try {
    payload = JSON.parse(decoder.decode(msg.content)) as JsonValue;
  } catch (err) {
    const error = new Error(`message ${JSON.stringify(id)}: the body is not UTF-8 JSON (${(err as Error).message})`);
    return { ok: false, error, id, headers, publishedAt, attempt };
  }
  const delivery: Delivery = Object.freeze({
    id,
    topic,
    payload,
    headers: Object.freeze(headers),
    publishedAt,
    attempt,
    group,
  });
  return { ok: true, delivery };
}

function headerText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
