import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gatewayError, httpStatusOf, retryAfterOf } from '../errors.ts';

test('SY_GATEWAY_RATE_LIMITED is 429 with Retry-After in whole seconds, rounded up, at least 1', () => {
  const limited = (retryAfterMs: number) =>
    gatewayError('SY_GATEWAY_RATE_LIMITED', 'slow down', { details: { retryAfterMs } });
  assert.equal(httpStatusOf(limited(1)), 429);
  assert.equal(retryAfterOf(limited(1)), 1);
  assert.equal(retryAfterOf(limited(1000)), 1);
  assert.equal(retryAfterOf(limited(1001)), 2);
  assert.equal(retryAfterOf(limited(0)), 1);
  assert.equal(retryAfterOf(gatewayError('SY_GATEWAY_RATE_LIMITED', 'no details')), 1);
});

test('SY_GATEWAY_RATE_LIMIT_UNAVAILABLE is 503 with Retry-After: 1', () => {
  const err = gatewayError('SY_GATEWAY_RATE_LIMIT_UNAVAILABLE', 'store down');
  assert.equal(httpStatusOf(err), 503);
  assert.equal(retryAfterOf(err), 1);
});
