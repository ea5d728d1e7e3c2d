import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  isSpiffeId,
  matchesSpiffePattern,
  parseSpiffeId,
  spiffeIdOfSubjectAltName,
  spiffePatternProblem,
  trustDomainProblem,
} from './spiffe.ts';

describe('parseSpiffeId', () => {
  it('splits a valid ID into trust domain and path', () => {
    assert.deepEqual(parseSpiffeId('spiffe://shop.local/ns/default/sa/orders'), {
      ok: true,
      id: {
        trustDomain: 'shop.local',
        path: '/ns/default/sa/orders',
        text: 'spiffe://shop.local/ns/default/sa/orders',
      },
    });
    assert.deepEqual(parseSpiffeId('spiffe://td'), {
      ok: true,
      id: { trustDomain: 'td', path: '', text: 'spiffe://td' },
    });
  });

  it('refuses bad trust domains', () => {
    const reasonOf = (text: string) => {
      const result = parseSpiffeId(text);
      assert.equal(result.ok, false, text);
      return result.ok ? '' : result.reason;
    };
    assert.match(reasonOf('spiffe://Shop.local/ns/a'), /lowercase letters/);
    assert.match(reasonOf('spiffe://shop.local:8443/ns/a'), /no port/);
    assert.match(reasonOf('spiffe://user@shop.local/ns/a'), /lowercase letters/);
    assert.match(reasonOf('spiffe:///ns/a'), /trust domain is empty/);
    assert.match(reasonOf(`spiffe://${'a'.repeat(256)}/x`), /longer than 255/);
  });

  it('refuses bad schemes and paths', () => {
    const cases: [string, RegExp][] = [
      ['https://shop.local/ns/a', /"spiffe:\/\/" scheme/],
      ['SPIFFE://shop.local/ns/a', /must be lowercase/],
      ['spiffe://shop.local/', /ends with "\/"/],
      ['spiffe://shop.local/ns//sa', /empty segment/],
      ['spiffe://shop.local/ns/./sa', /"\." segment/],
      ['spiffe://shop.local/ns/../sa', /"\.\." segment/],
      ['spiffe://shop.local/ns/a b', /may only contain/],
      ['spiffe://shop.local/ns/a?x=1', /no query or fragment/],
      ['spiffe://shop.local/ns/a#frag', /no query or fragment/],
      ['spiffe://shop.local/ns/*', /may only contain/],
      [`spiffe://td/${'a'.repeat(2100)}`, /longer than 2048/],
    ];
    for (const [text, reason] of cases) {
      const result = parseSpiffeId(text);
      assert.equal(result.ok, false, text);
      if (!result.ok) assert.match(result.reason, reason, text);
      assert.equal(isSpiffeId(text), false);
    }
  });

  it('checks trust domains alone', () => {
    assert.equal(trustDomainProblem('cluster.local'), undefined);
    assert.match(trustDomainProblem('cluster local') ?? '', /lowercase/);
  });
});

describe('SPIFFE patterns', () => {
  it('matches exact IDs and * segments, in one trust domain', () => {
    assert.equal(matchesSpiffePattern('spiffe://td/ns/default/sa/gateway', 'spiffe://td/ns/default/sa/gateway'), true);
    assert.equal(matchesSpiffePattern('spiffe://td/ns/default/sa/gateway', 'spiffe://td/ns/default/sa/*'), true);
    assert.equal(matchesSpiffePattern('spiffe://td/ns/jobs/sa/gateway', 'spiffe://td/ns/*/sa/gateway'), true);
    assert.equal(matchesSpiffePattern('spiffe://td/ns/default/sa/orders', 'spiffe://td/ns/default/sa/gateway'), false);
    assert.equal(matchesSpiffePattern('spiffe://other/ns/default/sa/gateway', 'spiffe://td/ns/default/sa/*'), false);
    // `*` is one segment, not a prefix.
    assert.equal(matchesSpiffePattern('spiffe://td/ns/default/sa/x/y', 'spiffe://td/ns/default/sa/*'), false);
    assert.equal(matchesSpiffePattern('spiffe://td/ns/default', 'spiffe://td/ns/default/sa/*'), false);
  });

  it('matches nothing when the ID or the pattern is invalid', () => {
    assert.equal(matchesSpiffePattern('spiffe://td/ns/*', 'spiffe://td/ns/*'), false);
    assert.equal(matchesSpiffePattern('spiffe://td/ns/a', 'spiffe://TD/ns/a'), false);
  });

  it('explains a bad pattern', () => {
    assert.equal(spiffePatternProblem('spiffe://td/ns/*/sa/*'), undefined);
    assert.match(spiffePatternProblem('spiffe://td/ns/def*') ?? '', /or be "\*"/);
    assert.match(spiffePatternProblem('spiffe://td:1/ns/a') ?? '', /no port/);
  });
});

describe('spiffeIdOfSubjectAltName', () => {
  it('reads the single URI SAN of a peer certificate', () => {
    assert.equal(
      spiffeIdOfSubjectAltName('URI:spiffe://td/ns/default/sa/orders, DNS:orders, IP Address:127.0.0.1'),
      'spiffe://td/ns/default/sa/orders',
    );
  });

  it('gives undefined for no SAN, no URI, several URIs or a non-SPIFFE URI', () => {
    assert.equal(spiffeIdOfSubjectAltName(undefined), undefined);
    assert.equal(spiffeIdOfSubjectAltName('DNS:localhost'), undefined);
    assert.equal(spiffeIdOfSubjectAltName('URI:spiffe://td/a, URI:spiffe://td/b'), undefined);
    assert.equal(spiffeIdOfSubjectAltName('URI:https://td/a'), undefined);
  });
});
