import type { Readable } from 'node:stream';
import type { PeerCertificate } from 'node:tls';
import {
  cancelledError,
  coreError,
  endpointOrigin,
  HealthStatus,
  invalidConfig,
  parseDuration,
  type ServiceInstance,
} from '@switchyard/core';
import { type Balancer, roundRobin } from '@switchyard/discovery';
import {
  type BreakerRegistry,
  createBreakerRegistry,
  createRetry,
  createRetryBudget,
  type Disposable,
  deadlineOf,
  formatTimeoutHeader,
  type Listener,
  type Policy,
  type PolicyContext,
  resilienceError,
  TIMEOUT_HEADER,
  toContext,
} from '@switchyard/resilience';
import { Agent, type Dispatcher } from 'undici';
import { type AttemptBody, attemptBody } from './attempt-body.ts';
import { defaultBreakerOptions } from './breaker-defaults.ts';
import { attemptFailed, ClientTelemetry, startAttemptSpan } from './client-telemetry.ts';
import { clientError } from './errors.ts';
import { Exchange } from './exchange.ts';
import type { HttpResponse } from './http-response.ts';
import { IDEMPOTENCY_KEY_HEADER, isRetryableRequest } from './idempotency.ts';
import { createMtlsDispatcher, type HttpClientMtlsOption } from './mtls.ts';
import {
  type DurationInput,
  type HttpClientOptions,
  type HttpRetryOptions,
  type ResolvedHttpClientOptions,
  type ResolvedHttpRetryOptions,
  resolveHttpClientOptions,
  resolveHttpRetryOptions,
} from './options.ts';
import { parseRetryAfter } from './retry-after.ts';
import { describeError, isConnectError } from './upstream-errors.ts';
import { UpstreamResponse } from './upstream-response.ts';

/** A value of {@link HttpRequestOptions.query}. */
export type QueryValue = string | number | boolean;

/** A request body: replayable (a string or bytes) or streamed (a `Readable`, sent as it is read). */
export type HttpRequestBody = string | Uint8Array | Readable | null;

/**
 * One request, as given to {@link HttpClient.request}.
 *
 * @example
 * ```ts
 * const options: HttpRequestOptions = { method: 'POST', path: '/orders', body: JSON.stringify(order),
 *   headers: { 'content-type': 'application/json' }, idempotencyKey: order.id };
 * ```
 */
export interface HttpRequestOptions {
  /** The HTTP method, uppercase. @default "GET" */
  readonly method?: string;
  /** The path on the instance, starting with `/`; it may carry a query string already. */
  readonly path: string;
  /** Query parameters appended to `path`, URL-encoded; arrays repeat the name; `undefined` is skipped. */
  readonly query?: Readonly<Record<string, QueryValue | readonly QueryValue[] | undefined>>;
  /** Request headers; the client's default headers fill in the rest. `undefined` values are skipped. */
  readonly headers?: Readonly<Record<string, string | readonly string[] | undefined>>;
  /**
   * The body. A string or bytes can be sent again on a retry; a `Readable` is streamed with
   * back-pressure and can be sent again only while nothing of it was read. On failure the
   * stream is destroyed.
   */
  readonly body?: HttpRequestBody;
  /**
   * Cancels the request; its deadline (`deadlineOf(signal)`, set by an enclosing timeout or by
   * `requestSignal(req)` of `@switchyard/service`) caps every attempt and travels in the
   * `switchyard-timeout-ms` header.
   */
  readonly signal?: AbortSignal;
  /** Per-attempt timeout for this request. @default the client's `timeout` */
  readonly timeout?: DurationInput;
  /** Sent as `Idempotency-Key`; makes a non-idempotent request (a POST) safe to retry. */
  readonly idempotencyKey?: string;
  /** Retry policy for this request, replacing the client's (unset fields take the defaults); `false` never retries. */
  readonly retry?: HttpRetryOptions | false;
  /** Picks the instance for this request instead of the service's balancer (a gateway's per-route balancer). */
  readonly balancer?: Balancer;
  /**
   * Narrows the service's instances to those this request may use, before critical ones are
   * skipped, tried ones set aside and the balancer picks (a gateway routing to one version of
   * a service). An empty result fails the attempt with `SY_CLIENT_NO_INSTANCE`.
   */
  readonly eligible?: ((instances: readonly ServiceInstance[]) => readonly ServiceInstance[]) | undefined;
  /**
   * The circuit breaker (by name in `breakers`) this request goes through instead of the
   * service's: a gateway keeps one per version of a service, so that a failing canary does not
   * open the breaker of the stable version. @default the service name
   */
  readonly breaker?: string | undefined;
  /**
   * For callers that already watch for cancellation themselves (a server watching its
   * response's `close`): instead of adding an `abort` listener to `signal` for the length of
   * each attempt, the client hands `abortable` a function that aborts the attempt in flight
   * (and then its response body) with `SY_CANCELLED`, `cause` = the reason given. The caller
   * calls the function it was given last when it aborts `signal`; `signal` is still read
   * before each attempt (aborted, deadline) and during a retry's backoff.
   *
   * Why: in Node, an `abort` listener kept on a per-request `AbortSignal` across I/O makes
   * the young-generation collector copy nearly all recent garbage (measured in bench/gateway:
   * 17 ms scavenges instead of 1 ms), which is what a proxy's p99 is made of.
   *
   * @experimental
   * @example
   * ```ts
   * let abort: ((reason: unknown) => void) | undefined;
   * res.once('close', () => {
   *   controller.abort();
   *   abort?.(controller.signal.reason);
   * });
   * await client.request('orders', { path: '/orders', signal: controller.signal, abortable: (fn) => { abort = fn; } });
   * ```
   */
  readonly abortable?: ((abort: (reason: unknown) => void) => void) | undefined;
}

