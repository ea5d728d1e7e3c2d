import { createHash, randomUUID } from 'node:crypto';
import type { DatabaseSync } from 'node:sqlite';
import { type Clock, isSwitchyardError, parseDuration, systemClock } from '@switchyard/core';
import {
  createOutboxRelay,
  createSagaEngine,
  createSqliteOutbox,
  type EventBus,
  type OutboxRelay,
  PROPAGATED_HEADERS,
  type SagaEngine,
  type SagaEngineOptions,
  type SagaStore,
  type SqliteOutbox,
} from '@switchyard/saga';
import { shopError } from '../errors.ts';
import { bodyHash, idempotentReplayedHeader, readIdempotencyKey } from '../http/idempotency.ts';
import { type AsyncRouteHandler, createAsyncRouter } from '../http/router.ts';
import type { AppRequest, AsyncApp } from '../http/types.ts';
import { invalidRequest, parseRequest, zAmount, zInteger, zList, zRecord, zText } from '../http/validation.ts';
import { createCallLog } from './call-log.ts';
import { defineOrderSaga, type OrderSagaDefinition, type OrderSagaInput, type StepBackoff } from './order-saga.ts';
import { type OrderView, orderView } from './order-view.ts';
import { createOrdersTable } from './orders-table.ts';
import type { ServiceClient } from './service-call.ts';

const orderSchema = zRecord({
  customer: zText(1, 200),
  items: zList(zRecord({ sku: zText(1, 100), quantity: zInteger(1), price: zAmount(0) }), 1, 100),
  total: zAmount(0),
});
const restingStatuses = new Set<string>(['completed', 'compensated', 'parked', 'aborted']);
/** The engine options the orders app lets its caller set (the rest it sets itself). */
export type OrdersEngineOptions = Pick<
  SagaEngineOptions,
  'owner' | 'leaseDuration' | 'renewInterval' | 'pollInterval' | 'concurrency' | 'compensation'
>;
/** Options for {@link createOrdersApp}. */
export interface OrdersAppOptions {
  /** Where the order sagas are kept: the SQLite saga store in the data directory (shared by every instance). */
  sagaStore: SagaStore;
  /** Calls inventory and payments: `createHttpClient` with discovery. */
  client: ServiceClient;
  /** Where the outbox relay publishes `order.approved`. Without one the events stay in the outbox. */
  bus?: EventBus;
  /** Saga engine options (leases, polling, compensation backoff). @default the engine's defaults */
  engine?: OrdersEngineOptions;
  /** How long `POST /orders` waits for the saga to finish before answering 202: `"2s"` or ms. @default "2s" */
  responseWait?: string | number;
  /** The public path of the orders collection, for `Location`. @default "/api/orders" (the gateway route) */
  publicPath?: string;
  /** Each attempt of a call to inventory or payments may take this long. @default "5s" */
  stepTimeout?: string | number;
  /** Attempts of a call to inventory or payments in all. @default 8 */
  stepAttempts?: number;
  /** Delay between those attempts. @default { initial: "250ms", max: "4s", factor: 2, jitter: "full" } */
  stepBackoff?: StepBackoff;
  /** How often the outbox relay looks for events when not woken. @default "1s" */
  relayPollInterval?: string | number;
  /** Time source for `createdAt`. @default systemClock */
  clock?: Clock;
  /** Receives unexpected errors (answered with a 500) and background failures. @default console.error */
  onError?: (err: unknown) => void;
}
/** The orders service: an app with a saga engine and an outbox relay to start and stop. */
export interface OrdersApp extends AsyncApp, AsyncDisposable {
  readonly engine: SagaEngine;
  readonly saga: OrderSagaDefinition;
  readonly outbox: SqliteOutbox;
  /** The relay publishing the outbox to `bus`, when a bus was given. */
  readonly relay: OutboxRelay | undefined;
  /** Starts the engine (recovering unfinished sagas) and the relay. */
  start(): Promise<void>;
  /** Stops the engine (releasing its leases) and the relay. Does not close the store, bus or database. */
  close(): Promise<void>;
}
/**
 * The orders service. Placing an order runs the order saga ({@link defineOrderSaga}):
 * create the order (pending) → reserve at inventory → charge at payments → approve, with
 * compensations on the way back. The saga id is the order id.
 *
 * - `POST /orders` `{ customer, items: [{ sku, quantity, price }], total }` starts the saga and
 *   waits up to `responseWait` for it: 201 with the order when it finished (`approved` or
 *   `rejected`), else 202 with the order `pending`; both with `Location`. `Prefer:
 *   respond-async` answers 202 at once. With `Idempotency-Key` the order id is derived from the
 *   key, so a repeat (even after a crash) finds the same saga and answers with its state
 *   (`Idempotent-Replayed: true`); the same key with another body is a 422.
 * - `GET /orders/:id` → 200 the order with its saga: status, each step, the full history.
 * - `GET /orders?limit=50&customer=ada` → 200 `{ orders }`, newest first.
 *
 * Each endpoint is also served without the `/orders` prefix (`POST /`, `GET /:id`), which is
 * how requests arrive through a gateway route that strips `/api/orders`.
 *
 * @example
 * ```ts
 * const app = createOrdersApp(db, { sagaStore: createSqliteSagaStore({ path }), client, bus });
 * await app.start();
 * await app.handle(appRequest('POST', '/orders', { body })); // { status: 201, body: { status: 'approved', saga: … } }
 * await app.close();
 * ```
 */
