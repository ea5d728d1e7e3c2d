import { type Clock, invalidConfig } from '@switchyard/core';
import type { Disposable } from '@switchyard/resilience';
import {
  buildRegistration,
  type HealthReport,
  keepRegistered,
  type LostEvent,
  type RegisteredEvent,
  type RegistrationClient,
  registryUrlClient,
  type ServiceLogger,
  stderrLogger,
} from './keep-registered.ts';
import { consulCompatibleRegistry, type ResolvedRegisterSelfOptions, resolveRegisterSelfOptions } from './options.ts';
import { onShutdownSignal } from './shutdown.ts';

/** The `check` option of {@link RegisterSelfOptions}; durations as `"5s"` or milliseconds. */
export type SelfCheckOption =
  | {
      /** The registry probes `http://<address>:<port><path>`. */
      type?: 'http';
      /** @default "/health" */
      path?: string;
      /** @default "1s" */
      interval?: string | number;
      /** @default "1s" */
      timeout?: string | number;
      /** @default "1m" */
      deregisterCriticalAfter?: string | number;
    }
  | {
      /** The service reports itself; silence for `ttl` turns the check critical. */
      type: 'ttl';
      ttl: string | number;
      /** Time between reports; less than `ttl`. @default ttl / 3 */
      heartbeat?: string | number;
      /** @default "1m" */
      deregisterCriticalAfter?: string | number;
    };

/** Options of {@link registerSelf}. */
export interface RegisterSelfOptions {
  /** Service name in the registry (`orders`). */
  name: string;
  /** Instance id. @default env `SWITCHYARD_INSTANCE_ID`, else `<name>-<pid>` */
  id?: string;
  /** Address callers reach the service on (written to the registry). */
  address: string;
  /** Port the service's own server listens on. */
  port: number;
  tags?: string[];
  meta?: Record<string, string>;
  /** @default `{ type: 'http', path: '/health', interval: '1s', timeout: '1s', deregisterCriticalAfter: '1m' }` */
  check?: SelfCheckOption;
  /**
   * For a TTL check: the status each heartbeat reports, with an optional output. A throw or a
   * rejection reports critical with its message. @default always passing
   */
  health?: () => HealthReport | Promise<HealthReport>;
  /**
   * Registry base URL (Consul-compatible), or a client for another registry (same as
   * `registrationClient`). @default env `SWITCHYARD_REGISTRY_URL`
   */
  registry?: string | RegistrationClient;
  /** Replaces the registry client (another registry, such as etcd, or tests). */
  registrationClient?: RegistrationClient;
  /** How often to ask the registry whether it still knows the instance (HTTP checks). @default "30s" */
  resyncInterval?: string | number;
  /** Backoff between registration attempts: full jitter, `initial` up to `max`. @default `{ initial: '100ms', max: '5s' }` */
  retry?: { initial?: string | number; max?: string | number };
  /**
   * How long `registerSelf` waits for the first registration before it resolves anyway (the
   * attempts go on in the background; see `registered`). @default "30s"
   */
  registrationTimeout?: string | number;
  /** On SIGTERM/SIGINT: deregister, run `onShutdown`, then exit. @default true */
  handleSignals?: boolean;
  /** Runs on SIGTERM/SIGINT after deregistration (close your server here). Exit code 1 if it throws. */
  onShutdown?: (signal: NodeJS.Signals) => void | Promise<void>;
  /** Where lifecycle lines go. @default JSON lines on stderr */
  logger?: ServiceLogger;
}

/** A registration kept alive by {@link registerSelf}. */
export interface SelfRegistration extends AsyncDisposable {
  readonly id: string;
  readonly name: string;
  readonly options: Readonly<ResolvedRegisterSelfOptions>;
  /** Whether the registry is believed to know the instance now. */
  readonly registered: boolean;
  /** The instance was registered (first or again after a loss). */
  onRegistered(listener: (event: RegisteredEvent) => void): Disposable;
  /** The registry no longer knows the instance; it is being registered again. */
  onLost(listener: (event: LostEvent) => void): Disposable;
  /**
   * Stops heartbeats and re-registration and removes the instance from the registry, so
   * callers stop choosing it; same as `close()`, returning what the registry answered.
   * @returns `false` when the registry did not know the instance (or could not be reached)
   */
  deregister(): Promise<boolean>;
  /** Deregisters, stops every timer and closes the registry client it made. Idempotent. */
  close(): Promise<void>;
}

/** Dependencies of {@link registerSelf} (tests). */
export interface RegisterSelfDeps {
  /** @default systemClock */
  readonly clock?: Clock;
}