/** Emitted by {@link HttpClient.onRetry} just before a retry is sent. */
export interface HttpRetryEvent {
  readonly service: string;
  readonly method: string;
  /** The path with its query string. */
  readonly path: string;
  /** The attempt about to be sent: 2 for the first retry. */
  readonly attempt: number;
  /** The instance the retry goes to. */
  readonly instance: ServiceInstance;
  /** The instance of the failed attempt, when one was picked. */
  readonly previousInstance: ServiceInstance | undefined;
  /** Why the previous attempt failed: its error, or `undefined` when it was a response ... */
  readonly error: unknown;
  /** ... with this status. */
  readonly statusCode: number | undefined;
  /** The headers the request is sent with (the `X-Request-Id` of a gateway, say). */
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
}

/** A resilient HTTP client that calls services by name; see {@link createHttpClient}. */
export interface HttpClient extends AsyncDisposable {
  /** The validated options. */
  readonly options: ResolvedHttpClientOptions;
  /** The breakers, one per service name: inspect, isolate or reset them here. */
  readonly breakers: BreakerRegistry;
  /**
   * Sends a request to an instance of `service` and resolves with the response headers; the
   * body streams. Any status resolves (a 4xx, and a 5xx once retries are exhausted): only a
   * failure to get a response rejects.
   *
   * @throws SwitchyardError `SY_CLIENT_NO_INSTANCE`, `SY_CLIENT_DISCOVERY_FAILED`,
   *   `SY_CLIENT_CONNECT_FAILED`, `SY_CLIENT_UPSTREAM_FAILED`, `SY_CLIENT_TIMEOUT`,
   *   `SY_CLIENT_CLOSED`, `SY_RESILIENCE_CIRCUIT_OPEN` (the service's breaker is open; nothing
   *   was sent), `SY_RESILIENCE_DEADLINE_EXCEEDED` (the signal's deadline was spent; nothing was
   *   sent), `SY_RESILIENCE_RETRY_BUDGET_EXHAUSTED` (`cause` is the last failure),
   *   `SY_CANCELLED`, `SY_CONFIG_INVALID` (bad request options)
   */
  request(service: string, options: HttpRequestOptions): Promise<HttpResponse>;
  /** Calls `listener` before each retry. */
  onRetry(listener: Listener<HttpRetryEvent>): Disposable;
  /** Stops taking requests and closes the dispatcher the client created (in-flight requests finish). Idempotent. */
  close(): Promise<void>;
}

