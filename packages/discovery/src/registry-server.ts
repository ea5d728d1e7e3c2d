/**
 * Serves a {@link Registry} over the subset of Consul's HTTP API that service registration and
 * discovery use, so the `consul` npm client, Consul-aware tools and Switchyard's own clients work
 * against the embedded registry unchanged. Field names, status codes, error texts and blocking
 * queries follow Consul (https://developer.hashicorp.com/consul/api-docs/features/blocking).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HealthStatus, isSwitchyardError, parseGoDuration } from '@switchyard/core';
import { discoveryError } from './errors.ts';
import { compileFilter, type Filter, FilterTarget } from './filter.ts';
import { type RegistryOptions, resolveRegistryOptions } from './options.ts';
import type { Registry } from './registry.ts';
import {
  createRegistryAcl,
  type RegistryAclDecision,
  type RegistryAuthRefusal,
  RegistryPolicy,
} from './registry-acl.ts';
import type { CatalogService, CheckRegistration, HealthCheck, HealthServiceEntry } from './types.ts';

/** Options for {@link createRegistryServer}: the registry to serve plus its host and port. */
export interface RegistryServerOptions extends RegistryOptions {
  /** The registry to serve; the server does not close it. */
  readonly registry: Registry;
  /** Largest request body accepted; larger ones get 413. @default 1048576 (1 MiB) */
  readonly maxBodyBytes?: number;
  /** Source of randomness for blocking-query jitter, for tests. @default Math.random */
  readonly random?: () => number;
  /**
   * Called with the reason of every request the ACL refuses (with a 403), for metrics:
   * `switchyard up` counts them in `switchyard_registry_auth_refused_total{reason}`. Called
   * synchronously before the answer is sent; a throw becomes a process warning.
   */
  readonly onAuthRefused?: (reason: RegistryAuthRefusal) => void;
}

/** A listening registry server. */
export interface RegistryServer extends AsyncDisposable {
  /** Base URL, e.g. `http://127.0.0.1:8500` (a wildcard host is reported as loopback). */
  readonly url: string;
  /** The bound port (useful with `port: 0`). */
  readonly port: number;
  /** Stops listening, answers pending blocking queries at once and closes connections; idempotent. */
  close(): Promise<void>;
}

/** Abort reason for a client that went away; shared, since nobody reads it but the waiting code. */
const clientGone = Object.freeze(new Error('the client closed the connection'));

/** Consul's default and maximum blocking wait. */
const defaultWaitMs = 5 * 60_000;
const maxWaitMs = 10 * 60_000;
const defaultMaxBodyBytes = 1024 * 1024;
/** How long close() lets in-flight responses finish before destroying their sockets. */
const closeGraceMs = 1000;

type RouteHandler = (request: RequestContext) => Promise<void> | void;

interface Route {
  readonly pattern: RegExp;
  readonly methods: Readonly<Record<string, RouteHandler>>;
}

interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  /** Decoded path parameter (service name, service ID or check ID), when the route has one. */
  readonly param: string;
  /** Aborts when the client goes away or the server closes. */
  readonly signal: AbortSignal;
}

/** A client error answered with 400 and a plain-text body, as Consul does. */
class BadRequest extends Error {
  readonly status: number;
  constructor(message: string, status = 400) {
    super(message);
    this.status = status;
  }
}