/**
 * Registers a service that runs its own HTTP server (Express, Fastify, `node:http`) and keeps it
 * registered: a TTL check is reported every `heartbeat` from `health()`; when a heartbeat (or,
 * for an HTTP check, a look-up every `resyncInterval`) finds that the registry has forgotten the
 * instance, it registers again at once. Registration failures are logged and retried with
 * capped, jittered backoff; they never reject or crash the process.
 *
 * Resolves once registered, or after `registrationTimeout` with `registered` still false (the
 * attempts go on). On SIGTERM/SIGINT (with `handleSignals`) it deregisters, runs `onShutdown`,
 * then exits.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming the field (`service.check.ttl: ...`), also
 *   when neither `registry`, `SWITCHYARD_REGISTRY_URL` nor `registrationClient` is given
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { registerSelf } from '@switchyard/service';
 *
 * const server = createServer((_req, res) => res.end('ok')).listen(8080);
 * const registration = await registerSelf({
 *   name: 'orders',
 *   address: '127.0.0.1',
 *   port: 8080,
 *   registry: 'http://127.0.0.1:8500',
 *   check: { type: 'ttl', ttl: '10s' },
 *   health: () => ({ status: 'passing', output: 'db ok' }),
 *   onShutdown: () => new Promise<void>((resolve) => server.close(() => resolve())),
 * });
 * ```
 */
export async function registerSelf(input: RegisterSelfOptions, deps: RegisterSelfDeps = {}): Promise<SelfRegistration> {
  const { health, onShutdown, logger = stderrLogger, registry, ...rest } = input;
  const registrationClient = rest.registrationClient ?? (typeof registry === 'object' ? registry : undefined);
  delete rest.registrationClient;
  const options = resolveRegisterSelfOptions({
    ...rest,
    registry: typeof registry === 'string' ? registry : undefined,
  });
  if (registrationClient === undefined && options.registry === undefined) {
    throw invalidConfig([
      {
        path: 'service.registry',
        message: 'required: pass a registry URL, set SWITCHYARD_REGISTRY_URL, or pass registrationClient',
      },
    ]);
  }
  const id = options.id ?? `${options.name}-${process.pid}`;
  const ownClient =
    registrationClient === undefined
      ? registryUrlClient(consulCompatibleRegistry(options.registry as string))
      : undefined;
  const client = registrationClient ?? (ownClient as RegistrationClient);
  const { check } = options;
  const host = options.address.includes(':') ? `[${options.address}]` : options.address;
  const { registration, checkId } = buildRegistration({
    name: options.name,
    id,
    address: options.address,
    port: options.port,
    tags: options.tags,
    meta: options.meta,
    check: check.type === 'http' ? { ...check, url: `http://${host}:${options.port}${check.path}` } : check,
  });
  const keeper = keepRegistered({
    client,
    registration,
    ...(check.type === 'ttl'
      ? { ttl: { checkId, heartbeatMs: check.heartbeat, health: health ?? (() => 'passing' as const) } }
      : {}),
    resyncIntervalMs: options.resyncInterval,
    retry: options.retry,
    registryName: options.registry ?? 'custom registration client',
    logger,
    ...(deps.clock === undefined ? {} : { clock: deps.clock }),
  });

  let removeSignalHandlers: (() => void) | undefined;
  let closing: Promise<boolean> | undefined;
  const stop = (): Promise<boolean> => {
    closing ??= (async () => {
      removeSignalHandlers?.();
      const known = await keeper.stop();
      await ownClient?.close();
      return known;
    })();
    return closing;
  };

  if (options.handleSignals) {
    removeSignalHandlers = onShutdownSignal((signal) => {
      logger.info({ service: options.name, id, signal }, 'shutting down');
      (async () => {
        await stop();
        await onShutdown?.(signal);
      })().then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ service: options.name, id, err: String(err) }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }

  if (!(await keeper.waitRegistered(options.registrationTimeout)) && closing === undefined) {
    logger.warn(
      { service: options.name, id, attempts: keeper.attempts },
      'not registered yet; registration goes on in the background',
    );
  }

  return {
    id,
    name: options.name,
    options,
    get registered() {
      return keeper.registered;
    },
    onRegistered: (listener) => keeper.onRegistered(listener),
    onLost: (listener) => keeper.onLost(listener),
    deregister: stop,
    async close() {
      await stop();
    },
    async [Symbol.asyncDispose]() {
      await stop();
    },
  };
}
