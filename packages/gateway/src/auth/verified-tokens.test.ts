import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { VerifiedTokens } from './verified-tokens.ts';

describe('VerifiedTokens', () => {
  const now = 1_700_000_000_000;
  const exp = now / 1000 + 3600;

  test('a verified token is remembered for maxAge at most', () => {
    const tokens = new VerifiedTokens(10, 60_000);
    tokens.set('t', { sub: 'ann', exp }, now);
    assert.deepEqual(tokens.get('t', now + 59_999), { sub: 'ann', exp });
    assert.equal(tokens.get('t', now + 60_000), undefined);
    assert.equal(tokens.size, 0, 'a stale entry is dropped when read');
  });

  test('never past the token exp, and a token without exp or not valid yet is not remembered', () => {
    const tokens = new VerifiedTokens(10, 60_000);
    tokens.set('soon', { exp: now / 1000 + 5 }, now);
    assert.ok(tokens.get('soon', now + 4_999));
    assert.equal(tokens.get('soon', now + 5_000), undefined);
    tokens.set('no-exp', { sub: 'x' }, now);
    assert.equal(tokens.get('no-exp', now), undefined);
    tokens.set('early', { exp, nbf: now / 1000 + 10 }, now);
    assert.equal(tokens.get('early', now + 11_000), undefined);
  });

  test('bounded: the oldest entry makes room', () => {
    const tokens = new VerifiedTokens(2, 60_000);
    tokens.set('a', { exp }, now);
    tokens.set('b', { exp }, now);
    tokens.set('c', { exp }, now);
    assert.equal(tokens.size, 2);
    assert.equal(tokens.get('a', now), undefined);
    assert.ok(tokens.get('b', now));
    assert.ok(tokens.get('c', now));
  });
});
