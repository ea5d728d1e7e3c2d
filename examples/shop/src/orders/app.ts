import { randomUUID } from 'node:crypto';
import type { DatabaseSync } from 'node:sqlite';
import { type Clock, systemClock } from '@switchyard/core';
import { shopError } from '../errors.ts';
import { type IdempotencyOptions, idempotentMutations } from '../http/idempotency.ts';
import { createRouter, type RouteHandler } from '../http/router.ts';
import type { App, AppRequest } from '../http/types.ts';
import { invalidRequest, parseRequest, zAmount, zInteger, zList, zRecord, zText } from '../http/validation.ts';

/** One line of an order. */
export interface OrderItem {
  readonly sku: string;
  readonly quantity: number;
  /** Unit price. */
  readonly price: number;
}

/** An order as the orders service returns it. */
export interface Order {
  readonly id: string;
  readonly customer: string;
  readonly items: readonly OrderItem[];
  readonly total: number;
  readonly status: 'created';
  /** ISO 8601 timestamp. */
  readonly createdAt: string;
}

/** Options for {@link createOrdersApp}. */
export interface OrdersAppOptions {
  /** Time source for `createdAt` and idempotency-key expiry. @default systemClock */
  clock?: Clock;
  /** How long idempotency keys are remembered, in milliseconds. @default 86_400_000 */
  idempotencyTtlMs?: number;
  /** Receives unexpected errors (answered with a 500). @default console.error */
  onError?: (err: unknown) => void;
}

const orderSchema = zRecord({
  customer: zText(1, 200),
  items: zList(zRecord({ sku: zText(1, 100), quantity: zInteger(1), price: zAmount(0) }), 1, 100),
  total: zAmount(0),
});

/**
 * The orders service: creates and lists orders, stored in the given database.
 *
 * - `POST /orders` `{ customer, items: [{ sku, quantity, price }], total }` → 201 order
 *   (`total` must equal the sum of quantity × price to the cent); honours `Idempotency-Key`.
 * - `GET /orders/:id` → 200 order, or 404 `SY_SHOP_ORDER_NOT_FOUND`.
 * - `GET /orders?limit=50&customer=ada` → 200 `{ orders }`, newest first.
 *
 * Each endpoint is also served without the `/orders` prefix (`POST /`, `GET /:id`), which is
 * how requests arrive through a gateway route that strips `/api/orders`.
 *
 * @example
 * ```ts
 * const app = createOrdersApp(new DatabaseSync(':memory:'));
 * app.handle(appRequest('POST', '/orders', {
 *   body: { customer: 'ada', items: [{ sku: 'SKU-MOUSE', quantity: 2, price: 24.5 }], total: 49 },
 * })); // { status: 201, body: { id: 'ord_…', status: 'created', … } }
 * ```
 */
export function createOrdersApp(db: DatabaseSync, options: OrdersAppOptions = {}): App {
  const clock = options.clock ?? systemClock;
  db.exec(`
    CREATE TABLE IF NOT EXISTS orders (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      id TEXT NOT NULL UNIQUE,
      customer TEXT NOT NULL,
      items TEXT NOT NULL,
      total REAL NOT NULL,
      status TEXT NOT NULL,
      created_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX IF NOT EXISTS orders_customer ON orders (customer, seq);
  `);
  const insert = db.prepare(
    'INSERT INTO orders (id, customer, items, total, status, created_at) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const byId = db.prepare('SELECT * FROM orders WHERE id = ?');
  const newest = db.prepare('SELECT * FROM orders ORDER BY seq DESC LIMIT ?');
  const newestOf = db.prepare('SELECT * FROM orders WHERE customer = ? ORDER BY seq DESC LIMIT ?');

  const idempotency: IdempotencyOptions = { clock };
  if (options.idempotencyTtlMs !== undefined) idempotency.ttlMs = options.idempotencyTtlMs;
  const mutation = idempotentMutations(db, idempotency);

  const createOrder = mutation((req) => {
    const input = parseRequest(orderSchema, req.body);
    checkTotal(input.items, input.total);
    const order: Order = {
      id: `ord_${randomUUID()}`,
      customer: input.customer,
      items: input.items,
      total: input.total,
      status: 'created',
      createdAt: new Date(clock.now()).toISOString(),
    };
    insert.run(order.id, order.customer, JSON.stringify(order.items), order.total, order.status, order.createdAt);
    return { status: 201, body: order };
  });
  const getOrder: RouteHandler = (_req, { id }) => {
    const row = byId.get(id as string);
    if (row === undefined) throw shopError('SY_SHOP_ORDER_NOT_FOUND', `no order with id ${JSON.stringify(id)}`);
    return { status: 200, body: toOrder(row) };
  };
  const listOrders: RouteHandler = (req) => {
    const limit = readLimit(req);
    const customer = req.query.get('customer');
    const rows = customer === null ? newest.all(limit) : newestOf.all(customer, limit);
    return { status: 200, body: { orders: rows.map(toOrder) } };
  };

  const router = createRouter(options.onError ? { onError: options.onError } : {});
  // The gateway route `/api/orders` strips its prefix, so `POST /api/orders` arrives as
  // `POST /`: the same endpoints are served at the root as well as under /orders.
  for (const base of ['/orders', '']) {
    router
      .route('POST', base || '/', createOrder)
      .route('GET', base || '/', listOrders)
      .route('GET', `${base}/:id`, getOrder);
  }
  return router;
}

/** Compares in whole cents so that 3 × 19.99 (59.970000000000006 in floating point) equals 59.97. */
function checkTotal(items: readonly OrderItem[], total: number): void {
  const sum = items.reduce((acc, item) => acc + item.quantity * item.price, 0);
  const expectedCents = Math.round(sum * 100);
  if (expectedCents !== Math.round(total * 100)) {
    throw invalidRequest(
      `total: expected ${(expectedCents / 100).toFixed(2)} (the sum of quantity × price), got ${total}`,
      'total',
    );
  }
}

function readLimit(req: AppRequest): number {
  const raw = req.query.get('limit');
  if (raw === null) return 50;
  const limit = /^\d{1,3}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(limit >= 1 && limit <= 100)) {
    throw invalidRequest(`query.limit: expected an integer 1..100, got ${JSON.stringify(raw)}`, 'query.limit');
  }
  return limit;
}

function toOrder(row: Record<string, unknown>): Order {
  return {
    id: row.id as string,
    customer: row.customer as string,
    items: JSON.parse(row.items as string) as OrderItem[],
    total: row.total as number,
    status: 'created',
    createdAt: row.created_at as string,
  };
}
