import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatDuration, HealthStatus, invalidConfig, type WorkloadIdentitySource } from '@switchyard/core';
import type { Disposable } from '@switchyard/resilience';
import { metricsHandler } from '@switchyard/telemetry';
import { admitRequest } from './deadline.ts';
import { serviceError } from './errors.ts';
import {
  buildRegistration,
  keepRegistered,
  type LostEvent,
  type RegisteredEvent,
  type RegistrationClient,
  type RegistrationKeeper,
  registryUrlClient,
  type ServiceLogger,
  stderrLogger,
} from './keep-registered.ts';
import { createMtlsServer, resolveServiceMtlsOptions, type ServiceMtlsOptions } from './mtls.ts';
import { type FileIdentity, serviceMtlsFromEnv } from './mtls-files.ts';
import { consulCompatibleRegistry, type ResolvedServiceOptions, resolveServiceOptions } from './options.ts';
import { instrumentRequests, type RouteOf } from './request-telemetry.ts';
import {
  exposableGlobalMetrics,
  type OwnTelemetry,
  type ServiceTelemetryOptions,
  setupServiceTelemetry,
} from './service-telemetry.ts';
import { drainServer, onShutdownSignal } from './shutdown.ts';

/** A plain Node request handler; frameworks expose one (`app.routing`, `fastify.routing`, ...). */
export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** Options for {@link startService}. Anything not given is read from the environment. */
export interface StartServiceOptions {
  /** Service name in the registry (`orders`). */
  name: string;
  /**
   * Handles every request except `GET <healthPath>`. A request whose `switchyard-timeout-ms`
   * budget is spent is answered 504 (malformed: 400) without reaching it; `requestSignal(req)`
   * gives the others' signal, carrying the caller's deadline.
   */
  handler: RequestHandler;
  /** Instance id. @default env `SWITCHYARD_INSTANCE_ID`, else `<name>-<pid>` */
  id?: string;
  /** Interface to listen on. @default env `SWITCHYARD_HOST`, else `"127.0.0.1"` */
  host?: string;
  /** Port; `0` picks a free one. @default env `PORT`, else `0` */
  port?: number;
  /** Address written to the registry. @default `host`, or `127.0.0.1` for a wildcard host */
  advertiseAddress?: string;
  /** Registry base URL (Consul-compatible). @default env `SWITCHYARD_REGISTRY_URL`; unset = no registration */
  registry?: string;
  tags?: string[];
  meta?: Record<string, string>;
  /** Path of the health endpoint the registry checks. @default "/health" */
  healthPath?: string;
  /**
   * The registry's check: an HTTP check on `healthPath` (the default; `type` may be left out), or
   * a TTL check the service reports itself every `heartbeat` (default `ttl / 3`): passing while
   * `ready()` is true and the service is not shutting down, critical otherwise.
   * @default `{ type: 'http', interval: '1s', timeout: '1s', deregisterCriticalAfter: '1m' }`
   */
  check?: ServiceCheckOption;
  /** How long to keep retrying registration at start-up. @default "30s" */
  registrationTimeout?: string | number;
  /** How often to ask the registry whether it still knows the instance (HTTP checks). @default "30s" */
  resyncInterval?: string | number;
  /** Backoff between registration attempts: full jitter, from `initial` up to `max`. @default `{ initial: '100ms', max: '5s' }` */
  retry?: { initial?: string | number; max?: string | number };
  /** How long in-flight requests may take to finish on shutdown. @default "10s" */
  shutdownTimeout?: string | number;
  /** Stop gracefully and exit on SIGTERM and SIGINT. @default true */
  handleSignals?: boolean;
  /** Extra readiness: the health endpoint answers 503 while this returns false. */
  ready?: () => boolean;
  /** Runs after the server stopped and the instance was deregistered (close your DB here). */
  onClose?: () => void | Promise<void>;
  /** Replaces the registry client (tests, or a registry that is not Consul-compatible). */
  registrationClient?: RegistrationClient;
  /** Where lifecycle lines go. @default JSON lines on stderr */
  logger?: ServiceLogger;
  /**
   * Names each request's route for its server span (`GET /orders/:id`) and the `route` label of
   * the request metrics: a template or a name, never the raw path (each distinct value is a
   * metric series). Called once per request, before the handler; `undefined` (or a throw)
   * counts the request as `unmatched`.
   * @default every request is `unmatched` and its span is named by the method alone
   */
  routeOf?: RouteOf;
  /**
   * Path serving the Prometheus exposition of the process's metrics, when metrics are set up
   * (`setGlobalMetrics(createMetrics())` before `startService`, or the `telemetry` option);
   * otherwise requests to it go to `handler` like any other. `false` never serves it.
   * @default "/metrics"
   */
  metricsPath?: string | false;
  /**
   * Sets up telemetry for this process before the server starts, and shuts it down on close:
   * `true` or `setupTelemetry()` options (`serviceName` defaults to `name`, `instanceId` to the
   * id) plus `metrics` (`createMetrics()` options, or `false`). The OTLP exporter turns on from
   * `OTEL_EXPORTER_OTLP_ENDPOINT`. Leave it out when the process calls `setupTelemetry()` itself.
   */
  telemetry?: true | ServiceTelemetryOptions;
  /**
   * Serve HTTPS with mutual TLS: present `identity`'s certificate (renewed in place), require
   * a client certificate from the same CA, and answer 403 `SY_SERVICE_PEER_NOT_ALLOWED` to a
   * caller whose SPIFFE ID is not in `allow`. The instance registers with `meta.scheme:
   * "https"`; its registry check defaults to a TTL check (`ttl: "10s"`), as the registry
   * holds no workload certificate to pass an HTTP check.
   * @default from the environment `switchyard up` sets with `mtls:` on (`SWITCHYARD_TLS_CERT_FILE`,
   *   `SWITCHYARD_TLS_KEY_FILE`, `SWITCHYARD_TLS_CA_FILE`, `SWITCHYARD_MTLS_ALLOW`; see
   *   `serviceMtlsFromEnv`), else plain HTTP
   */
  mtls?: ServiceMtlsOptions;
}