/** Methods are tokens (RFC 9110 §9.1). */
const methodToken = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * A 5xx response, thrown inside the breaker so that any breaker counts it as a failure (an
 * error is a failure under every classifier; a result would depend on the breaker's). The
 * client unwraps it once retries are over and resolves with the response.
 */
class StatusFailure extends Error {
  readonly response: HttpResponse;
  constructor(response: HttpResponse) {
    super(`${response.instance.service} answered ${response.statusCode}`);
    this.response = response;
  }
}

/**
 * Outcomes the retry may repeat, decided where the request's facts are known (its method, its
 * body, the deadline). One retry policy then serves every request with the same options.
 */
const retryable = new WeakSet<object>();
/** Milliseconds asked for by the `Retry-After` of a retryable outcome. */
const retryAfterOf = new WeakMap<object, number>();

/**
 * Creates a resilient HTTP client over undici.
 *
 * `client.request(service, options)` finds the instances of `service` through `discovery`,
 * skips critical ones, lets the balancer pick one, and sends the request through the service's
 * circuit breaker with a per-attempt timeout. Idempotent requests (and those with an
 * `Idempotency-Key`) are retried with jittered backoff on connection failures, timeouts and
 * 502/503/504 (429 and 503 wait for their `Retry-After`), each retry on an instance not tried
 * yet when there is one. Connection failures and 5xx count against the breaker, 4xx do not.
 * The caller's deadline caps every attempt and is sent on as `switchyard-timeout-ms`; a spent
 * deadline fails at once without sending anything.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming the field (`client.timeout: ...`)
 * @example
 * ```ts
 * import { createHttpClient } from '@switchyard/client';
 *
 * await using client = createHttpClient({ discovery, timeout: '2s' });
 * const res = await client.request('orders', { path: '/orders/42' });
 * console.log(res.statusCode, await res.body.json());
 * ```
 */
export function createHttpClient(input: HttpClientOptions & HttpClientMtlsOption): HttpClient {
  const { mtls, ...rest } = input;
  const options = resolveHttpClientOptions(rest);
  const { clock, discovery } = options;
  if (mtls !== undefined && options.dispatcher !== undefined) {
    throw invalidConfig([{ path: 'client.mtls', message: 'cannot be combined with dispatcher (mtls makes its own)' }]);
  }
  const ownDispatcher: Dispatcher | undefined =
    options.dispatcher !== undefined
      ? undefined
      : mtls !== undefined
        ? createMtlsDispatcher(mtls, (tls) => createDefaultDispatcher({ tls }))
        : createDefaultDispatcher();
  const dispatcher: Dispatcher = options.dispatcher ?? (ownDispatcher as Dispatcher);
  const ownBreakers =
    options.breakers === undefined ? createBreakerRegistry({ defaults: defaultBreakerOptions, clock }) : undefined;
  const breakers = options.breakers ?? (ownBreakers as BreakerRegistry);
  const budget =
    options.budget === false
      ? undefined
      : (options.budget ?? createRetryBudget({ ratio: 0.2, minRetriesPerSecond: 10, ttl: '10s' }, { clock }));
  // Metric handles come from the global metrics now: set them before creating the client.
  const telemetry = new ClientTelemetry(breakers);
  const balancers = new Map<string, Balancer>();
  const retryListeners = new Set<Listener<HttpRetryEvent>>();
  const retryPolicies = new WeakMap<ResolvedHttpRetryOptions, Policy>();
  const requestRetries = new WeakMap<HttpRetryOptions, ResolvedHttpRetryOptions>();
  let closed = false;
  let closing: Promise<void> | undefined;

  function retryPolicyFor(retry: ResolvedHttpRetryOptions): Policy {
    let policy = retryPolicies.get(retry);
    if (policy === undefined) {
      policy = createRetry(
        {
          maxAttempts: retry.maxAttempts,
          backoff: {
            initial: retry.backoff.initialMs,
            max: Math.max(retry.backoff.maxMs, retry.backoff.initialMs),
            factor: retry.backoff.factor,
            jitter: retry.backoff.jitter,
          },
          retryOn: { error: isRetryable, result: isRetryable },
          retryAfter: (outcome) =>
            typeof outcome === 'object' && outcome !== null ? retryAfterOf.get(outcome) : undefined,
          maxRetryAfter: retry.maxRetryAfterMs,
          ...(budget === undefined ? {} : { budget }),
        },
        { clock },
      );
      retryPolicies.set(retry, policy);
    }
    return policy;
  }

  function resolveRequestRetry(retry: HttpRetryOptions | false | undefined): ResolvedHttpRetryOptions | false {
    if (retry === undefined) return options.retry;
    if (retry === false) return false;
    let resolved = requestRetries.get(retry);
    if (resolved === undefined) {
      resolved = resolveHttpRetryOptions(retry, 'request.retry');
      requestRetries.set(retry, resolved);
    }
    return resolved;
  }

  function balancerFor(service: string): Balancer {
    let balancer = balancers.get(service);
    if (balancer === undefined) {
      balancer = options.balancer?.(service) ?? roundRobin();
      balancers.set(service, balancer);
    }
    return balancer;
  }

  async function request(service: string, input: HttpRequestOptions): Promise<HttpResponse> {
    if (closed) throw clientError('SY_CLIENT_CLOSED', `the client is closed; request to ${service} not sent`);
    const call = prepare(service, input);
    const signal = input.signal;
    if (signal?.aborted) throw cancelledError(signal, `request to ${service}`);
    const deadline = deadlineOf(signal);
    if (deadline !== undefined && deadline <= clock.now()) throw deadlineSpent(call);
    try {
      if (call.retry === false) return await call.attempt(toContext(signal));
      return await retryPolicyFor(call.retry).execute(call.attempt, signal);
    } catch (err) {
      if ((err as { code?: unknown } | null)?.code === 'SY_RESILIENCE_RETRY_BUDGET_EXHAUSTED') {
        telemetry.budgetRejected(service);
      }
      const status = statusFailureOf(err);
      if (status !== undefined) return status.response;
      if (call.source !== undefined && !call.source.destroyed) call.source.destroy();
      throw err;
    }
  }

  /** Everything one request needs across its attempts. */
  interface Call {
    readonly service: string;
    readonly signal: AbortSignal | undefined;
    readonly method: string;
    readonly path: string;
    readonly headers: Record<string, string | readonly string[]>;
    readonly replayableBody: string | Uint8Array | null;
    readonly source: Readable | undefined;
    readonly timeoutMs: number;
    readonly balancer: Balancer;
    readonly eligible: ((instances: readonly ServiceInstance[]) => readonly ServiceInstance[]) | undefined;
    readonly breaker: string;
    readonly abortable: ((abort: (reason: unknown) => void) => void) | undefined;
    readonly retry: ResolvedHttpRetryOptions | false;
    readonly attempt: (ctx: PolicyContext) => Promise<HttpResponse>;
  }

  function prepare(service: string, input: HttpRequestOptions): Call {
    if (typeof service !== 'string' || service.length === 0) {
      throw invalidConfig([{ path: 'request.service', message: 'expected a non-empty service name' }]);
    }
    if (typeof input?.path !== 'string' || !input.path.startsWith('/')) {
      throw invalidConfig([
        { path: 'request.path', message: `expected a path starting with "/", got ${JSON.stringify(input?.path)}` },
      ]);
    }
    const method = input.method ?? 'GET';
    if (typeof method !== 'string' || !methodToken.test(method)) {
      throw invalidConfig([
        { path: 'request.method', message: `expected an HTTP method, got ${JSON.stringify(method)}` },
      ]);
    }
    if (input.abortable !== undefined && typeof input.abortable !== 'function') {
      throw invalidConfig([
        { path: 'request.abortable', message: `expected a function, got ${typeof input.abortable}` },
      ]);
    }
    const timeoutMs = input.timeout === undefined ? options.timeoutMs : parseDuration(input.timeout, 'request.timeout');
    const headers = buildHeaders(options.headers, input.headers, input.idempotencyKey);
    const body = input.body ?? null;
    const streamed = isReadable(body);
    const retry = isRetryableRequest(method, headers) ? resolveRequestRetry(input.retry) : false;
    const state: AttemptState = { tried: undefined, body: undefined, previous: undefined };
    const call: Call = {
      service,
      signal: input.signal,
      method,
      path: withQuery(input.path, input.query),
      headers,
      replayableBody: streamed ? null : (body as string | Uint8Array | null),
      source: streamed ? body : undefined,
      timeoutMs,
      balancer: input.balancer ?? balancerFor(service),
      eligible: input.eligible,
      breaker: input.breaker ?? service,
      abortable: input.abortable,
      retry: retry !== false && retry.maxAttempts > 1 ? retry : false,
      attempt: (ctx) => runAttempt(call, state, ctx),
    };
    return call;
  }

  /** What one request remembers between attempts. */
  interface AttemptState {
    /** Instances tried so far (allocated on the first retry only). */
    tried: ServiceInstance[] | undefined;
    /** The current attempt's view of a streamed body. */
    body: AttemptBody | undefined;
    /** The previous attempt's outcome, while a retry may follow it. */
    previous: { instance: ServiceInstance | undefined; outcome: unknown } | undefined;
  }

  async function runAttempt(call: Call, state: AttemptState, ctx: PolicyContext): Promise<HttpResponse> {
    const previous = state.previous;
    state.previous = undefined;
    const deadline = ctx.deadline ?? deadlineOf(ctx.signal);
    if (deadline !== undefined && deadline <= clock.now()) {
      // The backoff ate the rest of the budget: the previous outcome is the truest answer.
      if (previous !== undefined) return giveBack(previous.outcome);
      throw deadlineSpent(call);
    }
    if (previous !== undefined) discard(previous.outcome);
    let instance: ServiceInstance | undefined;
    try {
      instance = await pick(call, state, ctx);
      if (ctx.attempt > 1) {
        telemetry.retried(call.service, ctx.attempt, instance, previous?.outcome);
        if (retryListeners.size > 0) emitRetry(call, ctx.attempt, instance, previous);
      }
      const target = instance;
      const breaker = telemetry.breaker(call.breaker);
      const response = await breaker.execute((inner) => exchange(call, state, target, inner, deadline), ctx);
      // Resolved responses are 1xx to 4xx (a 5xx was thrown); a 4xx may be listed in `statuses`.
      if (call.retry !== false && response.statusCode >= 400 && call.retry.statuses.includes(response.statusCode)) {
        judgeResponse(call, state, response, deadline);
      }
      if (retryable.has(response)) state.previous = { instance, outcome: response };
      return response;
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      if (
        instance !== undefined &&
        (code === 'SY_RESILIENCE_CIRCUIT_OPEN' || code === 'SY_RESILIENCE_CIRCUIT_ISOLATED')
      ) {
        telemetry.circuitRejected(call.service, instance, err);
      }
      if (call.retry !== false) judgeError(call, state, err, deadline);
      if (typeof err === 'object' && err !== null && retryable.has(err)) state.previous = { instance, outcome: err };
      throw err;
    }
  }

  async function pick(call: Call, state: AttemptState, ctx: PolicyContext): Promise<ServiceInstance> {
    let listed: readonly ServiceInstance[];
    try {
      listed = await discovery.instances(call.service, ctx.signal);
    } catch (err) {
      if (ctx.signal.aborted) throw cancelledError(ctx.signal, `request to ${call.service}`);
      throw clientError(
        'SY_CLIENT_DISCOVERY_FAILED',
        `looking up instances of service ${JSON.stringify(call.service)} failed: ${describeError(err)}`,
        { cause: err, details: { service: call.service } },
      );
    }
    if (call.eligible !== undefined) listed = call.eligible(listed);
    let usable = listed.some(isCritical) ? listed.filter((i) => !isCritical(i)) : listed;
    const tried = state.tried;
    if (tried !== undefined && usable.length > 1) {
      const fresh = usable.filter((i) => !tried.some((t) => sameInstance(t, i)));
      if (fresh.length > 0) usable = fresh;
    }
    const instance = call.balancer.pick(usable);
    if (instance === undefined) {
      throw clientError('SY_CLIENT_NO_INSTANCE', `no usable instance of service ${JSON.stringify(call.service)}`, {
        details: { service: call.service, listed: listed.length },
      });
    }
    if (call.retry !== false) {
      state.tried ??= [];
      state.tried.push(instance);
    }
    return instance;
  }

  async function exchange(
    call: Call,
    state: AttemptState,
    instance: ServiceInstance,
    ctx: PolicyContext,
    deadline: number | undefined,
  ): Promise<HttpResponse> {
    if (call.signal?.aborted) throw cancelledError(call.signal, `request to ${call.service}`);
    const now = clock.now();
    let waitMs = call.timeoutMs;
    let capped = false;
    if (deadline !== undefined) {
      const remaining = Math.max(1, deadline - now);
      if (waitMs === 0 || remaining < waitMs) {
        waitMs = remaining;
        capped = true;
      }
      call.headers[TIMEOUT_HEADER] = formatTimeoutHeader(remaining);
    }
    let body: string | Uint8Array | Readable | null = call.replayableBody;
    if (call.source !== undefined) {
      if (call.retry === false) body = call.source;
      else {
        // A wrapper left from an attempt that failed before reading must not compete for the
        // source with this one: detach it (the source itself is untouched).
        state.body?.stream.destroy();
        state.body = attemptBody(call.source);
        body = state.body.stream;
      }
    }
    const stream = typeof body === 'object' && body !== null && isReadable(body) ? body : undefined;
    const origin = endpointOrigin(instance, schemeOf(instance));
    const span = startAttemptSpan(call.method, origin, call.path, call.service, instance, ctx.attempt, call.headers);
    const ex = new Exchange(stream ?? null);
    // Ended by the exchange when the body ends (or below when there is no response).
    ex.span = span;
    let cancelTimer: (() => void) | undefined;
    let settled = false;
    const arm = () => {
      if (settled || waitMs === 0) return;
      cancelTimer = clock.setTimeout(() => ex.abort(timeoutError(call, instance, waitMs, capped)), waitMs);
    };
    // The clock starts once the whole request is handed over: a slow upload is the sender's
    // pace, not the instance's.
    if (stream === undefined || stream.readableEnded) arm();
    else stream.once('end', arm);
    // The caller's signal is forwarded by hand for as long as the exchange lasts and then the
    // response body, so that a caller who gives up while reading it still stops the transfer.
    // Policies in between hand on the caller's signal.
    const caller = call.signal;
    if (call.abortable !== undefined) {
      call.abortable((reason) =>
        ex.abort(coreError('SY_CANCELLED', `request to ${call.service} was cancelled`, { cause: reason })),
      );
    } else if (caller !== undefined) {
      const onAbort = () => ex.abort(cancelledError(caller, `request to ${call.service}`));
      caller.addEventListener('abort', onAbort);
      ex.onDone = () => caller.removeEventListener('abort', onAbort);
    }
    // Feedback for load-aware balancers and outlier ejection: in flight from here, ended with
    // the time to the response headers or the failure (the caller's own abort or deadline says
    // nothing about the instance and only ends the in-flight count).
    const stats = call.balancer.stats;
    const sentAt = clock.now();
    stats?.begin(instance);
    try {
      await ex.dispatch(dispatcher, {
        origin,
        path: call.path,
        method: call.method as Dispatcher.HttpMethod,
        headers: call.headers as Record<string, string | string[]>,
        body,
        // The timer above measures the headers precisely; undici's own timer (about a second
        // of resolution) stays as the backstop for an instance that stops reading the request
        // body, which the timer above cannot see. undici's body timer bounds each pause
        // between response chunks.
        headersTimeout: waitMs,
        bodyTimeout: call.timeoutMs,
      });
    } catch (err) {
      const failure = ex.aborted ? ex.reason : upstreamError(call, instance, err, waitMs, capped);
      if (ex.span !== undefined) {
        ex.span = undefined;
        attemptFailed(span, failure);
      }
      telemetry.failed(call.service, instance, failure);
      if (stats !== undefined) {
        const cancelled =
          (failure as { code?: unknown } | null)?.code === 'SY_CANCELLED' ||
          (failure as { details?: { deadline?: unknown } } | null)?.details?.deadline === true;
        stats.end(instance, { error: failure, latencyMs: clock.now() - sentAt, cancelled });
      }
      throw failure;
    } finally {
      settled = true;
      cancelTimer?.();
      stream?.off('end', arm);
    }
    stats?.end(instance, { statusCode: ex.statusCode, latencyMs: clock.now() - sentAt });
    telemetry.answered(call.service, instance, ex.statusCode);
    const response = new UpstreamResponse(ex, call.method, instance, ctx.attempt);
    if (response.statusCode >= 500) {
      const failure = new StatusFailure(response);
      if (call.retry !== false) judgeResponse(call, state, response, deadline, failure);
      throw failure;
    }
    return response;
  }

  /** Marks a response (or the failure carrying it) retryable when the request and the options allow it. */
  function judgeResponse(
    call: Call,
    state: AttemptState,
    response: HttpResponse,
    deadline: number | undefined,
    failure?: StatusFailure,
  ): void {
    const retry = call.retry;
    if (retry === false || !retry.statuses.includes(response.statusCode) || !bodyReplayable(call, state)) return;
    const wait =
      response.statusCode === 429 || response.statusCode === 503
        ? parseRetryAfter(response.headers['retry-after'], clock.now())
        : undefined;
    // A 429 says "not so fast": without a Retry-After there is no safe moment to come back.
    if (response.statusCode === 429 && wait === undefined) return;
    if (deadline !== undefined && deadline - clock.now() <= (wait ?? 0)) return;
    const outcome = failure ?? response;
    retryable.add(outcome);
    if (wait !== undefined) retryAfterOf.set(outcome, wait);
  }

  /** Marks an error retryable when the request and the options allow it. */
  function judgeError(call: Call, state: AttemptState, err: unknown, deadline: number | undefined): void {
    const retry = call.retry;
    if (retry === false || typeof err !== 'object' || err === null || err instanceof StatusFailure) return;
    const code = (err as { code?: unknown }).code;
    const unsent =
      code === 'SY_CLIENT_CONNECT_FAILED' || code === 'SY_CLIENT_NO_INSTANCE' || code === 'SY_CLIENT_DISCOVERY_FAILED';
    const sent = code === 'SY_CLIENT_TIMEOUT' || code === 'SY_CLIENT_UPSTREAM_FAILED';
    if (!unsent && !(sent && retry.afterSend)) return;
    // A timeout cut short by the caller's deadline leaves no time for another attempt.
    if ((err as { details?: { deadline?: unknown } }).details?.deadline === true) return;
    if (!bodyReplayable(call, state)) return;
    if (deadline !== undefined && deadline <= clock.now()) return;
    retryable.add(err);
  }

  function bodyReplayable(call: Call, state: AttemptState): boolean {
    return call.source === undefined || state.body === undefined || !state.body.touched;
  }

  function emitRetry(call: Call, attempt: number, instance: ServiceInstance, previous: AttemptState['previous']): void {
    const outcome = previous?.outcome;
    const response =
      outcome instanceof StatusFailure ? outcome.response : isResponse(outcome) ? (outcome as HttpResponse) : undefined;
    const event: HttpRetryEvent = {
      service: call.service,
      method: call.method,
      path: call.path,
      attempt,
      instance,
      previousInstance: previous?.instance,
      error: response === undefined ? outcome : undefined,
      statusCode: response?.statusCode,
      headers: call.headers,
    };
    for (const listener of [...retryListeners]) {
      try {
        listener(event);
      } catch {
        // A listener's failure must not fail the request it observes.
      }
    }
  }

  function deadlineSpent(call: Call): Error {
    return resilienceError(
      'SY_RESILIENCE_DEADLINE_EXCEEDED',
      `the deadline of the request to ${call.service} was already spent; nothing was sent`,
      { details: { service: call.service } },
    );
  }

  function upstreamError(call: Call, instance: ServiceInstance, err: unknown, waitMs: number, capped: boolean): Error {
    const code = (err as { code?: unknown } | null)?.code;
    const details = detailsOf(call, instance);
    const where = whereOf(call, instance);
    if (code === 'UND_ERR_HEADERS_TIMEOUT') {
      return clientError('SY_CLIENT_TIMEOUT', `${where} did not send headers within ${waitMs}ms`, {
        cause: err,
        details: { ...details, timeoutMs: waitMs, ...(capped ? { deadline: true } : {}) },
      });
    }
    if (closed && (code === 'UND_ERR_DESTROYED' || code === 'UND_ERR_CLOSED')) {
      return clientError('SY_CLIENT_CLOSED', `the client closed before ${where} answered`, { cause: err, details });
    }
    if (isConnectError(err)) {
      return clientError('SY_CLIENT_CONNECT_FAILED', `could not connect to ${where}: ${describeError(err)}`, {
        cause: err,
        details,
      });
    }
    return clientError('SY_CLIENT_UPSTREAM_FAILED', `${where} failed: ${describeError(err)}`, { cause: err, details });
  }

  const client: HttpClient = {
    options,
    breakers,
    request,
    onRetry(listener) {
      retryListeners.add(listener);
      const dispose = () => {
        retryListeners.delete(listener);
      };
      return { dispose, [Symbol.dispose]: dispose };
    },
    close() {
      closed = true;
      closing ??= Promise.all([ownDispatcher?.close(), ownBreakers?.close()]).then(() => {});
      return closing;
    },
    [Symbol.asyncDispose]() {
      return client.close();
    },
  };
  return client;
}

/**
 * The dispatcher a client creates when given none: an undici `Agent`, which keeps one
 * keep-alive pool per instance origin. Idle sockets close after 4 s (sooner when the instance's
 * `Keep-Alive: timeout` says so), so a socket the instance is about to close is rarely reused;
 * connecting times out after 5 s. Instances registered with `meta.scheme: "https"` are reached
 * over TLS and verified against `options.tls.ca` (default: the system's trusted CAs).
 *
 * @example
 * ```ts
 * const client = createHttpClient({ discovery, dispatcher: createDefaultDispatcher() });
 * ```
 */
export function createDefaultDispatcher(options: DefaultDispatcherOptions = {}): Agent {
  const tls = options.tls;
  return new Agent({
    keepAliveTimeout: 4_000,
    keepAliveMaxTimeout: 60_000,
    connect: {
      timeout: 5_000,
      // Used for `https` instances only; plain connections ignore them.
      ...(tls?.ca === undefined ? {} : { ca: tls.ca }),
      ...(tls?.servername === undefined ? {} : { servername: tls.servername }),
      ...(tls?.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: tls.rejectUnauthorized }),
      ...(tls?.cert === undefined ? {} : { cert: tls.cert, key: tls.key }),
      ...(tls?.checkServerIdentity === undefined ? {} : { checkServerIdentity: tls.checkServerIdentity }),
    },
  });
}