export function createOrdersApp(db: DatabaseSync, options: OrdersAppOptions): OrdersApp {
  const clock = options.clock ?? systemClock;
  const onError = options.onError ?? ((err: unknown) => console.error(err));
  const responseWaitMs = parseDuration(options.responseWait ?? 2000, 'orders.responseWait');
  const publicPath = (options.publicPath ?? '/api/orders').replace(/\/$/, '');
  const orders = createOrdersTable(db);
  const outbox = createSqliteOutbox(db, { clock });
  outbox.migrate();
  const relay =
    options.bus === undefined
      ? undefined
      : createOutboxRelay({
          source: outbox.source,
          bus: options.bus,
          pollInterval: options.relayPollInterval ?? '1s',
          onError,
        });
  let engine: SagaEngine | undefined;
  const saga = defineOrderSaga({
    orders,
    outbox,
    client: options.client,
    callLog: createCallLog(db),
    sagaError: async (id: string) => (await engine?.get(id))?.error,
    onApproved: () => relay?.notify(),
    ...(options.stepTimeout === undefined ? {} : { stepTimeout: options.stepTimeout }),
    ...(options.stepAttempts === undefined ? {} : { stepAttempts: options.stepAttempts }),
    ...(options.stepBackoff === undefined ? {} : { stepBackoff: options.stepBackoff }),
  });
  const sagaEngine = createSagaEngine({ ...options.engine, store: options.sagaStore, sagas: [saga], clock });
  engine = sagaEngine;
  sagaEngine.onError((err, { operation, sagaId }) => {
    onError(new Error(`order saga engine: ${operation}${sagaId ? ` (${sagaId})` : ''} failed`, { cause: err }));
  });
  const view = async (id: string): Promise<OrderView | undefined> => {
    const record = await sagaEngine.get(id);
    const order = orders.get(id);
    if (record === undefined && order === undefined) return undefined;
    return orderView(order, record, record === undefined ? [] : await sagaEngine.history(id));
  };
  const createOrder: AsyncRouteHandler = async (req) => {
    const body = parseRequest(orderSchema, req.body);
    checkTotal(body.items, body.total);
    const key = readIdempotencyKey(req);
    const orderId =
      key === undefined ? `ord_${randomUUID()}` : `ord_${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;
    const input: OrderSagaInput = {
      orderId,
      customer: body.customer,
      items: body.items.map((item) => ({ ...item })),
      total: body.total,
      createdAt: new Date(clock.now()).toISOString(),
      requestHash: bodyHash(req.body),
    };
    const replayed = !(await begin(sagaEngine, saga, input, req, key));
    if (!prefersAsync(req)) await settle(sagaEngine, orderId, responseWaitMs);
    const order = await view(orderId);
    if (order === undefined) throw shopError('SY_SHOP_ORDER_NOT_FOUND', `order ${orderId} vanished`);
    const done = restingStatuses.has(order.saga.status);
    const headers: Record<string, string> = { location: `${publicPath}/${orderId}` };
    if (replayed) headers[idempotentReplayedHeader] = 'true';
    return { status: done ? 201 : 202, body: order, headers };
  };
  const getOrder: AsyncRouteHandler = async (_req, { id = '' }) => {
    const order = await view(id);
    if (order === undefined) throw shopError('SY_SHOP_ORDER_NOT_FOUND', `no order with id ${JSON.stringify(id)}`);
    return { status: 200, body: order };
  };
  const listOrders: AsyncRouteHandler = (req) => {
    const customer = req.query.get('customer');
    return { status: 200, body: { orders: orders.list(readLimit(req), customer ?? undefined) } };
  };
  const router = createAsyncRouter({ onError: (err: unknown) => onError(err) });
  // The gateway route `/api/orders` strips its prefix, so `POST /api/orders` arrives as
  // `POST /`: the same endpoints are served at the root as well as under /orders.
  for (const base of ['/orders', '']) {
    router
      .route('POST', base || '/', createOrder)
      .route('GET', base || '/', listOrders)
      .route('GET', `${base}/:id`, getOrder);
  }
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await sagaEngine.stop({ timeout: '5s' });
      await relay?.stop();
    })();
    return closing;
  };
  return {
    engine: sagaEngine,
    saga,
    outbox,
    relay,
    handle: (req: AppRequest) => router.handle(req),
    routeOf: router.routeOf,
    async start() {
      await sagaEngine.start();
      relay?.start();
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
/**
 * Begins the order's saga; resolves true when it began now, false when the key's saga
 * already existed (a repeat of the same request).
 */
async function begin(
  engine: SagaEngine,
  saga: OrderSagaDefinition,
  input: OrderSagaInput,
  req: AppRequest,
  key: string | undefined,
): Promise<boolean> {
  try {
    await engine.begin(saga, input, { id: input.orderId, meta: propagated(req) });
    return true;
  } catch (err) {
    if (key === undefined || !isSwitchyardError(err, 'SY_SAGA_DUPLICATE_ID')) throw err;
    const existing = await engine.get(input.orderId);
    if ((existing?.input as OrderSagaInput | undefined)?.requestHash !== input.requestHash) {
      throw shopError(
        'SY_SHOP_IDEMPOTENCY_MISMATCH',
        `Idempotency-Key ${JSON.stringify(key)} was first used with a different body; use a new key for a new order`,
      );
    }
    return false;
  }
}
/** Waits up to `ms` for the saga to rest; a saga still running then is fine (the answer is a 202). */
async function settle(engine: SagaEngine, id: string, ms: number): Promise<void> {
  if (ms === 0) return;
  try {
    await engine.wait(id, { signal: AbortSignal.timeout(ms) });
  } catch (err) {
    if (!isSwitchyardError(err, 'SY_CANCELLED')) throw err;
  }
}
/** The trace context of the request, kept as the saga's `meta` and sent on with every call. */
function propagated(req: AppRequest): Record<string, string> {
  const meta: Record<string, string> = {};
  for (const name of PROPAGATED_HEADERS) {
    const value = req.headers[name];
    if (value !== undefined) meta[name] = value;
  }
  return meta;
}

/** `Prefer: respond-async` (RFC 7240): answer 202 without waiting. */
function prefersAsync(req: AppRequest): boolean {
  return /(^|,)\s*respond-async\s*(,|;|$)/i.test(req.headers.prefer ?? '');
}
/** Compares in whole cents so that 3 × 19.99 (59.970000000000006 in floating point) equals 59.97. */
function checkTotal(items: readonly { quantity: number; price: number }[], total: number): void {
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