/** The `check` option of {@link StartServiceOptions}; durations as `"5s"` or milliseconds. */
export type ServiceCheckOption =
  | {
      type?: 'http';
      interval?: string | number;
      timeout?: string | number;
      deregisterCriticalAfter?: string | number;
    }
  | { type: 'ttl'; ttl: string | number; heartbeat?: string | number; deregisterCriticalAfter?: string | number };

/** A service that is listening (and registered, when a registry is configured). */
export interface RunningService {
  readonly id: string;
  readonly name: string;
  /** `http://host:port` as advertised (`https://` with `mtls`). */
  readonly url: string;
  /**
   * The workload identity served with, when mutual TLS is on: give it to
   * `createHttpClient({ mtls: { identity } })` to call other services as this one.
   */
  readonly identity: WorkloadIdentitySource | undefined;
  readonly port: number;
  readonly options: Readonly<ResolvedServiceOptions>;
  /** Whether the registry is believed to know the instance now (`false` without a registry). */
  readonly registered: boolean;
  /** The instance was registered again after the registry lost it. */
  onRegistered(listener: (event: RegisteredEvent) => void): Disposable;
  /** The registry no longer knows the instance; it is being registered again. */
  onLost(listener: (event: LostEvent) => void): Disposable;
  /**
   * Stops gracefully: the health endpoint turns 503, the instance is deregistered (so callers
   * stop choosing it), in-flight requests finish, then `onClose` runs. Idempotent.
   * @returns `true` when in-flight requests finished within `shutdownTimeout`
   */
  close(): Promise<boolean>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts an HTTP service: listens, serves a health endpoint, registers itself with an HTTP (or
 * TTL) health check and keeps it registered (registering again when the registry forgets it),
 * and on SIGTERM/SIGINT deregisters, drains and exits 0.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` for bad options, `SY_SERVICE_LISTEN_FAILED`,
 *   `SY_SERVICE_REGISTRATION_FAILED` when the registry stays unreachable past `registrationTimeout`
 * @example
 * ```ts
 * import { startService } from '@switchyard/service';
 *
 * const service = await startService({
 *   name: 'hello',
 *   handler: (req, res) => res.end('hello\n'),
 *   registry: 'http://127.0.0.1:8500',
 * });
 * console.log(`${service.id} on ${service.url}`);
 * ```
 */
export async function startService(input: StartServiceOptions): Promise<RunningService> {
  // Without an explicit `mtls`, the files `switchyard up` writes (when its `mtls:` is on); the
  // identity read here is closed with the service.
  const envMtls = input.mtls === undefined ? await serviceMtlsFromEnv() : undefined;
  const ownIdentity: FileIdentity | undefined = envMtls?.identity;
  try {
    const chosen = input.mtls ?? envMtls;
    const mtlsOptions = chosen === undefined ? undefined : resolveServiceMtlsOptions(chosen);
    return await startWith(input, mtlsOptions, ownIdentity);
  } catch (err) {
    // Every failure path of startWith has released what it opened but this reader's timer.
    ownIdentity?.close();
    throw err;
  }
}

async function startWith(
  input: StartServiceOptions,
  mtlsOptions: Readonly<ServiceMtlsOptions> | undefined,
  ownIdentity: FileIdentity | undefined,
): Promise<RunningService> {
  const {
    handler,
    ready,
    onClose,
    registrationClient,
    logger = stderrLogger,
    routeOf,
    telemetry,
    mtls: _resolvedAbove,
    ...rest
  } = input;
  const options = resolveServiceOptions(
    mtlsOptions === undefined || rest.check !== undefined ? rest : { ...rest, check: { type: 'ttl', ttl: '10s' } },
  );
  if (mtlsOptions !== undefined && options.check.type === 'http') {
    throw invalidConfig([
      {
        path: 'service.check.type',
        message:
          'an HTTP check cannot reach a service that requires client certificates (the registry has none): use { type: "ttl", ttl: "10s" }',
      },
    ]);
  }
  // Checked before listening: a registry URL this package cannot register with fails at once.
  const registryUrl =
    registrationClient === undefined && options.registry ? consulCompatibleRegistry(options.registry) : undefined;
  const id = options.id ?? `${options.name}-${process.pid}`;
  let draining = false;

  // Before the server is built: the request instruments resolve the global metrics once.
  const ownTelemetry: OwnTelemetry | undefined =
    telemetry === undefined ? undefined : setupServiceTelemetry(telemetry, options.name, id);
  const metrics = options.metricsPath === false ? undefined : exposableGlobalMetrics();
  const serveMetrics =
    metrics === undefined ? undefined : metricsHandler(metrics, { path: options.metricsPath || '/metrics' });
  let port = 0;
  const handle = instrumentRequests(
    (req, res) => {
      if (!admitRequest(req, res)) return;
      return handler(req, res);
    },
    { routeOf, host: options.host, port: () => port },
  );

  const serve = (req: IncomingMessage, res: ServerResponse): void => {
    const path = pathOf(req.url);
    if (path === options.healthPath && (req.method === 'GET' || req.method === 'HEAD')) {
      const ok = !draining && (ready?.() ?? true);
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : JSON.stringify({ status: ok ? 'passing' : 'critical' }));
      return;
    }
    if (serveMetrics !== undefined && path === options.metricsPath) {
      serveMetrics(req, res);
      return;
    }
    handle(req, res);
  };
  const mtlsServer =
    mtlsOptions === undefined
      ? undefined
      : createMtlsServer(mtlsOptions, serve, ({ reason, remoteAddress }) =>
          logger.warn({ service: options.name, id, reason, remoteAddress: remoteAddress ?? null }, 'mtls peer refused'),
        );
  const server: Server = mtlsServer?.server ?? createServer({ keepAliveTimeout: 5000 }, serve);

  try {
    port = await listen(server, options);
  } catch (err) {
    mtlsServer?.dispose();
    await ownTelemetry?.close();
    throw err;
  }
  const address = options.advertiseAddress ?? advertise(options.host);
  const url = `${mtlsServer === undefined ? 'http' : 'https'}://${address.includes(':') ? `[${address}]` : address}:${port}`;
  const ownClient = registryUrl === undefined ? undefined : registryUrlClient(registryUrl);
  const client = registrationClient ?? ownClient;
  const registryName = options.registry ?? 'custom registration client';

