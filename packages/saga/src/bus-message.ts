import type { JsonValue } from '@switchyard/core';
import { throwIfAborted } from '@switchyard/core';
import type { BusMessage, PublishOptions } from './bus.ts';
import { sagaError } from './errors.ts';
import { newMessageId } from './message-id.ts';
import { assertTopicName } from './topic.ts';

/** The longest message id accepted, so any broker can carry it as a header or key. */
export const MAX_MESSAGE_ID_LENGTH = 200;

/**
 * Validates what {@link EventBus.publish} was given and builds the message every bus stores:
 * the topic checked with `assertTopicName`, the payload a JSON value (checked deeply, so what
 * a subscriber gets equals what was published), headers string to string, the id given or a
 * new UUID, `publishedAt` from `now`. Throws `SY_CANCELLED` when `options.signal` is aborted.
 *
 * @throws SwitchyardError `SY_BUS_INVALID_TOPIC` for a bad topic, `SY_BUS_INVALID_MESSAGE` for a
 *   payload that is not JSON, a header that is not a string or an empty id
 * @example
 * ```ts
 * const message = createBusMessage('order.approved', { orderId: 'o-1' }, { headers: { 'sy-saga-id': 's-1' } }, Date.now());
 * message.id; // a random UUID
 * ```
 */
export function createBusMessage<T extends JsonValue>(
  topic: string,
  payload: T,
  options: PublishOptions | undefined,
  now: number,
): BusMessage<T> {
  throwIfAborted(options?.signal, `publish to ${JSON.stringify(topic)}`);
  assertTopicName(topic);
  assertJsonValue(payload, 'payload', topic, new Set());
  const id = options?.id ?? newMessageId();
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_MESSAGE_ID_LENGTH) {
    throw invalid(topic, `id: expected a non-empty string of at most ${MAX_MESSAGE_ID_LENGTH} characters`);
  }
  const headers = copyHeaders(options?.headers, topic);
  return Object.freeze({ id, topic, payload, headers, publishedAt: now });
}

function copyHeaders(headers: PublishOptions['headers'], topic: string): Readonly<Record<string, string>> {
  const copy: Record<string, string> = {};
  if (headers === undefined) return Object.freeze(copy);
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
    throw invalid(topic, 'headers: expected an object of string values');
  }
  for (const [name, value] of Object.entries(headers)) {
    if (name.length === 0) throw invalid(topic, 'headers: a header name is empty');
    if (typeof value !== 'string') {
      throw invalid(topic, `headers.${name}: expected a string, got ${describe(value)}`);
    }
    copy[name] = value;
  }
  return Object.freeze(copy);
}

/** Throws unless `value` is JSON that survives `JSON.stringify` and `JSON.parse` unchanged. */
function assertJsonValue(value: unknown, path: string, topic: string, ancestors: Set<object>): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return;
    throw invalid(topic, `${path}: expected a JSON value, got ${value}`);
  }
  if (typeof value !== 'object') throw invalid(topic, `${path}: expected a JSON value, got ${describe(value)}`);
  if (ancestors.has(value)) throw invalid(topic, `${path}: expected a JSON value, got a circular reference`);
  const proto = Object.getPrototypeOf(value);
  const isArray = Array.isArray(value);
  if (!isArray && proto !== Object.prototype && proto !== null) {
    throw invalid(topic, `${path}: expected a JSON value, got ${describe(value)}`);
  }
  ancestors.add(value);
  if (isArray) {
    for (let i = 0; i < value.length; i++) assertJsonValue(value[i], `${path}[${i}]`, topic, ancestors);
  } else {
    for (const [key, child] of Object.entries(value)) assertJsonValue(child, `${path}.${key}`, topic, ancestors);
  }
  ancestors.delete(value);
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'bigint') return 'a BigInt';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  if (typeof value === 'object' && value !== null) {
    const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof name === 'string' && name.length > 0 ? `a ${name}` : 'an object';
  }
  return JSON.stringify(value);
}

function invalid(topic: string, problem: string): Error {
  return sagaError('SY_BUS_INVALID_MESSAGE', `publish to ${JSON.stringify(topic)}: ${problem}; nothing was published`, {
    details: { topic, problem },
  });
}
