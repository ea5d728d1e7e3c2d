import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import { send, startGateway, startUpstream, staticSource } from '../fixtures.test.ts';
import { apiKeyAuth, generateApiKey, hashApiKey } from './api-key.ts';
import { resolveApiKeyAuthOptions } from './options.ts';

describe('apiKey key storage', () => {
  test('a key given in clear is kept only as its SHA-256 hash', () => {
    const key = generateApiKey();
    const resolved = resolveApiKeyAuthOptions({ keys: [{ id: 'ci', key }] });
    assert.deepEqual(resolved.keys, [{ id: 'ci', hash: hashApiKey(key) }]);
    assert.ok(!JSON.stringify(resolved).includes(key));
  });

  test('exactly one of hash and key, named by path, without quoting the key', () => {
    const key = generateApiKey();
    assert.throws(
      () => resolveApiKeyAuthOptions({ keys: [{ id: 'a', key, hash: hashApiKey(key) }, { id: 'b' }] }),
      (err: unknown) => {
        assert.ok(isSwitchyardError(err, 'SY_CONFIG_INVALID'));
        assert.match(err.message, /gateway\.auth\.apiKey\.keys\[0\]: expected either hash/);
        assert.match(err.message, /gateway\.auth\.apiKey\.keys\[1\]: expected either hash/);
        assert.ok(!err.message.includes(key));
        return true;
      },
    );
  });

  test('a gateway accepts the key given in clear and refuses others', async (t) => {
    const key = generateApiKey();
    const api = await startUpstream(t, 'api');
    const gateway = await startGateway(
      t,
      { routes: [{ path: '/api', service: 'api' }] },
      staticSource({ api: [api.instance('api')] }),
      { middleware: [apiKeyAuth({ keys: [{ id: 'ci', key }] })] },
    );
    assert.equal((await send(gateway.url, '/api/x', { headers: { 'x-api-key': key } })).status, 200);
    assert.equal((await send(gateway.url, '/api/x', { headers: { 'x-api-key': generateApiKey() } })).status, 401);
  });
});
