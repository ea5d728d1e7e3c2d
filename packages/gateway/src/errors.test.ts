import assert from 'node:assert/strict';
import { test } from 'node:test';
import { coreError } from '@switchyard/core';
import { resilienceError } from '@switchyard/resilience';
import { errorBody, gatewayError, gatewayErrorCodes, httpStatusOf, retryAfterOf } from './errors.ts';

test('codes follow SY_GATEWAY_<WHAT> and map to the documented statuses', () => {
  const statuses = Object.fromEntries(Object.entries(gatewayErrorCodes).map(([code, spec]) => [code, spec.status]));
  assert.deepEqual(statuses, {
    SY_GATEWAY_BAD_REQUEST: 400,
    SY_GATEWAY_REQUEST_TIMEOUT: 408,
    SY_GATEWAY_HEADERS_TOO_LARGE: 431,
    SY_GATEWAY_ROLLOUT_CONFLICT: 409,
    SY_GATEWAY_ROLLOUT_NOT_FOUND: 404,
    SY_GATEWAY_ROLLOUT_STORE_FAILED: 503,
    SY_GATEWAY_ROUTE_NOT_FOUND: 404,
    SY_GATEWAY_BAD_PATH: 400,
    SY_GATEWAY_BAD_TIMEOUT_HEADER: 400,
    SY_GATEWAY_UPSTREAM_FAILED: 502,
    SY_GATEWAY_NO_HEALTHY_INSTANCE: 503,
    SY_GATEWAY_DISCOVERY_FAILED: 503,
    SY_GATEWAY_UPSTREAM_TIMEOUT: 504,
    SY_GATEWAY_SHUTTING_DOWN: 503,
    SY_GATEWAY_TLS_CERTIFICATE_REFUSED: 500,
    SY_GATEWAY_INTERNAL: 500,
    SY_GATEWAY_LISTEN_FAILED: 500,
    SY_GATEWAY_RATE_LIMITED: 429,
    SY_GATEWAY_RATE_LIMIT_UNAVAILABLE: 503,
    SY_GATEWAY_RELOAD_UNAVAILABLE: 501,
    SY_GATEWAY_METHOD_NOT_ALLOWED: 405,
    SY_GATEWAY_PAYLOAD_TOO_LARGE: 413,
    SY_GATEWAY_IP_DENIED: 403,
    SY_GATEWAY_UPGRADE_NOT_SUPPORTED: 400,
    SY_GATEWAY_UNAUTHENTICATED: 401,
    SY_GATEWAY_FORBIDDEN: 403,
    SY_GATEWAY_ADMIN_UNAUTHENTICATED: 401,
    SY_GATEWAY_ADMIN_FORBIDDEN: 403,
    SY_GATEWAY_AUTH_UNAVAILABLE: 503,
    SY_GATEWAY_AGGREGATE_FAILED: 502,
    SY_GATEWAY_AGGREGATE_UNAVAILABLE: 503,
    SY_GATEWAY_AGGREGATE_TIMEOUT: 504,
    SY_GATEWAY_AGGREGATE_CALL_STATUS: 502,
    SY_GATEWAY_AGGREGATE_BODY_TOO_LARGE: 502,
    SY_GATEWAY_AGGREGATE_CALL_SKIPPED: 502,
    SY_GATEWAY_INVALID_SPLIT: 400,
  });
  for (const code of Object.keys(gatewayErrorCodes)) assert.match(code, /^SY_GATEWAY_[A-Z_]+$/);
});

test('httpStatusOf reads the table; other errors are 500', () => {
  assert.equal(httpStatusOf(gatewayError('SY_GATEWAY_UPSTREAM_TIMEOUT', 'slow')), 504);
  assert.equal(httpStatusOf(resilienceError('SY_RESILIENCE_DEADLINE_EXCEEDED', 'spent')), 504);
  assert.equal(httpStatusOf(resilienceError('SY_RESILIENCE_CIRCUIT_OPEN', 'open')), 503);
  assert.equal(httpStatusOf(resilienceError('SY_RESILIENCE_TIMEOUT', 'slow')), 500);
  assert.equal(httpStatusOf(coreError('SY_CANCELLED', 'gone')), 500);
  assert.equal(httpStatusOf(new Error('boom')), 500);
  assert.equal(httpStatusOf('boom'), 500);
});

test('Retry-After applies to the transient 503s only', () => {
  assert.equal(retryAfterOf(gatewayError('SY_GATEWAY_NO_HEALTHY_INSTANCE', 'none')), 1);
  assert.equal(retryAfterOf(gatewayError('SY_GATEWAY_DISCOVERY_FAILED', 'down')), 1);
  assert.equal(retryAfterOf(gatewayError('SY_GATEWAY_UPSTREAM_FAILED', 'bad')), undefined);
  assert.equal(retryAfterOf(new Error('x')), undefined);
  const open = (retryAfterMs: number) =>
    resilienceError('SY_RESILIENCE_CIRCUIT_OPEN', 'open', { details: { retryAfterMs } });
  assert.equal(retryAfterOf(open(4200)), 5, 'an open breaker says when it probes, in whole seconds');
  assert.equal(retryAfterOf(open(0)), 1);
});

test('errorBody renders code, message and request id, and hides foreign errors', () => {
  const cause = new Error('ECONNRESET');
  const err = gatewayError('SY_GATEWAY_UPSTREAM_FAILED', 'upstream orders (127.0.0.1:1) failed', { cause });
  assert.equal(err.cause, cause);
  assert.equal(err.retryable, true);
  assert.deepEqual(errorBody(err, 'r1'), {
    error: { code: 'SY_GATEWAY_UPSTREAM_FAILED', message: 'upstream orders (127.0.0.1:1) failed', requestId: 'r1' },
  });
  assert.deepEqual(errorBody(new Error('/secret/path.ts:12 exploded'), 'r2'), {
    error: { code: 'SY_GATEWAY_INTERNAL', message: 'internal gateway error', requestId: 'r2' },
  });
});
