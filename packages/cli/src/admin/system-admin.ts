/**
 * The system admin API of `switchyard up`: the system, its services and instances, the
 * gateway's views, RED per route, sagas, traces, a server-sent event stream of changes, an
 * OTLP/HTTP trace receiver, Prometheus metrics, and the dashboard's static files.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isSwitchyardError, parseDuration } from '@switchyard/core';
import type { AdminHandler } from '@switchyard/gateway';
import { requestIdFor } from '@switchyard/gateway';
import type { SagaOperator, SagaStatus } from '@switchyard/saga';
import { otlpErrorStatus, receiveOtlpTraces, type SpanStore } from '@switchyard/telemetry';
import { cliError } from '../errors.ts';
import type { RedRecorder } from './red-recorder.ts';
import { sendStaticFile, staticFileFor } from './static-files.ts';

/** An instance's health as the registry reports it. */
export type InstanceHealth = 'passing' | 'warning' | 'critical';

/** One instance as a services source reports it. */
export interface SystemInstance {
  readonly id: string;
  readonly address: string;
  readonly port: number;
  readonly health: InstanceHealth;
  readonly tags: readonly string[];
  readonly meta: Readonly<Record<string, string>>;
}

/** One service and its instances. */
export interface SystemService {
  readonly service: string;
  readonly instances: readonly SystemInstance[];
}

/** What a supervisor knows of an instance it runs. */
export interface SupervisedInstance {
  readonly pid?: number | undefined;
  readonly restarts?: number | undefined;
  readonly state?: 'starting' | 'running' | 'restarting' | 'crash-loop' | 'stopped' | undefined;
}

/** The answer of {@link SystemAdminInput.authorize}. */
export type AdminAuthorization =
  | { readonly ok: true }
  | { readonly ok: false; readonly status: 401 | 403; readonly code: string; readonly message: string };

/** Input of {@link startSystemAdmin}. */
export interface SystemAdminInput {
  /** Interface to listen on. */
  readonly host: string;
  /** Port; `0` picks a free one. */
  readonly port: number;
  /** The system's name (`GET /admin/system`). */
  readonly name: string;
  readonly gatewayUrl: string;
  readonly registryUrl: string;
  /** Epoch milliseconds the system started. @default now */
  readonly startedAt?: number;
  /** Lists every service with its instances and health (any registry backend). */
  readonly services: () => readonly SystemService[] | Promise<readonly SystemService[]>;
  /** Per-instance process state from the supervisor, when it runs the instance. */
  readonly supervisor?: (instanceId: string) => SupervisedInstance | undefined;
  /** The gateway's admin endpoints (routes, upstreams, breakers, rate limits, config, metrics). */
  readonly gateway?: AdminHandler;
  /** RED per route; `GET /admin/red` answers `[]` without it. */
  readonly red?: RedRecorder;
  /** Saga operations; without them the saga endpoints answer 404 `SY_CLI_SAGAS_NOT_CONFIGURED`. */
  readonly sagas?: SagaOperator;
  /** Where traces are kept and `POST /v1/traces` adds to. */
  readonly spanStore?: SpanStore;
  /** The dashboard's static files (`dashboardAssetsDir`); none served without it. */
  readonly assetsDir?: string;
  /**
   * Decides whether a request may use the API with `scope` (`read` for GET, `write` for POST).
   * Called before every endpoint except `/healthz` and the static files. Absent: all allowed.
   */
  readonly authorize?: (req: IncomingMessage, scope: 'read' | 'write') => AdminAuthorization;
  /** Receives a line per internal failure (an endpoint or event snapshot that threw). */
  readonly log?: (line: string) => void;
  /** How often the event stream checks for changes. @default 1000 */
  readonly eventsIntervalMs?: number;
  /** How often the event stream sends a `: ping` comment. @default 15000 */
  readonly pingIntervalMs?: number;
  /** Largest accepted `POST /v1/traces` body. @default 4 MiB */
  readonly maxTraceBodyBytes?: number;
}

