import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { formatDuration, isDurationString, parseDuration, parseGoDuration } from './duration.ts';

describe('parseDuration', () => {
  it('accepts units, compounds and plain milliseconds', () => {
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('5s'), 5000);
    assert.equal(parseDuration('1.5s'), 1500);
    assert.equal(parseDuration('2m'), 120_000);
    assert.equal(parseDuration('1h'), 3_600_000);
    assert.equal(parseDuration('1m30s'), 90_000);
    assert.equal(parseDuration('1500'), 1500);
    assert.equal(parseDuration(42), 42);
    assert.equal(parseDuration(' 10s '), 10_000);
  });

  it('rejects malformed values naming the field and the value', () => {
    for (const bad of ['', 'ten', '5 s', '5x', '-1s', 's', '1s2']) {
      assert.throws(
        () => parseDuration(bad, 'gateway.routes[0].timeout'),
        (err: Error & { code?: string }) =>
          err.code === 'SY_CONFIG_INVALID' &&
          err.message.startsWith('gateway.routes[0].timeout:') &&
          err.message.includes(JSON.stringify(bad)),
        `should reject ${JSON.stringify(bad)}`,
      );
    }
    assert.throws(() => parseDuration(-5), { code: 'SY_CONFIG_INVALID' });
    assert.throws(() => parseDuration(Number.NaN), { code: 'SY_CONFIG_INVALID' });
  });

  it('isDurationString agrees with parseDuration', () => {
    assert.ok(isDurationString('10s'));
    assert.ok(!isDurationString('10 seconds'));
  });

  it('formatDuration output parses back to the same value (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 48 * 3_600_000 }), (ms) => {
        assert.equal(parseDuration(formatDuration(ms)), ms);
      }),
    );
    assert.equal(formatDuration(10_000), '10s');
    assert.equal(formatDuration(60_000), '1m0s');
    assert.equal(formatDuration(250), '250ms');
  });
});

describe('parseGoDuration', () => {
  it('parses Go durations into fractional milliseconds', () => {
    assert.equal(parseGoDuration('10s'), 10_000);
    assert.equal(parseGoDuration('1m30s'), 90_000);
    assert.equal(parseGoDuration('1.5h'), 5_400_000);
    assert.equal(parseGoDuration('250ms'), 250);
    assert.equal(parseGoDuration('300us'), 0.3);
    assert.equal(parseGoDuration('300µs'), 0.3);
    assert.equal(parseGoDuration('.5s'), 500);
    assert.equal(parseGoDuration('+2s'), 2000);
    assert.equal(parseGoDuration('0'), 0);
  });

  it('rejects what Go rejects, and negatives', () => {
    for (const bad of ['', '5', '-1s', '1x', 's', '1s2', '1 s']) assert.equal(parseGoDuration(bad), undefined, bad);
  });
});
