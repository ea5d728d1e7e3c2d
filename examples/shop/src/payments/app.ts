import { randomUUID } from 'node:crypto';
import type { DatabaseSync } from 'node:sqlite';
import { type Clock, invalidConfig, systemClock } from '@switchyard/core';
import { shopError } from '../errors.ts';
import { errorBody } from '../http/error-response.ts';
import { type IdempotencyOptions, idempotentMutations } from '../http/idempotency.ts';
import { createRouter, type RouteHandler } from '../http/router.ts';
import type { App, AppRequest } from '../http/types.ts';
import { invalidRequest, parseRequest, zAmount, zRecord, zText } from '../http/validation.ts';
import { createNotificationsTable } from './notifications.ts';

/** The life of a payment: captured (and maybe refunded later) or declined. */
export const PaymentStatus = { Captured: 'captured', Declined: 'declined', Refunded: 'refunded' } as const;
/** One of {@link PaymentStatus}. */
export type PaymentStatus = (typeof PaymentStatus)[keyof typeof PaymentStatus];

/** A payment as the payments service returns it. */
export interface Payment {
  readonly id: string;
  readonly orderId: string;
  readonly customer: string;
  readonly amount: number;
  readonly status: PaymentStatus;
  /** Why a declined payment was declined. */
  readonly reason?: string;
}

/** Options for {@link createPaymentsApp}. */
export interface PaymentsAppOptions {
  /** The largest amount captured; above it a payment is declined. Must be > 0. */
  limit: number;
  /** Time source for idempotency-key expiry. @default systemClock */
  clock?: Clock;
  /** How long idempotency keys are remembered, in milliseconds. @default 86_400_000 */
  idempotencyTtlMs?: number;
  /** Receives unexpected errors (answered with a 500). @default console.error */
  onError?: (err: unknown) => void;
}

const paymentSchema = zRecord({
  orderId: zText(1, 200),
  customer: zText(1, 200),
  amount: zAmount(0, { exclusive: true }),
});

// A refund takes no parameters; an empty object is accepted for clients that always send one.
const refundSchema = zRecord({}).optional();

const orderRefundSchema = zRecord({ orderId: zText(1, 200) });

/**
 * The payments service: captures payments up to a limit and refunds them.
 *
 * - `POST /payments` `{ orderId, customer, amount }` → 201 payment with status `captured`;
 *   above `limit`, 402 `SY_SHOP_PAYMENT_DECLINED` (the declined payment is recorded).
 * - `GET /payments/:id` → 200 payment, or 404 `SY_SHOP_PAYMENT_NOT_FOUND`.
 * - `GET /payments?orderId=` → 200 `{ payments }` for that order, oldest first, declined included.
 * - `POST /payments/:id/refund` → 200 payment with status `refunded`; a second refund is a
 *   409 `SY_SHOP_ALREADY_REFUNDED` (unless it replays the first through `Idempotency-Key`).
 * - `POST /payments/refunds` `{ orderId }` → 200 `{ orderId, refunded }`: the order saga's
 *   compensation. Refunds every captured payment of the order and closes it, so a payment
 *   for it still in flight is refused (409 `SY_SHOP_ORDER_CLOSED`); refunding nothing succeeds.
 * - `GET /payments/notifications?orderId=` → 200 `{ notifications }` recorded by the
 *   `order.approved` consumer ({@link subscribeReceipts}), oldest first (without `orderId`:
 *   the newest 100).
 *
 * Each endpoint is also served without the `/payments` prefix (`POST /`, `POST /:id/refund`),
 * which is how requests arrive through a gateway route that strips `/api/payments`.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` when `limit` is not a number > 0
 * @example
 * ```ts
 * const app = createPaymentsApp(new DatabaseSync(':memory:'), { limit: 1000 });
 * app.handle(appRequest('POST', '/payments', { body: { orderId: 'ord_1', customer: 'ada', amount: 1200 } }));
 * // { status: 402, body: { error: { code: 'SY_SHOP_PAYMENT_DECLINED', message: 'amount 1200 exceeds the limit of 1000', field: 'amount' } } }
 * ```
 */