/** TLS settings for instances reached over https; see {@link createDefaultDispatcher}. */
export interface UpstreamTlsConnectOptions {
  /** PEM CAs that instance certificates must chain to. @default the system's trusted CAs */
  readonly ca?: string | Buffer | readonly (string | Buffer)[];
  /** The name checked against instance certificates (and sent as SNI). @default the instance's host */
  readonly servername?: string;
  /** Refuse instances whose certificate does not verify. @default true */
  readonly rejectUnauthorized?: boolean;
  /** A client certificate (PEM) presented to instances that ask for one (mutual TLS). */
  readonly cert?: string;
  /** The private key of `cert`, PEM. */
  readonly key?: string;
  /** Replaces the host name check of instance certificates (`createHttpClient({ mtls })` checks SPIFFE IDs). */
  readonly checkServerIdentity?: (host: string, cert: PeerCertificate) => Error | undefined;
}

/** Options of {@link createDefaultDispatcher}. */
export interface DefaultDispatcherOptions {
  /** How instances whose `meta.scheme` is `https` are verified. */
  readonly tls?: UpstreamTlsConnectOptions;
}

/**
 * `https` for an instance registered with `meta.scheme: "https"`, otherwise `http`.
 *
 * @example
 * ```ts
 * schemeOf({ id: 'a', service: 's', address: '10.0.0.5', port: 8443, tags: [], meta: { scheme: 'https' }, status: 'passing', weight: 1 }); // 'https'
 * ```
 */
