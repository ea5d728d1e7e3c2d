import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import { resolveHttpClientOptions, resolveHttpRetryOptions } from './options.ts';

const discovery = { instances: async () => [] };

test('defaults: 10s timeout, 3 attempts with jittered backoff, 429/502/503/504, 5s Retry-After cap', () => {
  const options = resolveHttpClientOptions({ discovery });
  assert.equal(options.timeoutMs, 10_000);
  assert.deepEqual(options.retry, {
    maxAttempts: 3,
    backoff: { initialMs: 100, maxMs: 2000, factor: 2, jitter: 'full' },
    statuses: [429, 502, 503, 504],
    afterSend: true,
    maxRetryAfterMs: 5000,
  });
  assert.equal(options.discovery, discovery, 'objects pass through untouched');
  assert.equal(Object.isFrozen(discovery), false);
  assert.ok(Object.isFrozen(options.retry));
});

test('durations, retry: false and header names are normalised', () => {
  const options = resolveHttpClientOptions({ discovery, timeout: '250ms', retry: false, headers: { 'X-App': 'a' } });
  assert.equal(options.timeoutMs, 250);
  assert.equal(options.retry, false);
  assert.deepEqual(options.headers, { 'x-app': 'a' });
});

test('errors name each field under client.', () => {
  assert.throws(
    () =>
      resolveHttpClientOptions({
        discovery: {} as never,
        timeout: -1,
        retry: { maxAttempts: 0, statuses: [200], backoff: { jiter: 'full' } as never },
        dispatcher: 'agent' as never,
      }),
    (err) => {
      assert.ok(isSwitchyardError(err, 'SY_CONFIG_INVALID'));
      const paths = (err.details.issues as { path: string }[]).map((i) => i.path).sort();
      assert.deepEqual(paths, [
        'client.discovery',
        'client.dispatcher',
        'client.retry.backoff.jiter',
        'client.retry.maxAttempts',
        'client.retry.statuses[0]',
        'client.timeout',
      ]);
      assert.match(err.message, /client\.retry\.backoff\.jiter: unknown field \(did you mean "jitter"\?\)/);
      assert.match(err.message, /client\.retry\.statuses\[0\]: expected a 4xx or 5xx status/);
      return true;
    },
  );
});

test('request retry options resolve on their own root', () => {
  assert.equal(resolveHttpRetryOptions({ maxAttempts: 2 }).backoff.initialMs, 100);
  assert.throws(() => resolveHttpRetryOptions({ maxAttempts: 11 }, 'request.retry'), /request\.retry\.maxAttempts/);
});
