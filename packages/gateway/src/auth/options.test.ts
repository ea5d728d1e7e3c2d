import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import { gatewayError, httpStatusOf, retryAfterOf } from '../errors.ts';
import { generateApiKey, hashApiKey } from './api-key.ts';
import { headerValue } from './identity.ts';
import { resolveApiKeyAuthOptions, resolveJwtAuthOptions, resolveRemoteAuthOptions } from './options.ts';
import { lifetimeMs } from './remote.ts';

const base = { jwksUrl: 'http://127.0.0.1:1/jwks', issuer: 'iss', audience: 'aud', algorithms: ['RS256'] };

function issuesOf(fn: () => unknown): { path: string; message: string }[] {
  try {
    fn();
  } catch (err) {
    assert.ok(isSwitchyardError(err, 'SY_CONFIG_INVALID'), String(err));
    return err.details.issues as { path: string; message: string }[];
  }
  assert.fail('expected SY_CONFIG_INVALID');
}

describe('jwt options', () => {
  test('defaults carry units', () => {
    const o = resolveJwtAuthOptions(base);
    assert.equal(o.clockToleranceMs, 30_000);
    assert.equal(o.cacheMaxAgeMs, 600_000);
    assert.equal(o.cooldownMs, 30_000);
    assert.equal(o.optional, false);
    assert.equal(resolveJwtAuthOptions({ ...base, clockTolerance: '5s' }).clockToleranceMs, 5_000);
    assert.ok(Object.isFrozen(o));
  });

  test('"none", unknown algorithms and an empty list are refused by path', () => {
    const none = issuesOf(() => resolveJwtAuthOptions({ ...base, algorithms: ['RS256', 'none'] }));
    assert.equal(none[0]?.path, 'gateway.auth.jwt.algorithms[1]');
    assert.match(none[0]?.message ?? '', /"none" is never allowed/);
    assert.equal(
      issuesOf(() => resolveJwtAuthOptions({ ...base, algorithms: ['NONE'] }))[0]?.path,
      'gateway.auth.jwt.algorithms[0]',
    );
    assert.match(
      issuesOf(() => resolveJwtAuthOptions({ ...base, algorithms: ['XS1'] }))[0]?.message ?? '',
      /expected one of/,
    );
    assert.equal(
      issuesOf(() => resolveJwtAuthOptions({ ...base, algorithms: [] }))[0]?.path,
      'gateway.auth.jwt.algorithms',
    );
  });

  test('HS* mixed with asymmetric algorithms is refused (algorithm confusion)', () => {
    const issues = issuesOf(() => resolveJwtAuthOptions({ ...base, algorithms: ['RS256', 'HS256'] }));
    assert.equal(issues[0]?.path, 'gateway.auth.jwt.algorithms');
    assert.match(issues[0]?.message ?? '', /algorithm confusion/);
  });

  test('HS* needs a secret, and a secret only HS*', () => {
    const hs = issuesOf(() => resolveJwtAuthOptions({ ...base, algorithms: ['HS256'] }));
    assert.equal(hs[0]?.path, 'gateway.auth.jwt.algorithms');
    const { jwksUrl: _, ...noUrl } = base;
    const secret = 'x'.repeat(32);
    assert.equal(issuesOf(() => resolveJwtAuthOptions({ ...noUrl, secret }))[0]?.path, 'gateway.auth.jwt.secret');
    assert.equal(resolveJwtAuthOptions({ ...noUrl, secret, algorithms: ['HS256'] }).secret, secret);
    assert.equal(
      issuesOf(() => resolveJwtAuthOptions({ ...noUrl, secret: 'short', algorithms: ['HS256'] }))[0]?.path,
      'gateway.auth.jwt.secret',
    );
  });

  test('exactly one key source; private keys refused', () => {
    const { jwksUrl: _, ...noUrl } = base;
    assert.equal(issuesOf(() => resolveJwtAuthOptions(noUrl))[0]?.path, 'gateway.auth.jwt.jwksUrl');
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
    assert.equal(resolveJwtAuthOptions({ ...noUrl, publicKeys: [pem] }).publicKeys?.length, 1);
    const jwk = publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
    assert.equal(resolveJwtAuthOptions({ ...noUrl, publicKeys: [jwk] }).publicKeys?.length, 1);
    const priv = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const issues = issuesOf(() => resolveJwtAuthOptions({ ...noUrl, publicKeys: [pem, priv] }));
    assert.equal(issues[0]?.path, 'gateway.auth.jwt.publicKeys[1]');
    assert.match(issues[0]?.message ?? '', /private/);
    assert.equal(
      issuesOf(() => resolveJwtAuthOptions({ ...noUrl, publicKeys: ['not a key'] }))[0]?.path,
      'gateway.auth.jwt.publicKeys[0]',
    );
  });

  test('issuer and audience are required; identity headers are checked', () => {
    const { audience: _, ...noAudience } = base;
    assert.equal(issuesOf(() => resolveJwtAuthOptions(noAudience as never))[0]?.path, 'gateway.auth.jwt.audience');
    const bad = issuesOf(() =>
      resolveJwtAuthOptions({ ...base, identityHeaders: { subject: 'X-User', claims: { authorization: 'sub' } } }),
    );
    assert.deepEqual(
      bad.map((i) => i.path),
      ['gateway.auth.jwt.identityHeaders.subject', 'gateway.auth.jwt.identityHeaders.claims.authorization'],
    );
  });

  test('unknown keys are refused', () => {
    assert.equal(
      issuesOf(() => resolveJwtAuthOptions({ ...base, audiance: 'x' } as never))[0]?.path,
      'gateway.auth.jwt.audiance',
    );
  });
});