/** A running system admin API. */
export interface SystemAdmin {
  /** `http://host:port`, with the port actually bound. */
  readonly url: string;
  /** Ends the event streams and closes the listener. Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

interface Answer {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

interface Request {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly requestId: string;
  readonly url: URL;
  /** Parameters from the path (`id`). */
  readonly params: Readonly<Record<string, string>>;
}

type Run = (request: Request) => Answer | 'handled' | Promise<Answer | 'handled'>;

interface Endpoint {
  readonly pattern: RegExp;
  readonly names: readonly string[];
  readonly GET?: Run;
  readonly POST?: Run;
}

const sagaStatuses: readonly SagaStatus[] = [
  'running',
  'compensating',
  'completed',
  'compensated',
  'parked',
  'aborted',
];

/** Largest JSON body the saga actions accept. */
const MAX_ACTION_BODY_BYTES = 64 * 1024;

function httpError(status: number, code: string, message: string, requestId: string): Answer {
  return { status, body: { error: { code, message, requestId }, requestId } };
}

function statusOfCode(code: string): number {
  if (code === 'SY_SAGA_NOT_FOUND') return 404;
  if (code === 'SY_SAGA_NOT_PARKED' || code === 'SY_SAGA_CONFLICT') return 409;
  if (code === 'SY_CONFIG_INVALID') return 400;
  return 500;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_ACTION_BODY_BYTES) {
      throw cliError('SY_CLI_ADMIN_BAD_REQUEST', `the body is larger than ${MAX_ACTION_BODY_BYTES} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw cliError('SY_CLI_ADMIN_BAD_REQUEST', 'the body is not valid JSON; send {"reason": "..."}');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw cliError('SY_CLI_ADMIN_BAD_REQUEST', 'the body must be a JSON object such as {"reason": "..."}');
  }
  return value as Record<string, unknown>;
}

function reasonOf(body: Record<string, unknown>, required: boolean): string | undefined {
  const reason = body.reason;
  if (reason === undefined || reason === null || (typeof reason === 'string' && reason.trim() === '')) {
    if (required) throw cliError('SY_CLI_ADMIN_BAD_REQUEST', 'reason: required; say why the saga is aborted');
    return undefined;
  }
  if (typeof reason !== 'string') throw cliError('SY_CLI_ADMIN_BAD_REQUEST', 'reason: expected a string');
  return reason;
}

function intParam(url: URL, name: string, fallback: number, max: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw cliError(
      'SY_CLI_ADMIN_BAD_REQUEST',
      `${name}: expected an integer from 1 to ${max}, got ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

/**
 * Starts the system admin API described in the CLI's README ("Admin API").
 *
 * @throws SwitchyardError `SY_CLI_ADMIN_LISTEN_FAILED` when the host and port cannot be bound
 * @example
 * ```ts
 * const admin = await startSystemAdmin({
 *   host: '127.0.0.1', port: 9000, name: 'shop', gatewayUrl: gateway.url, registryUrl: registryServer.url,
 *   services: registryServices(registry), gateway: gateway.admin, spanStore: new SpanStore(),
 * });
 * await fetch(`${admin.url}/admin/services`);
 * await admin.close();
 * ```
 */
export async function startSystemAdmin(input: SystemAdminInput): Promise<SystemAdmin> {
  const startedAt = input.startedAt ?? Date.now();
  const log = input.log ?? (() => undefined);
  const { sagas, spanStore, gateway } = input;

  const servicesView = async (): Promise<unknown[]> => {
    const services = await input.services();
    const ejected = new Set<string>();
    if (gateway !== undefined) {
      const { upstreams } = (await gateway.views.upstreams()) as {
        upstreams?: Array<{ instances?: Array<{ id: string; ejected: boolean }> }>;
      };
      for (const upstream of upstreams ?? [])
        for (const instance of upstream.instances ?? []) if (instance.ejected) ejected.add(instance.id);
    }
    return services.map((service) => ({
      service: service.service,
      instances: service.instances.map((instance) => {
        const supervised = input.supervisor?.(instance.id);
        return {
          id: instance.id,
          address: instance.address,
          port: instance.port,
          health: instance.health,
          ejected: ejected.has(instance.id),
          tags: instance.tags,
          meta: instance.meta,
          ...(supervised?.pid === undefined ? {} : { pid: supervised.pid }),
          ...(supervised?.restarts === undefined ? {} : { restarts: supervised.restarts }),
          ...(supervised?.state === undefined ? {} : { state: supervised.state }),
        };
      }),
    }));
  };

  const redView = (windowMs: number) => input.red?.query(windowMs) ?? [];

  const requireSagas = (requestId: string): SagaOperator | Answer =>
    sagas ??
    httpError(
      404,
      'SY_CLI_SAGAS_NOT_CONFIGURED',
      'this system has no saga store: add `sagas: { store: sqlite:sagas.sqlite }` to switchyard.yaml',
      requestId,
    );
  const requireTraces = (requestId: string): SpanStore | Answer =>
    spanStore ??
    httpError(
      404,
      'SY_CLI_TRACES_NOT_CONFIGURED',
      'this system keeps no traces: run it with the admin API on and without telemetry.otlp, or query your collector',
      requestId,
    );

  const fromGateway: Run = async ({ req, res, requestId }) => {
    if (gateway === undefined) return httpError(404, 'SY_CLI_ADMIN_NOT_FOUND', 'this system has no gateway', requestId);
    await gateway.handle(req, res, requestId);
    return 'handled';
  };

  const sagaAction =
    (action: 'retry' | 'abort'): Run =>
    async ({ req, params, requestId }) => {
      const operator = requireSagas(requestId);
      if (!('retry' in operator)) return operator;
      const body = await readJson(req);
      const reason = reasonOf(body, action === 'abort');
      const id = params.id ?? '';
      const saga =
        action === 'retry'
          ? await operator.retry(id, reason === undefined ? {} : { reason })
          : await operator.abort(id, reason === undefined ? {} : { reason });
      events.sagaChanged(saga);
      return { status: 200, body: { saga } };
    };

  const endpoint = (path: string, methods: Omit<Endpoint, 'pattern' | 'names'>): Endpoint => {
    const names: string[] = [];
    const source = path.replace(/:([a-z]+)/g, (_, name: string) => {
      names.push(name);
      return '([^/]+)';
    });
    return { pattern: new RegExp(`^${source}$`), names, ...methods };
  };

  const endpoints: readonly Endpoint[] = [
    endpoint('/admin/system', {
      GET: () => ({
        status: 200,
        body: {
          name: input.name,
          gateway: input.gatewayUrl,
          registry: input.registryUrl,
          startedAt,
          features: { sagas: sagas !== undefined, traces: spanStore !== undefined },
        },
      }),
    }),
    endpoint('/admin/services', { GET: async () => ({ status: 200, body: await servicesView() }) }),
    endpoint('/admin/routes', { GET: fromGateway }),
    endpoint('/admin/upstreams', { GET: fromGateway }),
    endpoint('/admin/breakers', { GET: fromGateway }),
    endpoint('/admin/rate-limits', { GET: fromGateway }),
    endpoint('/admin/config', { GET: fromGateway }),
    endpoint('/metrics', { GET: fromGateway }),
    endpoint('/admin/rollouts', { GET: fromGateway }),
    endpoint('/admin/rollouts/:name', { GET: fromGateway }),
    endpoint('/admin/rollouts/:name/start', { POST: fromGateway }),
    endpoint('/admin/rollouts/:name/promote', { POST: fromGateway }),
    endpoint('/admin/rollouts/:name/abort', { POST: fromGateway }),
    endpoint('/admin/red', {
      GET: ({ url }) => {
        const raw = url.searchParams.get('window') ?? '60s';
        let windowMs: number;
        try {
          windowMs = parseDuration(/^\d+$/.test(raw) ? Number(raw) : raw, 'window');
        } catch {
          throw cliError(
            'SY_CLI_ADMIN_BAD_REQUEST',
            `window: expected a duration such as "60s" or "5m", got ${JSON.stringify(raw)}`,
          );
        }
        return { status: 200, body: redView(windowMs) };
      },
    }),
    endpoint('/admin/sagas', {
      GET: async ({ url, requestId }) => {
        const operator = requireSagas(requestId);
        if (!('list' in operator)) return operator;
        const status = url.searchParams.get('status') || undefined;
        if (status !== undefined && !sagaStatuses.includes(status as SagaStatus)) {
          throw cliError(
            'SY_CLI_ADMIN_BAD_REQUEST',
            `status: expected one of ${sagaStatuses.join(', ')}, got ${JSON.stringify(status)}`,
          );
        }
        const page = await operator.list({
          status: status as SagaStatus | undefined,
          name: url.searchParams.get('name') || undefined,
          limit: intParam(url, 'limit', 50, 1000),
          cursor: url.searchParams.get('cursor') || undefined,
        });
        return { status: 200, body: page };
      },
    }),
    endpoint('/admin/sagas/:id', {
      GET: async ({ params, requestId }) => {
        const operator = requireSagas(requestId);
        if (!('show' in operator)) return operator;
        const found = await operator.show(params.id ?? '');
        if (found === undefined)
          return httpError(404, 'SY_SAGA_NOT_FOUND', `saga ${JSON.stringify(params.id)}: not in the store`, requestId);
        return { status: 200, body: found };
      },
    }),
    endpoint('/admin/sagas/:id/retry', { POST: sagaAction('retry') }),
    endpoint('/admin/sagas/:id/abort', { POST: sagaAction('abort') }),
    endpoint('/admin/traces', {
      GET: ({ url, requestId }) => {
        const store = requireTraces(requestId);
        if (!('recentTraces' in store)) return store;
        const service = url.searchParams.get('service') || undefined;
        return {
          status: 200,
          body: store.recentTraces({ limit: intParam(url, 'limit', 50, 1000), ...(service ? { service } : {}) }),
        };
      },
    }),
    endpoint('/admin/traces/:id', {
      GET: ({ params, requestId }) => {
        const store = requireTraces(requestId);
        if (!('trace' in store)) return store;
        const spans = store.trace(params.id ?? '');
        if (spans.length === 0)
          return httpError(
            404,
            'SY_CLI_ADMIN_NOT_FOUND',
            `trace ${JSON.stringify(params.id)}: not in the span store (unknown, or evicted)`,
            requestId,
          );
        return { status: 200, body: spans };
      },
    }),
    endpoint('/admin/events', {
      GET: ({ req, res }) => {
        events.connect(req, res);
        return 'handled';
      },
    }),
    endpoint('/v1/traces', {
      POST: async ({ req, requestId }) => {
        const store = requireTraces(requestId);
        if (!('addStored' in store)) {
          req.resume();
          return store;
        }
        try {
          const reply = await receiveOtlpTraces(
            req,
            store,
            input.maxTraceBodyBytes === undefined ? {} : { maxBodyBytes: input.maxTraceBodyBytes },
          );
          return { status: 200, body: reply.body, headers: { 'content-type': reply.contentType } };
        } catch (err) {
          if (!isSwitchyardError(err)) throw err;
          const status = otlpErrorStatus(err.code);
          return { ...httpError(status, err.code, err.message, requestId), headers: { connection: 'close' } };
        }
      },
    }),
  ];

  const events = createEventHub({
    intervalMs: input.eventsIntervalMs ?? 1000,
    pingMs: input.pingIntervalMs ?? 15_000,
    log,
    snapshots: {
      services: servicesView,
      ...(gateway === undefined
        ? {}
        : { breakers: () => gateway.views.breakers(), 'rate-limits': () => gateway.views.rateLimits() }),
      red: () => redView(60_000),
    },
    sagas,
    spanStore,
  });

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = requestIdFor(req.headers['x-request-id']);
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://admin.invalid');
    } catch {
      return send(
        req,
        res,
        httpError(400, 'SY_CLI_ADMIN_BAD_REQUEST', 'malformed request target', requestId),
        requestId,
      );
    }
    const path = url.pathname;
    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
    if (path === '/healthz') {
      if (method !== 'GET') return send(req, res, notAllowed(path, 'GET', requestId), requestId);
      return send(req, res, { status: 200, body: { status: 'ok' } }, requestId);
    }
    let found: Endpoint | undefined;
    let match: RegExpExecArray | null = null;
    for (const candidate of endpoints) {
      match = candidate.pattern.exec(path);
      if (match !== null) {
        found = candidate;
        break;
      }
    }
    if (found === undefined) {
      if (method === 'GET' && input.assetsDir !== undefined && !path.startsWith('/admin/')) {
        const file = await staticFileFor(input.assetsDir, path);
        if (file !== undefined) {
          req.resume();
          await sendStaticFile(file, res, req.method === 'HEAD');
          return;
        }
      }
      return send(
        req,
        res,
        httpError(404, 'SY_CLI_ADMIN_NOT_FOUND', `no admin endpoint or file at ${path}`, requestId),
        requestId,
      );
    }
    const run = method === 'GET' ? found.GET : method === 'POST' ? found.POST : undefined;
    if (run === undefined) {
      const allow = found.GET !== undefined ? 'GET, HEAD' : 'POST';
      return send(req, res, notAllowed(path, allow, requestId), requestId);
    }
    const verdict = input.authorize?.(req, method === 'GET' ? 'read' : 'write') ?? { ok: true };
    if (!verdict.ok) {
      return send(
        req,
        res,
        {
          ...httpError(verdict.status, verdict.code, verdict.message, requestId),
          ...(verdict.status === 401 ? { headers: { 'www-authenticate': 'Bearer realm="switchyard-admin"' } } : {}),
        },
        requestId,
      );
    }
    const params: Record<string, string> = {};
    found.names.forEach((name, i) => {
      params[name] = decodeURIComponent(match?.[i + 1] ?? '');
    });
    let result: Answer | 'handled';
    try {
      result = await run({ req, res, requestId, url, params });
    } catch (err) {
      if (isSwitchyardError(err)) {
        const status = err.code === 'SY_CLI_ADMIN_BAD_REQUEST' ? 400 : statusOfCode(err.code);
        if (status === 500) log(`admin: ${req.method} ${path} failed: ${err.code} ${err.message}`);
        result = httpError(status, err.code, err.message, requestId);
      } else {
        log(`admin: ${req.method} ${path} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        result = httpError(
          500,
          'SY_CLI_ADMIN_INTERNAL',
          'internal admin API error (see the log of switchyard up)',
          requestId,
        );
      }
    }
    if (result === 'handled') return;
    send(req, res, result, requestId);
  }

  const server = createServer((req, res) => {
    answer(req, res).catch((err: unknown) => {
      log(`admin: failed to answer ${req.url}: ${err instanceof Error ? err.message : String(err)}`);
      res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(
        cliError('SY_CLI_ADMIN_LISTEN_FAILED', `admin: cannot listen on ${input.host}:${input.port}: ${err.message}`, {
          cause: err,
          details: { host: input.host, port: input.port },
        }),
      ),
    );
    server.listen(input.port, input.host, () => resolve());
  });
  server.on('error', (err) => log(`admin: server error: ${err.message}`));
  const { port } = server.address() as AddressInfo;
  const url = `http://${input.host.includes(':') ? `[${input.host}]` : input.host}:${port}`;
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      events.close();
      await closeServer(server);
    })();
    return closing;
  };
  return { url, close, [Symbol.asyncDispose]: close };
}

function notAllowed(path: string, allow: string, requestId: string): Answer {
  return {
    ...httpError(405, 'SY_CLI_ADMIN_METHOD_NOT_ALLOWED', `method not allowed on ${path}; use ${allow}`, requestId),
    headers: { allow },
  };
}

function send(req: IncomingMessage, res: ServerResponse, answer: Answer, requestId: string): void {
  // The endpoints that take a body read it; any other body is discarded.
  req.resume();
  const isBuffer = Buffer.isBuffer(answer.body);
  const body = isBuffer ? (answer.body as Buffer) : Buffer.from(JSON.stringify(answer.body, null, 2));
  res.writeHead(answer.status, {
    'content-type': 'application/json',
    ...answer.headers,
    'content-length': body.length,
    'cache-control': 'no-store',
    'x-request-id': requestId,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

interface EventHubInput {
  readonly intervalMs: number;
  readonly pingMs: number;
  readonly log: (line: string) => void;
  /** Event name -> the document whose changes are streamed. */
  readonly snapshots: Readonly<Record<string, () => unknown>>;
  readonly sagas: SagaOperator | undefined;
  readonly spanStore: SpanStore | undefined;
}

interface EventHub {
  connect(req: IncomingMessage, res: ServerResponse): void;
  /** Streams a saga an admin action changed at once, without waiting for the next check. */
  sagaChanged(saga: { readonly id: string; readonly version: number }): void;
  close(): void;
}

/**
 * The `GET /admin/events` stream. One checker runs while at least one client is connected: it
 * recomputes each snapshot every interval and sends those that changed; sagas and traces are
 * diffed by id (and saga version) and sent one by one.
 */
function createEventHub(input: EventHubInput): EventHub {
  const clients = new Set<ServerResponse>();
  const last = new Map<string, string>();
  let sagaVersions: Map<string, number> | undefined;
  let seenTraces: Set<string> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let ping: NodeJS.Timeout | undefined;
  let checking = false;

  const write = (to: Iterable<ServerResponse>, event: string, data: unknown) => {
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const res of to) res.write(frame);
  };

  const snapshot = async (name: string): Promise<string | undefined> => {
    try {
      return JSON.stringify(await input.snapshots[name]?.());
    } catch (err) {
      input.log(`admin: events: ${name} snapshot failed: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }
  };

  const checkSagas = async () => {
    if (input.sagas === undefined) return;
    const { sagas } = await input.sagas.list({ limit: 100 });
    const previous = sagaVersions;
    sagaVersions = new Map(sagas.map((s) => [s.id, s.version]));
    if (previous === undefined) return;
    for (const saga of [...sagas].reverse()) if (previous.get(saga.id) !== saga.version) write(clients, 'saga', saga);
  };

  const checkTraces = () => {
    if (input.spanStore === undefined) return;
    const traces = input.spanStore.recentTraces({ limit: 50 });
    const previous = seenTraces;
    seenTraces = new Set([...(previous ?? []), ...traces.map((t) => t.traceId)]);
    if (seenTraces.size > 5000) seenTraces = new Set(traces.map((t) => t.traceId));
    if (previous === undefined) return;
    for (const trace of [...traces].reverse()) if (!previous.has(trace.traceId)) write(clients, 'trace', trace);
  };

  const check = async () => {
    if (checking) return;
    checking = true;
    try {
      for (const name of Object.keys(input.snapshots)) {
        const text = await snapshot(name);
        if (text === undefined || last.get(name) === text) continue;
        last.set(name, text);
        const frame = `event: ${name}\ndata: ${text}\n\n`;
        for (const res of clients) res.write(frame);
      }
      await checkSagas().catch((err: unknown) =>
        input.log(`admin: events: sagas check failed: ${err instanceof Error ? err.message : String(err)}`),
      );
      checkTraces();
    } finally {
      checking = false;
    }
  };

  const stop = () => {
    clearInterval(timer);
    clearInterval(ping);
    timer = undefined;
    ping = undefined;
    last.clear();
    sagaVersions = undefined;
    seenTraces = undefined;
  };

  return {
    connect(req, res) {
      req.resume();
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.write(': connected\n\n');
      const first = clients.size === 0;
      clients.add(res);
      res.on('close', () => {
        clients.delete(res);
        if (clients.size === 0) stop();
      });
      // The snapshot at connect: the current documents, to this client only.
      void (async () => {
        for (const name of Object.keys(input.snapshots)) {
          const text = await snapshot(name);
          if (text === undefined || res.destroyed) continue;
          if (first || !last.has(name)) last.set(name, text);
          res.write(`event: ${name}\ndata: ${text}\n\n`);
        }
        if (first) {
          await checkSagas().catch(() => undefined);
          checkTraces();
        }
      })();
      if (timer === undefined) {
        timer = setInterval(() => void check(), input.intervalMs);
        timer.unref();
        ping = setInterval(() => {
          for (const client of clients) client.write(': ping\n\n');
        }, input.pingMs);
        ping.unref();
      }
    },
    sagaChanged(saga) {
      sagaVersions?.set(saga.id, saga.version);
      if (clients.size > 0) write(clients, 'saga', saga);
    },
    close() {
      stop();
      for (const res of clients) res.end();
      clients.clear();
    },
  };
}
