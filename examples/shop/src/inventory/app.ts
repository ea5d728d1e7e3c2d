import { randomUUID } from 'node:crypto';
import type { DatabaseSync } from 'node:sqlite';
import type { Clock } from '@switchyard/core';
import { transaction } from '../database.ts';
import { shopError } from '../errors.ts';
import { type IdempotencyOptions, idempotentMutations } from '../http/idempotency.ts';
import { createRouter } from '../http/router.ts';
import type { App } from '../http/types.ts';
import { invalidRequest, parseRequest, zInteger, zList, zRecord, zText } from '../http/validation.ts';
import { createOrderReservations } from './order-reservations.ts';

/** A product the inventory holds. */
export interface InventoryItem {
  readonly sku: string;
  readonly name: string;
  /** Unit price. */
  readonly price: number;
  /** Units available to reserve; never negative. */
  readonly stock: number;
}

/** One line of a reservation. */
export interface ReservationItem {
  readonly sku: string;
  readonly quantity: number;
}

/**
 * Stock set aside for an order: `reserved` until it is `released` (the stock comes back) or
 * `committed` (the order was approved: the stock leaves for good).
 */
export interface Reservation {
  readonly id: string;
  readonly orderId: string;
  readonly items: readonly ReservationItem[];
  readonly status: 'reserved' | 'released' | 'committed';
}

/** Options for {@link createInventoryApp}. */
export interface InventoryAppOptions {
  /** Sent as `X-Instance-Id` on every response, so callers see which instance answered. */
  instanceId: string;
  /** The items a new (empty) database starts with. @default defaultInventory */
  seed?: readonly InventoryItem[];
  /** Time source for idempotency-key expiry. @default systemClock */
  clock?: Clock;
  /** How long idempotency keys are remembered, in milliseconds. @default 86_400_000 */
  idempotencyTtlMs?: number;
  /** Receives unexpected errors (answered with a 500). @default console.error */
  onError?: (err: unknown) => void;
}

/** The items an empty inventory database is seeded with. */
export const defaultInventory: readonly InventoryItem[] = Object.freeze([
  { sku: 'SKU-KEYBOARD', name: 'Mechanical keyboard', price: 89.99, stock: 25 },
  { sku: 'SKU-MOUSE', name: 'Wireless mouse', price: 24.5, stock: 50 },
  { sku: 'SKU-MONITOR', name: '27-inch monitor', price: 299, stock: 10 },
  { sku: 'SKU-HEADSET', name: 'USB headset', price: 59.9, stock: 15 },
  { sku: 'SKU-CABLE', name: 'USB-C cable', price: 9.99, stock: 100 },
]);

/** The response header naming the instance that answered. */
export const instanceIdHeader = 'x-instance-id';

const reservationSchema = zRecord({
  orderId: zText(1, 200),
  items: zList(zRecord({ sku: zText(1, 100), quantity: zInteger(1) }), 1, 100),
});

const orderSchema = zRecord({ orderId: zText(1, 200) });

/**
 * The inventory service: items with stock, and reservations that take stock all-or-nothing.
 *
 * - `GET /items` → 200 `{ items }`; `GET /items/:sku` → 200 item, or 404 `SY_SHOP_ITEM_NOT_FOUND`.
 * - `POST /reservations` `{ orderId, items: [{ sku, quantity }] }` → 201 reservation. An
 *   unknown SKU is a 400 `SY_SHOP_UNKNOWN_SKU` naming `items[i].sku`; too little stock is a
 *   409 `SY_SHOP_INSUFFICIENT_STOCK` naming the SKU and what is available, and then nothing
 *   is reserved.
 *   A reservation for an order already released is a 409 `SY_SHOP_ORDER_CLOSED`.
 * - `GET /reservations/:id` → 200 reservation, or 404 `SY_SHOP_RESERVATION_NOT_FOUND`.
 * - `GET /reservations?orderId=` → 200 `{ reservations }` of that order.
 * - `DELETE /reservations/:id` → 200 reservation with status `released`; its stock is
 *   returned once, however often it is released. A committed one is a 409
 *   `SY_SHOP_RESERVATION_COMMITTED`.
 * - `POST /reservations/release` `{ orderId }` → 200 `{ orderId, released }`: the order saga's
 *   compensation. Releases every reservation of the order and closes it (later reservations
 *   for it are refused); releasing nothing succeeds; 409 `SY_SHOP_RESERVATION_COMMITTED` once
 *   the order was committed.
 * - `POST /reservations/commit` `{ orderId }` → 200 `{ orderId, committed }`: what the
 *   `order.approved` consumer does; committing again changes nothing.
 *
 * Mutations honour `Idempotency-Key`. Several instances may share one database file: each
 * reservation is one write transaction and the stock column cannot go below zero.
 *
 * @example
 * ```ts
 * const app = createInventoryApp(new DatabaseSync(':memory:'), { instanceId: 'inventory-1' });
 * app.handle(appRequest('POST', '/reservations', {
 *   body: { orderId: 'ord_1', items: [{ sku: 'SKU-MOUSE', quantity: 2 }] },
 * })); // { status: 201, body: { id: 'res_…', status: 'reserved', … }, headers: { 'x-instance-id': 'inventory-1' } }
 * ```
 */
