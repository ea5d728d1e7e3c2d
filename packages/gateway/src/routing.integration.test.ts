import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import {
  closedPort,
  errorOf,
  send,
  startGateway,
  startUpstream,
  staticSource,
  type UpstreamHandler,
} from './fixtures.test.ts';
import { createGateway } from './gateway.ts';

/** An upstream that answers `statuses` in turn, then 200 (with the echo body). */
function sequence(name: string, statuses: number[]): UpstreamHandler {
  let call = 0;
  return (req, res) => {
    const status = statuses[call++] ?? 200;
    res.writeHead(status, { 'content-type': 'application/json', 'x-upstream': name });
    res.end(JSON.stringify({ upstream: name, url: req.url, status }));
  };
}

const upstreamOf = (body: string) => (JSON.parse(body) as { upstream: string }).upstream;

describe('host and header routing', () => {
  test('exact host beats wildcard beats any host; case, port and trailing dot do not matter', async (t) => {
    const [api, wild, rest] = await Promise.all([
      startUpstream(t, 'api'),
      startUpstream(t, 'wild'),
      startUpstream(t, 'rest'),
    ]);
    const gateway = await startGateway(
      t,
      {
        routes: [
          { path: '/', service: 'rest' },
          { path: '/', service: 'wild', hosts: ['*.example.com'] },
          { path: '/', service: 'api', hosts: ['api.example.com'] },
        ],
      },
      staticSource({ api: [api.instance('api')], wild: [wild.instance('wild')], rest: [rest.instance('rest')] }),
    );
    const at = async (host: string) => upstreamOf((await send(gateway.url, '/x', { headers: { host } })).body);
    assert.equal(await at('API.Example.com:8443'), 'api');
    assert.equal(await at('api.example.com.'), 'api');
    assert.equal(await at('shop.example.com'), 'wild');
    assert.equal(await at('a.b.example.com'), 'wild');
    assert.equal(await at('example.com'), 'rest', 'a wildcard does not match the apex');
    assert.equal(await at('127.0.0.1'), 'rest');
  });

  test('header conditions pick the route; more conditions win', async (t) => {
    const [v1, v2, beta] = await Promise.all([
      startUpstream(t, 'v1'),
      startUpstream(t, 'v2'),
      startUpstream(t, 'beta'),
    ]);
    const gateway = await startGateway(
      t,
      {
        routes: [
          { path: '/api', service: 'v1' },
          { path: '/api', service: 'v2', headers: { 'X-Api-Version': { regex: '2(\\.[0-9]+)?' } } },
          {
            path: '/api',
            service: 'beta',
            headers: { 'x-api-version': { regex: '2(\\.[0-9]+)?' }, 'x-beta': { present: true } },
          },
        ],
      },
      staticSource({ v1: [v1.instance('v1')], v2: [v2.instance('v2')], beta: [beta.instance('beta')] }),
    );
    const at = async (headers: Record<string, string | string[]>) =>
      upstreamOf((await send(gateway.url, '/api/x', { headers })).body);
    assert.equal(await at({}), 'v1');
    assert.equal(await at({ 'x-api-version': '2.1' }), 'v2');
    assert.equal(await at({ 'x-api-version': '20' }), 'v1');
    assert.equal(await at({ 'x-api-version': ['1', '2'] }), 'v2', 'any of several header lines may match');
    assert.equal(await at({ 'x-api-version': '2', 'x-beta': '1' }), 'beta');
  });
});