export function createPaymentsApp(db: DatabaseSync, options: PaymentsAppOptions): App {
  const { limit } = options;
  if (typeof limit !== 'number' || !Number.isFinite(limit) || limit <= 0) {
    throw invalidConfig([{ path: 'payments.limit', message: `expected a number > 0, got ${String(limit)}` }]);
  }
  db.exec(`
    CREATE TABLE IF NOT EXISTS payments (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      id TEXT NOT NULL UNIQUE,
      order_id TEXT NOT NULL,
      customer TEXT NOT NULL,
      amount REAL NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('captured', 'declined', 'refunded')),
      reason TEXT
    ) STRICT;
    CREATE INDEX IF NOT EXISTS payments_order ON payments (order_id, seq);
    CREATE TABLE IF NOT EXISTS closed_orders (
      order_id TEXT PRIMARY KEY,
      closed_at INTEGER NOT NULL
    ) STRICT;
  `);
  const insert = db.prepare(
    'INSERT INTO payments (id, order_id, customer, amount, status, reason) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const byId = db.prepare('SELECT id, order_id, customer, amount, status, reason FROM payments WHERE id = ?');
  const byOrder = db.prepare(
    'SELECT id, order_id, customer, amount, status, reason FROM payments WHERE order_id = ? ORDER BY seq',
  );
  const refund = db.prepare("UPDATE payments SET status = 'refunded' WHERE id = ? AND status = 'captured'");
  const closeOrder = db.prepare('INSERT INTO closed_orders (order_id, closed_at) VALUES (?, ?) ON CONFLICT DO NOTHING');
  const orderClosed = db.prepare('SELECT 1 AS closed FROM closed_orders WHERE order_id = ?');
  const notifications = createNotificationsTable(db);

  const idempotency: IdempotencyOptions = {};
  if (options.clock !== undefined) idempotency.clock = options.clock;
  if (options.idempotencyTtlMs !== undefined) idempotency.ttlMs = options.idempotencyTtlMs;
  const mutation = idempotentMutations(db, idempotency);

  const findPayment = (id: string): Payment => {
    const row = byId.get(id);
    if (row === undefined) throw shopError('SY_SHOP_PAYMENT_NOT_FOUND', `no payment with id ${JSON.stringify(id)}`);
    return toPayment(row);
  };

  const createPayment = mutation((req) => {
    const input = parseRequest(paymentSchema, req.body);
    if (orderClosed.get(input.orderId) !== undefined) {
      throw shopError(
        'SY_SHOP_ORDER_CLOSED',
        `orderId: order ${JSON.stringify(input.orderId)} was refunded; nothing more is charged for it`,
        { details: { field: 'orderId' } },
      );
    }
    const id = `pay_${randomUUID()}`;
    if (input.amount > limit) {
      // Returned, not thrown: the declined payment is recorded, and with an
      // Idempotency-Key this 402 is remembered with it.
      const reason = `amount ${input.amount} exceeds the limit of ${limit}`;
      insert.run(id, input.orderId, input.customer, input.amount, PaymentStatus.Declined, reason);
      return { status: 402, body: errorBody('SY_SHOP_PAYMENT_DECLINED', reason, 'amount') };
    }
    insert.run(id, input.orderId, input.customer, input.amount, PaymentStatus.Captured, null);
    const payment: Payment = { id, ...input, status: PaymentStatus.Captured };
    return { status: 201, body: payment };
  });
  const listPayments: RouteHandler = (req) => ({
    status: 200,
    body: { payments: byOrder.all(requiredQuery(req, 'orderId')).map(toPayment) },
  });
  const getPayment: RouteHandler = (_req, { id }) => ({ status: 200, body: findPayment(id as string) });
  const refundPayment = mutation((req, { id }) => {
    parseRequest(refundSchema, req.body);
    const payment = findPayment(id as string);
    if (refund.run(payment.id).changes === 1) {
      return { status: 200, body: { ...payment, status: PaymentStatus.Refunded } };
    }
    if (payment.status === PaymentStatus.Refunded) {
      throw shopError('SY_SHOP_ALREADY_REFUNDED', `payment ${JSON.stringify(payment.id)} is already refunded`);
    }
    throw shopError(
      'SY_SHOP_NOT_REFUNDABLE',
      `payment ${JSON.stringify(payment.id)} is ${payment.status}; only a captured payment can be refunded`,
    );
  });

  // Refunds every captured payment of the order, then closes it: a payment request for the
  // order still in flight (a saga attempt that timed out) is refused when it lands.
  const refundOrder = mutation((req) => {
    const { orderId } = parseRequest(orderRefundSchema, req.body);
    const refunded = byOrder
      .all(orderId)
      .map(toPayment)
      .filter((payment) => payment.status === PaymentStatus.Captured && refund.run(payment.id).changes === 1)
      .map((payment) => payment.id);
    closeOrder.run(orderId, (options.clock ?? systemClock).now());
    return { status: 200, body: { orderId, refunded } };
  });
  const listNotifications: RouteHandler = (req) => ({
    status: 200,
    body: { notifications: notifications.list(req.query.get('orderId') ?? undefined) },
  });

  const router = createRouter(options.onError ? { onError: options.onError } : {});
  // The gateway route `/api/payments` strips its prefix, so `POST /api/payments` arrives as
  // `POST /`: the same endpoints are served at the root as well as under /payments.
  for (const base of ['/payments', '']) {
    router
      .route('POST', base || '/', createPayment)
      .route('GET', base || '/', listPayments)
      .route('POST', `${base}/refunds`, refundOrder)
      .route('GET', `${base}/notifications`, listNotifications)
      .route('GET', `${base}/:id`, getPayment)
      .route('POST', `${base}/:id/refund`, refundPayment);
  }
  return router;
}

function requiredQuery(req: AppRequest, name: string): string {
  const value = req.query.get(name);
  if (value === null || value === '') throw invalidRequest(`query.${name}: required`, `query.${name}`);
  return value;
}

function toPayment(row: Record<string, unknown>): Payment {
  const payment = {
    id: row.id as string,
    orderId: row.order_id as string,
    customer: row.customer as string,
    amount: row.amount as number,
    status: row.status as PaymentStatus,
  };
  return typeof row.reason === 'string' ? { ...payment, reason: row.reason } : payment;
}
