/**
 * The machinery behind `startService` and `registerSelf`: registers an instance, reports its TTL
 * check, notices when the registry has forgotten it (a 404 from a heartbeat, or a periodic look
 * up) and registers it again, retrying with capped, jittered backoff. Nothing here throws into
 * the process: every failure is logged and retried.
 */
import {
  type Clock,
  exponentialBackoff,
  formatDuration,
  HealthStatus,
  isSwitchyardError,
  systemClock,
} from '@switchyard/core';
import { createConsulClient, discoveryError, type ServiceRegistration } from '@switchyard/discovery';
import type { Disposable } from '@switchyard/resilience';

/**
 * What a service needs of a registry to register itself. A Consul client
 * (`createConsulClient`) and the etcd registry fit it; the optional methods enable TTL reports
 * and the periodic "does the registry still know me" look-up.
 */
export interface RegistrationClient {
  /** Registers (or re-registers) the instance. */
  register(registration: ServiceRegistration, signal?: AbortSignal): Promise<void>;
  /** Removes the instance; `false` when the registry did not know it. */
  deregister(serviceId: string, signal?: AbortSignal): Promise<boolean>;
  /**
   * Reports a TTL check passing. Must reject with a 404 (`SY_DISCOVERY_REGISTRY_REJECTED` with
   * `details.status` 404, or `SY_DISCOVERY_CHECK_NOT_FOUND`) when the check is unknown.
   */
  passTtl?(checkId: string, note?: string, signal?: AbortSignal): Promise<void>;
  /** Reports a TTL check's status and output (warning and critical too); rejects as `passTtl`. */
  updateTtl?(checkId: string, status: HealthStatus, output: string, signal?: AbortSignal): Promise<void>;
  /** Whether the registry still knows the instance; `false` makes it register again at once. */
  isRegistered?(serviceId: string, signal?: AbortSignal): Promise<boolean>;
}

/** Minimal logger shape (pino-compatible). */
export interface ServiceLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/**
 * What a `health()` callback returns for a TTL check: a status, or a status with the output the
 * registry shows next to it.
 */
export type HealthReport = HealthStatus | { readonly status: HealthStatus; readonly output?: string };

/** Event of `onRegistered`. */
export interface RegisteredEvent {
  readonly id: string;
  /** Attempts this registration took (1 when the first one succeeded). */
  readonly attempts: number;
  /** `true` when the instance had been registered before and was lost. */
  readonly reregistered: boolean;
}

/** Event of `onLost`: the registry no longer knows the instance; it is being registered again. */
export interface LostEvent {
  readonly id: string;
  readonly reason: string;
}

/** JSON lines on stderr, used when no logger is given. */
export const stderrLogger: ServiceLogger = {
  info: (obj, msg) => process.stderr.write(`${JSON.stringify({ level: 'info', ...obj, msg })}\n`),
  warn: (obj, msg) => process.stderr.write(`${JSON.stringify({ level: 'warn', ...obj, msg })}\n`),
  error: (obj, msg) => process.stderr.write(`${JSON.stringify({ level: 'error', ...obj, msg })}\n`),
};

const registryCallTimeoutMs = 10_000;

/**
 * A {@link RegistrationClient} for a Consul-compatible registry URL: the Consul client for
 * register, deregister and pass, plain HTTP for warn/fail and the look-up it lacks. `token`
 * (default `SWITCHYARD_REGISTRY_TOKEN`) is sent as `X-Consul-Token` when the registry has an ACL.
 */
