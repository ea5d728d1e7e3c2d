import type { HttpClient } from '@switchyard/client';
import type { SwitchyardErrorJSON } from '@switchyard/core';
import { isSwitchyardError } from '@switchyard/core';
import { withTraceHeaders } from '@switchyard/saga';
import { isShopError, type ShopErrorCode, shopError, shopErrorCodes } from '../errors.ts';
import type { CallLog } from './call-log.ts';

/** What a step needs to call another service: the resilient client (or anything with its `request`). */
export type ServiceClient = Pick<HttpClient, 'request'>;

/** One call a saga step makes. */
export interface ServiceCall {
  readonly service: string;
  readonly method: 'POST';
  readonly path: string;
  readonly body: unknown;
  /** The step's `ctx.idempotencyKey`, sent as `Idempotency-Key`. */
  readonly idempotencyKey: string;
  /** The step's `ctx.signal` (its timeout, the engine stopping, a takeover). */
  readonly signal: AbortSignal;
  /**
   * Propagation headers of the saga (`traceparent`, ...). When a span is active (the saga
   * step's, with telemetry set up), its context is sent instead of the saga's `traceparent`, so
   * the callee's server span is a child of the step (and of the client's attempt span, which
   * the instrumented client injects over it).
   */
  readonly headers?: Readonly<Record<string, string>>;
  /** Where the attempt is logged before it is sent: `[log, sagaId, step]`. */
  readonly log?: readonly [CallLog, string, string];
}

/** Client failures that certainly sent nothing (see the client's error table). */
const nothingSent: ReadonlySet<string> = new Set([
  'SY_CLIENT_NO_INSTANCE',
  'SY_CLIENT_DISCOVERY_FAILED',
  'SY_CLIENT_CONNECT_FAILED',
  'SY_CLIENT_CLOSED',
  'SY_RESILIENCE_CIRCUIT_OPEN',
  'SY_RESILIENCE_DEADLINE_EXCEEDED',
]);

/**
 * Sends one saga call and resolves with the JSON body of a 2xx answer. One attempt: the saga
 * step's retry policy repeats it (with the same idempotency key), so each attempt is logged.
 *
 * - A 4xx with a shop error body becomes that shop error, not retryable (the service said no:
 *   `SY_SHOP_PAYMENT_DECLINED`, `SY_SHOP_INSUFFICIENT_STOCK`, ...): the saga compensates.
 * - A 5xx, or an answer that is not a shop error, is `SY_SHOP_UPSTREAM_FAILED`, retryable.
 * - A client failure (no instance, refused, timeout) is rethrown as is; those are retryable.
 *
 * @example
 * ```ts
 * const payment = await callService(client, { service: 'payments', method: 'POST', path: '/payments',
 *   body: { orderId, customer, amount }, idempotencyKey: ctx.idempotencyKey, signal: ctx.signal });
 * ```
 */
export async function callService<T>(client: ServiceClient, call: ServiceCall): Promise<T> {
  const mark = call.log === undefined ? undefined : call.log[0].sending(call.log[1], call.log[2]);
  let response: Awaited<ReturnType<ServiceClient['request']>>;
  try {
    response = await client.request(call.service, {
      method: call.method,
      path: call.path,
      headers: { 'content-type': 'application/json', ...withTraceHeaders(call.headers) },
      body: JSON.stringify(call.body),
      idempotencyKey: call.idempotencyKey,
      signal: call.signal,
      retry: false,
    });
  } catch (err) {
    if (mark !== undefined && isSwitchyardError(err) && nothingSent.has(err.code)) call.log?.[0].notSent(mark);
    throw err;
  }
  const text = await response.body.text();
  const body = parseJson(text);
  if (response.statusCode >= 200 && response.statusCode < 300) return body as T;
  throw refusal(call, response.statusCode, body, text);
}

function refusal(call: ServiceCall, status: number, body: unknown, text: string): Error {
  const error = (body as { error?: SwitchyardErrorJSON & { field?: string } } | undefined)?.error;
  const where = `${call.service} ${call.method} ${call.path}`;
  if (status < 500 && error !== undefined && Object.hasOwn(shopErrorCodes, error.code)) {
    return shopError(error.code as ShopErrorCode, error.message, {
      details: { service: call.service, status, ...(error.field === undefined ? {} : { field: error.field }) },
    });
  }
  return shopError('SY_SHOP_UPSTREAM_FAILED', `${where} answered ${status}: ${text.slice(0, 300)}`, {
    details: { service: call.service, status },
  });
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** True for the errors a saga step should try again: client failures, timeouts, 5xx answers. */
export function isRetryableStepError(error: unknown): boolean {
  if (isShopError(error)) return shopErrorCodes[error.code].retryable;
  return isSwitchyardError(error) ? error.retryable : true;
}
