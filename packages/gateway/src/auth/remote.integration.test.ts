import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, type TestContext, test } from 'node:test';
import { ManualClock } from '@switchyard/core';
import { closedPort, errorOf, send, startGateway, startUpstream, staticSource } from '../fixtures.test.ts';
import type { RemoteAuthOptions } from './options.ts';
import { remoteAuth } from './remote.ts';

type Reply = (req: IncomingMessage, res: ServerResponse) => void;

const replies: Record<string, Reply> = {
  'Bearer good': (_req, res) =>
    res
      .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=60', 'x-auth-tenant': 'acme' })
      .end(JSON.stringify({ sub: 'user-7', email: 'ada@example.test' })),
  'Bearer nocache': (_req, res) =>
    setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"sub":"user-8"}'), 50),
  'Bearer bad': (_req, res) =>
    res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"', 'cache-control': 'max-age=60' }).end(),
  'Bearer forbidden': (_req, res) => res.writeHead(403).end(),
  'Bearer boom': (_req, res) => res.writeHead(500).end(),
  'Bearer slow': () => {},
};

async function startAuth(t: TestContext) {
  const state = { url: '', calls: [] as IncomingMessage['headers'][] };
  const server = createServer((req, res) => {
    state.calls.push(req.headers);
    (replies[req.headers.authorization ?? ''] ?? ((_q, r) => r.writeHead(401).end()))(req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/validate`;
  return state;
}

async function setup(t: TestContext, options: Partial<RemoteAuthOptions> = {}) {
  const clock = new ManualClock();
  const auth = await startAuth(t);
  const api = await startUpstream(t, 'api');
  const middleware = remoteAuth(
    {
      url: auth.url,
      timeout: '300ms',
      identityHeaders: {
        subject: 'x-user-id',
        claims: { 'x-tenant': 'header:x-auth-tenant', 'x-user-email': 'json:email' },
      },
      ...options,
    },
    { clock },
  );
  const gateway = await startGateway(
    t,
    { routes: [{ path: '/api', service: 'api' }] },
    staticSource({ api: [api.instance('api')] }),
    {
      middleware: [middleware],
    },
  );
  const call = (authorization: string | undefined, headers: Record<string, string> = {}) =>
    send(gateway.url, '/api/x', { headers: authorization === undefined ? headers : { ...headers, authorization } });
  return { auth, api, clock, call };
}

describe('remoteAuth through a gateway', () => {
  test('allow: identity from the answer reaches the upstream, spoofed copies do not; cached for max-age', async (t) => {
    const { auth, api, clock, call } = await setup(t);
    const ok = await call('Bearer good', { 'x-user-id': 'admin', 'x-tenant': 'evil', cookie: 'a=1' });
    assert.equal(ok.status, 200, ok.body);
    const seen = api.seen.at(-1)?.headers ?? {};
    assert.equal(seen['x-user-id'], 'user-7');
    assert.equal(seen['x-tenant'], 'acme');
    assert.equal(seen['x-user-email'], 'ada@example.test');
    assert.equal(auth.calls[0]?.authorization, 'Bearer good');
    assert.equal(auth.calls[0]?.cookie, 'a=1');
    // Same credentials: answered from the cache until max-age passes.
    assert.equal((await call('Bearer good', { cookie: 'a=1' })).status, 200);
    assert.equal(auth.calls.length, 1);
    clock.advance(61_000);
    assert.equal((await call('Bearer good', { cookie: 'a=1' })).status, 200);
    assert.equal(auth.calls.length, 2);
    // Different credentials are a different cache entry.
    assert.equal((await call('Bearer good')).status, 200);
    assert.equal(auth.calls.length, 3);
  });

  test('deny: 401 passes the WWW-Authenticate on and is cached; 403 is SY_GATEWAY_FORBIDDEN', async (t) => {
    const { auth, api, call } = await setup(t);
    for (let i = 0; i < 2; i++) {
      const denied = await call('Bearer bad');
      assert.equal(denied.status, 401);
      assert.equal(errorOf(denied).code, 'SY_GATEWAY_UNAUTHENTICATED');
      assert.equal(denied.headers['www-authenticate'], 'Bearer error="invalid_token"');
    }
    assert.equal(auth.calls.length, 1);
    const forbidden = await call('Bearer forbidden');
    assert.equal(forbidden.status, 403);
    assert.equal(errorOf(forbidden).code, 'SY_GATEWAY_FORBIDDEN');
    assert.equal(api.seen.length, 0);
  });

  test('no credentials: 401 without calling the auth service', async (t) => {
    const { auth, call } = await setup(t);
    const response = await call(undefined);
    assert.equal(response.status, 401);
    assert.equal(response.headers['www-authenticate'], 'Bearer realm="switchyard"');
    assert.equal(auth.calls.length, 0);
  });

  test('down, 500 or timeout: 503 SY_GATEWAY_AUTH_UNAVAILABLE with Retry-After, never cached', async (t) => {
    const { auth, api, call } = await setup(t);
    for (const token of ['Bearer boom', 'Bearer slow', 'Bearer boom']) {
      const response = await call(token);
      assert.equal(response.status, 503, token);
      assert.equal(errorOf(response).code, 'SY_GATEWAY_AUTH_UNAVAILABLE');
      assert.equal(response.headers['retry-after'], '1');
    }
    assert.match(errorOf(await call('Bearer slow')).message, /did not answer within 300ms/);
    assert.equal(auth.calls.length, 4);
    assert.equal(api.seen.length, 0);
  });

  test('an unreachable auth service is 503', async (t) => {
    const { call } = await setup(t, { url: `http://127.0.0.1:${await closedPort()}/validate` });
    const response = await call('Bearer good');
    assert.equal(response.status, 503);
    assert.match(errorOf(response).message, /could not reach the auth service/);
  });

  test('concurrent requests with the same credentials share one call', async (t) => {
    const { auth, call } = await setup(t);
    const responses = await Promise.all(Array.from({ length: 5 }, () => call('Bearer nocache')));
    assert.deepEqual(
      responses.map((r) => r.status),
      [200, 200, 200, 200, 200],
    );
    assert.equal(auth.calls.length, 1);
    assert.equal((await call('Bearer nocache')).status, 200);
    assert.equal(auth.calls.length, 2, 'no max-age: not cached');
  });

  test('the cache is bounded: the least recently used answer is evicted', async (t) => {
    const { auth, call } = await setup(t, { cacheSize: 1, forwardHeaders: ['authorization', 'x-session'] });
    await call('Bearer good', { 'x-session': 'a' });
    await call('Bearer good', { 'x-session': 'a' });
    assert.equal(auth.calls.length, 1);
    await call('Bearer good', { 'x-session': 'b' });
    await call('Bearer good', { 'x-session': 'a' });
    assert.equal(auth.calls.length, 3, '"a" was evicted by "b"');
  });
});