export function registryUrlClient(
  url: string,
  token: string | undefined = process.env.SWITCHYARD_REGISTRY_TOKEN || undefined,
): RegistrationClient & { close(): Promise<void> } {
  const consul = createConsulClient({
    url,
    fetchTimeout: registryCallTimeoutMs,
    ...(token === undefined ? {} : { token }),
  });
  const base = consul.url;

  async function call(method: 'GET' | 'PUT', path: string, accept404: boolean, signal?: AbortSignal) {
    const timeout = AbortSignal.timeout(registryCallTimeoutMs);
    const what = `${method} ${base}${path}`;
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        method,
        ...(token === undefined ? {} : { headers: { 'x-consul-token': token } }),
        signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
      });
    } catch (err) {
      throw discoveryError('SY_DISCOVERY_REGISTRY_UNREACHABLE', `${what}: ${String(err)}`, {
        cause: err,
        details: { url: base },
      });
    }
    const text = await response.text().catch(() => '');
    if (response.ok || (accept404 && response.status === 404)) return response.status;
    throw discoveryError('SY_DISCOVERY_REGISTRY_REJECTED', `${what} answered ${response.status}: ${text.trim()}`, {
      details: { status: response.status, body: text.slice(0, 4096), method, path },
      retryable: response.status >= 500 || response.status === 429,
    });
  }

  return {
    register: (registration, signal) => consul.register(registration, signal),
    deregister: (id, signal) => consul.deregister(id, signal),
    passTtl: (checkId, note, signal) => consul.passTtl(checkId, note, signal),
    async updateTtl(checkId, status, output, signal) {
      if (status === HealthStatus.Passing) return consul.passTtl(checkId, output, signal);
      const verb = status === HealthStatus.Warning ? 'warn' : 'fail';
      await call(
        'PUT',
        `/v1/agent/check/${verb}/${encodeURIComponent(checkId)}?note=${encodeURIComponent(output)}`,
        false,
        signal,
      );
    },
    async isRegistered(id, signal) {
      return (await call('GET', `/v1/agent/service/${encodeURIComponent(id)}`, true, signal)) !== 404;
    },
    close: () => consul.close(),
  };
}