export function schemeOf(instance: ServiceInstance): 'http' | 'https' {
  return instance.meta.scheme === 'https' ? 'https' : 'http';
}

function timeoutError(call: { service: string }, instance: ServiceInstance, waitMs: number, capped: boolean): Error {
  return clientError(
    'SY_CLIENT_TIMEOUT',
    `${whereOf(call, instance)} did not send headers within ${waitMs}ms${capped ? " (the caller's remaining deadline)" : ''}`,
    { details: { ...detailsOf(call, instance), timeoutMs: waitMs, ...(capped ? { deadline: true } : {}) } },
  );
}

function detailsOf(call: { service: string }, instance: ServiceInstance): Record<string, string> {
  return { service: call.service, instance: instance.id, address: addressOf(instance) };
}

function whereOf(call: { service: string }, instance: ServiceInstance): string {
  return `${call.service} (${addressOf(instance)})`;
}

/** `host:port` of an instance, `https://` kept for TLS instances so messages say how it was reached. */
function addressOf(instance: ServiceInstance): string {
  const origin = endpointOrigin(instance, schemeOf(instance));
  return origin.startsWith('http://') ? origin.slice('http://'.length) : origin;
}

/** The response a 5xx failure carries, also behind a refused retry (`cause`). */
function statusFailureOf(err: unknown): StatusFailure | undefined {
  if (err instanceof StatusFailure) return err;
  const cause = (err as { code?: unknown; cause?: unknown } | null)?.cause;
  if ((err as { code?: unknown }).code === 'SY_RESILIENCE_RETRY_BUDGET_EXHAUSTED' && cause instanceof StatusFailure) {
    return cause;
  }
  return undefined;
}

