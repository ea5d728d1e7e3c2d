import { type ErrorCodeSpec, errorFactory, isSwitchyardError } from '@switchyard/core';

/** One row of the gateway's code table: a core {@link ErrorCodeSpec} plus the HTTP status it renders as. */
export interface GatewayErrorCodeSpec extends ErrorCodeSpec {
  /** The status the gateway answers with when a request fails with this code. */
  readonly status: number;
}

/**
 * Error codes owned by `@switchyard/gateway`, and the one place that maps a code to an HTTP status.
 * Codes are public API: never renamed or reused.
 *
 * @example
 * ```ts
 * gatewayErrorCodes.SY_GATEWAY_UPSTREAM_TIMEOUT.status; // 504
 * ```
 */
export const gatewayErrorCodes = {
  SY_GATEWAY_BAD_REQUEST: {
    summary: 'The request is not valid HTTP/1.1 (Node’s parser rejected it); the connection is closed.',
    retryable: false,
    status: 400,
  },
  SY_GATEWAY_REQUEST_TIMEOUT: {
    summary:
      'The client did not send the complete request headers or body in time (node:http `headersTimeout`/`requestTimeout`).',
    retryable: false,
    status: 408,
  },
  SY_GATEWAY_HEADERS_TOO_LARGE: {
    summary: 'The request headers exceed Node’s maximum header size.',
    retryable: false,
    status: 431,
  },
  SY_GATEWAY_ROUTE_NOT_FOUND: {
    summary: 'No route matches the request method and path.',
    retryable: false,
    status: 404,
  },
  SY_GATEWAY_BAD_PATH: {
    summary:
      'The request path is malformed or unsafe: invalid percent-encoding, an encoded slash, backslash or dot segment, NUL, or a `..` above the root.',
    retryable: false,
    status: 400,
  },
  SY_GATEWAY_BAD_TIMEOUT_HEADER: {
    summary:
      'The request’s `switchyard-timeout-ms` header is malformed (not whole milliseconds, or repeated with different values); it was not forwarded.',
    retryable: false,
    status: 400,
  },
  SY_GATEWAY_UPSTREAM_FAILED: {
    summary: 'The upstream instance could not be reached or failed before sending a complete response.',
    retryable: true,
    status: 502,
  },
  SY_GATEWAY_NO_HEALTHY_INSTANCE: {
    summary: 'Discovery reports no healthy instance of the route’s service; the response carries `Retry-After: 1`.',
    retryable: true,
    status: 503,
  },
  SY_GATEWAY_DISCOVERY_FAILED: {
    summary: 'The instance source failed while looking up the route’s service; the response carries `Retry-After: 1`.',
    retryable: true,
    status: 503,
  },
  SY_GATEWAY_UPSTREAM_TIMEOUT: {
    summary: 'The upstream instance did not send response headers within the route timeout.',
    retryable: true,
    status: 504,
  },
  SY_GATEWAY_SHUTTING_DOWN: {
    summary: 'The gateway has closed and takes no more requests; the response carries `Retry-After: 1`.',
    retryable: true,
    status: 503,
  },
  SY_GATEWAY_INTERNAL: {
    summary: 'An unexpected failure inside the gateway; `cause` holds the original error.',
    retryable: false,
    status: 500,
  },
  SY_GATEWAY_LISTEN_FAILED: {
    summary: 'The gateway could not listen on its host and port (for example EADDRINUSE).',
    retryable: false,
    status: 500,
  },
  SY_GATEWAY_TLS_CERTIFICATE_REFUSED: {
    summary:
      'A TLS listener’s certificate files changed but the new pair does not load (unreadable, not PEM, key not matching, expired); logged, the previous certificate stays in service.',
    retryable: false,
    status: 500,
  },
  SY_GATEWAY_RELOAD_UNAVAILABLE: {
    summary:
      '`POST /admin/reload` was called on a gateway started without a way to read its config again (`GatewayInput.loadConfig`).',
    retryable: false,
    status: 501,
  },
  SY_GATEWAY_UNAUTHENTICATED: {
    summary:
      'The request carries no credentials, or ones the gateway rejects (bad signature, wrong issuer or audience, expired, unknown API key); the response carries `WWW-Authenticate`.',
    retryable: false,
    status: 401,
  },
  SY_GATEWAY_FORBIDDEN: {
    summary: 'The credentials are valid but the auth service refused the request (it answered 403).',
    retryable: false,
    status: 403,
  },
  SY_GATEWAY_ADMIN_UNAUTHENTICATED: {
    summary:
      'An admin API request (other than `/healthz` and `/readyz`) carries no `Authorization: Bearer` token, or one that is not in `admin.auth.tokens`; the response carries `WWW-Authenticate: Bearer`.',
    retryable: false,
    status: 401,
  },
  SY_GATEWAY_ADMIN_FORBIDDEN: {
    summary:
      'An admin API request carries a known token whose scope does not cover the endpoint: a `read` token on an action such as `POST /admin/reload`.',
    retryable: false,
    status: 403,
  },
  SY_GATEWAY_AUTH_UNAVAILABLE: {
    summary:
      'The gateway could not decide on the credentials: the JWKS or the auth service could not be reached in time; the response carries `Retry-After: 1`.',
    retryable: true,
    status: 503,
  },
  SY_GATEWAY_RATE_LIMITED: {
    summary:
      'The client used up its rate limit on this route; the response carries `Retry-After` (seconds until a request would be admitted) and the `RateLimit` headers.',
    retryable: true,
    status: 429,
  },
  SY_GATEWAY_RATE_LIMIT_UNAVAILABLE: {
    summary:
      'The rate limiter’s store (Redis) could not be reached and the limiter fails closed (`onStoreError: "closed"`); the response carries `Retry-After: 1`.',
    retryable: true,
    status: 503,
  },
  SY_GATEWAY_METHOD_NOT_ALLOWED: {
    summary:
      'A route matches the request path but not its method; the response carries `Allow` with the methods that path serves.',
    retryable: false,
    status: 405,
  },
  SY_GATEWAY_PAYLOAD_TOO_LARGE: {
    summary: 'The request body is larger than the route’s `bodyLimit`; the connection is closed.',
    retryable: false,
    status: 413,
  },
  SY_GATEWAY_IP_DENIED: {
    summary: 'The client address is not allowed on this route by its `ipFilter` (deny list, or not on the allow list).',
    retryable: false,
    status: 403,
  },
  SY_GATEWAY_UPGRADE_NOT_SUPPORTED: {
    summary:
      'The request asks for a protocol upgrade the gateway does not proxy: only `Upgrade: websocket`, on routes that proxy to a service.',
    retryable: false,
    status: 400,
  },
  SY_GATEWAY_AGGREGATE_FAILED: {
    summary:
      'A required call of an aggregate route failed (unreachable, a non-2xx answer, a bad or oversized body, or skipped); the body still carries `data` and `calls`.',
    retryable: true,
    status: 502,
  },
  SY_GATEWAY_AGGREGATE_UNAVAILABLE: {
    summary:
      'A required call of an aggregate route found no healthy instance, an open breaker or a failing discovery; the body still carries `data` and `calls`, the response `Retry-After`.',
    retryable: true,
    status: 503,
  },
  SY_GATEWAY_AGGREGATE_TIMEOUT: {
    summary:
      'A required call of an aggregate route ran out of its timeout or the aggregate deadline; the body still carries `data` and `calls`.',
    retryable: true,
    status: 504,
  },
  SY_GATEWAY_AGGREGATE_CALL_STATUS: {
    summary: 'An aggregate call answered a status other than 2xx (reported in `calls.<name>.error`).',
    retryable: false,
    status: 502,
  },
  SY_GATEWAY_AGGREGATE_BODY_TOO_LARGE: {
    summary: 'An aggregate call answered a body larger than `maxBodySize` (reported in `calls.<name>.error`).',
    retryable: false,
    status: 502,
  },
  SY_GATEWAY_AGGREGATE_CALL_SKIPPED: {
    summary:
      'An aggregate call was not sent: a call it depends on did not succeed, or its body lacked the field the path needs (reported in `calls.<name>.error`).',
    retryable: false,
    status: 502,
  },
  SY_GATEWAY_INVALID_SPLIT: {
    summary:
      'A traffic split set at run time (`gateway.traffic.setSplit`) names an unknown route or subset, or its weights are not whole percentages adding up to 100.',
    retryable: false,
    status: 400,
  },
  SY_GATEWAY_ROLLOUT_NOT_FOUND: {
    summary: 'No rollout with that name is configured under `gateway.rollouts`.',
    retryable: false,
    status: 404,
  },
  SY_GATEWAY_ROLLOUT_CONFLICT: {
    summary:
      'The rollout action does not fit the rollout’s phase (promote or abort when it is not progressing or paused, start while it is), or another replica changed it at the same moment.',
    retryable: false,
    status: 409,
  },
  SY_GATEWAY_ROLLOUT_STORE_FAILED: {
    summary: 'The rollout store (SQLite file, Redis, PostgreSQL) could not be read or written.',
    retryable: true,
    status: 503,
  },
} as const satisfies Record<string, GatewayErrorCodeSpec>;

