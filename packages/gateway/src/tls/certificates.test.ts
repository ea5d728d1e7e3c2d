import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createSniMatcher } from './certificates.ts';
import { hstsValue } from './listeners.ts';
import { defaultCiphers } from './options.ts';

describe('createSniMatcher', () => {
  const pick = createSniMatcher([
    ['api.example.com', 'API2.example.com'],
    ['*.example.com'],
    ['*.shop.test', 'shop.test'],
  ]);

  test('exact names win over wildcards, case-insensitively, a trailing dot ignored', () => {
    assert.equal(pick('api.example.com'), 0);
    assert.equal(pick('api2.EXAMPLE.com'), 0);
    assert.equal(pick('api.example.com.'), 0);
    assert.equal(pick('www.example.com'), 1);
    assert.equal(pick('shop.test'), 2);
    assert.equal(pick('eu.shop.test'), 2);
  });

  test('a wildcard covers one label only, never the bare domain; no match is undefined', () => {
    assert.equal(pick('a.b.example.com'), undefined);
    assert.equal(pick('example.com'), undefined);
    assert.equal(pick('other.test'), undefined);
    assert.equal(pick(''), undefined);
  });

  test('the first entry naming a host keeps it', () => {
    const first = createSniMatcher([['a.test'], ['a.test', '*.test']]);
    assert.equal(first('a.test'), 0);
    assert.equal(first('b.test'), 1);
  });
});

describe('hstsValue and the default ciphers', () => {
  test('directives as RFC 6797 spells them', () => {
    assert.equal(hstsValue({ maxAge: 600, includeSubDomains: false, preload: false }), 'max-age=600');
    assert.equal(
      hstsValue({ maxAge: 31_536_000, includeSubDomains: true, preload: true }),
      'max-age=31536000; includeSubDomains; preload',
    );
  });

  test('only ECDHE with AEAD ciphers', () => {
    for (const suite of defaultCiphers.split(':'))
      assert.match(suite, /^ECDHE-(ECDSA|RSA)-(AES\d+-GCM-SHA\d+|CHACHA20-POLY1305)$/);
  });
});
