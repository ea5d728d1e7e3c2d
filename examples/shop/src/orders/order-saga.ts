import type { SwitchyardErrorJSON } from '@switchyard/core';
import {
  defineSaga,
  type SqliteOutbox,
  type StepRetryOptions,
  withSagaHeaders,
  withTraceHeaders,
} from '@switchyard/saga';
import { type OrderApprovedEvent, orderApprovedTopic } from '../events.ts';
import type { CallLog } from './call-log.ts';
import type { OrdersTable } from './orders-table.ts';
import { callService, isRetryableStepError, type ServiceClient } from './service-call.ts';

/** The backoff between attempts of a step: `@switchyard/resilience`'s backoff options. */
export type StepBackoff = NonNullable<StepRetryOptions['backoff']>;

/** The saga's name in the store. */
export const orderSagaName = 'shop.order';

/**
 * The input of one order saga (JSON, kept in the saga store). The saga id is the order id.
 * `type`, not `interface`, so it is a `JsonValue`.
 */
export type OrderSagaInput = {
  orderId: string;
  customer: string;
  items: { sku: string; quantity: number; price: number }[];
  total: number;
  /** ISO 8601 timestamp of the request. */
  createdAt: string;
  /** SHA-256 of the request body, to tell a replay from a reuse of its `Idempotency-Key`. */
  requestHash: string;
};

/** What the order saga's steps need. */
export interface OrderSagaDeps {
  readonly orders: OrdersTable;
  /** The orders database's outbox: `order.approved` is added in the approval's transaction. */
  readonly outbox: Pick<SqliteOutbox, 'add'>;
  /** Calls inventory and payments (the resilient client with discovery). */
  readonly client: ServiceClient;
  readonly callLog: CallLog;
  /** The error that turned a saga back, for the rejected order's `reason`. */
  readonly sagaError: (sagaId: string) => Promise<SwitchyardErrorJSON | undefined>;
  /** Called after `order.approved` was committed to the outbox (wakes the relay). */
  readonly onApproved?: () => void;
  /** Each attempt of a remote call (and of its compensation) may take this long. @default "5s" */
  readonly stepTimeout?: string | number;
  /** Attempts of a remote step in all. @default 8 */
  readonly stepAttempts?: number;
  /**
   * Delay between attempts of a remote step. The default rides out a registry that briefly
   * lists no healthy instance, or a breaker open for 5 s: 8 attempts wait about 8 s (at most ~16 s).
   * @default { initial: "250ms", max: "4s", factor: 2, jitter: "full" }
   */
  readonly stepBackoff?: StepBackoff;
}

/**
 * The order saga, orchestrated by the orders service:
 *
 * 1. `createOrder`: the order row, `pending`. Compensation: the order becomes `rejected`, with
 *    the error that turned the saga back as its `reason`.
 * 2. `reserve`: `POST inventory /reservations`. Compensation: `POST /reservations/release`
 *    `{ orderId }` (releasing nothing succeeds; the order is closed at inventory so a late
 *    reservation is refused).
 * 3. `charge`: `POST payments /payments` (a decline is a 402: not retried, the saga turns
 *    back). Compensation: `POST /payments/refunds` `{ orderId }` (refunding nothing succeeds).
 * 4. `approve`: the order becomes `approved` and `order.approved` goes into the outbox, in
 *    one transaction; a relay publishes it to the bus.
 *
 * Every call carries the step's `ctx.idempotencyKey`, so a step repeated after a crash or a
 * timeout has one effect. A compensation whose step certainly sent nothing (every attempt
 * failed before leaving: the service was down) skips its call, so a dead service does not
 * keep the saga from compensating.
 *
 * @example
 * ```ts
 * const saga = defineOrderSaga({ orders, outbox, client, callLog, sagaError });
 * const engine = createSagaEngine({ store, sagas: [saga] });
 * ```
 */
