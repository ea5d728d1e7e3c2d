/**
 * A small stand-in for the admin API of `switchyard up`: it serves the dashboard's assets,
 * canned JSON for every GET of the admin contract, the saga actions and an event stream, so
 * the dashboard can be developed and tested without a running system.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { dashboardAssetsDir } from '../index.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json | undefined };

/** A saga as the fake keeps it (the admin API's SagaRecord). */
export interface FakeSaga {
  id: string;
  name: string;
  status: 'running' | 'compensating' | 'completed' | 'compensated' | 'parked' | 'aborted';
  input: Json;
  outputs: Record<string, Json>;
  error?: { code: string; message: string };
  parkedDirection?: 'forward' | 'backward';
  meta: Record<string, string>;
  createdAt: number;
  updatedAt: number;
  version: number;
}

/** One saga transition (the admin API's SagaTransition). */
export interface FakeTransition {
  sagaId: string;
  seq: number;
  kind: string;
  at: number;
  step?: string;
  attempt?: number;
  error?: { code: string; message: string };
  reason?: string;
}

/** A stored span (the admin API's StoredSpan). */
export interface FakeSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  kind: 'internal' | 'server' | 'client' | 'producer' | 'consumer';
  service: string;
  scope: string;
  startTimeUs: number;
  endTimeUs: number;
  durationMs: number;
  status: { code: 'unset' | 'ok' | 'error'; message?: string };
  attributes: Record<string, string | number | boolean>;
  events: { name: string; timeUs: number; attributes: Record<string, string | number | boolean> }[];
  links: never[];
}

/** What the fake serves; tests change it and call {@link FakeAdminServer.emit}. */
export interface FakeAdminState {
  system: { name: string; gateway: string; registry: string; startedAt: number; features: Record<string, boolean> };
  services: Json[];
  breakers: { breakers: Record<string, Json>[] };
  red: Json[];
  rateLimits: Json;
  routes: Json;
  sagas: FakeSaga[];
  history: Map<string, FakeTransition[]>;
  spans: FakeSpan[];
  /** When false, `/admin/sagas*` answers 404 `SY_CLI_SAGAS_NOT_CONFIGURED`. */
  sagasConfigured: boolean;
}

/** Options of {@link startFakeAdminServer}. */
export interface FakeAdminServerOptions {
  /** Require `Authorization: Bearer <token>` on `/admin/*` (401 otherwise). */
  token?: string;
  /** Interval of the `: ping` comment on the event stream. @default 15000 */
  pingIntervalMs?: number;
}

/** A running fake admin server. */
export interface FakeAdminServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly state: FakeAdminState;
  /** Paths requested, in order (with query strings). */
  readonly requests: string[];
  /** Sends one event to every connected event-stream client. */
  emit(event: string, data: unknown): void;
  /** Sets a breaker's state (and failure rate) and sends the `breakers` snapshot. */
  setBreaker(name: string, state: string, failureRate: number): void;
  /** When false, drops event-stream clients and answers `/admin/events` with 503. */
  setEventsAvailable(available: boolean): void;
  /** Event-stream clients connected now. */
  eventClients(): number;
  close(): Promise<void>;
}

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * Starts the fake on 127.0.0.1 and a free port.
 *
 * @example
 * ```ts
 * const fake = await startFakeAdminServer({ token: 's3cret' });
 * console.log(`dashboard at ${fake.url}/`);
 * fake.setBreaker('payments', 'open', 0.8);
 * await fake.close();
 * ```
 */