/** A code from {@link gatewayErrorCodes}. */
export type GatewayErrorCode = keyof typeof gatewayErrorCodes;

/**
 * Creates an error with one of the gateway's codes.
 *
 * @example
 * ```ts
 * throw gatewayError('SY_GATEWAY_ROUTE_NOT_FOUND', 'no route for GET /nope');
 * ```
 */
export const gatewayError = errorFactory(gatewayErrorCodes);

/** Codes whose responses carry `Retry-After: 1`: the condition is expected to clear within seconds. */
const retryAfterCodes: ReadonlySet<string> = new Set<GatewayErrorCode>([
  'SY_GATEWAY_NO_HEALTHY_INSTANCE',
  'SY_GATEWAY_DISCOVERY_FAILED',
  'SY_GATEWAY_SHUTTING_DOWN',
  'SY_GATEWAY_RATE_LIMIT_UNAVAILABLE',
  'SY_GATEWAY_AUTH_UNAVAILABLE',
]);

/**
 * Statuses of codes other packages own that the gateway renders as they are: a spent budget
 * (504, as a timeout would be) and an open or isolated breaker (503: the service is unavailable).
 */
const foreignStatuses: Readonly<Record<string, number>> = {
  SY_RESILIENCE_DEADLINE_EXCEEDED: 504,
  SY_RESILIENCE_CIRCUIT_OPEN: 503,
  SY_RESILIENCE_CIRCUIT_ISOLATED: 503,
};