function isRetryable(outcome: unknown): boolean {
  return typeof outcome === 'object' && outcome !== null && retryable.has(outcome);
}

/** Frees what a retried outcome holds: the body of a response nobody will read. */
function discard(outcome: unknown): void {
  const response = outcome instanceof StatusFailure ? outcome.response : isResponse(outcome) ? outcome : undefined;
  if (response instanceof UpstreamResponse) response.discard();
  else response?.body.dump().catch(() => {});
}

/** Returns or rethrows a previous outcome, no longer marked for retry. */
function giveBack(outcome: unknown): HttpResponse {
  if (typeof outcome === 'object' && outcome !== null) retryable.delete(outcome);
  if (isResponse(outcome)) return outcome;
  throw outcome;
}

function isResponse(value: unknown): value is HttpResponse {
  return typeof value === 'object' && value !== null && 'statusCode' in value && 'instance' in value;
}

function isCritical(instance: ServiceInstance): boolean {
  return instance.status === HealthStatus.Critical;
}

function sameInstance(a: ServiceInstance, b: ServiceInstance): boolean {
  return a.id === b.id || (a.address === b.address && a.port === b.port);
}

function isReadable(value: unknown): value is Readable {
  return typeof value === 'object' && value !== null && typeof (value as Readable).pipe === 'function';
}

