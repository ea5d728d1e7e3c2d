import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import { describe, it, mock } from 'node:test';
import { createDigestMatcher, createSecretMatcher, secretDigest, secretEquals } from './secret-match.ts';

/** Records every `crypto.timingSafeEqual` call (the named import sees it after the sync). */
function spyTimingSafeEqual() {
  const spy = mock.method(crypto, 'timingSafeEqual');
  syncBuiltinESMExports();
  return {
    calls: () => spy.mock.calls.map((call) => call.arguments.map((arg) => (arg as Uint8Array).byteLength)),
    [Symbol.dispose]() {
      spy.mock.restore();
      syncBuiltinESMExports();
    },
  };
}

describe('secret matching', () => {
  it('finds the entry whose secret is presented, and nothing for others', () => {
    const tokens = createSecretMatcher([
      { secret: 'read-token-0123456789', value: 'read' },
      { secret: 'write-token-0123456789', value: 'write' },
    ]);
    assert.equal(tokens.size, 2);
    assert.equal(tokens.match('read-token-0123456789'), 'read');
    assert.equal(tokens.match('write-token-0123456789'), 'write');
    assert.equal(tokens.match('write-token-012345678'), undefined);
    assert.equal(tokens.match(''), undefined);
  });

  it('compares 32-byte digests with timingSafeEqual against every entry, whatever the presented length', () => {
    const tokens = createSecretMatcher([
      { secret: 'a', value: 1 },
      { secret: 'b'.repeat(100), value: 2 },
      { secret: 'c', value: 3 },
    ]);
    for (const presented of ['a', 'x', 'y'.repeat(5000)]) {
      using spy = spyTimingSafeEqual();
      tokens.match(presented);
      // No early exit on the first match, and never two lengths: nothing to time.
      assert.deepEqual(spy.calls(), [
        [32, 32],
        [32, 32],
        [32, 32],
      ]);
    }
  });

  it('secretEquals hashes both sides before timingSafeEqual', () => {
    using spy = spyTimingSafeEqual();
    assert.equal(secretEquals('short', 'a much longer secret'), false);
    assert.equal(secretEquals('same', 'same'), true);
    assert.deepEqual(spy.calls(), [
      [32, 32],
      [32, 32],
    ]);
  });

  it('createDigestMatcher takes stored digests and refuses ones of the wrong size', () => {
    const keys = createDigestMatcher([{ digest: secretDigest('sy_key'), value: 'ci' }]);
    assert.equal(keys.match('sy_key'), 'ci');
    assert.equal(keys.match('sy_kex'), undefined);
    assert.throws(() => createDigestMatcher([{ digest: Buffer.alloc(16), value: 'x' }]), RangeError);
  });
});
