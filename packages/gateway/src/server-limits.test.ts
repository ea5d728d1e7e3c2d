import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isSwitchyardError, resolveOptions } from '@switchyard/core';
import { connectionsCheckingIntervalFor, serverLimitsSchema } from './server-limits.ts';

function issuesOf(input: unknown): { path: string; message: string }[] {
  try {
    resolveOptions(serverLimitsSchema, input, 'gateway.server');
  } catch (err) {
    assert.ok(isSwitchyardError(err, 'SY_CONFIG_INVALID'));
    return (err.details.issues as { path: string; message: string }[]).map(({ path, message }) => ({
      path,
      message,
    }));
  }
  assert.fail('expected SY_CONFIG_INVALID');
}

describe('gateway.server limits', () => {
  test('defaults guard against slow and oversized requests', () => {
    assert.deepEqual(serverLimitsSchema.parse({}), {
      headersTimeout: 20_000,
      requestTimeout: 300_000,
      keepAliveTimeout: 5_000,
      maxHeaderSize: 16_384,
      maxRequestsPerSocket: 0,
    });
  });

  test('durations accept strings and milliseconds; 0 disables requestTimeout', () => {
    const limits = serverLimitsSchema.parse({
      headersTimeout: '300ms',
      requestTimeout: 0,
      keepAliveTimeout: '1m',
      maxHeaderSize: 8192,
      maxRequestsPerSocket: 100,
    });
    assert.equal(limits.headersTimeout, 300);
    assert.equal(limits.requestTimeout, 0);
    assert.equal(limits.keepAliveTimeout, 60_000);
    assert.equal(limits.maxRequestsPerSocket, 100);
    assert.equal(serverLimitsSchema.parse({ headersTimeout: '10m', requestTimeout: 0 }).headersTimeout, 600_000);
  });

  test('headersTimeout above requestTimeout is refused on headersTimeout', () => {
    const issues = issuesOf({ headersTimeout: '30s', requestTimeout: '10s' });
    assert.equal(issues.length, 1);
    assert.match(issues[0]?.path ?? '', /headersTimeout$/);
    assert.match(issues[0]?.message ?? '', /must not exceed requestTimeout \(10000ms\), got 30000ms/);
  });

  test('bad values and unknown keys name their field', () => {
    const issues = issuesOf({ maxHeaderSize: 10, maxRequestsPerSocket: -1, keepAliveTimeout: 'soon', bodyLimit: 1 });
    const byPath = new Map(issues.map((issue) => [issue.path.replace(/^gateway\.server\.?/, ''), issue.message]));
    assert.match(byPath.get('maxHeaderSize') ?? '', /at least 1024 bytes/);
    assert.match(byPath.get('maxRequestsPerSocket') ?? '', /0 \(no limit\) or more/);
    assert.match(byPath.get('keepAliveTimeout') ?? '', /duration/);
    assert.ok(
      issues.some((issue) => /bodyLimit/.test(`${issue.path} ${issue.message}`)),
      JSON.stringify(issues),
    );
  });

  test('the connections check runs often enough for short timeouts', () => {
    assert.equal(connectionsCheckingIntervalFor({ headersTimeout: 20_000, requestTimeout: 300_000 }), 5_000);
    assert.equal(connectionsCheckingIntervalFor({ headersTimeout: 300, requestTimeout: 0 }), 75);
    assert.equal(connectionsCheckingIntervalFor({ headersTimeout: 100, requestTimeout: 100 }), 50);
    assert.equal(connectionsCheckingIntervalFor({ headersTimeout: 0, requestTimeout: 0 }), 30_000);
    assert.equal(connectionsCheckingIntervalFor({ headersTimeout: 600_000, requestTimeout: 0 }), 30_000);
  });
});