/**
 * Starts an HTTP server exposing `registry` with Consul's API:
 *
 * - `PUT /v1/agent/service/register`, `PUT /v1/agent/service/deregister/:id`,
 *   `GET /v1/agent/services`, `GET /v1/agent/service/:id`, `GET /v1/agent/checks`,
 *   `PUT /v1/agent/check/register`, `PUT /v1/agent/check/deregister/:id`,
 *   `PUT /v1/agent/check/{pass,warn,fail}/:id?note=`, `PUT /v1/agent/check/update/:id`
 * - `GET /v1/catalog/services`, `GET /v1/catalog/service/:name?tag=&filter=`
 * - `GET /v1/health/service/:name?passing&tag=&filter=`, `GET /v1/health/checks/:name`,
 *   `GET /v1/health/state/:state` (`passing`, `warning`, `critical`, `any`)
 * - `GET /v1/status/leader`, `GET /v1/status/peers`
 *
 * List endpoints take `?filter=` in Consul's filter language (see {@link compileFilter}); a
 * malformed expression is answered 400 with its position. Every GET is a blocking query: with `?index=N` it waits until the data's index passes N or
 * `wait` (default 5m, at most 10m, plus up to wait/16 of jitter) runs out.
 *
 * With `acl`, every endpoint but `/v1/status/*` needs a token (see {@link createRegistryAcl}); a
 * refusal is a 403 with `{ "error": { code, message } }` (`SY_DISCOVERY_ACL_NOT_FOUND`,
 * `SY_DISCOVERY_ACL_PERMISSION_DENIED`) and is reported to `onAuthRefused`.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` for a bad host or port, `SY_DISCOVERY_LISTEN_FAILED`
 *   when the port cannot be bound
 * @example
 * ```ts
 * import { createRegistry, createRegistryServer } from '@switchyard/discovery';
 *
 * const registry = createRegistry();
 * const server = await createRegistryServer({ registry, port: 0 });
 * const res = await fetch(`${server.url}/v1/catalog/services`);
 * console.log(await res.json()); // {}
 * await server.close();
 * await registry.close();
 * ```
 */
