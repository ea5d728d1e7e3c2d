/**
 * The three shop apps wired together in one process for tests: inventory and payments served
 * over real HTTP on port 0, orders with its saga engine calling them through the resilient
 * client, and a memory bus carrying `order.approved` to the inventory and notification
 * consumers. Not exported from the package.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DatabaseSync } from 'node:sqlite';
import { createHttpClient, type HttpClient } from '@switchyard/client';
import { createMemoryEventBus, createMemorySagaStore, type EventBus, type SagaStore } from '@switchyard/saga';
import { toNodeHandler } from '../http/node-handler.ts';
import type { App, AppResponse } from '../http/types.ts';
import { appRequest } from '../http/types.ts';
import { createInventoryApp, type InventoryItem } from '../inventory/app.ts';
import { subscribeCommitOnApproval } from '../inventory/order-approved.ts';
import { createOrdersApp, type OrdersApp, type OrdersAppOptions } from '../orders/app.ts';
import { createPaymentsApp } from '../payments/app.ts';
import { subscribeReceipts } from '../payments/notifications.ts';
import { staticSource } from '../static-source.ts';

/** Options for {@link startShopKit}. */
export interface ShopKitOptions {
  readonly paymentsLimit?: number;
  readonly seed?: readonly InventoryItem[];
  readonly sagaStore?: SagaStore;
  readonly orders?: Partial<OrdersAppOptions>;
}

/** A running kit; `close()` stops everything. */
export interface ShopKit {
  readonly orders: OrdersApp;
  readonly ordersDb: DatabaseSync;
  readonly inventoryDb: DatabaseSync;
  readonly paymentsDb: DatabaseSync;
  readonly bus: EventBus;
  readonly client: HttpClient;
  /** Calls the inventory app directly (no HTTP). */
  inventory(method: string, target: string, body?: unknown): AppResponse;
  /** Calls the payments app directly (no HTTP). */
  payments(method: string, target: string, body?: unknown): AppResponse;
  /** Stops the payments server and removes it from discovery: "payments is down". */
  stopPayments(): Promise<void>;
  close(): Promise<void>;
}

async function serve(app: App): Promise<{ server: Server; url: string }> {
  const server = createServer(toNodeHandler(app));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function stop(server: Server): Promise<void> {
  if (!server.listening) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/**
 * Starts the kit. The orders engine uses short leases and compensation backoff so tests stay fast.
 *
 * @example
 * ```ts
 * const kit = await startShopKit({ paymentsLimit: 100 });
 * const res = await kit.orders.handle(appRequest('POST', '/orders', { body }));
 * await kit.close();
 * ```
 */
export async function startShopKit(options: ShopKitOptions = {}): Promise<ShopKit> {
  const quiet = () => {};
  const inventoryDb = new DatabaseSync(':memory:');
  const paymentsDb = new DatabaseSync(':memory:');
  const ordersDb = new DatabaseSync(':memory:');
  const inventoryApp = createInventoryApp(inventoryDb, {
    instanceId: 'inventory-kit',
    onError: quiet,
    ...(options.seed === undefined ? {} : { seed: options.seed }),
  });
  const paymentsApp = createPaymentsApp(paymentsDb, { limit: options.paymentsLimit ?? 1000, onError: quiet });
  const inventory = await serve(inventoryApp);
  const payments = await serve(paymentsApp);
  const source = staticSource({ inventory: inventory.url, payments: payments.url });
  const client = createHttpClient({ discovery: source, timeout: '2s' });
  const bus = createMemoryEventBus();
  const subscriptions = [await subscribeCommitOnApproval(bus, inventoryDb), await subscribeReceipts(bus, paymentsDb)];
  const orders = createOrdersApp(ordersDb, {
    sagaStore: options.sagaStore ?? createMemorySagaStore(),
    client,
    bus,
    responseWait: '5s',
    stepTimeout: '2s',
    stepAttempts: 4,
    stepBackoff: { initial: '10ms', max: '50ms', factor: 2, jitter: 'full' },
    relayPollInterval: '50ms',
    engine: {
      pollInterval: '100ms',
      compensation: { maxAttempts: 5, backoff: { initial: '10ms', max: '50ms', factor: 2, jitter: 'full' } },
    },
    onError: quiet,
    ...options.orders,
  });
  await orders.start();
  const call = (app: App) => (method: string, target: string, body?: unknown) =>
    app.handle(appRequest(method, target, body === undefined ? {} : { body }));

  return {
    orders,
    ordersDb,
    inventoryDb,
    paymentsDb,
    bus,
    client,
    inventory: call(inventoryApp),
    payments: call(paymentsApp),
    async stopPayments() {
      source.set('payments', undefined);
      await stop(payments.server);
    },
    async close() {
      await orders.close();
      for (const subscription of subscriptions) await subscription.close();
      await bus.close();
      await client.close();
      await stop(inventory.server);
      await stop(payments.server);
      for (const db of [inventoryDb, paymentsDb, ordersDb]) if (db.isOpen) db.close();
    },
  };
}