export async function startFakeAdminServer(options: FakeAdminServerOptions = {}): Promise<FakeAdminServer> {
  const state = cannedState(Date.now());
  const requests: string[] = [];
  const clients = new Set<ServerResponse>();
  let eventsAvailable = true;

  const snapshots = (): [string, unknown][] => [
    ['services', state.services],
    ['breakers', state.breakers],
    ['red', state.red],
    ['rate-limits', state.rateLimits],
  ];
  const write = (res: ServerResponse, event: string, data: unknown) => {
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push(`${req.method} ${url.pathname}${url.search}`);
    handle(req, res, url).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, 500, 'SY_CLI_ADMIN_INTERNAL', String(err));
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname;
    if (!path.startsWith('/admin/')) return serveAsset(res, path);
    if (options.token !== undefined && req.headers.authorization !== `Bearer ${options.token}`) {
      return sendError(res, 401, 'SY_GATEWAY_ADMIN_UNAUTHENTICATED', 'a valid bearer token is required');
    }
    if (path === '/admin/events') {
      if (!eventsAvailable) return sendError(res, 503, 'SY_CLI_ADMIN_INTERNAL', 'event stream unavailable');
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-store',
        connection: 'keep-alive',
      });
      res.write(': connected\n\n');
      for (const [event, data] of snapshots()) write(res, event, data);
      clients.add(res);
      const ping = setInterval(() => res.write(': ping\n\n'), options.pingIntervalMs ?? 15_000);
      res.on('close', () => {
        clearInterval(ping);
        clients.delete(res);
      });
      return;
    }
    if (req.method === 'POST') return handleAction(req, res, path);
    const sagaMatch = /^\/admin\/sagas(?:\/([^/]+))?$/.exec(path);
    if (sagaMatch) {
      if (!state.sagasConfigured) {
        return sendError(res, 404, 'SY_CLI_SAGAS_NOT_CONFIGURED', 'no `sagas:` section in switchyard.yaml');
      }
      const id = sagaMatch[1] === undefined ? undefined : decodeURIComponent(sagaMatch[1]);
      if (id === undefined) return sendJson(res, 200, listSagas(state, url.searchParams));
      const saga = state.sagas.find((s) => s.id === id);
      if (saga === undefined) return sendError(res, 404, 'SY_SAGA_NOT_FOUND', `no saga with id ${id}`);
      return sendJson(res, 200, { saga, history: state.history.get(id) ?? [] });
    }
    const traceMatch = /^\/admin\/traces(?:\/([^/]+))?$/.exec(path);
    if (traceMatch) {
      const id = traceMatch[1];
      if (id !== undefined)
        return sendJson(
          res,
          200,
          state.spans.filter((s) => s.traceId === id),
        );
      return sendJson(res, 200, traceSummaries(state.spans, url.searchParams.get('service')));
    }
    const documents: Record<string, unknown> = {
      '/admin/system': state.system,
      '/admin/services': state.services,
      '/admin/breakers': state.breakers,
      '/admin/red': state.red,
      '/admin/rate-limits': state.rateLimits,
      '/admin/routes': state.routes,
    };
    if (path in documents) return sendJson(res, 200, documents[path]);
    return sendError(res, 404, 'SY_CLI_ADMIN_NOT_FOUND', `no route for ${path}`);
  }

  async function handleAction(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const match = /^\/admin\/sagas\/([^/]+)\/(retry|abort)$/.exec(path);
    if (match === null) return sendError(res, 404, 'SY_CLI_ADMIN_NOT_FOUND', `no route for POST ${path}`);
    const id = decodeURIComponent(match[1] ?? '');
    const action = match[2];
    const body = await readBody(req);
    const saga = state.sagas.find((s) => s.id === id);
    if (saga === undefined) return sendError(res, 404, 'SY_SAGA_NOT_FOUND', `no saga with id ${id}`);
    const reason = typeof body.reason === 'string' ? body.reason : undefined;
    if (action === 'abort' && (reason === undefined || reason.trim() === '')) {
      return sendError(res, 400, 'SY_CLI_ADMIN_BAD_REQUEST', 'abort needs a reason');
    }
    if (saga.status !== 'parked') {
      return sendError(res, 409, 'SY_SAGA_NOT_PARKED', `saga ${id} is ${saga.status}, not parked`);
    }
    const history = state.history.get(id) ?? [];
    const now = Date.now();
    saga.status = action === 'retry' ? 'running' : 'aborted';
    saga.updatedAt = now;
    saga.version++;
    history.push({
      sagaId: id,
      seq: history.length + 1,
      kind: action === 'retry' ? 'saga.retried' : 'saga.aborted',
      at: now,
      ...(reason === undefined ? {} : { reason }),
    });
    state.history.set(id, history);
    sendJson(res, 200, { saga });
    for (const client of clients) write(client, 'saga', saga);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    state,
    requests,
    emit(event, data) {
      for (const client of clients) write(client, event, data);
    },
    setBreaker(name, breakerState, failureRate) {
      const breaker = state.breakers.breakers.find((b) => b.name === name);
      if (breaker === undefined) throw new Error(`no breaker ${name}`);
      breaker.state = breakerState;
      breaker.failureRate = failureRate;
      for (const client of clients) write(client, 'breakers', state.breakers);
    },
    setEventsAvailable(available) {
      eventsAvailable = available;
      if (!available) for (const client of clients) client.destroy();
    },
    eventClients: () => clients.size,
    async close() {
      for (const client of clients) client.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function serveAsset(res: ServerResponse, path: string): Promise<void> {
  const relative = path === '/' ? 'index.html' : path.startsWith('/dashboard/') ? path.slice('/dashboard/'.length) : '';
  const file = normalize(join(dashboardAssetsDir, relative));
  if (relative === '' || !file.startsWith(dashboardAssetsDir) || relative.endsWith('.d.ts')) {
    return sendError(res, 404, 'SY_CLI_ADMIN_NOT_FOUND', `no file ${path}`);
  }
  try {
    const body = await readFile(file);
    res.writeHead(200, {
      'content-type': contentTypes[extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-cache',
    });
    res.end(body);
  } catch {
    sendError(res, 404, 'SY_CLI_ADMIN_NOT_FOUND', `no file ${path}`);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error: { code, message }, requestId: `fake-${Date.now().toString(36)}` });
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  if (text === '') return {};
  const parsed: unknown = JSON.parse(text);
  return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
}

function listSagas(state: FakeAdminState, params: URLSearchParams): { sagas: FakeSaga[]; nextCursor?: string } {
  const status = params.get('status');
  const name = params.get('name');
  const limit = Number(params.get('limit') ?? 100);
  const offset = Number(params.get('cursor') ?? 0);
  const matching = state.sagas
    .filter((s) => (!status || s.status === status) && (!name || s.name === name))
    .sort((a, b) => b.createdAt - a.createdAt);
  const page = matching.slice(offset, offset + limit);
  return offset + limit < matching.length ? { sagas: page, nextCursor: String(offset + limit) } : { sagas: page };
}

function traceSummaries(spans: readonly FakeSpan[], service: string | null): Json[] {
  const byTrace = new Map<string, FakeSpan[]>();
  for (const span of spans) byTrace.set(span.traceId, [...(byTrace.get(span.traceId) ?? []), span]);
  const out: { startTimeUs: number; summary: Json }[] = [];
  for (const [traceId, group] of byTrace) {
    const services = [...new Set(group.map((s) => s.service))].sort();
    if (service && !services.includes(service)) continue;
    const root = group.find((s) => s.parentSpanId === null) ?? group[0];
    if (root === undefined) continue;
    out.push({
      startTimeUs: root.startTimeUs,
      summary: {
        traceId,
        name: root.name,
        service: root.service,
        services,
        startTimeUs: root.startTimeUs,
        durationMs: root.durationMs,
        status: root.status.code,
        spanCount: group.length,
        errorCount: group.filter((s) => s.status.code === 'error').length,
      },
    });
  }
  return out.sort((a, b) => b.startTimeUs - a.startTimeUs).map((o) => o.summary);
}

/** Trace and span ids of the canned data, for tests. */
export const fakeIds = {
  /** A trace through gateway, orders and payments, with a failed payments span. */
  orderTrace: '4bf92f3577b34da6a3ce929d0e0e4736',
  /** A trace of the gateway and inventory only. */
  inventoryTrace: '0af7651916cd43dd8448eb211c80319c',
  /** A saga that ran two steps, failed the third and compensated both. */
  compensatedSaga: 'saga-compensated-0001',
  /** A parked saga (retry and abort are allowed). */
  parkedSaga: 'saga-parked-0002',
  /** A completed saga (retry is refused with 409). */
  completedSaga: 'saga-completed-0003',
} as const;

function cannedState(now: number): FakeAdminState {
  const instance = (
    id: string,
    port: number,
    extra: Partial<{ health: string; ejected: boolean; restarts: number; state: string; pid: number }> = {},
  ): Json => ({
    id,
    address: '127.0.0.1',
    port,
    health: extra.health ?? 'passing',
    ejected: extra.ejected ?? false,
    tags: [],
    meta: {},
    pid: extra.pid ?? 40000 + port - 41000,
    restarts: extra.restarts ?? 0,
    state: extra.state ?? 'running',
  });
  const breaker = (name: string, failureRate: number, calls: number): Record<string, Json> => ({
    name,
    state: 'closed',
    calls,
    failures: Math.round(calls * failureRate),
    slowCalls: 0,
    consecutiveFailures: 0,
    failureRate,
    slowCallRate: 0,
    trips: 0,
    probes: { inFlight: 0, successes: 0 },
    isolations: 0,
    totals: { successes: calls, failures: Math.round(calls * failureRate), ignored: 0, rejected: 0 },
  });
  const series = (base: number, errorEvery: number): Json[] =>
    Array.from({ length: 12 }, (_, i) => {
      const requests = base + ((i * 7) % 5) * 3;
      return {
        t: now - (11 - i) * 5000,
        requests,
        errors: i % errorEvery === 0 ? 2 : 0,
        p99Ms: 20 + ((i * 13) % 9) * 4,
      };
    });
  const sagas: FakeSaga[] = [];
  const history = new Map<string, FakeTransition[]>();
  const addSaga = (saga: FakeSaga, transitions: Omit<FakeTransition, 'sagaId' | 'seq'>[]) => {
    sagas.push(saga);
    history.set(
      saga.id,
      transitions.map((t, i) => ({ ...t, sagaId: saga.id, seq: i + 1 })),
    );
  };
  const t0 = now - 120_000;
  const declined = { code: 'SY_SHOP_PAYMENT_DECLINED', message: 'amount 1200 exceeds the limit of 1000' };
  addSaga(
    {
      id: fakeIds.compensatedSaga,
      name: 'place-order',
      status: 'compensated',
      input: { customer: 'ada', total: 1200 },
      outputs: {},
      error: declined,
      meta: { traceparent: `00-${'4bf92f3577b34da6a3ce929d0e0e4736'}-00f067aa0ba902b7-01` },
      createdAt: t0,
      updatedAt: t0 + 420,
      version: 9,
    },
    [
      { kind: 'saga.started', at: t0 },
      { kind: 'step.started', at: t0 + 5, step: 'create-order', attempt: 1 },
      { kind: 'step.done', at: t0 + 40, step: 'create-order' },
      { kind: 'step.started', at: t0 + 45, step: 'reserve-stock', attempt: 1 },
      { kind: 'step.done', at: t0 + 120, step: 'reserve-stock' },
      { kind: 'step.started', at: t0 + 125, step: 'charge-payment', attempt: 1 },
      { kind: 'step.failed', at: t0 + 300, step: 'charge-payment', error: declined },
      { kind: 'saga.compensating', at: t0 + 301, error: declined },
      { kind: 'compensation.started', at: t0 + 305, step: 'reserve-stock', attempt: 1 },
      { kind: 'compensation.done', at: t0 + 360, step: 'reserve-stock' },
      { kind: 'compensation.started', at: t0 + 365, step: 'create-order', attempt: 1 },
      { kind: 'compensation.done', at: t0 + 410, step: 'create-order' },
      { kind: 'saga.compensated', at: t0 + 420 },
    ],
  );
  const t1 = now - 90_000;
  const unavailable = { code: 'SY_GATEWAY_NO_HEALTHY_INSTANCE', message: 'no healthy instance of payments' };
  addSaga(
    {
      id: fakeIds.parkedSaga,
      name: 'place-order',
      status: 'parked',
      input: { customer: 'grace', total: 80 },
      outputs: { 'create-order': { orderId: 'o-2' } },
      error: unavailable,
      parkedDirection: 'forward',
      meta: {},
      createdAt: t1,
      updatedAt: t1 + 900,
      version: 7,
    },
    [
      { kind: 'saga.started', at: t1 },
      { kind: 'step.started', at: t1 + 3, step: 'create-order', attempt: 1 },
      { kind: 'step.done', at: t1 + 30, step: 'create-order' },
      { kind: 'step.started', at: t1 + 35, step: 'charge-payment', attempt: 1 },
      { kind: 'step.failed', at: t1 + 400, step: 'charge-payment', error: unavailable },
      { kind: 'step.started', at: t1 + 500, step: 'charge-payment', attempt: 2 },
      { kind: 'step.failed', at: t1 + 890, step: 'charge-payment', error: unavailable },
      { kind: 'saga.parked', at: t1 + 900, error: unavailable },
    ],
  );
  const t2 = now - 60_000;
  addSaga(
    {
      id: fakeIds.completedSaga,
      name: 'place-order',
      status: 'completed',
      input: { customer: 'lin', total: 49 },
      outputs: { 'create-order': { orderId: 'o-3' } },
      meta: {},
      createdAt: t2,
      updatedAt: t2 + 200,
      version: 8,
    },
    [
      { kind: 'saga.started', at: t2 },
      { kind: 'step.started', at: t2 + 2, step: 'create-order', attempt: 1 },
      { kind: 'step.done', at: t2 + 50, step: 'create-order' },
      { kind: 'step.started', at: t2 + 55, step: 'charge-payment', attempt: 1 },
      { kind: 'step.done', at: t2 + 190, step: 'charge-payment' },
      { kind: 'saga.completed', at: t2 + 200 },
    ],
  );
  addSaga(
    {
      id: 'saga-refund-0004',
      name: 'refund',
      status: 'running',
      input: { orderId: 'o-1' },
      outputs: {},
      meta: {},
      createdAt: now - 5000,
      updatedAt: now - 4000,
      version: 2,
    },
    [
      { kind: 'saga.started', at: now - 5000 },
      { kind: 'step.started', at: now - 4990, step: 'refund-payment', attempt: 1 },
    ],
  );

  const us = (now - 30_000) * 1000;
  const span = (
    traceId: string,
    spanId: string,
    parentSpanId: string | null,
    service: string,
    name: string,
    startOffsetMs: number,
    durationMs: number,
    extra: Partial<Pick<FakeSpan, 'status' | 'attributes' | 'events' | 'kind'>> = {},
  ): FakeSpan => ({
    traceId,
    spanId,
    parentSpanId,
    name,
    kind: extra.kind ?? 'server',
    service,
    scope: `@switchyard/${service}`,
    startTimeUs: us + startOffsetMs * 1000,
    endTimeUs: us + (startOffsetMs + durationMs) * 1000,
    durationMs,
    status: extra.status ?? { code: 'unset' },
    attributes: extra.attributes ?? {},
    events: extra.events ?? [],
    links: [],
  });
  const order = fakeIds.orderTrace;
  const inv = fakeIds.inventoryTrace;
  const spans: FakeSpan[] = [
    span(order, 'a000000000000001', null, 'gateway', 'POST /api/orders', 0, 310, {
      attributes: { 'http.request.method': 'POST', 'url.path': '/api/orders', 'http.response.status_code': 201 },
    }),
    span(order, 'a000000000000002', 'a000000000000001', 'gateway', 'POST', 2, 305, { kind: 'client' }),
    span(order, 'a000000000000003', 'a000000000000002', 'orders', 'POST /', 5, 300, {
      attributes: { 'saga.id': fakeIds.compensatedSaga, note: '<b>not markup</b>' },
    }),
    span(order, 'a000000000000004', 'a000000000000003', 'orders', 'saga step create-order', 8, 32, {
      kind: 'internal',
    }),
    span(order, 'a000000000000005', 'a000000000000003', 'payments', 'POST /charges', 130, 170, {
      status: { code: 'error', message: 'payment declined' },
      attributes: { 'http.response.status_code': 402, 'payment.amount': 1200 },
      events: [
        {
          name: 'exception',
          timeUs: us + 290_000,
          attributes: { 'exception.type': 'SY_SHOP_PAYMENT_DECLINED', 'exception.message': declined.message },
        },
      ],
    }),
    span(inv, 'b000000000000001', null, 'gateway', 'GET /api/inventory', 10_000, 12, {
      attributes: { 'http.request.method': 'GET', 'http.response.status_code': 200 },
    }),
    span(inv, 'b000000000000002', 'b000000000000001', 'inventory', 'GET /items', 10_002, 9),
  ];

  return {
    system: {
      name: 'shop',
      gateway: 'http://127.0.0.1:8080',
      registry: 'http://127.0.0.1:8500',
      startedAt: now - 3_720_000,
      features: { sagas: true, traces: true },
    },
    services: [
      {
        service: 'inventory',
        instances: [
          instance('inventory-1', 41001),
          instance('inventory-2', 41002, { health: 'warning', ejected: true }),
        ],
      },
      { service: 'orders', instances: [instance('orders-1', 41003)] },
      {
        service: 'payments',
        instances: [instance('payments-1', 41004, { health: 'critical', restarts: 3, state: 'restarting' })],
      },
    ],
    breakers: { breakers: [breaker('inventory', 0, 120), breaker('orders', 0.02, 250), breaker('payments', 0.1, 40)] },
    red: [
      {
        route: '/api/orders',
        method: 'POST',
        requests: 180,
        errors: 4,
        errorRate: 0.022,
        rps: 3,
        p50Ms: 18,
        p99Ms: 52,
        series: series(14, 4),
      },
      {
        route: '/api/inventory',
        requests: 600,
        errors: 0,
        errorRate: 0,
        rps: 10,
        p50Ms: 3,
        p99Ms: 9,
        series: series(50, 100),
      },
    ],
    rateLimits: {
      configVersion: 1,
      gateway: [{ limit: 100, window: 1000, key: 'ip', rejections: 12 }],
      routes: [{ route: 'orders', limits: [{ limit: 10, window: 1000, key: 'header:x-customer', rejections: 3 }] }],
      rejections: 15,
    },
    routes: {
      configVersion: 1,
      middleware: ['rateLimit'],
      routes: [
        {
          path: '/api/orders',
          match: 'prefix',
          service: 'orders',
          timeoutMs: 30000,
          balancer: 'round-robin',
          middleware: ['rateLimit'],
        },
        {
          path: '/api/inventory',
          match: 'prefix',
          service: 'inventory',
          timeoutMs: 30000,
          balancer: 'round-robin',
          middleware: [],
        },
        {
          path: '/api/payments',
          match: 'prefix',
          methods: ['POST'],
          service: 'payments',
          timeoutMs: 5000,
          balancer: 'round-robin',
          middleware: [],
        },
      ],
    },
    sagas,
    history,
    spans,
    sagasConfigured: true,
  };
}