export function createInventoryApp(db: DatabaseSync, options: InventoryAppOptions): App {
  db.exec(`
    CREATE TABLE IF NOT EXISTS items (
      sku TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      price REAL NOT NULL,
      stock INTEGER NOT NULL CHECK (stock >= 0)
    ) STRICT;
    CREATE TABLE IF NOT EXISTS reservations (
      id TEXT PRIMARY KEY,
      order_id TEXT NOT NULL,
      items TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('reserved', 'released', 'committed'))
    ) STRICT;
  `);
  allowCommittedStatus(db);
  db.exec('CREATE INDEX IF NOT EXISTS reservations_order ON reservations (order_id)');
  const orders = createOrderReservations(db, options.clock);
  seedOnce(db, options.seed ?? defaultInventory);

  const listItems = db.prepare('SELECT sku, name, price, stock FROM items ORDER BY sku');
  const itemBySku = db.prepare('SELECT sku, name, price, stock FROM items WHERE sku = ?');
  // The `stock >= ?` guard makes the decrement and the check one statement, so no
  // interleaving can take stock below zero (the CHECK constraint backs it up).
  const take = db.prepare('UPDATE items SET stock = stock - ? WHERE sku = ? AND stock >= ?');
  const giveBack = db.prepare('UPDATE items SET stock = stock + ? WHERE sku = ?');
  const insertReservation = db.prepare('INSERT INTO reservations (id, order_id, items, status) VALUES (?, ?, ?, ?)');
  const reservationById = db.prepare('SELECT id, order_id, items, status FROM reservations WHERE id = ?');
  const reservationsOf = db.prepare(
    'SELECT id, order_id, items, status FROM reservations WHERE order_id = ? ORDER BY id',
  );
  const release = db.prepare("UPDATE reservations SET status = 'released' WHERE id = ? AND status = 'reserved'");

  const idempotency: IdempotencyOptions = {};
  if (options.clock !== undefined) idempotency.clock = options.clock;
  if (options.idempotencyTtlMs !== undefined) idempotency.ttlMs = options.idempotencyTtlMs;
  const mutation = idempotentMutations(db, idempotency);

  const findReservation = (id: string): Reservation => {
    const row = reservationById.get(id);
    if (row === undefined) {
      throw shopError('SY_SHOP_RESERVATION_NOT_FOUND', `no reservation with id ${JSON.stringify(id)}`);
    }
    return toReservation(row);
  };

  const router = createRouter(options.onError ? { onError: options.onError } : {})
    .route('GET', '/items', () => ({ status: 200, body: { items: listItems.all().map(toItem) } }))
    .route('GET', '/items/:sku', (_req, { sku }) => {
      const row = itemBySku.get(sku as string);
      if (row === undefined) throw shopError('SY_SHOP_ITEM_NOT_FOUND', `no item with SKU ${JSON.stringify(sku)}`);
      return { status: 200, body: toItem(row) };
    })
    .route(
      'POST',
      '/reservations',
      mutation((req) => {
        const input = parseRequest(reservationSchema, req.body);
        if (orders.isClosed(input.orderId)) {
          throw shopError(
            'SY_SHOP_ORDER_CLOSED',
            `orderId: order ${JSON.stringify(input.orderId)} was released; nothing more is reserved for it`,
            { details: { field: 'orderId' } },
          );
        }
        // An unknown SKU is a bad request whatever the stock says, so check them all first.
        for (const [i, line] of input.items.entries()) {
          if (itemBySku.get(line.sku) === undefined) {
            throw shopError('SY_SHOP_UNKNOWN_SKU', `items[${i}].sku: no item with SKU ${JSON.stringify(line.sku)}`, {
              details: { field: `items[${i}].sku` },
            });
          }
        }
        // Runs inside the mutation's transaction: a throw on any line undoes the earlier lines.
        for (const [i, line] of input.items.entries()) {
          if (take.run(line.quantity, line.sku, line.quantity).changes === 1) continue;
          // Earlier lines of this request for the same SKU are already taken; add them back
          // so the message reports what the store had before this reservation.
          const alreadyTaken = input.items
            .slice(0, i)
            .filter((earlier) => earlier.sku === line.sku)
            .reduce((acc, earlier) => acc + earlier.quantity, 0);
          const stock = (itemBySku.get(line.sku) as { stock: number }).stock;
          throw shopError(
            'SY_SHOP_INSUFFICIENT_STOCK',
            `items[${i}].quantity: not enough stock for ${line.sku}: requested ${alreadyTaken + line.quantity}, available ${stock + alreadyTaken}`,
            { details: { field: `items[${i}].quantity` } },
          );
        }
        const reservation: Reservation = {
          id: `res_${randomUUID()}`,
          orderId: input.orderId,
          items: input.items,
          status: 'reserved',
        };
        insertReservation.run(reservation.id, reservation.orderId, JSON.stringify(reservation.items), 'reserved');
        return { status: 201, body: reservation };
      }),
    )
    .route('GET', '/reservations', (req) => {
      const orderId = req.query.get('orderId');
      if (orderId === null || orderId === '') throw invalidRequest('query.orderId: required', 'query.orderId');
      return { status: 200, body: { reservations: reservationsOf.all(orderId).map(toReservation) } };
    })
    .route(
      'POST',
      '/reservations/release',
      mutation((req) => ({ status: 200, body: orders.release(parseRequest(orderSchema, req.body).orderId) })),
    )
    .route(
      'POST',
      '/reservations/commit',
      mutation((req) => ({ status: 200, body: orders.commit(parseRequest(orderSchema, req.body).orderId) })),
    )
    .route('GET', '/reservations/:id', (_req, { id }) => ({ status: 200, body: findReservation(id as string) }))
    .route(
      'DELETE',
      '/reservations/:id',
      mutation((_req, { id }) => {
        const reservation = findReservation(id as string);
        if (reservation.status === 'committed') {
          throw shopError(
            'SY_SHOP_RESERVATION_COMMITTED',
            `reservation ${JSON.stringify(reservation.id)} is committed; it cannot be released`,
          );
        }
        // Only the call that flips reserved -> released returns the stock, so a second
        // release (or a second instance releasing concurrently) adds nothing.
        if (release.run(reservation.id).changes === 1) {
          for (const line of reservation.items) giveBack.run(line.quantity, line.sku);
        }
        return { status: 200, body: { ...reservation, status: 'released' } };
      }),
    );

  const headers = { [instanceIdHeader]: options.instanceId };
  return {
    handle(req) {
      const response = router.handle(req);
      return { ...response, headers: { ...response.headers, ...headers } };
    },
    routeOf: router.routeOf,
  };
}

