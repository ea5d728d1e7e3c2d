/**
 * Middleware from config: gateways started from plain option objects (what YAML gives), with
 * jwt, rateLimit, cors, bodyLimit and ipFilter globally and per route, against real upstreams.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { describe, type TestContext, test } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import { SignJWT } from 'jose';
import { errorOf, type RawResponse, send, startGateway, startUpstream, staticSource } from '../fixtures.test.ts';
import { createGateway } from '../gateway.ts';
import type { GatewayMiddleware } from '../middleware.ts';
import type { GatewayOptions } from '../options.ts';

const secret = 'a-shared-secret-of-at-least-32-bytes!';
const issuer = 'https://id.test';
const audience = 'shop';
const shop = 'https://shop.test';

function token(sub: string): Promise<string> {
  return new SignJWT({ sub })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(issuer)
    .setAudience(audience)
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(secret));
}

/** The config as a YAML file would give it: plain objects, strings for durations and sizes. */
function shopConfig(): Omit<GatewayOptions, 'port' | 'host'> {
  return {
    trustedProxies: ['127.0.0.1'],
    middleware: [
      {
        cors: {
          origins: [shop, '/^https:\\/\\/[a-z]+\\.shop\\.test$/'],
          credentials: true,
          allowHeaders: ['authorization', 'content-type'],
          exposeHeaders: ['x-upstream', 'ratelimit-remaining'],
          maxAge: '10m',
        },
      },
      { bodyLimit: '1kb' },
    ],
    routes: [
      {
        path: '/api/orders',
        service: 'orders',
        methods: ['GET', 'POST', 'OPTIONS'],
        middleware: [
          { jwt: { secret, issuer, audience, algorithms: ['HS256'] } },
          { rateLimit: { limit: 2, period: '1h', key: 'jwt-sub' } },
        ],
      },
      { path: '/api/public', service: 'orders', middleware: [{ bodyLimit: 16 }] },
      {
        path: '/admin',
        service: 'admin',
        middleware: [{ ipFilter: { allow: ['203.0.113.0/24', '2001:db8::/32'], deny: ['203.0.113.66'] } }],
      },
    ],
  };
}

async function shopGateway(t: TestContext, config = shopConfig()) {
  const orders = await startUpstream(t, 'orders');
  const admin = await startUpstream(t, 'admin');
  const limits: (number | undefined)[] = [];
  // Code middleware is outermost: after the chain it sees the ctx.bodyLimit configured middleware set.
  const observe: GatewayMiddleware = (next) => async (ctx) => {
    try {
      await next(ctx);
    } finally {
      limits.push(ctx.bodyLimit);
    }
  };
  const gateway = await startGateway(
    t,
    config,
    staticSource({ orders: [orders.instance('orders')], admin: [admin.instance('admin')] }),
    { middleware: [observe] },
  );
  return { gateway, orders, admin, limits };
}