describe('405 Method Not Allowed', () => {
  test('a path served for other methods answers 405 with Allow; an unknown path stays 404', async (t) => {
    const items = await startUpstream(t, 'items');
    const gateway = await startGateway(
      t,
      {
        routes: [
          { path: '/items', service: 'items', methods: ['GET'] },
          { path: '/items/:id', service: 'items', methods: ['PUT', 'DELETE'] },
          { path: '/admin', service: 'items', methods: ['POST'], hosts: ['admin.test'] },
        ],
      },
      staticSource({ items: [items.instance('items')] }),
    );
    const post = await send(gateway.url, '/items', { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
    assert.equal(errorOf(post).code, 'SY_GATEWAY_METHOD_NOT_ALLOWED');
    assert.match(errorOf(post).message, /POST is not allowed on \/items/);
    const patch = await send(gateway.url, '/items/1', { method: 'PATCH' });
    assert.equal(patch.status, 405);
    assert.equal(patch.headers.allow, 'GET, HEAD, PUT, DELETE');
    const head = await send(gateway.url, '/items', { method: 'HEAD' });
    assert.equal(head.status, 200);
    const missing = await send(gateway.url, '/nothing', { method: 'POST' });
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.allow, undefined);
    assert.equal((await send(gateway.url, '/admin', { headers: { host: 'other.test' } })).status, 404);
    const admin = await send(gateway.url, '/admin', { headers: { host: 'admin.test' } });
    assert.equal(admin.status, 405);
    assert.equal(admin.headers.allow, 'POST');
    assert.equal(items.seen.length, 1, 'only the HEAD reached the upstream');
  });
});

describe('rewrite', () => {
  test('templates build the upstream path, keep the query and re-encode captured values', async (t) => {
    const users = await startUpstream(t, 'users');
    const gateway = await startGateway(
      t,
      {
        routes: [
          { path: '/api/users/:id', service: 'users', rewrite: '/v2/users/{id}/profile' },
          { path: '/files/*', service: 'users', rewrite: '/store/{*}' },
        ],
      },
      staticSource({ users: [users.instance('users')] }),
    );
    assert.equal((await send(gateway.url, '/api/users/42?full=1&x=%2F')).status, 200);
    // A decoded "?" or "#" would cut the upstream path short; they go out encoded again.
    assert.equal((await send(gateway.url, '/api/users/a%3F..%23b')).status, 200);
    // Encoded slashes and dot segments never reach routing (SY_GATEWAY_BAD_PATH); the unit
    // tests of applyRewrite cover their re-encoding.
    assert.equal((await send(gateway.url, '/api/users/a%2F..%2Fadmin')).status, 400);
    assert.equal((await send(gateway.url, '/api/users/j%C3%B6rg/extra')).status, 200);
    assert.equal((await send(gateway.url, '/files/a/b%20c.txt?v=2')).status, 200);
    assert.deepEqual(
      users.seen.map((s) => s.url),
      [
        '/v2/users/42/profile?full=1&x=%2F',
        '/v2/users/a%3F..%23b/profile',
        '/v2/users/j%C3%B6rg/profile',
        '/store/a/b%20c.txt?v=2',
      ],
    );
  });
});

describe('static upstreams', () => {
  test('a gateway with only static routes needs no discovery; instances are balanced; the path prefix applies', async (t) => {
    const [a, b] = await Promise.all([startUpstream(t, 'a'), startUpstream(t, 'b')]);
    const gateway = await createGateway({
      options: {
        host: '127.0.0.1',
        port: 0,
        routes: [
          {
            name: 'legacy',
            path: '/legacy',
            upstreams: [`http://127.0.0.1:${a.port}/base`, `http://127.0.0.1:${b.port}/base/`],
          },
        ],
      },
    });
    t.after(() => gateway.close());
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const response = await send(gateway.url, `/legacy/x/${i}?q=${i}`);
      assert.equal(response.status, 200);
      seen.add(upstreamOf(response.body));
    }
    assert.deepEqual([...seen].sort(), ['a', 'b'], 'round robin over both upstreams');
    assert.deepEqual([...a.seen, ...b.seen].map((s) => s.url).sort(), [
      '/base/x/0?q=0',
      '/base/x/1?q=1',
      '/base/x/2?q=2',
      '/base/x/3?q=3',
    ]);
  });

  test('a dead static upstream is retried on another; when all are down the error names static:<route>', async (t) => {
    const live = await startUpstream(t, 'live');
    const dead = await closedPort();
    const gateway = await startGateway(
      t,
      {
        routes: [
          { name: 'mixed', path: '/mixed', upstreams: [`http://127.0.0.1:${dead}`, `http://127.0.0.1:${live.port}`] },
          { name: 'down', path: '/down', upstreams: [`http://127.0.0.1:${dead}`] },
        ],
      },
      staticSource({}),
    );
    for (let i = 0; i < 3; i++) assert.equal((await send(gateway.url, '/mixed')).status, 200);
    const down = await send(gateway.url, '/down');
    assert.equal(down.status, 502);
    assert.equal(errorOf(down).code, 'SY_GATEWAY_UPSTREAM_FAILED');
    assert.match(errorOf(down).message, /upstream static:down \(127\.0\.0\.1:\d+\)/);
  });

  test('a service route without discovery is refused when the gateway is created', async () => {
    await assert.rejects(
      createGateway({ options: { port: 0, routes: [{ path: '/o', service: 'orders' }] } }),
      (err) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && /discovery: required/.test(err.message),
    );
  });
});

