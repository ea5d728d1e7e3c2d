import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSize } from './size.ts';

test('sizes are bytes or binary multiples', () => {
  assert.equal(parseSize(2048), 2048);
  assert.equal(parseSize('2048'), 2048);
  assert.equal(parseSize('512kb'), 512 * 1024);
  assert.equal(parseSize('1MB'), 1024 * 1024);
  assert.equal(parseSize('1 MiB'), 1024 * 1024);
  assert.equal(parseSize('1.5kb'), 1536);
  assert.equal(parseSize('1gb'), 1024 ** 3);
});

test('zero, negatives, fractions of a byte and unknown units are refused', () => {
  for (const bad of [0, -1, 1.5, Number.NaN, '0', '-1kb', 'lots', '1tb', '', '0.1b']) {
    assert.equal(parseSize(bad), undefined, String(bad));
  }
});