  let keeper: RegistrationKeeper | undefined;
  if (client) {
    const { check } = options;
    const { registration, checkId } = buildRegistration({
      name: options.name,
      id,
      address,
      port,
      tags: options.tags,
      meta: mtlsServer === undefined ? options.meta : { ...options.meta, scheme: 'https' },
      check: check.type === 'http' ? { ...check, url: `${url}${options.healthPath}` } : check,
    });
    keeper = keepRegistered({
      client,
      registration,
      ...(check.type === 'ttl'
        ? {
            ttl: {
              checkId,
              heartbeatMs: check.heartbeat,
              health: () => (!draining && (ready?.() ?? true) ? HealthStatus.Passing : HealthStatus.Critical),
            },
          }
        : {}),
      resyncIntervalMs: options.resyncInterval,
      retry: options.retry,
      registryName,
      logger,
    });
    if (!(await keeper.waitRegistered(options.registrationTimeout))) {
      const attempts = keeper.attempts;
      const lastError = keeper.lastError;
      await keeper.stop();
      await ownClient?.close();
      await drainServer(server, 0);
      mtlsServer?.dispose();
      await ownTelemetry?.close();
      throw serviceError(
        'SY_SERVICE_REGISTRATION_FAILED',
        `${options.name}: could not register ${id} with ${registryName} within ${formatDuration(options.registrationTimeout)}`,
        { cause: lastError, details: { id, attempts } },
      );
    }
  }
  logger.info({ service: options.name, id, url, registry: options.registry ?? null }, 'service started');