export function defineOrderSaga(deps: OrderSagaDeps) {
  const { orders, outbox, client, callLog } = deps;
  const remote = {
    timeout: deps.stepTimeout ?? '5s',
    retry: {
      maxAttempts: deps.stepAttempts ?? 8,
      backoff: deps.stepBackoff ?? { initial: '250ms', max: '4s', factor: 2, jitter: 'full' },
      retryOn: isRetryableStepError,
    },
  };
  const orderOf = (input: OrderSagaInput) => ({
    id: input.orderId,
    customer: input.customer,
    items: input.items,
    total: input.total,
    createdAt: input.createdAt,
  });

  return defineSaga<OrderSagaInput>(orderSagaName)
    .step('createOrder', {
      execute: (ctx) => {
        orders.insertPending(orderOf(ctx.input));
        return { orderId: ctx.input.orderId };
      },
      compensate: async (ctx) => {
        orders.reject(orderOf(ctx.input), await deps.sagaError(ctx.sagaId));
      },
    })
    .step('reserve', {
      ...remote,
      execute: async (ctx) => {
        const reservation = await callService<{ id: string }>(client, {
          service: 'inventory',
          method: 'POST',
          path: '/reservations',
          body: { orderId: ctx.input.orderId, items: ctx.input.items.map(({ sku, quantity }) => ({ sku, quantity })) },
          idempotencyKey: ctx.idempotencyKey,
          signal: ctx.signal,
          headers: ctx.meta,
          log: [callLog, ctx.sagaId, ctx.step],
        });
        return { reservationId: reservation.id };
      },
      compensate: async (ctx) => {
        if (!callLog.maybeSent(ctx.sagaId, ctx.step)) return;
        await callService(client, {
          service: 'inventory',
          method: 'POST',
          path: '/reservations/release',
          body: { orderId: ctx.input.orderId },
          idempotencyKey: ctx.idempotencyKey,
          signal: ctx.signal,
          headers: ctx.meta,
        });
      },
    })
    .step('charge', {
      ...remote,
      execute: async (ctx) => {
        const payment = await callService<{ id: string }>(client, {
          service: 'payments',
          method: 'POST',
          path: '/payments',
          body: { orderId: ctx.input.orderId, customer: ctx.input.customer, amount: ctx.input.total },
          idempotencyKey: ctx.idempotencyKey,
          signal: ctx.signal,
          headers: ctx.meta,
          log: [callLog, ctx.sagaId, ctx.step],
        });
        return { paymentId: payment.id };
      },
      compensate: async (ctx) => {
        if (!callLog.maybeSent(ctx.sagaId, ctx.step)) return;
        await callService(client, {
          service: 'payments',
          method: 'POST',
          path: '/payments/refunds',
          body: { orderId: ctx.input.orderId },
          idempotencyKey: ctx.idempotencyKey,
          signal: ctx.signal,
          headers: ctx.meta,
        });
      },
    })
    .step('approve', {
      execute: (ctx) => {
        const event: OrderApprovedEvent = {
          orderId: ctx.input.orderId,
          customer: ctx.input.customer,
          total: ctx.input.total,
          items: ctx.input.items.map((item) => ({ ...item })),
          reservationId: ctx.results.reserve.reservationId,
          paymentId: ctx.results.charge.paymentId,
        };
        const approved = orders.approve(ctx.input.orderId, () => {
          // The event's id is derived from the order, so a repeated approval adds nothing.
          outbox.add({
            id: `${orderApprovedTopic}:${ctx.input.orderId}`,
            topic: orderApprovedTopic,
            payload: event,
            // The approve step's span (when traced) replaces the saga's traceparent: the
            // choreography that follows hangs under the step that approved the order.
            headers: withSagaHeaders(withTraceHeaders(ctx.meta), ctx.sagaId),
          });
        });
        if (approved) deps.onApproved?.();
        return { approved: true };
      },
    })
    .build();
}

/** The order saga's definition, with its steps' output types. */
export type OrderSagaDefinition = ReturnType<typeof defineOrderSaga>;
