import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ResolvedGatewayOptions } from '../options.ts';
import { REDACTED, redactSecrets } from './redact.ts';
import type { GatewayState } from './state.ts';
import { configView, notReadyReason, rateLimitsView, routesView } from './views.ts';

// Middleware entries with secrets in them.
const options = {
  host: '127.0.0.1',
  port: 8080,
  timeoutMs: 30_000,
  shutdownTimeoutMs: 10_000,
  trustedProxies: [],
  server: {},
  middleware: [
    { jwt: { secret: 'jwt-secret-value', issuer: 'https://issuer.example' } },
    { rateLimit: { limit: 100, period: 60_000, store: 'redis', redis: { url: 'redis://:hunter2@127.0.0.1:6379/0' } } },
  ],
  routes: [
    {
      name: 'orders',
      path: '/api/orders',
      match: 'prefix',
      service: 'orders',
      stripPrefix: true,
      timeoutMs: 5000,
      balancer: 'round_robin',
      middleware: [
        { apiKey: { keys: [{ id: 'ci', hash: 'sha256:abcdef' }] } },
        { rateLimit: { limit: 5, period: 1000, store: 'memory' } },
      ],
    },
  ],
} as unknown as ResolvedGatewayOptions;

const state = {
  options,
  configVersion: 3,
  loadedAt: new Date('2026-01-02T03:04:05Z'),
  draining: false,
} as unknown as GatewayState;

describe('admin views', () => {
  it('names each middleware by its kind', () => {
    const view = routesView(state);
    assert.deepEqual(view.middleware, ['jwt', 'rateLimit']);
    assert.deepEqual((view.routes as Array<{ middleware: string[] }>)[0]?.middleware, ['apiKey', 'rateLimit']);
  });

  it('lists rate limits per scope with their settings, secrets redacted', () => {
    const view = rateLimitsView(state);
    assert.deepEqual(view.gateway, [
      { limit: 100, period: 60_000, store: 'redis', redis: { url: `redis://:${REDACTED}@127.0.0.1:6379/0` } },
    ]);
    assert.deepEqual(view.routes, [
      { route: 'orders', limits: [{ limit: 5, period: 1000, store: 'memory' }], rejections: 0 },
    ]);
    // Without metrics set up nothing is counted.
    assert.equal(view.rejections, 0);
    assert.deepEqual(view.decisions, []);
  });

  it('redacts JWT secrets, API key hashes and URL passwords from the config', () => {
    const text = JSON.stringify(configView(state));
    assert.ok(!text.includes('jwt-secret-value'), text);
    assert.ok(!text.includes('hunter2'), text);
    assert.ok(!text.includes('sha256:abcdef'), text);
    assert.ok(text.includes('https://issuer.example'), 'non-secret fields stay');
    assert.equal(configView(state).loadedAt, '2026-01-02T03:04:05.000Z');
  });

  it('reports why the gateway is not ready', () => {
    assert.equal(notReadyReason(state, true), undefined);
    assert.equal(notReadyReason(state, false), 'not_listening');
    assert.equal(notReadyReason({ ...state, draining: true } as GatewayState, true), 'draining');
  });
});

describe('redactSecrets', () => {
  it('redacts by field name, keeps structure, and hides URL passwords only', () => {
    assert.deepEqual(
      redactSecrets({
        password: 'p',
        apiKey: 'k',
        token: 't',
        privateKey: 'pk',
        url: 'postgres://user:pw@db:5432/x',
        plain: 'redis://127.0.0.1:6379',
        nested: [{ clientSecret: 's', name: 'n' }],
        missing: undefined,
      }),
      {
        password: REDACTED,
        apiKey: REDACTED,
        token: REDACTED,
        privateKey: REDACTED,
        url: `postgres://user:${REDACTED}@db:5432/x`,
        plain: 'redis://127.0.0.1:6379',
        nested: [{ clientSecret: REDACTED, name: 'n' }],
        missing: undefined,
      },
    );
  });

  it('shows functions and class instances by kind only', () => {
    class RedisStore {
      readonly url = 'redis://:pw@h';
    }
    assert.deepEqual(redactSecrets({ key: () => 'x', store: new RedisStore() }), {
      key: '[function]',
      store: '[RedisStore]',
    });
  });
});
