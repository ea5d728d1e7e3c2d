/**
 * The events the shop's services exchange over the bus (`<dataDir>/bus.sqlite`), and the
 * consumer groups that read them. The orders service writes them to its outbox; a relay
 * publishes them; each consumer handles a message once through its inbox.
 */

/** Published (through the orders outbox) when the order saga approves an order. */
export const orderApprovedTopic = 'order.approved';

/** The consumer groups of {@link orderApprovedTopic}. */
export const ShopGroup = {
  /** The inventory service: commits the order's reservation (the stock leaves for good). */
  Inventory: 'inventory',
  /** The payments service: records the receipt notification for the customer. */
  Notifications: 'notifications',
} as const;
/** One of {@link ShopGroup}. */
export type ShopGroup = (typeof ShopGroup)[keyof typeof ShopGroup];

/** The payload of {@link orderApprovedTopic}; a type (not an interface) so it is a `JsonValue`. */
export type OrderApprovedEvent = {
  orderId: string;
  customer: string;
  total: number;
  items: { sku: string; quantity: number; price: number }[];
  /** The reservation the saga made at inventory. */
  reservationId: string;
  /** The payment the saga captured. */
  paymentId: string;
};

/** The name of the shared bus file in the data directory. */
export const busFileName = 'bus.sqlite';
