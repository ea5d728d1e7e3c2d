import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exponentialBackoff, formatDuration } from '@switchyard/core';
import { type ConsulClient, createConsulClient } from '@switchyard/discovery';
import { admitRequest } from './deadline.ts';
import { serviceError } from './errors.ts';
import { type ResolvedServiceOptions, resolveServiceOptions } from './options.ts';
import { drainServer } from './shutdown.ts';

/** A plain Node request handler; frameworks expose one (`app.routing`, `fastify.routing`, ...). */
export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** The subset of a Consul-compatible client a service needs to register itself. */
export type RegistrationClient = Pick<ConsulClient, 'register' | 'deregister'>;

/** Minimal logger shape (pino-compatible). */
export interface ServiceLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

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
  /** The registry's HTTP check. @default `{ interval: '1s', timeout: '1s', deregisterCriticalAfter: '1m' }` */
  check?: { interval?: string | number; timeout?: string | number; deregisterCriticalAfter?: string | number };
  /** How long to keep retrying registration at start-up. @default "30s" */
  registrationTimeout?: string | number;
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
}

/** A service that is listening (and registered, when a registry is configured). */
export interface RunningService {
  readonly id: string;
  readonly name: string;
  /** `http://host:port` as advertised. */
  readonly url: string;
  readonly port: number;
  readonly options: Readonly<ResolvedServiceOptions>;
  /**
   * Stops gracefully: the health endpoint turns 503, the instance is deregistered (so callers
   * stop choosing it), in-flight requests finish, then `onClose` runs. Idempotent.
   * @returns `true` when in-flight requests finished within `shutdownTimeout`
   */
  close(): Promise<boolean>;
  [Symbol.asyncDispose](): Promise<void>;
}

const stderrLogger: ServiceLogger = {
  info: (obj, msg) => process.stderr.write(`${JSON.stringify({ level: 'info', ...obj, msg })}\n`),
  warn: (obj, msg) => process.stderr.write(`${JSON.stringify({ level: 'warn', ...obj, msg })}\n`),
  error: (obj, msg) => process.stderr.write(`${JSON.stringify({ level: 'error', ...obj, msg })}\n`),
};

/**
 * Starts an HTTP service: listens, serves a health endpoint, registers itself with an HTTP
 * health check, and on SIGTERM/SIGINT drains, deregisters and exits 0.
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
  const { handler, ready, onClose, registrationClient, logger = stderrLogger, ...rest } = input;
  const options = resolveServiceOptions(rest);
  let draining = false;

  const server = createServer({ keepAliveTimeout: 5000 }, (req, res) => {
    if (req.url === options.healthPath && (req.method === 'GET' || req.method === 'HEAD')) {
      const ok = !draining && (ready?.() ?? true);
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : JSON.stringify({ status: ok ? 'passing' : 'critical' }));
      return;
    }
    if (!admitRequest(req, res)) return;
    handler(req, res);
  });

  const port = await listen(server, options);
  const address = options.advertiseAddress ?? advertise(options.host);
  const id = options.id ?? `${options.name}-${process.pid}`;
  const url = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
  const client = registrationClient ?? (options.registry ? createConsulClient({ url: options.registry }) : undefined);

  if (client) {
    try {
      await registerWithRetry(client, options, { id, address, port, url }, logger);
    } catch (err) {
      await drainServer(server, 0);
      throw err;
    }
  }
  logger.info({ service: options.name, id, url, registry: options.registry ?? null }, 'service started');

  let closing: Promise<boolean> | undefined;
  const close = (): Promise<boolean> => {
    closing ??= (async () => {
      draining = true;
      if (client) {
        try {
          await client.deregister(id);
        } catch (err) {
          logger.warn({ service: options.name, id, err: String(err) }, 'deregistration failed');
        }
      }
      const drained = await drainServer(server, options.shutdownTimeout);
      await onClose?.();
      logger.info({ service: options.name, id, drained }, 'service stopped');
      return drained;
    })();
    return closing;
  };

  if (options.handleSignals) {
    const onSignal = (signal: NodeJS.Signals) => {
      logger.info({ service: options.name, id, signal }, 'shutting down');
      close().then(
        (drained) => process.exit(drained ? 0 : 1),
        (err: unknown) => {
          logger.error({ service: options.name, id, err: String(err) }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    // Started by a supervisor with an IPC channel: when the supervisor dies (even by SIGKILL)
    // the channel disconnects, and an instance nobody manages any more stops instead of lingering.
    if (process.channel) {
      process.channel.unref();
      process.once('disconnect', () => onSignal('SIGTERM'));
    }
  }

  return {
    id,
    name: options.name,
    url,
    port,
    options,
    close,
    async [Symbol.asyncDispose]() {
      await close();
    },
  };
}

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

function advertise(host: string): string {
  return host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
}

async function registerWithRetry(
  client: RegistrationClient,
  options: Readonly<ResolvedServiceOptions>,
  instance: { id: string; address: string; port: number; url: string },
  logger: ServiceLogger,
): Promise<void> {
  const registration = {
    Name: options.name,
    ID: instance.id,
    Address: instance.address,
    Port: instance.port,
    Tags: [...options.tags],
    Meta: { ...options.meta },
    Check: {
      Name: `${options.name} HTTP health`,
      HTTP: `${instance.url}${options.healthPath}`,
      Interval: formatDuration(options.check.interval),
      Timeout: formatDuration(options.check.timeout),
      DeregisterCriticalServiceAfter: formatDuration(options.check.deregisterCriticalAfter),
    },
  };
  const deadline = Date.now() + options.registrationTimeout;
  const delay = exponentialBackoff({ initialMs: 100, maxMs: 2000 });
  for (let attempt = 1; ; attempt++) {
    try {
      await client.register(registration);
      return;
    } catch (err) {
      const wait = delay(attempt);
      if (Date.now() + wait >= deadline) {
        throw serviceError(
          'SY_SERVICE_REGISTRATION_FAILED',
          `${options.name}: could not register ${instance.id} with ${options.registry ?? 'the registry'} within ${formatDuration(options.registrationTimeout)}`,
          { cause: err, details: { id: instance.id, attempts: attempt } },
        );
      }
      logger.warn(
        { service: options.name, id: instance.id, attempt, err: String(err) },
        'registration failed; retrying',
      );
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
