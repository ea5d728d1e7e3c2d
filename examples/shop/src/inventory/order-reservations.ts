import type { DatabaseSync } from 'node:sqlite';
import { type Clock, systemClock } from '@switchyard/core';
import { transaction } from '../database.ts';
import { shopError } from '../errors.ts';

/** What releasing an order's reservations did. */
export interface OrderRelease {
  readonly orderId: string;
  /** The reservations flipped from `reserved` to `released` now (empty when there was nothing to undo). */
  readonly released: readonly string[];
}

/** What committing an order's reservations did. */
export interface OrderCommit {
  readonly orderId: string;
  /** The reservations flipped from `reserved` to `committed` now (empty when already committed, or none). */
  readonly committed: readonly string[];
}

/** The saga-facing operations on all the reservations of one order; see {@link createOrderReservations}. */
export interface OrderReservations {
  /** True once the order was released: nothing new may be reserved for it. */
  isClosed(orderId: string): boolean;
  /**
   * Returns the stock of every `reserved` reservation of the order and closes the order, so a
   * reservation request still in flight (a timed-out saga attempt) is refused when it lands.
   * Releasing nothing succeeds; a second release changes nothing.
   *
   * @throws SwitchyardError `SY_SHOP_RESERVATION_COMMITTED` when a reservation of the order was committed
   */
  release(orderId: string): OrderRelease;
  /**
   * Makes the order's `reserved` reservations `committed`: their stock leaves for good (it was
   * taken from `stock` when reserved). Committing again, or an order with none, changes nothing.
   */
  commit(orderId: string): OrderCommit;
}

interface ReservationRow {
  id: string;
  items: string;
  status: string;
}

/**
 * Creates the per-order reservation operations over the inventory database (whose tables
 * {@link createInventoryApp} creates). Each call is one write transaction, or joins the caller's.
 *
 * @example
 * ```ts
 * const reservations = createOrderReservations(db);
 * reservations.release('ord_1'); // { orderId: 'ord_1', released: ['res_…'] }
 * ```
 */
export function createOrderReservations(db: DatabaseSync, clock: Clock = systemClock): OrderReservations {
  db.exec(`
    CREATE TABLE IF NOT EXISTS closed_orders (
      order_id TEXT PRIMARY KEY,
      closed_at INTEGER NOT NULL
    ) STRICT;
  `);
  const ofOrder = db.prepare('SELECT id, items, status FROM reservations WHERE order_id = ? ORDER BY id');
  const setStatus = db.prepare('UPDATE reservations SET status = ? WHERE id = ? AND status = ?');
  const giveBack = db.prepare('UPDATE items SET stock = stock + ? WHERE sku = ?');
  const close = db.prepare('INSERT INTO closed_orders (order_id, closed_at) VALUES (?, ?) ON CONFLICT DO NOTHING');
  const closed = db.prepare('SELECT 1 AS closed FROM closed_orders WHERE order_id = ?');

  return {
    isClosed: (orderId) => closed.get(orderId) !== undefined,
    release: (orderId) =>
      transaction(db, () => {
        const rows = ofOrder.all(orderId) as unknown as ReservationRow[];
        const committed = rows.find((row) => row.status === 'committed');
        if (committed !== undefined) {
          throw shopError(
            'SY_SHOP_RESERVATION_COMMITTED',
            `order ${JSON.stringify(orderId)} is committed (reservation ${JSON.stringify(committed.id)}); it cannot be released`,
          );
        }
        const released: string[] = [];
        for (const row of rows) {
          // Only the update that flips reserved -> released gives the stock back.
          if (Number(setStatus.run('released', row.id, 'reserved').changes) !== 1) continue;
          for (const line of JSON.parse(row.items) as { sku: string; quantity: number }[]) {
            giveBack.run(line.quantity, line.sku);
          }
          released.push(row.id);
        }
        close.run(orderId, clock.now());
        return { orderId, released };
      }),
    commit: (orderId) =>
      transaction(db, () => {
        const rows = ofOrder.all(orderId) as unknown as ReservationRow[];
        const committed = rows
          .filter((row) => Number(setStatus.run('committed', row.id, 'reserved').changes) === 1)
          .map((row) => row.id);
        return { orderId, committed };
      }),
  };
}