describe('api key options and hashing', () => {
  test('hashApiKey gives sha256:<hex> accepted by the schema', () => {
    assert.equal(hashApiKey('abc'), 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const key = generateApiKey();
    assert.match(key, /^sy_[A-Za-z0-9_-]{43}$/);
    assert.notEqual(generateApiKey(), key);
    const o = resolveApiKeyAuthOptions({ keys: [{ id: 'a', hash: hashApiKey(key) }] });
    assert.equal(o.header, 'x-api-key');
  });

  test('plain keys, duplicate ids and empty lists are refused by path', () => {
    const plain = issuesOf(() => resolveApiKeyAuthOptions({ keys: [{ id: 'a', hash: 'secret-key' }] }));
    assert.equal(plain[0]?.path, 'gateway.auth.apiKey.keys[0].hash');
    assert.match(plain[0]?.message ?? '', /hashApiKey/);
    const h = hashApiKey('k');
    assert.equal(
      issuesOf(() =>
        resolveApiKeyAuthOptions({
          keys: [
            { id: 'a', hash: h },
            { id: 'a', hash: h },
          ],
        }),
      )[0]?.path,
      'gateway.auth.apiKey.keys[1].id',
    );
    assert.equal(issuesOf(() => resolveApiKeyAuthOptions({ keys: [] }))[0]?.path, 'gateway.auth.apiKey.keys');
  });
});

describe('remote options', () => {
  test('defaults and field paths', () => {
    const o = resolveRemoteAuthOptions({ url: 'http://127.0.0.1:1/validate' });
    assert.deepEqual(o.forwardHeaders, ['authorization', 'cookie']);
    assert.equal(o.timeoutMs, 2_000);
    assert.equal(o.maxCacheTtlMs, 60_000);
    assert.equal(issuesOf(() => resolveRemoteAuthOptions({ url: 'ftp://x' }))[0]?.path, 'gateway.auth.remote.url');
    assert.equal(
      issuesOf(() =>
        resolveRemoteAuthOptions({ url: 'http://x', identityHeaders: { claims: { 'x-email': 'email' } } }),
      )[0]?.path,
      'gateway.auth.remote.identityHeaders.claims.x-email',
    );
  });

  test('lifetimeMs follows max-age, capped; no-store and no-cache are not cached', () => {
    assert.equal(lifetimeMs('max-age=30', 60_000), 30_000);
    assert.equal(lifetimeMs('private, max-age=300', 60_000), 60_000);
    assert.equal(lifetimeMs('max-age=30, no-store', 60_000), 0);
    assert.equal(lifetimeMs('no-cache', 60_000), 0);
    assert.equal(lifetimeMs(undefined, 60_000), 0);
    assert.equal(lifetimeMs('max-age=abc', 60_000), 0);
  });
});

describe('identity header values', () => {
  test('claims become single-line values; CR/LF never pass', () => {
    assert.equal(headerValue('a@b'), 'a@b');
    assert.equal(headerValue(42), '42');
    assert.equal(headerValue(['a', 'b']), 'a,b');
    assert.equal(headerValue({ a: 1 }), '{"a":1}');
    assert.equal(headerValue('x\r\nx-admin: 1'), undefined);
    assert.equal(headerValue(undefined), undefined);
  });
});

describe('auth error codes', () => {
  test('map to 401, 403 and 503 with Retry-After: 1', () => {
    assert.equal(httpStatusOf(gatewayError('SY_GATEWAY_UNAUTHENTICATED', 'no')), 401);
    assert.equal(httpStatusOf(gatewayError('SY_GATEWAY_FORBIDDEN', 'no')), 403);
    const unavailable = gatewayError('SY_GATEWAY_AUTH_UNAVAILABLE', 'down');
    assert.equal(httpStatusOf(unavailable), 503);
    assert.equal(unavailable.retryable, true);
    assert.equal(retryAfterOf(unavailable), 1);
    assert.equal(retryAfterOf(gatewayError('SY_GATEWAY_UNAUTHENTICATED', 'no')), undefined);
  });
});
