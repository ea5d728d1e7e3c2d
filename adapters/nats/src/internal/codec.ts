/**
 * How a bus message travels on NATS: the JSON payload as the body, the message's headers as
 * NATS headers, plus the bus's own headers (id and publish time) that a delivery strips again.
 */

import type { JsMsg } from '@nats-io/jetstream';
import { type MsgHdrs, headers as natsHeaders } from '@nats-io/transport-node';
import type { JsonValue } from '@switchyard/core';
import type { BusMessage, Delivery } from '@switchyard/saga';

/** Headers the bus writes itself; never part of a delivery's `headers`. */
export const BusHeader = {
  /** The bus message id (`Nats-Msg-Id` is the dedupe key, which differs for dead letters). */
  Id: 'sy-message-id',
  /** `publishedAt`, epoch milliseconds as a decimal string. */
  PublishedAt: 'sy-published-at',
  /** JetStream's dedupe key. */
  NatsMsgId: 'Nats-Msg-Id',
} as const;

const reserved = new Set<string>(Object.values(BusHeader).map((h) => h.toLowerCase()));

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** The body of a message: its payload as UTF-8 JSON. */
export function encodePayload(payload: JsonValue): Uint8Array {
  return encoder.encode(JSON.stringify(payload));
}

/** NATS headers for `message` (the publish sets `Nats-Msg-Id` from its `msgID` option). */
export function encodeHeaders(message: BusMessage): MsgHdrs {
  const h = natsHeaders();
  for (const [name, value] of Object.entries(message.headers)) {
    if (!reserved.has(name.toLowerCase())) h.set(name, value);
  }
  h.set(BusHeader.Id, message.id);
  h.set(BusHeader.PublishedAt, String(message.publishedAt));
  return h;
}

/** A received message that decoded, or one that cannot be a delivery (its body is not JSON). */
export type Decoded =
  | { readonly ok: true; readonly delivery: Delivery }
  | { readonly ok: false; readonly error: Error; readonly id: string; readonly headers: Record<string, string> };

/**
 * Turns a JetStream message into a delivery. Messages from other publishers are accepted: a
 * missing id falls back to `Nats-Msg-Id`, then `<stream>:<sequence>`; a missing publish time
 * to the time the stream stored the message.
 */
export function decodeMessage(msg: JsMsg, topic: string, group: string): Decoded {
  const headers: Record<string, string> = {};
  let id: string | undefined;
  let natsMsgId: string | undefined;
  let publishedAt: number | undefined;
  for (const [name, values] of msg.headers ?? []) {
    const value = values[values.length - 1] ?? '';
    const lower = name.toLowerCase();
    if (lower === BusHeader.Id) id = value;
    else if (lower === BusHeader.PublishedAt) publishedAt = Number(value);
    else if (lower === BusHeader.NatsMsgId.toLowerCase()) natsMsgId = value;
    else headers[name] = value;
  }
  const messageId = id ?? natsMsgId ?? `${msg.info.stream}:${msg.seq}`;
  if (publishedAt === undefined || !Number.isFinite(publishedAt)) {
    publishedAt = Math.floor(msg.info.timestampNanos / 1_000_000);
  }
  let payload: JsonValue;
  try {
    payload = JSON.parse(decoder.decode(msg.data)) as JsonValue;
  } catch (err) {
    const error = new Error(
      `message ${JSON.stringify(messageId)}: the body is not UTF-8 JSON (${(err as Error).message})`,
    );
    return { ok: false, error, id: messageId, headers };
  }
  const delivery: Delivery = Object.freeze({
    id: messageId,
    topic,
    payload,
    headers: Object.freeze(headers),
    publishedAt,
    attempt: msg.info.deliveryCount,
    group,
  });
  return { ok: true, delivery };
}
