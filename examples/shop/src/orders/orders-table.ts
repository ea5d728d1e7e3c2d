import type { DatabaseSync } from 'node:sqlite';
import type { SwitchyardErrorJSON } from '@switchyard/core';
import { transaction } from '../database.ts';
import { shopError } from '../errors.ts';

/** One line of an order. */
export interface OrderItem {
  readonly sku: string;
  readonly quantity: number;
  /** Unit price. */
  readonly price: number;
}

/**
 * Where an order stands: `pending` while its saga runs, then `approved` (reserved, charged)
 * or `rejected` (everything done for it was undone; `reason` says why).
 */
export const OrderStatus = { Pending: 'pending', Approved: 'approved', Rejected: 'rejected' } as const;
/** One of {@link OrderStatus}. */
export type OrderStatus = (typeof OrderStatus)[keyof typeof OrderStatus];

/** An order as the orders table keeps it. */
export interface OrderRow {
  readonly id: string;
  readonly customer: string;
  readonly items: readonly OrderItem[];
  readonly total: number;
  readonly status: OrderStatus;
  /** Why a rejected order was rejected: the error that turned its saga back. */
  readonly reason?: SwitchyardErrorJSON;
  /** ISO 8601 timestamp. */
  readonly createdAt: string;
}

/** The orders table; see {@link createOrdersTable}. */
export interface OrdersTable {
  /** Inserts the order as `pending`; an order already there is left as it is. */
  insertPending(order: Omit<OrderRow, 'status' | 'reason'>): void;
  /**
   * Flips a pending order to `approved` and, in the same transaction, calls `onApproved` (which
   * adds the `order.approved` event to the outbox). An order already approved changes nothing
   * and returns false.
   *
   * @throws SwitchyardError `SY_SHOP_ORDER_NOT_FOUND`, or `SY_SHOP_ORDER_CLOSED` when it was rejected
   */
  approve(id: string, onApproved: (order: OrderRow) => void): boolean;
  /**
   * Flips a pending order to `rejected` with `reason` (inserting `fallback` as rejected when the
   * order was never written). A rejected order changes nothing.
   *
   * @throws SwitchyardError `SY_SHOP_ORDER_CLOSED` when the order was approved
   */
  reject(fallback: Omit<OrderRow, 'status' | 'reason'>, reason: SwitchyardErrorJSON | undefined): void;
  get(id: string): OrderRow | undefined;
  /** Newest first, optionally one customer's. */
  list(limit: number, customer?: string): OrderRow[];
}

/**
 * Creates (or migrates) the `orders` table in the orders database.
 *
 * @example
 * ```ts
 * const orders = createOrdersTable(db);
 * orders.insertPending({ id: 'ord_1', customer: 'ada', items, total: 49, createdAt: new Date().toISOString() });
 * ```
 */
export function createOrdersTable(db: DatabaseSync): OrdersTable {
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
  // Databases from before the saga have no reason column. Checked under the write lock, so two
  // instances starting together add it once.
  transaction(db, () => {
    const columns = db.prepare('PRAGMA table_info(orders)').all() as { name: string }[];
    if (!columns.some((c) => c.name === 'reason')) db.exec('ALTER TABLE orders ADD COLUMN reason TEXT');
  });

  const insert = db.prepare(
    `INSERT INTO orders (id, customer, items, total, status, created_at, reason) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO NOTHING`,
  );
  const setStatus = db.prepare(
    "UPDATE orders SET status = ?, reason = ? WHERE id = ? AND status IN ('pending', 'created')",
  );
  const byId = db.prepare('SELECT * FROM orders WHERE id = ?');
  const newest = db.prepare('SELECT * FROM orders ORDER BY seq DESC LIMIT ?');
  const newestOf = db.prepare('SELECT * FROM orders WHERE customer = ? ORDER BY seq DESC LIMIT ?');
  const get = (id: string): OrderRow | undefined => {
    const row = byId.get(id);
    return row === undefined ? undefined : toOrderRow(row);
  };
  const insertAs = (order: Omit<OrderRow, 'status' | 'reason'>, status: OrderStatus, reason: string | null) =>
    insert.run(order.id, order.customer, JSON.stringify(order.items), order.total, status, order.createdAt, reason);

  return {
    insertPending: (order) => void insertAs(order, OrderStatus.Pending, null),
    approve: (id, onApproved) =>
      transaction(db, () => {
        const order = get(id);
        if (order === undefined) throw shopError('SY_SHOP_ORDER_NOT_FOUND', `no order with id ${JSON.stringify(id)}`);
        if (order.status === OrderStatus.Approved) return false;
        if (order.status === OrderStatus.Rejected) {
          throw shopError('SY_SHOP_ORDER_CLOSED', `order ${JSON.stringify(id)} was rejected; it cannot be approved`);
        }
        setStatus.run(OrderStatus.Approved, null, id);
        onApproved({ ...order, status: OrderStatus.Approved });
        return true;
      }),
    reject: (fallback, reason) =>
      transaction(db, () => {
        const text = reason === undefined ? null : JSON.stringify(reason);
        const order = get(fallback.id);
        if (order === undefined) {
          insertAs(fallback, OrderStatus.Rejected, text);
          return;
        }
        if (order.status === OrderStatus.Approved) {
          throw shopError(
            'SY_SHOP_ORDER_CLOSED',
            `order ${JSON.stringify(fallback.id)} was approved; it cannot be rejected`,
          );
        }
        setStatus.run(OrderStatus.Rejected, text, fallback.id);
      }),
    get,
    list: (limit, customer) =>
      (customer === undefined ? newest.all(limit) : newestOf.all(customer, limit)).map(toOrderRow),
  };
}

function toOrderRow(row: Record<string, unknown>): OrderRow {
  const order = {
    id: row.id as string,
    customer: row.customer as string,
    items: JSON.parse(row.items as string) as OrderItem[],
    total: row.total as number,
    // Orders written before the saga existed were "created": they were never checked.
    status: (row.status === 'created' ? OrderStatus.Pending : row.status) as OrderStatus,
    createdAt: row.created_at as string,
  };
  return typeof row.reason === 'string' ? { ...order, reason: JSON.parse(row.reason) as SwitchyardErrorJSON } : order;
}