  let removeSignalHandlers: (() => void) | undefined;
  let closing: Promise<boolean> | undefined;
  const close = (): Promise<boolean> => {
    closing ??= (async () => {
      draining = true;
      removeSignalHandlers?.();
      // Deregister first, so callers stop choosing this instance while it drains.
      await keeper?.stop();
      await ownClient?.close();
      const drained = await drainServer(server, options.shutdownTimeout);
      mtlsServer?.dispose();
      ownIdentity?.close();
      await onClose?.();
      // Last, so spans of the drained requests and of onClose are flushed.
      await ownTelemetry?.close();
      logger.info({ service: options.name, id, drained }, 'service stopped');
      return drained;
    })();
    return closing;
  };

  if (options.handleSignals) {
    removeSignalHandlers = onShutdownSignal((signal) => {
      logger.info({ service: options.name, id, signal }, 'shutting down');
      close().then(
        (drained) => process.exit(drained ? 0 : 1),
        (err: unknown) => {
          logger.error({ service: options.name, id, err: String(err) }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }

  return {
    id,
    name: options.name,
    url,
    port,
    options,
    identity: mtlsOptions?.identity,
    get registered() {
      return keeper?.registered ?? false;
    },
    onRegistered: (listener) => keeper?.onRegistered(listener) ?? noopDisposable,
    onLost: (listener) => keeper?.onLost(listener) ?? noopDisposable,
    close,
    async [Symbol.asyncDispose]() {
      await close();
    },
  };
}

const noop = (): void => {};
const noopDisposable: Disposable = { dispose: noop, [Symbol.dispose]: noop };

function listen(server: Server, options: Readonly<ResolvedServiceOptions>): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) =>
      reject(
        serviceError('SY_SERVICE_LISTEN_FAILED', `${options.name}: cannot listen on ${options.host}:${options.port}`, {
          cause: err,
          details: { host: options.host, port: options.port },
        }),
      );
    server.once('error', onError);
    server.listen(options.port, options.host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function pathOf(url: string | undefined): string {
  const target = url ?? '/';
  const q = target.indexOf('?');
  return q < 0 ? target : target.slice(0, q);
}

function advertise(host: string): string {
  return host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
}