/**
 * The HTTP status for `err`: the table's status for a gateway code, 504 for
 * `SY_RESILIENCE_DEADLINE_EXCEEDED`, 503 for `SY_RESILIENCE_CIRCUIT_OPEN` and
 * `SY_RESILIENCE_CIRCUIT_ISOLATED`, 500 for anything else.
 *
 * @example
 * ```ts
 * httpStatusOf(gatewayError('SY_GATEWAY_BAD_PATH', 'bad path')); // 400
 * httpStatusOf(new Error('boom')); // 500
 * ```
 */
export function httpStatusOf(err: unknown): number {
  if (isSwitchyardError(err) && Object.hasOwn(gatewayErrorCodes, err.code)) {
    return gatewayErrorCodes[err.code as GatewayErrorCode].status;
  }
  if (isSwitchyardError(err) && Object.hasOwn(foreignStatuses, err.code)) return foreignStatuses[err.code] as number;
  return 500;
}

/**
 * The `Retry-After` value (seconds) to send with `err`, or `undefined` when none applies.
 *
 * @example
 * ```ts
 * retryAfterOf(gatewayError('SY_GATEWAY_NO_HEALTHY_INSTANCE', 'no instance')); // 1
 * ```
 */
export function retryAfterOf(err: unknown): number | undefined {
  if (!isSwitchyardError(err)) return undefined;
  if (err.code === 'SY_RESILIENCE_CIRCUIT_OPEN' || err.code === 'SY_GATEWAY_RATE_LIMITED') {
    // The breaker says when it will let a probe through, the rate limiter when the next
    // request would be admitted; whole seconds rounded up, at least one.
    const ms = err.details.retryAfterMs;
    return typeof ms === 'number' && Number.isFinite(ms) ? Math.max(1, Math.ceil(ms / 1000)) : 1;
  }
  return retryAfterCodes.has(err.code) ? 1 : undefined;
}

/** The JSON body of every error response the gateway produces. */
export interface GatewayErrorBody {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly requestId: string;
  };
}

/**
 * The response body for `err`. Errors that are not Switchyard errors become `SY_GATEWAY_INTERNAL`
 * with a generic message, so internals (stack traces, file paths) never reach a client.
 *
 * @example
 * ```ts
 * errorBody(gatewayError('SY_GATEWAY_ROUTE_NOT_FOUND', 'no route for GET /nope'), 'req-1');
 * // { error: { code: 'SY_GATEWAY_ROUTE_NOT_FOUND', message: 'no route for GET /nope', requestId: 'req-1' } }
 * ```
 */
export function errorBody(err: unknown, requestId: string): GatewayErrorBody {
  if (isSwitchyardError(err)) return { error: { code: err.code, message: err.message, requestId } };
  return { error: { code: 'SY_GATEWAY_INTERNAL', message: 'internal gateway error', requestId } };
}