/** A TTL report rejected because the registry does not know the check (it forgot the instance). */
function isNotFound(err: unknown): boolean {
  if (isSwitchyardError(err, 'SY_DISCOVERY_CHECK_NOT_FOUND')) return true;
  return isSwitchyardError(err, 'SY_DISCOVERY_REGISTRY_REJECTED') && err.details.status === 404;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function normalise(report: HealthReport): { status: HealthStatus; output: string } {
  const { status, output } = typeof report === 'string' ? { status: report, output: undefined } : report;
  const known = status === HealthStatus.Passing || status === HealthStatus.Warning;
  return { status: known ? status : HealthStatus.Critical, output: output ?? status };
}

/** Options of {@link keepRegistered}. */
export interface KeepRegisteredOptions {
  readonly client: RegistrationClient;
  /** The registration, with `ID` and one `Check` carrying its `CheckID`. */
  readonly registration: ServiceRegistration & { readonly ID: string };
  /** TTL heartbeats; absent for an HTTP check. */
  readonly ttl?: {
    readonly checkId: string;
    readonly heartbeatMs: number;
    readonly health: () => HealthReport | Promise<HealthReport>;
  };
  readonly resyncIntervalMs: number;
  readonly retry: { readonly initial: number; readonly max: number };
  /** Shown in log lines (the registry URL, or "custom client"). */
  readonly registryName: string;
  readonly logger: ServiceLogger;
  readonly clock?: Clock;
}

/** A running {@link keepRegistered} loop. */
export interface RegistrationKeeper {
  /** Whether the registry is believed to know the instance now. */
  readonly registered: boolean;
  /** Attempts since the last successful registration. */
  readonly attempts: number;
  /** The last registration failure. */
  readonly lastError: unknown;
  /** Resolves `true` once registered, `false` after `timeoutMs` or when stopped. */
  waitRegistered(timeoutMs: number): Promise<boolean>;
  onRegistered(listener: (event: RegisteredEvent) => void): Disposable;
  onLost(listener: (event: LostEvent) => void): Disposable;
  /**
   * Stops every timer and deregisters (only if a registration ever succeeded; a failed
   * deregistration is logged). A registration cut short by the stop is not undone here: the
   * check's `DeregisterCriticalServiceAfter` removes it if it landed. Idempotent.
   * @returns whether the registry knew the instance
   */
  stop(): Promise<boolean>;
}

function listeners<T>() {
  const set = new Set<(event: T) => void>();
  return {
    add(listener: (event: T) => void): Disposable {
      const entry = (event: T) => listener(event);
      set.add(entry);
      const dispose = () => {
        set.delete(entry);
      };
      return { dispose, [Symbol.dispose]: dispose };
    },
    emit(event: T, logger: ServiceLogger) {
      for (const listener of set) {
        try {
          listener(event);
        } catch (err) {
          logger.error({ err: describe(err) }, 'registration listener threw');
        }
      }
    },
  };
}

/**
 * Starts registering an instance and keeps it registered until `stop()`: see the file comment.
 * The first attempt starts at once; timers do not keep the process alive.
 */
export function keepRegistered(options: KeepRegisteredOptions): RegistrationKeeper {
  const { client, registration, ttl, logger } = options;
  const clock = options.clock ?? systemClock;
  const id = registration.ID;
  const log = { service: registration.Name, id };
  const delay = exponentialBackoff({ initialMs: options.retry.initial, maxMs: options.retry.max });
  const registeredListeners = listeners<RegisteredEvent>();
  const lostListeners = listeners<LostEvent>();
  const waiters = new Set<(ok: boolean) => void>();
  const abort = new AbortController();

  let state: 'registering' | 'registered' | 'stopped' = 'registering';
  let everRegistered = false;
  let attempts = 0;
  let lastError: unknown;
  let heartbeatFailures = 0;
  let lostInARow = 0;
  let cancelTimer: (() => void) | undefined;
  let inflight: Promise<void> | undefined;
  let stopping: Promise<boolean> | undefined;

  const canHeartbeat = ttl !== undefined && (client.updateTtl !== undefined || client.passTtl !== undefined);

  function run(step: () => Promise<void>): void {
    const current: Promise<void> = step()
      .catch((err: unknown) => {
        // Every step handles its own failures; this is a last resort against a bug, not a path.
        logger.error({ ...log, err: describe(err) }, 'registration loop failed; retrying');
        if (state !== 'stopped') schedule(register, delay(1));
      })
      .finally(() => {
        if (inflight === current) inflight = undefined;
      });
    inflight = current;
  }

  function schedule(step: () => Promise<void>, ms: number): void {
    cancelTimer?.();
    cancelTimer = clock.setTimeout(() => {
      cancelTimer = undefined;
      if (state !== 'stopped') run(step);
    }, ms);
  }

  async function register(): Promise<void> {
    attempts++;
    try {
      await client.register(registration, abort.signal);
    } catch (err) {
      if (state === 'stopped') return;
      lastError = err;
      const wait = delay(attempts);
      logger.warn(
        { ...log, registry: options.registryName, attempt: attempts, retryInMs: Math.round(wait), err: describe(err) },
        'registration failed; retrying',
      );
      schedule(register, wait);
      return;
    }
    if (state === 'stopped') {
      // Accepted while stopping: stop() awaits this call, then removes the instance again.
      everRegistered = true;
      return;
    }
    const event: RegisteredEvent = { id, attempts, reregistered: everRegistered };
    state = 'registered';
    everRegistered = true;
    attempts = 0;
    heartbeatFailures = 0;
    logger.info(
      { ...log, registry: options.registryName, attempts: event.attempts },
      event.reregistered ? 're-registered' : 'registered',
    );
    for (const resolve of waiters) resolve(true);
    waiters.clear();
    registeredListeners.emit(event, logger);
    // A TTL check starts critical: report at once instead of a heartbeat later.
    if (canHeartbeat) await heartbeat();
    else if (client.isRegistered !== undefined) schedule(resync, options.resyncIntervalMs);
  }

  function lost(reason: string): void {
    if (state !== 'registered') return;
    state = 'registering';
    logger.warn({ ...log, registry: options.registryName, reason }, 'registration lost; registering again');
    lostListeners.emit({ id, reason }, logger);
    cancelTimer?.();
    cancelTimer = undefined;
  }

  /**
   * The user's verdict, bounded: a callback still running after one heartbeat reports critical,
   * and stop() does not wait for it.
   */
  /**
   * The first loss re-registers at once; a registry that forgets the instance again right after
   * accepting it (a check it does not keep) gets backoff instead of a tight loop.
   */
  function registerAgain(): Promise<void> {
    lostInARow++;
    if (lostInARow === 1) return register();
    schedule(register, delay(lostInARow));
    return Promise.resolve();
  }

  async function health(limitMs: number): Promise<{ status: HealthStatus; output: string } | undefined> {
    let cancel: (() => void) | undefined;
    let onAbort: (() => void) | undefined;
    try {
      const timedOut = new Promise<{ status: HealthStatus; output: string }>((resolve) => {
        cancel = clock.setTimeout(
          () => resolve({ status: HealthStatus.Critical, output: `health check took longer than ${limitMs} ms` }),
          limitMs,
        );
      });
      const stopped = new Promise<undefined>((resolve) => {
        onAbort = () => resolve(undefined);
        abort.signal.addEventListener('abort', onAbort, { once: true });
      });
      const verdict = Promise.resolve()
        .then(() => (ttl as NonNullable<typeof ttl>).health())
        .then(normalise, (err: unknown) => ({
          status: HealthStatus.Critical,
          output: `health check failed: ${describe(err)}`,
        }));
      return await Promise.race([verdict, timedOut, stopped]);
    } finally {
      cancel?.();
      if (onAbort !== undefined) abort.signal.removeEventListener('abort', onAbort);
    }
  }

  async function heartbeat(): Promise<void> {
    if (ttl === undefined || state !== 'registered') return;
    const verdict = await health(ttl.heartbeatMs);
    if (verdict === undefined || state !== 'registered') return;
    const { status, output } = verdict;
    try {
      if (client.updateTtl !== undefined) await client.updateTtl(ttl.checkId, status, output, abort.signal);
      // Without updateTtl only "passing" can be said; silence lets the TTL turn the check critical.
      else if (status === HealthStatus.Passing) await client.passTtl?.(ttl.checkId, output, abort.signal);
      if (heartbeatFailures > 0)
        logger.info({ ...log, failures: heartbeatFailures }, 'heartbeats reach the registry again');
      heartbeatFailures = 0;
      lostInARow = 0;
    } catch (err) {
      if (state !== 'registered') return;
      if (isNotFound(err)) {
        lost(`the registry does not know check ${ttl.checkId}`);
        return registerAgain();
      }
      heartbeatFailures++;
      if (heartbeatFailures === 1 || heartbeatFailures % 10 === 0) {
        logger.warn({ ...log, failures: heartbeatFailures, err: describe(err) }, 'heartbeat failed');
      }
    }
    schedule(heartbeat, ttl.heartbeatMs);
  }

  async function resync(): Promise<void> {
    if (state !== 'registered' || client.isRegistered === undefined) return;
    let known = true;
    try {
      known = await client.isRegistered(id, abort.signal);
    } catch (err) {
      if (state !== 'registered') return;
      // Unreachable: nothing to learn; a registry that comes back empty is caught next time.
      logger.warn({ ...log, err: describe(err) }, 'could not check the registration');
    }
    if (state !== 'registered') return;
    if (!known) {
      lost('the registry does not know the instance');
      return registerAgain();
    }
    lostInARow = 0;
    schedule(resync, options.resyncIntervalMs);
  }

  run(register);

  return {
    get registered() {
      return state === 'registered';
    },
    get attempts() {
      return attempts;
    },
    get lastError() {
      return lastError;
    },
    waitRegistered(timeoutMs) {
      if (state === 'registered') return Promise.resolve(true);
      if (state === 'stopped') return Promise.resolve(false);
      return new Promise((resolve) => {
        const settle = (ok: boolean) => {
          cancel();
          waiters.delete(settle);
          resolve(ok);
        };
        const cancel = clock.setTimeout(() => settle(false), timeoutMs, { ref: true });
        waiters.add(settle);
      });
    },
    onRegistered: (listener) => registeredListeners.add(listener),
    onLost: (listener) => lostListeners.add(listener),
    stop() {
      stopping ??= (async () => {
        state = 'stopped';
        cancelTimer?.();
        cancelTimer = undefined;
        abort.abort();
        for (const resolve of waiters) resolve(false);
        waiters.clear();
        await inflight;
        if (!everRegistered) return false;
        try {
          const known = await client.deregister(id);
          logger.info({ ...log, registry: options.registryName }, 'deregistered');
          return known;
        } catch (err) {
          logger.warn({ ...log, err: describe(err) }, 'deregistration failed');
          return false;
        }
      })();
      return stopping;
    },
  };
}

/** Builds the registration for an instance and its one check. */
export function buildRegistration(instance: {
  name: string;
  id: string;
  address: string;
  port: number;
  tags: readonly string[];
  meta: Readonly<Record<string, string>>;
  check:
    | { type: 'http'; url: string; interval: number; timeout: number; deregisterCriticalAfter: number }
    | { type: 'ttl'; ttl: number; deregisterCriticalAfter: number };
}): { registration: ServiceRegistration & { readonly ID: string }; checkId: string } {
  const checkId = `service:${instance.id}`;
  const { check } = instance;
  const registration = {
    Name: instance.name,
    ID: instance.id,
    Address: instance.address,
    Port: instance.port,
    Tags: [...instance.tags],
    Meta: { ...instance.meta },
    Check:
      check.type === 'http'
        ? {
            CheckID: checkId,
            Name: `${instance.name} HTTP health`,
            HTTP: check.url,
            Interval: formatDuration(check.interval),
            Timeout: formatDuration(check.timeout),
            DeregisterCriticalServiceAfter: formatDuration(check.deregisterCriticalAfter),
          }
        : {
            CheckID: checkId,
            Name: `${instance.name} TTL health`,
            TTL: formatDuration(check.ttl),
            DeregisterCriticalServiceAfter: formatDuration(check.deregisterCriticalAfter),
          },
  };
  return { registration, checkId };
}
