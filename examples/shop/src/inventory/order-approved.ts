import type { DatabaseSync } from 'node:sqlite';
import type { Clock } from '@switchyard/core';
import { createSqliteInbox, type EventBus, type Subscription } from '@switchyard/saga';
import { type OrderApprovedEvent, orderApprovedTopic, ShopGroup } from '../events.ts';
import { createOrderReservations } from './order-reservations.ts';

/** Options for {@link subscribeCommitOnApproval}. */
export interface CommitOnApprovalOptions {
  /** Time source for the inbox. @default systemClock */
  clock?: Clock;
}

/**
 * The choreographed part of the order flow at inventory: consumes `order.approved` as the
 * group `inventory` (every inventory instance is a member; each message goes to one) and
 * commits the order's reservation. The inbox row (`sy_inbox` in the inventory database) and
 * the commit are one transaction, so a message delivered twice commits once, and a crash
 * between them leaves neither.
 *
 * @example
 * ```ts
 * const subscription = await subscribeCommitOnApproval(bus, db);
 * await subscription.close();
 * ```
 */
export async function subscribeCommitOnApproval(
  bus: EventBus,
  db: DatabaseSync,
  options: CommitOnApprovalOptions = {},
): Promise<Subscription> {
  const reservations = createOrderReservations(db, options.clock);
  const inbox = createSqliteInbox(db, options.clock === undefined ? {} : { clock: options.clock });
  inbox.migrate();
  return bus.subscribe<OrderApprovedEvent>(
    orderApprovedTopic,
    async (message) => {
      inbox.handleOnce(message, () => {
        reservations.commit(message.payload.orderId);
      });
    },
    { group: ShopGroup.Inventory },
  );
}
