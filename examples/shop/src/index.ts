/**
 * `@switchyard/example-shop`: three small services (orders, inventory, payments) that
 * `switchyard up` runs behind the gateway. Each owns its data in one SQLite file.
 *
 * The business logic never sees a socket: each service is an {@link App} whose
 * `handle(req)` takes an {@link AppRequest} and returns an {@link AppResponse}, so it is
 * tested with an in-memory database. {@link toNodeHandler} adapts an app to `node:http`;
 * `src/<service>/main.ts` opens the database and hands the handler to `startService`.
 *
 * @example
 * ```ts
 * import { DatabaseSync } from 'node:sqlite';
 * import { appRequest, createInventoryApp } from '@switchyard/example-shop';
 *
 * const inventory = createInventoryApp(new DatabaseSync(':memory:'), { instanceId: 'inventory-1' });
 * const res = inventory.handle(
 *   appRequest('POST', '/reservations', {
 *     headers: { 'Idempotency-Key': 'reserve-ord_1' },
 *     body: { orderId: 'ord_1', items: [{ sku: 'SKU-MOUSE', quantity: 2 }] },
 *   }),
 * );
 * // res.status === 201; the same request again replays it with `idempotent-replayed: true`
 * ```
 *
 * @packageDocumentation
 */

export { configureDatabase, openServiceDatabase, transaction } from './database.ts';
export type { ShopErrorCode, ShopErrorCodeSpec } from './errors.ts';
export { isShopError, shopError, shopErrorCodes } from './errors.ts';
export { errorBody, errorResponse } from './http/error-response.ts';
export type { IdempotencyOptions, MutationWrapper } from './http/idempotency.ts';
export { idempotencyKeyHeader, idempotentMutations, idempotentReplayedHeader } from './http/idempotency.ts';
export type { NodeHandler, NodeHandlerOptions } from './http/node-handler.ts';
export { toNodeHandler } from './http/node-handler.ts';
export type { RouteHandler, RouteParams, Router, RouterOptions } from './http/router.ts';
export { createRouter } from './http/router.ts';
export type { App, AppRequest, AppResponse, ErrorBody } from './http/types.ts';
export { appRequest } from './http/types.ts';
export type { FieldIssue } from './http/validation.ts';
export {
  describeIssues,
  describeValue,
  invalidRequest,
  parseRequest,
  zAmount,
  zInteger,
  zList,
  zRecord,
  zText,
} from './http/validation.ts';
export type { InventoryAppOptions, InventoryItem, Reservation, ReservationItem } from './inventory/app.ts';
export { createInventoryApp, defaultInventory, instanceIdHeader } from './inventory/app.ts';
export type { ResolvedNodeHandlerOptions, ShopEnv } from './options.ts';
export {
  defaultDataDir,
  defaultPaymentsLimit,
  resolveDataDir,
  resolveInstanceId,
  resolveNodeHandlerOptions,
  resolvePaymentsLimit,
  ShopService,
} from './options.ts';
export type { Order, OrderItem, OrdersAppOptions } from './orders/app.ts';
export { createOrdersApp } from './orders/app.ts';
export type { Payment, PaymentsAppOptions } from './payments/app.ts';
export { createPaymentsApp, PaymentStatus } from './payments/app.ts';