function buildHeaders(
  defaults: Readonly<Record<string, string | readonly string[]>>,
  own: HttpRequestOptions['headers'],
  idempotencyKey: string | undefined,
): Record<string, string | readonly string[]> {
  const headers: Record<string, string | readonly string[]> = {};
  for (const name in defaults) headers[name] = defaults[name] as string | readonly string[];
  if (own !== undefined) {
    for (const name in own) {
      const value = own[name];
      if (value !== undefined) headers[name.toLowerCase()] = value;
    }
  }
  if (idempotencyKey !== undefined) headers[IDEMPOTENCY_KEY_HEADER] = idempotencyKey;
  // Only the client knows the budget left at sending time; a relayed value would be stale.
  // (`delete` only when needed: it turns the object into a slow dictionary for undici.)
  if (headers[TIMEOUT_HEADER] !== undefined) delete headers[TIMEOUT_HEADER];
  return headers;
}

function withQuery(path: string, query: HttpRequestOptions['query']): string {
  if (query === undefined) return path;
  const params = new URLSearchParams();
  for (const name in query) {
    const value = query[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const item of value) params.append(name, String(item));
    else params.append(name, String(value));
  }
  const text = params.toString();
  if (text === '') return path;
  return `${path}${path.includes('?') ? '&' : '?'}${text}`;
}
