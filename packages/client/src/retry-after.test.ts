import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRetryAfter } from './retry-after.ts';

const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');

test('seconds become milliseconds', () => {
  assert.equal(parseRetryAfter('0', now), 0);
  assert.equal(parseRetryAfter('2', now), 2000);
  assert.equal(parseRetryAfter(' 120 ', now), 120_000);
  assert.equal(parseRetryAfter(['3', '9'], now), 3000, 'the first of repeated values');
});

test('an HTTP date becomes the time left until it, never negative', () => {
  assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:28:05 GMT', now), 5000);
  assert.equal(parseRetryAfter('Wednesday, 21-Oct-15 07:28:05 GMT', now), 5000, 'RFC 850 form');
  assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:27:00 GMT', now), 0, 'a date in the past');
});

test('absent or malformed values are undefined', () => {
  for (const value of [undefined, '', '  ', 'soon', '-1', '1.5', '1e3', 'Wed, 99 Foo 2015']) {
    assert.equal(parseRetryAfter(value, now), undefined, String(value));
  }
  assert.equal(parseRetryAfter([], now), undefined);
  assert.equal(parseRetryAfter('99999999999999999999', now), undefined, 'beyond a safe integer');
});
