import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientError } from '@switchyard/client';
import { resilienceError } from '@switchyard/resilience';
import { gatewayError } from '../errors.ts';
import { type CallOutcome, CallStatus, classifyFailure, decideAnswer, FailureKind } from './outcome.ts';

test('failures are classified as timeout, unavailable or failed', () => {
  const cases: [unknown, string, string][] = [
    [gatewayError('SY_GATEWAY_UPSTREAM_TIMEOUT', 't'), 'timeout', 'timeout'],
    [resilienceError('SY_RESILIENCE_DEADLINE_EXCEEDED', 'd'), 'timeout', 'timeout'],
    [gatewayError('SY_GATEWAY_NO_HEALTHY_INSTANCE', 'n'), 'failed', 'unavailable'],
    [gatewayError('SY_GATEWAY_DISCOVERY_FAILED', 'd'), 'failed', 'unavailable'],
    [resilienceError('SY_RESILIENCE_CIRCUIT_OPEN', 'o'), 'failed', 'unavailable'],
    [gatewayError('SY_GATEWAY_SHUTTING_DOWN', 's'), 'failed', 'unavailable'],
    [gatewayError('SY_GATEWAY_UPSTREAM_FAILED', 'f'), 'failed', 'failed'],
    [clientError('SY_CLIENT_CONNECT_FAILED', 'c'), 'failed', 'failed'],
    [new Error('odd'), 'failed', 'failed'],
  ];
  for (const [err, status, kind] of cases) {
    const classified = classifyFailure(err);
    assert.deepEqual([classified.status, classified.kind], [status, kind], String(err));
  }
  assert.equal(classifyFailure(new Error('odd')).code, 'SY_GATEWAY_UPSTREAM_FAILED');
  const open = resilienceError('SY_RESILIENCE_CIRCUIT_OPEN', 'open', { details: { retryAfterMs: 4200 } });
  assert.equal(classifyFailure(open).retryAfter, 5, 'an open breaker says when it probes');
  assert.equal(classifyFailure(gatewayError('SY_GATEWAY_NO_HEALTHY_INSTANCE', 'n')).retryAfter, 1);
});

function ok(name: string, required = true): CallOutcome {
  return { name, required, report: { status: CallStatus.Ok, httpStatus: 200, durationMs: 1 }, data: {} };
}

function bad(name: string, kind: FailureKind, required = true, status: CallStatus = CallStatus.Failed): CallOutcome {
  return {
    name,
    required,
    report: { status, durationMs: 1, error: { code: 'X', message: `${name} broke` } },
    kind,
    ...(kind === FailureKind.Unavailable ? { retryAfter: 7 } : {}),
  };
}

test('all required calls ok -> 200, whatever the optional ones did', () => {
  assert.deepEqual(decideAnswer([ok('a'), bad('b', FailureKind.Timeout, false, CallStatus.Timeout)]), {
    ok: true,
    status: 200,
  });
  assert.deepEqual(decideAnswer([ok('a', false)]), { ok: true, status: 200 });
});

test('a failed required call decides the status by its kind', () => {
  const verdict = (kind: FailureKind, status?: CallStatus) => decideAnswer([ok('a'), bad('b', kind, true, status)]);
  assert.deepEqual(verdict(FailureKind.Failed), {
    ok: false,
    status: 502,
    code: 'SY_GATEWAY_AGGREGATE_FAILED',
    message: 'required call "b" failed: b broke',
  });
  assert.deepEqual(verdict(FailureKind.Timeout, CallStatus.Timeout), {
    ok: false,
    status: 504,
    code: 'SY_GATEWAY_AGGREGATE_TIMEOUT',
    message: 'required call "b" timed out: b broke',
  });
  assert.deepEqual(verdict(FailureKind.Unavailable), {
    ok: false,
    status: 503,
    code: 'SY_GATEWAY_AGGREGATE_UNAVAILABLE',
    message: 'required call "b" failed: b broke',
    retryAfter: 7,
  });
  const skipped = verdict(FailureKind.Timeout, CallStatus.Skipped);
  assert.equal(skipped.status, 504, 'a skipped call counts as the failure behind the skip');
});

test('with several failed required calls, the first in configured order decides', () => {
  const first = decideAnswer([
    bad('x', FailureKind.Failed, false),
    bad('a', FailureKind.Unavailable),
    ok('b'),
    bad('c', FailureKind.Timeout, true, CallStatus.Timeout),
  ]);
  assert.equal(first.status, 503);
  assert.ok(!first.ok);
  assert.equal(first.message, 'required call "a" failed: a broke (required calls not ok: "a", "c")');
  const reversed = decideAnswer([
    bad('c', FailureKind.Timeout, true, CallStatus.Timeout),
    bad('a', FailureKind.Unavailable),
  ]);
  assert.equal(reversed.status, 504);
});