/** Seeds an empty items table; the write lock makes two instances starting together seed once. */
function seedOnce(db: DatabaseSync, seed: readonly InventoryItem[]): void {
  transaction(db, () => {
    const count = db.prepare('SELECT count(*) AS n FROM items').get() as { n: number };
    if (count.n > 0) return;
    const insert = db.prepare('INSERT INTO items (sku, name, price, stock) VALUES (?, ?, ?, ?)');
    for (const item of seed) insert.run(item.sku, item.name, item.price, item.stock);
  });
}

function toItem(row: Record<string, unknown>): InventoryItem {
  return { sku: row.sku as string, name: row.name as string, price: row.price as number, stock: row.stock as number };
}

function toReservation(row: Record<string, unknown>): Reservation {
  return {
    id: row.id as string,
    orderId: row.order_id as string,
    items: JSON.parse(row.items as string) as ReservationItem[],
    status: row.status as Reservation['status'],
  };
}

/**
 * Databases created before reservations could be committed have a CHECK that refuses the
 * status; SQLite cannot alter a CHECK, so the table is rebuilt once, in one transaction.
 */
function allowCommittedStatus(db: DatabaseSync): void {
  transaction(db, () => {
    const table = db.prepare("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'reservations'").get() as
      | { sql: string }
      | undefined;
    if (table === undefined || table.sql.includes("'committed'")) return;
    db.exec(`
      CREATE TABLE reservations_new (
        id TEXT PRIMARY KEY,
        order_id TEXT NOT NULL,
        items TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('reserved', 'released', 'committed'))
      ) STRICT;
      INSERT INTO reservations_new SELECT id, order_id, items, status FROM reservations;
      DROP TABLE reservations;
      ALTER TABLE reservations_new RENAME TO reservations;
    `);
  });
}
