import type { DatabaseSync } from 'node:sqlite';
import { type Clock, systemClock } from '@switchyard/core';
import { createSqliteInbox, type Delivery, type EventBus, type Subscription, sagaIdOf } from '@switchyard/saga';
import { type OrderApprovedEvent, orderApprovedTopic, ShopGroup } from '../events.ts';

/** A notification the shop recorded for a customer (the example stores it instead of mailing it). */
export interface Notification {
  /** The id of the message that caused it: one notification per message, however often delivered. */
  readonly id: string;
  readonly orderId: string;
  readonly customer: string;
  readonly kind: 'receipt';
  readonly text: string;
  /** The saga the message belongs to (`sy-saga-id`), when it carried one. */
  readonly sagaId?: string;
  /** The W3C trace context the message carried, when it did. */
  readonly traceparent?: string;
  /** ISO 8601 timestamp. */
  readonly createdAt: string;
}

/** The notifications table of the payments database; see {@link createNotificationsTable}. */
export interface NotificationsTable {
  /** Records one; a second record with the same id is ignored. */
  record(notification: Notification): void;
  /** Those of one order, oldest first; without an order, the newest 100. */
  list(orderId?: string): Notification[];
}

/**
 * Creates (when missing) the `notifications` table of the payments database.
 *
 * @example
 * ```ts
 * const table = createNotificationsTable(db);
 * table.list('ord_1'); // []
 * ```
 */
export function createNotificationsTable(db: DatabaseSync): NotificationsTable {
  db.exec(`
    CREATE TABLE IF NOT EXISTS notifications (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      id TEXT NOT NULL UNIQUE,
      order_id TEXT NOT NULL,
      customer TEXT NOT NULL,
      kind TEXT NOT NULL,
      text TEXT NOT NULL,
      saga_id TEXT,
      traceparent TEXT,
      created_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX IF NOT EXISTS notifications_order ON notifications (order_id, seq);
  `);
  const insert = db.prepare(
    `INSERT INTO notifications (id, order_id, customer, kind, text, saga_id, traceparent, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
  );
  const ofOrder = db.prepare('SELECT * FROM notifications WHERE order_id = ? ORDER BY seq');
  const newest = db.prepare('SELECT * FROM notifications ORDER BY seq DESC LIMIT 100');
  return {
    record(n) {
      insert.run(n.id, n.orderId, n.customer, n.kind, n.text, n.sagaId ?? null, n.traceparent ?? null, n.createdAt);
    },
    list: (orderId) => (orderId === undefined ? newest.all() : ofOrder.all(orderId)).map(toNotification),
  };
}

/** Options for {@link subscribeReceipts}. */
export interface ReceiptsOptions {
  /** Time source for `createdAt`. @default systemClock */
  clock?: Clock;
}

/**
 * The choreographed part of the order flow at payments: consumes `order.approved` as the
 * group `notifications` and records a receipt notification, through the inbox (`sy_inbox` in
 * the payments database), so a message delivered twice records one notification.
 *
 * @example
 * ```ts
 * const subscription = await subscribeReceipts(bus, db);
 * // ... bus delivers order.approved ...
 * await subscription.close();
 * ```
 */
export async function subscribeReceipts(
  bus: EventBus,
  db: DatabaseSync,
  options: ReceiptsOptions = {},
): Promise<Subscription> {
  const clock = options.clock ?? systemClock;
  const table = createNotificationsTable(db);
  const inbox = createSqliteInbox(db);
  inbox.migrate();
  return bus.subscribe<OrderApprovedEvent>(
    orderApprovedTopic,
    async (message: Delivery<OrderApprovedEvent>) => {
      const event = message.payload;
      inbox.handleOnce(message, () => {
        const sagaId = sagaIdOf(message);
        const traceparent = message.headers.traceparent;
        table.record({
          id: message.id,
          orderId: event.orderId,
          customer: event.customer,
          kind: 'receipt',
          text: `Thank you, ${event.customer}: order ${event.orderId} is approved; ${event.total.toFixed(2)} was charged (payment ${event.paymentId}).`,
          ...(sagaId === undefined ? {} : { sagaId }),
          ...(traceparent === undefined ? {} : { traceparent }),
          createdAt: new Date(clock.now()).toISOString(),
        });
      });
    },
    { group: ShopGroup.Notifications },
  );
}

function toNotification(row: Record<string, unknown>): Notification {
  const base = {
    id: row.id as string,
    orderId: row.order_id as string,
    customer: row.customer as string,
    kind: 'receipt' as const,
    text: row.text as string,
    createdAt: row.created_at as string,
  };
  return {
    ...base,
    ...(typeof row.saga_id === 'string' ? { sagaId: row.saga_id } : {}),
    ...(typeof row.traceparent === 'string' ? { traceparent: row.traceparent } : {}),
  };
}
