import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { errorOf, send, startGateway, startUpstream, staticSource } from '../fixtures.test.ts';
import { apiKeyAuth, generateApiKey, hashApiKey } from './api-key.ts';

async function setup(t: TestContext, optional = false) {
  const batch = generateApiKey();
  const ci = generateApiKey();
  const api = await startUpstream(t, 'api');
  const gateway = await startGateway(
    t,
    { routes: [{ path: '/api', service: 'api' }] },
    staticSource({ api: [api.instance('api')] }),
    {
      middleware: [
        apiKeyAuth({
          keys: [
            { id: 'batch', hash: hashApiKey(batch), subject: 'billing' },
            { id: 'ci', hash: hashApiKey(ci) },
          ],
          identityHeaders: { apiKeyId: 'x-api-key-id', subject: 'x-user-id' },
          optional,
        }),
      ],
    },
  );
  const call = (headers: Record<string, string>) => send(gateway.url, '/api/x', { headers });
  return { api, batch, ci, call };
}

describe('apiKeyAuth through a gateway', () => {
  test('the right key passes with identity headers; the key itself is not forwarded', async (t) => {
    const { api, batch, ci, call } = await setup(t);
    const ok = await call({ 'x-api-key': batch, 'x-api-key-id': 'spoofed', 'x-user-id': 'admin' });
    assert.equal(ok.status, 200, ok.body);
    const seen = api.seen.at(-1)?.headers ?? {};
    assert.equal(seen['x-api-key-id'], 'batch');
    assert.equal(seen['x-user-id'], 'billing');
    assert.equal(seen['x-api-key'], undefined);
    assert.equal((await call({ 'x-api-key': ci, 'x-user-id': 'admin' })).status, 200);
    assert.equal(api.seen.at(-1)?.headers['x-api-key-id'], 'ci');
    assert.equal(api.seen.at(-1)?.headers['x-user-id'], undefined, 'a key without subject: the spoofed header is gone');
  });

  test('a wrong or missing key is 401 with WWW-Authenticate; the upstream is not called', async (t) => {
    const { api, batch, call } = await setup(t);
    for (const headers of [
      {},
      { 'x-api-key': 'wrong' },
      { 'x-api-key': `${batch}x` },
      { 'x-api-key': hashApiKey(batch) },
    ]) {
      const response = await call(headers);
      assert.equal(response.status, 401, JSON.stringify(headers));
      assert.equal(errorOf(response).code, 'SY_GATEWAY_UNAUTHENTICATED');
      assert.equal(response.headers['www-authenticate'], 'ApiKey realm="switchyard", header="x-api-key"');
    }
    assert.equal(api.seen.length, 0);
  });

  test('optional: no key passes anonymously, spoofed identity stripped; a wrong key is still 401', async (t) => {
    const { api, call } = await setup(t, true);
    assert.equal((await call({ 'x-api-key-id': 'batch' })).status, 200);
    assert.equal(api.seen.at(-1)?.headers['x-api-key-id'], undefined);
    assert.equal((await call({ 'x-api-key': 'wrong' })).status, 401);
  });
});
