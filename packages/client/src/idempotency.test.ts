import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isIdempotentMethod, isRetryableRequest } from './idempotency.ts';

test('RFC 9110 idempotent methods', () => {
  for (const method of ['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE'])
    assert.equal(isIdempotentMethod(method), true);
  for (const method of ['POST', 'PATCH', 'CONNECT', 'get', 'Put', '']) assert.equal(isIdempotentMethod(method), false);
});

test('an Idempotency-Key makes any method retryable; an empty one does not', () => {
  assert.equal(isRetryableRequest('POST', {}), false);
  assert.equal(isRetryableRequest('PATCH', { 'idempotency-key': 'k1' }), true);
  assert.equal(isRetryableRequest('POST', { 'idempotency-key': ['k1'] }), true);
  assert.equal(isRetryableRequest('POST', { 'idempotency-key': '' }), false);
  assert.equal(isRetryableRequest('POST', { 'idempotency-key': [] }), false);
  assert.equal(isRetryableRequest('POST', { 'idempotency-key': undefined }), false);
  assert.equal(isRetryableRequest('GET', {}), true);
});