describe('middleware from config', () => {
  test('auth runs before the rate limit: refused requests do not use up the quota', async (t) => {
    const { gateway, orders } = await shopGateway(t);
    for (let i = 0; i < 5; i++) {
      const refused = await send(gateway.url, '/api/orders/1');
      assert.equal(refused.status, 401);
      assert.equal(errorOf(refused).code, 'SY_GATEWAY_UNAUTHENTICATED');
      assert.equal(refused.headers['ratelimit-remaining'], undefined, 'the limiter never saw it');
    }
    const ada = { authorization: `Bearer ${await token('ada')}` };
    for (const remaining of ['1', '0']) {
      const ok = await send(gateway.url, '/api/orders/1', { headers: ada });
      assert.equal(ok.status, 200);
      assert.equal(ok.headers['ratelimit-remaining'], remaining);
    }
    const limited = await send(gateway.url, '/api/orders/1', { headers: ada });
    assert.equal(limited.status, 429);
    assert.equal(errorOf(limited).code, 'SY_GATEWAY_RATE_LIMITED');
    // Keyed by JWT subject: another user has a quota of their own.
    const bob = await send(gateway.url, '/api/orders/1', {
      headers: { authorization: `Bearer ${await token('bob')}` },
    });
    assert.equal(bob.status, 200);
    assert.equal(orders.seen.length, 3);
  });

  test('cors: preflights are answered by the gateway, never forwarded', async (t) => {
    const { gateway, orders } = await shopGateway(t);
    const preflight = (origin: string, headers: Record<string, string> = {}) =>
      send(gateway.url, '/api/orders/1', {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', ...headers },
      });

    const allowed = await preflight(shop, { 'access-control-request-headers': 'authorization' });
    assert.equal(allowed.status, 204);
    assert.equal(allowed.headers['access-control-allow-origin'], shop);
    assert.equal(allowed.headers['access-control-allow-credentials'], 'true');
    assert.equal(allowed.headers['access-control-allow-methods'], 'GET, HEAD, PUT, PATCH, POST, DELETE');
    assert.equal(allowed.headers['access-control-allow-headers'], 'authorization, content-type');
    assert.equal(allowed.headers['access-control-max-age'], '600');
    assert.match(allowed.headers.vary ?? '', /^Origin, Access-Control-Request-Method$/);
    assert.equal(allowed.body, '');

    const byPattern = await preflight('https://eu.shop.test');
    assert.equal(byPattern.headers['access-control-allow-origin'], 'https://eu.shop.test');

    for (const origin of ['https://evil.test', 'https://eu.shop.test.evil.test', 'http://shop.test']) {
      const refused = await preflight(origin);
      assert.equal(refused.status, 204, origin);
      assert.equal(refused.headers['access-control-allow-origin'], undefined, origin);
      assert.equal(refused.headers['access-control-allow-methods'], undefined, origin);
    }
    // A preflight needs no credentials (browsers send none), so auth never sees it.
    assert.equal(orders.seen.length, 0, 'no preflight reached the upstream');
  });

  test("cors: the gateway's CORS headers replace the upstream's, and Vary is merged", async (t) => {
    const api = await startUpstream(t, 'api', (_req, res) => {
      res.writeHead(200, { vary: 'Accept-Encoding, origin', 'access-control-allow-origin': '*' });
      res.end('ok');
    });
    const gateway = await startGateway(
      t,
      { middleware: [{ cors: { origins: [shop] } }], routes: [{ path: '/api', service: 'api' }] },
      staticSource({ api: [api.instance('api')] }),
    );
    const response = await send(gateway.url, '/api/x', { headers: { origin: shop } });
    assert.equal(response.status, 200);
    assert.equal(response.headers['access-control-allow-origin'], shop);
    assert.equal(response.headers.vary, 'Origin, Accept-Encoding');
  });

  test('cors: actual requests get the allow headers, errors included; other origins none', async (t) => {
    const { gateway, orders } = await shopGateway(t);
    const ada = { authorization: `Bearer ${await token('ada')}` };
    const ok = await send(gateway.url, '/api/orders/1', { headers: { ...ada, origin: shop } });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['access-control-allow-origin'], shop);
    assert.equal(ok.headers['access-control-allow-credentials'], 'true');
    assert.equal(ok.headers['access-control-expose-headers'], 'x-upstream, ratelimit-remaining');
    assert.equal(ok.headers.vary, 'Origin');
    assert.equal(ok.headers['x-upstream'], 'orders');

    const unauthenticated = await send(gateway.url, '/api/orders/1', { headers: { origin: shop } });
    assert.equal(unauthenticated.status, 401);
    assert.equal(unauthenticated.headers['access-control-allow-origin'], shop, 'a script can read the 401');

    const foreign = await send(gateway.url, '/api/orders/1', { headers: { ...ada, origin: 'https://evil.test' } });
    assert.equal(foreign.status, 200, 'CORS is not access control: the request is served');
    assert.equal(foreign.headers['access-control-allow-origin'], undefined);
    assert.equal(foreign.headers.vary, 'Origin');

    // A non-preflight OPTIONS (no Access-Control-Request-Method) goes through the chain as usual.
    const bob = { authorization: `Bearer ${await token('bob')}` };
    const plain = await send(gateway.url, '/api/orders/1', { method: 'OPTIONS', headers: { ...bob, origin: shop } });
    assert.equal(plain.status, 200);
    assert.equal(orders.seen.at(-1)?.method, 'OPTIONS');
  });

  test('bodyLimit: a Content-Length over the limit is 413 at once; the upstream never sees it', async (t) => {
    const { gateway, orders, limits } = await shopGateway(t);
    const big = await send(gateway.url, '/api/public', { method: 'POST', body: 'x'.repeat(1025) });
    assert.equal(big.status, 413);
    const error = errorOf(big);
    assert.equal(error.code, 'SY_GATEWAY_PAYLOAD_TOO_LARGE');
    assert.match(error.message, /1025 bytes exceeds this route's limit of 1024 bytes/);
    assert.equal(big.headers.connection, 'close');

    // The route's own, smaller limit applies after the gateway's.
    const seventeen = await send(gateway.url, '/api/public', { method: 'POST', body: 'x'.repeat(17) });
    assert.equal(seventeen.status, 413);
    const sixteen = await send(gateway.url, '/api/public', { method: 'POST', body: 'x'.repeat(16) });
    assert.equal(sixteen.status, 200);
    assert.equal(orders.seen.length, 1);
    // 1025 bytes: refused by the gateway's limit before it set the field; 17: by the route's.
    assert.deepEqual(limits, [undefined, 1024, 16]);

    // Only headers sent, claiming 100 MB: refused without waiting for (or reading) the body.
    const claimed = await headersOnly(gateway.url, '/api/public', 100 * 1024 * 1024);
    assert.equal(claimed.status, 413);
    assert.equal(orders.seen.length, 1);
  });

  test('bodyLimit: a chunked body passes the check and carries ctx.bodyLimit to the proxy', async (t) => {
    const { gateway, limits } = await shopGateway(t);
    const chunked = await send(gateway.url, '/api/orders/1', {
      method: 'POST',
      headers: { authorization: `Bearer ${await token('ada')}`, 'transfer-encoding': 'chunked' },
      body: 'small',
    });
    assert.equal(chunked.status, 200);
    assert.deepEqual(limits, [1024]);
  });

  test('ipFilter: the client behind a trusted proxy is the rightmost untrusted address', async (t) => {
    const { gateway, admin } = await shopGateway(t);
    const from = (xff?: string) =>
      send(gateway.url, '/admin/stats', { headers: xff === undefined ? {} : { 'x-forwarded-for': xff } });
    assert.equal((await from('203.0.113.5')).status, 200);
    assert.equal((await from('2001:db8::5')).status, 200);
    const denied = await from('203.0.113.66');
    assert.equal(denied.status, 403);
    assert.equal(errorOf(denied).code, 'SY_GATEWAY_IP_DENIED');
    // The client wrote an allowed address in front; the proxy appended the real one.
    assert.equal((await from('203.0.113.5, 198.51.100.1')).status, 403);
    // No X-Forwarded-For: the trusted peer itself (127.0.0.1) is the client, not on the list.
    assert.equal((await from()).status, 403);
    assert.equal(admin.seen.length, 2);
  });

  test('ipFilter: without trusted proxies a forged X-Forwarded-For is ignored', async (t) => {
    const { gateway, admin } = await shopGateway(t, { ...shopConfig(), trustedProxies: [] });
    const forged = await send(gateway.url, '/admin/stats', { headers: { 'x-forwarded-for': '203.0.113.5' } });
    assert.equal(forged.status, 403);
    assert.match(errorOf(forged).message, /127\.0\.0\.1/);
    assert.equal(admin.seen.length, 0);
  });

  test('a global rateLimit is one quota per client across routes; scope: route splits it', async (t) => {
    const api = await startUpstream(t, 'api');
    const discovery = staticSource({ api: [api.instance('api')] });
    const routes = [
      { path: '/a', service: 'api' },
      { path: '/b', service: 'api' },
    ];
    const shared = await startGateway(
      t,
      { middleware: [{ rateLimit: { limit: 2, period: '1h' } }], routes },
      discovery,
    );
    assert.deepEqual(
      [await send(shared.url, '/a'), await send(shared.url, '/b'), await send(shared.url, '/a')].map((r) => r.status),
      [200, 200, 429],
    );
    const split = await startGateway(
      t,
      { middleware: [{ rateLimit: { limit: 1, period: '1h', scope: 'route' } }], routes },
      discovery,
    );
    assert.deepEqual(
      [await send(split.url, '/a'), await send(split.url, '/b'), await send(split.url, '/a')].map((r) => r.status),
      [200, 200, 429],
    );
  });

  test('order is global first, then the route’s, each in list order', async (t) => {
    // A global ipFilter refuses before the route's jwt would ask for a token.
    const { gateway } = await shopGateway(t, {
      ...shopConfig(),
      middleware: [{ ipFilter: { deny: ['127.0.0.1'] } }, ...(shopConfig().middleware ?? [])],
    });
    const refused = await send(gateway.url, '/api/orders/1');
    assert.equal(errorOf(refused).code, 'SY_GATEWAY_IP_DENIED');
  });

  test('a config the middleware cannot be built from fails at start, by path', async () => {
    const discovery = staticSource({});
    await assert.rejects(
      createGateway({
        options: {
          host: '127.0.0.1',
          port: 0,
          routes: [
            {
              path: '/a',
              service: 'a',
              middleware: [{ rateLimit: { limit: 1, period: '1s', store: 'redis' } }],
            },
          ],
        },
        discovery,
      }),
      (err: unknown) =>
        isSwitchyardError(err, 'SY_CONFIG_INVALID') &&
        /gateway\.routes\[0\]\.middleware\[0\]\.rateLimit\.store: "redis" needs a Redis store factory/.test(
          err.message,
        ),
    );
    await assert.rejects(
      createGateway({
        options: {
          host: '127.0.0.1',
          port: 0,
          routes: [{ path: '/a', service: 'a', methods: ['GET'], middleware: [{ cors: { origins: ['*'] } }] }],
        },
        discovery,
      }),
      (err: unknown) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && /add OPTIONS/.test(err.message),
    );
  });
});

/** Sends a POST's headers with a `Content-Length` and no body, and waits for the answer. */
function headersOnly(url: string, path: string, contentLength: number): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const req = httpRequest({
      host: target.hostname,
      port: target.port,
      path,
      method: 'POST',
      headers: { 'content-length': String(contentLength) },
      agent: false,
      signal: AbortSignal.timeout(5_000),
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.flushHeaders();
  });
}