export async function createRegistryServer(options: RegistryServerOptions): Promise<RegistryServer> {
  const { registry } = options;
  const config = resolveRegistryOptions({
    ...(options.host === undefined ? {} : { host: options.host }),
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.acl === undefined ? {} : { acl: options.acl }),
  });
  const acl = config.acl === undefined ? undefined : createRegistryAcl(config.acl);
  const maxBodyBytes = options.maxBodyBytes ?? defaultMaxBodyBytes;
  const random = options.random ?? Math.random;
  const closing = new AbortController();
  const leader = `${registry.node.Address}:8300`;
  const serfHealth: HealthCheck = Object.freeze({
    Node: registry.node.Node,
    CheckID: 'serfHealth',
    Name: 'Serf Health Status',
    Status: HealthStatus.Passing,
    Notes: '',
    Output: 'Agent alive and reachable',
    ServiceID: '',
    ServiceName: '',
    ServiceTags: Object.freeze([]),
    Type: '',
    Interval: '',
    Timeout: '',
    Definition: Object.freeze({}),
    CreateIndex: 1,
    ModifyIndex: 1,
  });

  /**
   * Waits while `indexOf()` is at most the requested index, then answers with `render()` and
   * `indexOf()` as `X-Consul-Index`. Per-service indexes mean a change to another service does not
   * wake a watcher of this one.
   */
  async function read(ctx: RequestContext, indexOf: () => number, render: () => unknown): Promise<void> {
    const { minIndex, waitMs } = blockingParams(ctx.url);
    // An index above anything this registry has issued comes from an earlier registry (a restart):
    // answer at once so the client sees the index go backwards and starts over, as Consul clients do.
    if (minIndex > 0 && indexOf() <= minIndex && minIndex <= registry.index) {
      const jittered = waitMs + random() * (waitMs / 16);
      const started = performance.now();
      try {
        while (!registry.closed && !ctx.signal.aborted && indexOf() <= minIndex) {
          const remaining = jittered - (performance.now() - started);
          if (remaining <= 0) break;
          await registry.waitForChange(registry.index, remaining, ctx.signal);
        }
      } catch (err) {
        if (!isSwitchyardError(err, 'SY_CANCELLED')) throw err;
      }
      // A client that went away needs no answer; a closing server still answers with current data.
      if (ctx.res.destroyed) return;
    }
    sendJson(ctx, 200, renderShared(ctx.url, render), Math.max(1, indexOf()));
  }

  /**
   * One change wakes every watcher of a service in the same turn of the event loop; they ask the
   * same question, so the JSON is built once and shared. Entries are keyed by the registry index
   * and the query (less `index` and `wait`) and live only until the turn ends, so an answer is
   * never older than the registry state of the turn it was built in.
   */
  const rendered = new Map<string, string>();
  let clearScheduled = false;
  function renderShared(url: URL, render: () => unknown): string {
    let key = `${registry.index} ${url.pathname}`;
    for (const [name, value] of url.searchParams) {
      if (name !== 'index' && name !== 'wait') key += `&${name}=${value}`;
    }
    let text = rendered.get(key);
    if (text === undefined) {
      text = JSON.stringify(render(), null, url.searchParams.has('pretty') ? 4 : undefined);
      rendered.set(key, text);
      if (!clearScheduled) {
        clearScheduled = true;
        setImmediate(() => {
          clearScheduled = false;
          rendered.clear();
        });
      }
    }
    return text;
  }

  function checkDatacenter(url: URL): void {
    const dc = url.searchParams.get('dc');
    if (dc !== null && dc !== '' && dc !== registry.node.Datacenter) {
      throw new BadRequest('No path to datacenter', 500);
    }
  }

  /** Compiles `?filter=` before any waiting, so a bad expression is answered 400 at once. */
  function filterOf(url: URL, target: FilterTarget): Filter | undefined {
    const expression = url.searchParams.get('filter');
    if (expression === null || expression === '') return undefined;
    try {
      return compileFilter(expression, target);
    } catch (err) {
      if (isSwitchyardError(err, 'SY_DISCOVERY_INVALID_FILTER')) throw new BadRequest(err.message);
      throw err;
    }
  }

  function applyFilter<T>(list: readonly T[], filter: Filter | undefined): T[] {
    return filter === undefined ? [...list] : list.filter((entry) => filter.matches(entry));
  }

  function tagsOf(url: URL): string[] {
    return url.searchParams.getAll('tag').filter((tag) => tag !== '');
  }

  function toCatalogService(service: HealthServiceEntry['Service']): CatalogService {
    const node = registry.node;
    return {
      ID: node.ID,
      Node: node.Node,
      Address: node.Address,
      Datacenter: node.Datacenter,
      TaggedAddresses: node.TaggedAddresses,
      NodeMeta: node.Meta,
      ServiceID: service.ID,
      ServiceName: service.Service,
      ServiceTags: service.Tags,
      ServiceAddress: service.Address,
      ServicePort: service.Port,
      ServiceMeta: service.Meta,
      ServiceWeights: service.Weights,
      CreateIndex: service.CreateIndex,
      ModifyIndex: service.ModifyIndex,
    };
  }

  async function setTtl(ctx: RequestContext, status: HealthStatus, note: string): Promise<void> {
    try {
      registry.updateTtl(ctx.param, status, note);
    } catch (err) {
      if (isSwitchyardError(err, 'SY_DISCOVERY_CHECK_NOT_FOUND')) throw new BadRequest(err.message, 404);
      if (isSwitchyardError(err, 'SY_DISCOVERY_CHECK_NOT_TTL')) throw new BadRequest(err.message);
      throw err;
    }
    sendEmpty(ctx.res);
  }

  const routes: readonly Route[] = [
    {
      pattern: /^\/v1\/agent\/service\/register$/,
      methods: {
        PUT: async (ctx) => {
          const body = await readJson(ctx.req, maxBodyBytes);
          try {
            registry.register(body as Parameters<Registry['register']>[0]);
          } catch (err) {
            if (isSwitchyardError(err, 'SY_DISCOVERY_INVALID_REGISTRATION')) throw new BadRequest(err.message);
            throw err;
          }
          sendEmpty(ctx.res);
        },
      },
    },
    {
      pattern: /^\/v1\/agent\/service\/deregister\/(.+)$/,
      methods: {
        PUT: (ctx) => {
          if (!registry.deregister(ctx.param)) {
            throw new BadRequest(
              `Unknown service ID ${JSON.stringify(ctx.param)}. Ensure that the service ID is passed, not the service name.`,
              404,
            );
          }
          sendEmpty(ctx.res);
        },
      },
    },
    {
      pattern: /^\/v1\/agent\/services$/,
      methods: {
        GET: (ctx) => {
          const filter = filterOf(ctx.url, FilterTarget.AgentService);
          return read(
            ctx,
            () => registry.index,
            () => {
              const out: Record<string, unknown> = {};
              for (const service of registry.services()) {
                const entry = { ...service, Datacenter: registry.node.Datacenter };
                if (filter === undefined || filter.matches(entry)) out[service.ID] = entry;
              }
              return out;
            },
          );
        },
      },
    },
    {
      pattern: /^\/v1\/agent\/service\/(.+)$/,
      methods: {
        GET: (ctx) => {
          if (registry.service(ctx.param) === undefined) {
            throw new BadRequest(`unknown service ID: ${ctx.param}`, 404);
          }
          return read(
            ctx,
            () => registry.index,
            () => {
              const service = registry.service(ctx.param);
              return service === undefined ? null : { ...service, Datacenter: registry.node.Datacenter };
            },
          );
        },
      },
    },
    {
      pattern: /^\/v1\/agent\/checks$/,
      methods: {
        GET: (ctx) => {
          const filter = filterOf(ctx.url, FilterTarget.HealthCheck);
          return read(
            ctx,
            () => registry.index,
            () => Object.fromEntries(applyFilter(registry.checks(), filter).map((check) => [check.CheckID, check])),
          );
        },
      },
    },
    {
      pattern: /^\/v1\/agent\/check\/register$/,
      methods: {
        PUT: async (ctx) => {
          const body = await readJson(ctx.req, maxBodyBytes);
          try {
            registry.registerCheck(body as CheckRegistration);
          } catch (err) {
            if (isSwitchyardError(err, 'SY_DISCOVERY_INVALID_REGISTRATION')) throw new BadRequest(err.message);
            throw err;
          }
          sendEmpty(ctx.res);
        },
      },
    },
    {
      pattern: /^\/v1\/agent\/check\/deregister\/(.+)$/,
      methods: {
        PUT: (ctx) => {
          if (!registry.deregisterCheck(ctx.param)) {
            throw new BadRequest(
              `Unknown check ID ${JSON.stringify(ctx.param)}. Ensure that the check ID is passed, not the check name.`,
              404,
            );
          }
          sendEmpty(ctx.res);
        },
      },
    },
    {
      pattern: /^\/v1\/agent\/check\/(pass|warn|fail)\/(.+)$/,
      methods: {
        PUT: (ctx) => {
          const verb = /^\/v1\/agent\/check\/(pass|warn|fail)\//.exec(ctx.url.pathname)?.[1];
          const status =
            verb === 'pass' ? HealthStatus.Passing : verb === 'warn' ? HealthStatus.Warning : HealthStatus.Critical;
          return setTtl(ctx, status, ctx.url.searchParams.get('note') ?? '');
        },
      },
    },
    {
      pattern: /^\/v1\/agent\/check\/update\/(.+)$/,
      methods: {
        PUT: async (ctx) => {
          const body = (await readJson(ctx.req, maxBodyBytes)) as Record<string, unknown>;
          const status = body.Status ?? body.status;
          if (status !== HealthStatus.Passing && status !== HealthStatus.Warning && status !== HealthStatus.Critical) {
            throw new BadRequest(`Invalid check status: ${JSON.stringify(status ?? '')}`);
          }
          const output = body.Output ?? body.output ?? '';
          return setTtl(ctx, status, typeof output === 'string' ? output : String(output));
        },
      },
    },
    {
      pattern: /^\/v1\/catalog\/services$/,
      methods: {
        GET: (ctx) => {
          checkDatacenter(ctx.url);
          return read(
            ctx,
            () => registry.index,
            () => registry.serviceNames(),
          );
        },
      },
    },
    {
      pattern: /^\/v1\/catalog\/service\/(.*)$/,
      methods: {
        GET: (ctx) => {
          checkDatacenter(ctx.url);
          if (ctx.param === '') throw new BadRequest('Missing service name');
          const tags = tagsOf(ctx.url);
          const filter = filterOf(ctx.url, FilterTarget.CatalogService);
          return read(
            ctx,
            () => registry.serviceIndex(ctx.param),
            () =>
              applyFilter(
                registry.instances(ctx.param, { tags }).map((entry) => toCatalogService(entry.Service)),
                filter,
              ),
          );
        },
      },
    },
    {
      pattern: /^\/v1\/health\/service\/(.*)$/,
      methods: {
        GET: (ctx) => {
          checkDatacenter(ctx.url);
          if (ctx.param === '') throw new BadRequest('Missing service name');
          const passing = parsePassing(ctx.url);
          const tags = tagsOf(ctx.url);
          const filter = filterOf(ctx.url, FilterTarget.HealthService);
          return read(
            ctx,
            () => registry.serviceIndex(ctx.param),
            (): HealthServiceEntry[] =>
              applyFilter(
                registry.instances(ctx.param, { passing, tags }).map((entry) => ({
                  Node: registry.node,
                  Service: entry.Service,
                  Checks: [serfHealth, ...entry.Checks],
                })),
                filter,
              ),
          );
        },
      },
    },
    {
      pattern: /^\/v1\/health\/checks\/(.*)$/,
      methods: {
        GET: (ctx) => {
          checkDatacenter(ctx.url);
          if (ctx.param === '') throw new BadRequest('Missing service name');
          const filter = filterOf(ctx.url, FilterTarget.HealthCheck);
          return read(
            ctx,
            () => registry.serviceIndex(ctx.param),
            () => applyFilter(registry.serviceChecks(ctx.param), filter),
          );
        },
      },
    },
    {
      pattern: /^\/v1\/health\/state\/(.*)$/,
      methods: {
        GET: (ctx) => {
          checkDatacenter(ctx.url);
          const state = ctx.param;
          if (
            state !== 'any' &&
            state !== HealthStatus.Passing &&
            state !== HealthStatus.Warning &&
            state !== HealthStatus.Critical
          ) {
            throw new BadRequest(
              `Invalid check state ${JSON.stringify(state)}: expected passing, warning, critical or any`,
            );
          }
          const filter = filterOf(ctx.url, FilterTarget.HealthCheck);
          return read(
            ctx,
            () => registry.index,
            () =>
              applyFilter(
                [serfHealth, ...registry.checks()].filter((check) => state === 'any' || check.Status === state),
                filter,
              ),
          );
        },
      },
    },
    {
      pattern: /^\/v1\/status\/leader$/,
      methods: {
        GET: (ctx) =>
          read(
            ctx,
            () => 1,
            () => leader,
          ),
      },
    },
    {
      pattern: /^\/v1\/status\/peers$/,
      methods: {
        GET: (ctx) =>
          read(
            ctx,
            () => 1,
            () => [leader],
          ),
      },
    },
  ];

  const inFlight = new Set<ServerResponse>();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    inFlight.add(res);
    // Signals are made only for requests that block: a fan-out wakes hundreds of watchers at once,
    // and an abort() per finished response (a DOMException each) showed up in its profile.
    let requestAbort: AbortController | undefined;
    let signal: AbortSignal | undefined;
    res.once('close', () => {
      inFlight.delete(res);
      if (!res.writableFinished) requestAbort?.abort(clientGone);
    });
    try {
      const url = new URL(req.url ?? '/', 'http://registry.invalid');
      const route = routes.find((r) => r.pattern.test(url.pathname));
      if (route === undefined) throw new BadRequest('404 page not found', 404);
      const handler = route.methods[req.method ?? 'GET'];
      // Consul's status endpoints need no token; everything else reads or writes services.
      if (acl !== undefined && !url.pathname.startsWith('/v1/status/')) {
        const decision = acl.check(req, url, req.method === 'GET' ? RegistryPolicy.Read : RegistryPolicy.Write);
        if (!decision.ok) {
          if (options.onAuthRefused !== undefined) {
            try {
              options.onAuthRefused(decision.reason);
            } catch (err) {
              process.emitWarning(err instanceof Error ? err : String(err), 'SwitchyardDiscoveryWarning');
            }
          }
          sendAclRefusal(res, decision);
          return;
        }
      }
      if (handler === undefined) {
        const allowed = Object.keys(route.methods).join(', ');
        res.setHeader('allow', allowed);
        throw new BadRequest(`method ${req.method} not allowed`, 405);
      }
      const match = route.pattern.exec(url.pathname);
      const raw = match?.[match.length - 1] ?? '';
      let param: string;
      try {
        param = decodeURIComponent(raw);
      } catch {
        throw new BadRequest(`Invalid URL path encoding: ${raw}`);
      }
      await handler({
        req,
        res,
        url,
        param,
        get signal() {
          if (signal === undefined) {
            requestAbort = new AbortController();
            if (res.destroyed) requestAbort.abort(clientGone);
            signal = AbortSignal.any([closing.signal, requestAbort.signal]);
          }
          return signal;
        },
      });
    } catch (err) {
      if (res.headersSent || res.destroyed) {
        res.destroy();
        return;
      }
      if (err instanceof BadRequest) {
        // After a 413 the rest of the body is unread; do not reuse the connection.
        if (err.status === 413) res.setHeader('connection', 'close');
        sendText(res, err.status, err.message);
      } else {
        sendText(res, 500, `Internal error: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(
        discoveryError(
          'SY_DISCOVERY_LISTEN_FAILED',
          `registry server could not listen on ${config.host}:${config.port}: ${err.code ?? err.message}`,
          { cause: err, details: { host: config.host, port: config.port } },
        ),
      );
    };
    server.once('error', onError);
    server.listen({ host: config.host, port: config.port }, () => {
      server.off('error', onError);
      resolve();
    });
  });

  const port = (server.address() as AddressInfo).port;
  const url = `http://${urlHost(config.host)}:${port}`;
  let closed: Promise<void> | undefined;

  const close = (): Promise<void> => {
    closed ??= (async () => {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      closing.abort(discoveryError('SY_DISCOVERY_CLOSED', 'the registry server is closing'));
      server.closeIdleConnections();
      // Pending blocking queries answer at once; give them a moment to flush, then cut every socket.
      const deadline = performance.now() + closeGraceMs;
      while (inFlight.size > 0 && performance.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      server.closeAllConnections();
      await stopped;
    })();
    return closed;
  };

  return { url, port, close, [Symbol.asyncDispose]: close };
}

function blockingParams(url: URL): { minIndex: number; waitMs: number } {
  const rawIndex = url.searchParams.get('index');
  let minIndex = 0;
  if (rawIndex !== null && rawIndex !== '') {
    if (!/^\d+$/.test(rawIndex)) throw new BadRequest('Invalid index');
    minIndex = Number(rawIndex);
  }
  const rawWait = url.searchParams.get('wait');
  let waitMs = defaultWaitMs;
  if (rawWait !== null && rawWait !== '') {
    const parsed = parseGoDuration(rawWait);
    if (parsed === undefined) throw new BadRequest('Invalid wait time');
    waitMs = Math.min(maxWaitMs, parsed);
  }
  return { minIndex, waitMs };
}

/** `?passing`, `?passing=true|1` filter; `?passing=false|0` does not; anything else is an error (Consul). */
function parsePassing(url: URL): boolean {
  const value = url.searchParams.get('passing');
  if (value === null) return false;
  if (value === '' || /^(1|t|true)$/i.test(value)) return true;
  if (/^(0|f|false)$/i.test(value)) return false;
  throw new BadRequest('Invalid value for ?passing');
}

function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

function sendJson(ctx: RequestContext, status: number, text: string, index: number): void {
  ctx.res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-consul-index': String(index),
    'x-consul-knownleader': 'true',
    'x-consul-lastcontact': '0',
  });
  ctx.res.end(text);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  const body = `${text}\n`;
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** A 403 with `{ "error": { code, message } }`: the refusal shape the gateway and admin APIs use too. */
function sendAclRefusal(res: ServerResponse, decision: Extract<RegistryAclDecision, { ok: false }>): void {
  const body = JSON.stringify({ error: { code: decision.code, message: decision.message } });
  res.writeHead(403, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

function sendEmpty(res: ServerResponse): void {
  res.writeHead(200, { 'content-length': 0 });
  res.end();
}

async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const text = (await readBody(req, limit)).toString('utf8');
  if (text.trim() === '') throw new BadRequest('Request decode failed: empty body, expected a JSON object');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new BadRequest(`Request decode failed: malformed JSON: ${(err as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BadRequest('Request decode failed: expected a JSON object');
  }
  return body;
}

/**
 * Collects the body up to `limit` bytes. Past the limit it stops buffering but keeps draining, so
 * the 413 answer reaches the client instead of a reset (the connection closes after it).
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      reject(tooLarge(limit));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.off('end', onEnd);
        req.resume();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => resolve(Buffer.concat(chunks));
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', reject);
  });
}

function tooLarge(limit: number): BadRequest {
  return new BadRequest(`Request body too large: the limit is ${limit} bytes`, 413);
}
