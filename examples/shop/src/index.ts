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
export type { OrderApprovedEvent } from './events.ts';
export { busFileName, orderApprovedTopic, ShopGroup } from './events.ts';
export { errorBody, errorResponse } from './http/error-response.ts';
export type { IdempotencyOptions, MutationWrapper } from './http/idempotency.ts';
export {
  bodyHash,
  idempotencyKeyHeader,
  idempotentMutations,
  idempotentReplayedHeader,
  readIdempotencyKey,
} from './http/idempotency.ts';
export type { NodeHandler, NodeHandlerOptions } from './http/node-handler.ts';
export { toNodeHandler } from './http/node-handler.ts';
export type {
  AsyncRouteHandler,
  AsyncRouter,
  RouteHandler,
  RouteParams,
  Router,
  RouterOptions,
} from './http/router.ts';
export { createAsyncRouter, createRouter } from './http/router.ts';
export type { App, AppRequest, AppResponse, AsyncApp, ErrorBody } from './http/types.ts';
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
export type { CommitOnApprovalOptions } from './inventory/order-approved.ts';
export { subscribeCommitOnApproval } from './inventory/order-approved.ts';
export type { OrderCommit, OrderRelease, OrderReservations } from './inventory/order-reservations.ts';
export { createOrderReservations } from './inventory/order-reservations.ts';
export type { OrdersSettings, ResolvedNodeHandlerOptions, ShopEnv } from './options.ts';
export {
  defaultDataDir,
  defaultPaymentsLimit,
  resolveDataDir,
  resolveInstanceId,
  resolveNodeHandlerOptions,
  resolveOrdersSettings,
  resolvePaymentsLimit,
  ShopService,
} from './options.ts';
export type { OrdersApp, OrdersAppOptions, OrdersEngineOptions } from './orders/app.ts';
export { createOrdersApp } from './orders/app.ts';
export type { CallLog } from './orders/call-log.ts';
export { createCallLog } from './orders/call-log.ts';
export type { OrderSagaDefinition, OrderSagaDeps, OrderSagaInput, StepBackoff } from './orders/order-saga.ts';
export { defineOrderSaga, orderSagaName } from './orders/order-saga.ts';
export type { OrderView, StepStatus, StepView, TransitionView } from './orders/order-view.ts';
export { orderSagaSteps, orderView } from './orders/order-view.ts';
export type { OrderItem, OrderRow, OrdersTable } from './orders/orders-table.ts';
export { createOrdersTable, OrderStatus } from './orders/orders-table.ts';
export type { ServiceCall, ServiceClient } from './orders/service-call.ts';
export { callService, isRetryableStepError } from './orders/service-call.ts';
export type { Payment, PaymentsAppOptions } from './payments/app.ts';
export { createPaymentsApp, PaymentStatus } from './payments/app.ts';
export type { Notification, NotificationsTable, ReceiptsOptions } from './payments/notifications.ts';
export { createNotificationsTable, subscribeReceipts } from './payments/notifications.ts';
export type { ShopServiceContext, ShopServiceSetup } from './run-service.ts';
export { staticSource } from './static-source.ts';