describe('per-route retry and breaker', () => {
  test('a route retrying 503 repeats an idempotent request; the default passes 503 through; POST is not repeated', async (t) => {
    const flaky = await startUpstream(t, 'flaky', sequence('flaky', [503, 200, 503, 503, 200]));
    const gateway = await startGateway(
      t,
      {
        routes: [
          { path: '/retry', service: 'flaky', retry: { attempts: 2, statuses: [503] } },
          { path: '/plain', service: 'flaky' },
        ],
      },
      staticSource({ flaky: [flaky.instance('flaky')] }),
    );
    assert.equal((await send(gateway.url, '/retry')).status, 200, '503 then 200');
    assert.equal(flaky.seen.length, 2);
    assert.equal((await send(gateway.url, '/retry', { method: 'POST', body: 'x' })).status, 503, 'POST: not retried');
    assert.equal(flaky.seen.length, 3);
    assert.equal((await send(gateway.url, '/plain')).status, 503, 'the default retries no status');
    assert.equal(flaky.seen.length, 4);
  });

  test('a route breaker tripping after 2 consecutive failures answers 503 SY_RESILIENCE_CIRCUIT_OPEN', async (t) => {
    const failing = await startUpstream(t, 'failing', (_req, res) => {
      res.writeHead(500);
      res.end('boom');
    });
    const healthy = await startUpstream(t, 'healthy');
    const gateway = await startGateway(
      t,
      {
        routes: [
          {
            path: '/pay',
            service: 'payments',
            breaker: { trip: { type: 'consecutive', failures: 2 }, openDuration: '30s' },
          },
          { path: '/ok', service: 'healthy' },
        ],
      },
      staticSource({ payments: [failing.instance('payments')], healthy: [healthy.instance('healthy')] }),
    );
    assert.equal((await send(gateway.url, '/pay')).status, 500);
    assert.equal((await send(gateway.url, '/pay')).status, 500);
    const open = await send(gateway.url, '/pay');
    assert.equal(open.status, 503);
    assert.equal(errorOf(open).code, 'SY_RESILIENCE_CIRCUIT_OPEN');
    assert.equal(failing.seen.length, 2, 'the open breaker kept the third request from the upstream');
    assert.equal((await send(gateway.url, '/ok')).status, 200, 'other services keep their own breaker');
  });

  test('without a route breaker, two failures do not open the default breaker', async (t) => {
    const failing = await startUpstream(t, 'failing', (_req, res) => {
      res.writeHead(500);
      res.end('boom');
    });
    const gateway = await startGateway(
      t,
      { routes: [{ path: '/pay', service: 'payments' }] },
      staticSource({ payments: [failing.instance('payments')] }),
    );
    for (let i = 0; i < 3; i++) assert.equal((await send(gateway.url, '/pay')).status, 500);
    assert.equal(failing.seen.length, 3);
  });
});
