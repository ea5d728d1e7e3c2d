import type { Delivery } from './bus.ts';

/** The header that carries a saga's id from message to message. */
export const SAGA_ID_HEADER = 'sy-saga-id';

/** Headers copied from a message to the messages published because of it: W3C trace context and baggage. */
export const PROPAGATED_HEADERS: readonly string[] = ['traceparent', 'tracestate', 'baggage'];

/**
 * Returns a copy of `headers` with `sy-saga-id` set to `sagaId`, for messages that belong to
 * a choreographed saga.
 *
 * @example
 * ```ts
 * await bus.publish('order.created', order, { headers: withSagaHeaders({ traceparent }, order.id) });
 * ```
 */
export function withSagaHeaders(
  headers: Readonly<Record<string, string>> | undefined,
  sagaId: string,
): Record<string, string> {
  return { ...headers, [SAGA_ID_HEADER]: sagaId };
}

/**
 * The saga id a message carries in its `sy-saga-id` header, or `undefined`.
 *
 * @example
 * ```ts
 * const sagaId = sagaIdOf(delivery);
 * ```
 */
export function sagaIdOf(message: Pick<Delivery, 'headers'>): string | undefined {
  const id = message.headers?.[SAGA_ID_HEADER];
  return typeof id === 'string' && id.length > 0 ? id : undefined;
}

/**
 * The headers to publish with the messages that handling `message` causes: its trace context
 * (`traceparent`, `tracestate`, `baggage`) and its saga id, so the trace and the saga carry on.
 *
 * @example
 * ```ts
 * outbox.add({ topic: 'inventory.reserved', payload, headers: propagationHeaders(delivery) });
 * ```
 */
export function propagationHeaders(message: Pick<Delivery, 'headers'>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of [...PROPAGATED_HEADERS, SAGA_ID_HEADER]) {
    const value = message.headers?.[name];
    if (typeof value === 'string') headers[name] = value;
  }
  return headers;
}
