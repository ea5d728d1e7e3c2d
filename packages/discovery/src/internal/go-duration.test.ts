import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseGoDuration } from './go-duration.ts';

test('parses Go durations into milliseconds', () => {
  assert.equal(parseGoDuration('10s'), 10_000);
  assert.equal(parseGoDuration('1m30s'), 90_000);
  assert.equal(parseGoDuration('1.5h'), 5_400_000);
  assert.equal(parseGoDuration('250ms'), 250);
  assert.equal(parseGoDuration('300us'), 0.3);
  assert.equal(parseGoDuration('300µs'), 0.3);
  assert.equal(parseGoDuration('0'), 0);
});

test('rejects what Go rejects', () => {
  for (const bad of ['', '5', '-1s', '1x', 's', '1s2', '1 s']) assert.equal(parseGoDuration(bad), undefined, bad);
});
