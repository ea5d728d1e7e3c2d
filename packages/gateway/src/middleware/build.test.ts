import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import { type GatewayOptions, resolveGatewayOptions } from '../options.ts';
import { silentLogger } from '../ports.ts';
import type { RateLimitDecision } from '../rate-limit/gcra.ts';
import { buildMiddleware, type MiddlewareBuildDeps } from './build.ts';
import type { RedisRateLimitStoreConfig } from './options.ts';

function resolved(options: Omit<GatewayOptions, 'port' | 'host'>) {
  return resolveGatewayOptions(options);
}

const deps = (
  routes: MiddlewareBuildDeps['routes'],
  extra: Partial<MiddlewareBuildDeps> = {},
): MiddlewareBuildDeps => ({
  logger: silentLogger,
  isTrusted: () => false,
  level: 'route',
  routes,
  ...extra,
});

describe('buildMiddleware', () => {
  test('builds one middleware per entry, in order', async () => {
    const options = resolved({
      routes: [
        {
          path: '/a',
          service: 'a',
          middleware: [
            { bodyLimit: 10 },
            { ipFilter: { deny: ['192.0.2.1'] } },
            { rateLimit: { limit: 1, period: '1s' } },
          ],
        },
      ],
    });
    const route = options.routes[0];
    assert.ok(route);
    const built = buildMiddleware(route.middleware, deps([route]), 'gateway.routes[0].middleware');
    assert.equal(built.middleware.length, 3);
    await built.close();
  });

  test('store: redis without a factory fails, naming the field and the way out', () => {
    const options = resolved({
      middleware: [{ bodyLimit: '1mb' }, { rateLimit: { limit: 5, period: '1s', store: 'redis' } }],
      routes: [{ path: '/a', service: 'a' }],
    });
    assert.throws(
      () => buildMiddleware(options.middleware, deps(options.routes, { level: 'gateway' }), 'gateway.middleware'),
      (err: unknown) => {
        assert.ok(isSwitchyardError(err, 'SY_CONFIG_INVALID'));
        assert.match(err.message, /gateway\.middleware\[1\]\.rateLimit\.store: "redis" needs a Redis store factory/);
        assert.match(err.message, /rateLimitStores: \{ redis: createRedisRateLimitStore \}/);
        return true;
      },
    );
  });

  test('the redis factory gets the entry’s options, once per entry; close closes what it made', async () => {
    const made: RedisRateLimitStoreConfig[] = [];
    let closed = 0;
    const factory = (config: RedisRateLimitStoreConfig) => {
      made.push(config);
      return {
        consume: async (): Promise<RateLimitDecision> => ({ allowed: true, remaining: 1, resetMs: 0, retryAfterMs: 0 }),
        close: async () => {
          closed++;
        },
      };
    };
    const options = resolved({
      middleware: [
        { rateLimit: { limit: 5, period: '1s', store: 'redis' } },
        { rateLimit: { limit: 50, period: '1m', store: 'redis', redis: { url: 'redis://r:6380', keyPrefix: 'p:' } } },
      ],
      routes: [{ path: '/a', service: 'a' }],
    });
    const built = buildMiddleware(
      options.middleware,
      deps(options.routes, { level: 'gateway', rateLimitStores: { redis: factory } }),
      'gateway.middleware',
    );
    assert.deepEqual(made, [
      { url: 'redis://127.0.0.1:6379', keyPrefix: 'switchyard:ratelimit:', commandTimeout: 500 },
      { url: 'redis://r:6380', keyPrefix: 'p:', commandTimeout: 500 },
    ]);
    await Promise.all([built.close(), built.close()]);
    assert.equal(closed, 2, 'each store closed once');
  });

  test('a failing entry closes the stores built before it', async () => {
    let closed = 0;
    let calls = 0;
    const flaky = () => {
      calls++;
      if (calls === 2) throw new Error('no connection');
      return {
        consume: async (): Promise<RateLimitDecision> => ({ allowed: true, remaining: 1, resetMs: 0, retryAfterMs: 0 }),
        close: async () => {
          closed++;
        },
      };
    };
    const options = resolved({
      middleware: [
        { rateLimit: { limit: 5, period: '1s', store: 'redis' } },
        { rateLimit: { limit: 50, period: '1m', store: 'redis' } },
      ],
      routes: [{ path: '/a', service: 'a' }],
    });
    assert.throws(
      () =>
        buildMiddleware(
          options.middleware,
          deps(options.routes, { rateLimitStores: { redis: flaky } }),
          'gateway.middleware',
        ),
      /no connection/,
    );
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(closed, 1, 'the first entry’s store was released');
  });

  test('cors on a route whose methods leave out OPTIONS is refused, globally or on the route', () => {
    const options = resolved({
      middleware: [{ cors: { origins: ['*'] } }],
      routes: [
        { path: '/a', service: 'a', methods: ['GET', 'POST'], middleware: [{ cors: { origins: ['*'] } }] },
        { path: '/b', service: 'b', methods: ['GET', 'OPTIONS'], middleware: [{ cors: { origins: ['*'] } }] },
        { path: '/c', service: 'c', middleware: [{ cors: { origins: ['*'] } }] },
      ],
    });
    const [a, b, c] = options.routes;
    assert.ok(a && b && c);
    assert.throws(
      () => buildMiddleware(options.middleware, deps(options.routes, { level: 'gateway' }), 'gateway.middleware'),
      /gateway\.middleware\[0\]\.cors: CORS preflights are OPTIONS requests, which this route does not accept: \/a \(methods GET, POST\); add OPTIONS/,
    );
    assert.throws(
      () => buildMiddleware(a.middleware, deps([a]), 'gateway.routes[0].middleware'),
      (err: unknown) =>
        isSwitchyardError(err, 'SY_CONFIG_INVALID') && /routes\[0\]\.middleware\[0\]\.cors/.test(err.message),
    );
    assert.equal(buildMiddleware(b.middleware, deps([b]), 'gateway.routes[1].middleware').middleware.length, 1);
    assert.equal(buildMiddleware(c.middleware, deps([c]), 'gateway.routes[2].middleware').middleware.length, 1);
  });
});
