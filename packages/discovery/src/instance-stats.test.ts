import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isSwitchyardError, ManualClock } from '@switchyard/core';
import { createInstanceStats, resolveInstanceStatsOptions } from './instance-stats.ts';

const a = { id: 'a' };
const b = { id: 'b' };

describe('createInstanceStats', () => {
  test('counts requests in flight, never below zero', () => {
    const stats = createInstanceStats();
    assert.equal(stats.inFlight('a'), 0);
    stats.begin(a);
    stats.begin(a);
    assert.equal(stats.inFlight('a'), 2);
    stats.end(a, { statusCode: 200, latencyMs: 5 });
    stats.end(a, { statusCode: 200, latencyMs: 5 });
    stats.end(a, { statusCode: 200, latencyMs: 5 });
    assert.equal(stats.inFlight('a'), 0);
    assert.equal(stats.get('a')?.requests, 3);
  });

  test('peak EWMA: a slower answer replaces the estimate, a faster one blends in by elapsed time', () => {
    const clock = new ManualClock(0);
    const stats = createInstanceStats({ decay: '10s', defaultRtt: '30ms' }, { clock });
    stats.entry('a');
    assert.equal(stats.get('a')?.ewmaMs, 30);
    stats.end(a, { statusCode: 200, latencyMs: 500 });
    assert.equal(stats.get('a')?.ewmaMs, 500);
    clock.advance(10_000);
    stats.end(a, { statusCode: 200, latencyMs: 10 });
    const w = Math.exp(-1);
    assert.ok(Math.abs((stats.get('a')?.ewmaMs ?? 0) - (500 * w + 10 * (1 - w))) < 1e-9);
  });

  test('load is the estimate decayed by time since the last answer, times in flight + 1', () => {
    const clock = new ManualClock(0);
    const stats = createInstanceStats({ decay: '1s' }, { clock });
    stats.end(a, { statusCode: 200, latencyMs: 100 });
    assert.equal(stats.load('a', clock.now()), 100);
    stats.begin(a);
    stats.begin(a);
    assert.equal(stats.load('a', clock.now()), 300);
    assert.ok(Math.abs(stats.load('a', 1000) - 300 * Math.exp(-1)) < 1e-9);
    assert.equal(stats.load('unknown', 0), 30);
  });

  test('429, 503 and failures to answer count at least the failure penalty; other statuses do not', () => {
    const stats = createInstanceStats({ failurePenalty: '1s' }, { clock: new ManualClock(0) });
    for (const [id, outcome] of [
      ['s429', { statusCode: 429, latencyMs: 1 }],
      ['s503', { statusCode: 503, latencyMs: 1 }],
      ['refused', { error: new Error('ECONNREFUSED'), latencyMs: 1 }],
    ] as const) {
      stats.end({ id }, outcome);
      assert.equal(stats.get(id)?.ewmaMs, 1000, id);
    }
    stats.end({ id: 's500' }, { statusCode: 500, latencyMs: 1 });
    assert.ok((stats.get('s500')?.ewmaMs ?? 0) < 1000);
    const off = createInstanceStats({ failurePenalty: 0 }, { clock: new ManualClock(0) });
    off.end(a, { statusCode: 503, latencyMs: 100 });
    assert.equal(off.get('a')?.ewmaMs, 100);
  });

  test('counts consecutive 5xx and failures; any other answer resets the count', () => {
    const stats = createInstanceStats();
    stats.end(a, { statusCode: 500, latencyMs: 1 });
    stats.end(a, { statusCode: 502, latencyMs: 1 });
    stats.end(a, { error: new Error('reset'), latencyMs: 1 });
    assert.equal(stats.get('a')?.consecutiveFailures, 3);
    stats.end(a, { statusCode: 404, latencyMs: 1 });
    assert.equal(stats.get('a')?.consecutiveFailures, 0);
    stats.end(a, { statusCode: 503, latencyMs: 1 });
    stats.end(a, { statusCode: 200, latencyMs: 1 });
    assert.equal(stats.get('a')?.consecutiveFailures, 0);
  });

  test('a cancelled request only leaves the in-flight count: no failure, no latency, no reset', () => {
    const stats = createInstanceStats({}, { clock: new ManualClock(0) });
    stats.end(a, { statusCode: 500, latencyMs: 20 });
    stats.begin(a);
    stats.end(a, { cancelled: true, error: new Error('aborted'), latencyMs: 5000 });
    const entry = stats.get('a');
    assert.deepEqual([entry?.inFlight, entry?.consecutiveFailures, entry?.ewmaMs, entry?.requests], [0, 1, 30, 1]);
  });

  test('counts failing entries in O(1) through failures, successes, clears and drops', () => {
    const stats = createInstanceStats();
    stats.end(a, { statusCode: 500, latencyMs: 1 });
    stats.end(a, { statusCode: 500, latencyMs: 1 });
    stats.end(b, { error: new Error('refused'), latencyMs: 1 });
    assert.equal(stats.failing, 2);
    stats.end(b, { statusCode: 200, latencyMs: 1 });
    assert.equal(stats.failing, 1);
    stats.clearFailures('a');
    stats.clearFailures('a');
    assert.deepEqual([stats.failing, stats.get('a')?.consecutiveFailures], [0, 0]);
    stats.end(a, { statusCode: 503, latencyMs: 1 });
    stats.retain(['b']);
    assert.equal(stats.failing, 0);
  });

  test('retain drops the instances the registry no longer lists', () => {
    const stats = createInstanceStats();
    stats.begin(a);
    stats.begin(b);
    stats.retain(['b']);
    assert.equal(stats.size, 1);
    assert.equal(stats.get('a'), undefined);
    stats.retain(new Set<string>());
    assert.equal(stats.size, 0);
  });

  test('stays bounded: idle entries go when a new instance appears, busy ones stay', () => {
    const clock = new ManualClock(0);
    const stats = createInstanceStats({ idle: '1m' }, { clock });
    for (let i = 0; i < 100; i++) stats.end({ id: `old-${i}` }, { statusCode: 200, latencyMs: 1 });
    stats.begin({ id: 'busy' });
    clock.advance(60_000);
    stats.begin({ id: 'new' });
    assert.deepEqual([stats.size, stats.inFlight('busy'), stats.inFlight('new')], [2, 1, 1]);
  });

  test('rejects bad options naming the field', () => {
    assert.throws(
      () => resolveInstanceStatsOptions({ decay: 'soon' }),
      (err) =>
        isSwitchyardError(err, 'SY_CONFIG_INVALID') && /discovery\.stats\.decay: expected a duration/.test(err.message),
    );
    assert.throws(
      () => createInstanceStats({ idel: '1m' } as never),
      (err) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && /discovery\.stats/.test(err.message),
    );
  });
});
