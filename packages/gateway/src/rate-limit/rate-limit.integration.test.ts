/**
 * The rate limiter through a real gateway: a local upstream on port 0, requests over HTTP.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { describe, test } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import { errorOf, send, startGateway, startUpstream, staticSource } from '../fixtures.test.ts';
import type { GatewayMiddleware } from '../middleware.ts';
import type { GatewayLogger } from '../ports.ts';
import type { RateLimitStore } from './gcra.ts';
import { rateLimit } from './middleware.ts';
import type { RateLimitOptions } from './options.ts';

async function gatewayWith(t: TestContext, middleware: GatewayMiddleware[], trustedProxies: string[] = []) {
  const orders = await startUpstream(t, 'orders');
  const gateway = await startGateway(
    t,
    {
      trustedProxies,
      routes: [
        { path: '/api/orders', service: 'orders' },
        { path: '/api/other', service: 'orders', name: 'other' },
      ],
    },
    staticSource({ orders: [orders.instance('orders')] }),
    { middleware },
  );
  return { gateway, orders };
}

const failingStore: RateLimitStore = {
  consume: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:1')),
};

describe('rateLimit middleware', () => {
  test('admits `limit`, then answers 429 JSON with Retry-After and the RateLimit headers', async (t) => {
    const { gateway, orders } = await gatewayWith(t, [rateLimit({ limit: 3, period: '1h' })]);
    for (let i = 0; i < 3; i++) {
      const ok = await send(gateway.url, '/api/orders/1');
      assert.equal(ok.status, 200);
      assert.equal(ok.headers['ratelimit-limit'], '3');
      assert.equal(ok.headers['ratelimit-remaining'], String(2 - i));
      assert.equal(ok.headers['ratelimit-reset'], String(1200 * (i + 1)));
    }
    const refused = await send(gateway.url, '/api/orders/1', { headers: { 'x-request-id': 'req-429' } });
    assert.equal(refused.status, 429);
    assert.equal(refused.headers['content-type'], 'application/json');
    assert.equal(refused.headers['retry-after'], '1200', '20 minutes until one more request fits');
    assert.equal(refused.headers['ratelimit-remaining'], '0');
    assert.equal(refused.headers['ratelimit-reset'], '3600');
    const error = errorOf(refused);
    assert.equal(error.code, 'SY_GATEWAY_RATE_LIMITED');
    assert.equal(error.requestId, 'req-429');
    assert.match(error.message, /rate limit of 3 per hour exceeded; retry in 1200s/);
    assert.equal(orders.seen.length, 3, 'the refused request never reached the upstream');
  });

  test('limits are per route by default, shared with scope: gateway, and only on `routes`', async (t) => {
    const perRoute = await gatewayWith(t, [rateLimit({ limit: 1, period: '1h' })]);
    assert.equal((await send(perRoute.gateway.url, '/api/orders')).status, 200);
    assert.equal((await send(perRoute.gateway.url, '/api/other')).status, 200);
    assert.equal((await send(perRoute.gateway.url, '/api/orders')).status, 429);

    const shared = await gatewayWith(t, [rateLimit({ limit: 1, period: '1h', scope: 'gateway' })]);
    assert.equal((await send(shared.gateway.url, '/api/orders')).status, 200);
    assert.equal((await send(shared.gateway.url, '/api/other')).status, 429);

    const some = await gatewayWith(t, [rateLimit({ limit: 1, period: '1h', routes: ['other'] })]);
    for (let i = 0; i < 3; i++) assert.equal((await send(some.gateway.url, '/api/orders')).status, 200);
    assert.equal((await send(some.gateway.url, '/api/other')).status, 200);
    assert.equal((await send(some.gateway.url, '/api/other')).status, 429);
  });

  test('keys: a header names the quota; requests without it share their IP’s', async (t) => {
    const { gateway } = await gatewayWith(t, [rateLimit({ limit: 1, period: '1h', key: 'header:X-Tenant' })]);
    assert.equal((await send(gateway.url, '/api/orders', { headers: { 'x-tenant': 'a' } })).status, 200);
    assert.equal((await send(gateway.url, '/api/orders', { headers: { 'x-tenant': 'a' } })).status, 429);
    assert.equal((await send(gateway.url, '/api/orders', { headers: { 'x-tenant': 'b' } })).status, 200);
    assert.equal((await send(gateway.url, '/api/orders')).status, 200);
    assert.equal((await send(gateway.url, '/api/orders')).status, 429);
  });

  test('keys: by IP, X-Forwarded-For counts only behind a trusted proxy', async (t) => {
    const trusted = await gatewayWith(t, [rateLimit({ limit: 1, period: '1h', key: 'ip' })], ['127.0.0.1']);
    const from = (ip: string) => ({ headers: { 'x-forwarded-for': `6.6.6.6, ${ip}` } });
    assert.equal((await send(trusted.gateway.url, '/api/orders', from('10.0.0.1'))).status, 200);
    assert.equal((await send(trusted.gateway.url, '/api/orders', from('10.0.0.1'))).status, 429);
    assert.equal((await send(trusted.gateway.url, '/api/orders', from('10.0.0.2'))).status, 200);

    const direct = await gatewayWith(t, [rateLimit({ limit: 1, period: '1h', key: 'ip' })]);
    assert.equal((await send(direct.gateway.url, '/api/orders', from('10.0.0.1'))).status, 200);
    assert.equal((await send(direct.gateway.url, '/api/orders', from('10.0.0.2'))).status, 429, 'spoofed XFF ignored');
  });

  test('keys: jwt-sub and api-key read ctx.identity set by an earlier middleware', async (t) => {
    const auth: GatewayMiddleware = (next) => async (ctx) => {
      const user = ctx.req.headers['x-user'];
      if (typeof user === 'string') ctx.identity = { subject: user, apiKeyId: `key-${user}` };
      await next(ctx);
    };
    for (const key of ['jwt-sub', 'api-key'] as const) {
      const { gateway } = await gatewayWith(t, [auth, rateLimit({ limit: 1, period: '1h', key })]);
      assert.equal((await send(gateway.url, '/api/orders', { headers: { 'x-user': 'ann' } })).status, 200, key);
      assert.equal((await send(gateway.url, '/api/orders', { headers: { 'x-user': 'ann' } })).status, 429, key);
      assert.equal((await send(gateway.url, '/api/orders', { headers: { 'x-user': 'bob' } })).status, 200, key);
    }
  });

  test('ietf headers: combined RateLimit and RateLimit-Policy', async (t) => {
    const { gateway } = await gatewayWith(t, [
      rateLimit({ limit: 10, period: '1m', burst: 2, headers: 'ietf', policy: 'orders' }),
    ]);
    const ok = await send(gateway.url, '/api/orders');
    assert.equal(ok.headers['ratelimit-policy'], '"orders";q=2;w=60');
    assert.equal(ok.headers.ratelimit, '"orders";r=1;t=6');
    assert.equal(ok.headers['ratelimit-limit'], undefined);
    await send(gateway.url, '/api/orders');
    const refused = await send(gateway.url, '/api/orders');
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.ratelimit, '"orders";r=0;t=12');
    assert.equal(refused.headers['retry-after'], '6');
  });

  test('store failure, fail-open: requests pass, one warning per outage', async (t) => {
    const warnings: string[] = [];
    const logger: GatewayLogger = { info() {}, warn: (_o, msg) => warnings.push(msg), error() {} };
    let broken = true;
    const store: RateLimitStore = {
      consume: (key, request) =>
        broken
          ? failingStore.consume(key, request)
          : Promise.resolve({ allowed: true, remaining: 1, resetMs: 0, retryAfterMs: 0 }),
    };
    const { gateway } = await gatewayWith(t, [rateLimit({ limit: 1, period: '1h', store, logger })]);
    for (let i = 0; i < 3; i++) {
      const response = await send(gateway.url, '/api/orders');
      assert.equal(response.status, 200);
      assert.equal(response.headers['ratelimit-limit'], undefined);
    }
    assert.equal(warnings.length, 1);
    broken = false;
    await send(gateway.url, '/api/orders');
    broken = true;
    await send(gateway.url, '/api/orders');
    assert.equal(warnings.length, 2, 'a new outage warns again');
  });

  test('store failure, fail-closed: 503 SY_GATEWAY_RATE_LIMIT_UNAVAILABLE with Retry-After: 1', async (t) => {
    const { gateway, orders } = await gatewayWith(t, [
      rateLimit({ limit: 1, period: '1h', store: failingStore, onStoreError: 'closed' }),
    ]);
    const response = await send(gateway.url, '/api/orders');
    assert.equal(response.status, 503);
    assert.equal(response.headers['retry-after'], '1');
    assert.equal(errorOf(response).code, 'SY_GATEWAY_RATE_LIMIT_UNAVAILABLE');
    assert.equal(orders.seen.length, 0);
  });

  test('bad options fail at construction with SY_CONFIG_INVALID naming the field', () => {
    const cases: [RateLimitOptions, RegExp][] = [
      [{ limit: 0, period: '1s' }, /gateway\.rateLimit\.limit: /],
      [{ limit: 1, period: '0s' }, /gateway\.rateLimit\.period: /],
      [{ limit: 1, period: '1s', burst: 1.5 }, /gateway\.rateLimit\.burst: /],
      [{ limit: 1, period: '1s', key: 'cookie' as 'ip' }, /gateway\.rateLimit\.key/],
      [{ limit: 1, period: '1s', onStoreError: 'maybe' as 'open' }, /gateway\.rateLimit\.onStoreError: /],
      [{ limit: 1, period: '1s', store: {} as RateLimitStore }, /gateway\.rateLimit\.store: /],
      [{ limit: 1, period: '1s', limt: 2 } as RateLimitOptions, /limt/],
    ];
    for (const [input, message] of cases) {
      assert.throws(
        () => rateLimit(input),
        (err: unknown) => isSwitchyardError(err, 'SY_CONFIG_INVALID') && message.test(err.message),
        message.source,
      );
    }
  });
});
