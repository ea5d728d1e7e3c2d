import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type ConfigIssue, isSwitchyardError } from '@switchyard/core';
import { type GatewayOptions, resolveGatewayOptions } from '../options.ts';
import { type MiddlewareEntryOptions, middlewareListSchema } from './options.ts';

const secret = 's'.repeat(32);
const jwt = { secret, issuer: 'https://id.test', audience: 'shop', algorithms: ['HS256'] };

/** The `path: message` lines `resolveGatewayOptions` reports for a route and a global middleware list. */
function issuesOf(route: unknown[], global: unknown[] = []): string[] {
  try {
    resolveGatewayOptions({
      middleware: global,
      routes: [{ path: '/api', service: 'api', middleware: route }],
    } as GatewayOptions);
  } catch (err) {
    assert.ok(isSwitchyardError(err, 'SY_CONFIG_INVALID'), String(err));
    return (err.details.issues as unknown as ConfigIssue[]).map((i) => `${i.path}: ${i.message}`);
  }
  assert.fail('expected SY_CONFIG_INVALID');
}

describe('middleware entries: errors name the path', () => {
  test('a missing option of an auth entry, and a misspelt one', () => {
    const { issuer: _, ...noIssuer } = jwt;
    assert.deepEqual(issuesOf([{ bodyLimit: '1mb' }, { jwt: { ...noIssuer, isuer: 'x' } }]).sort(), [
      'gateway.routes[0].middleware[1].jwt.issuer: required',
      'gateway.routes[0].middleware[1].jwt.isuer: unknown field (did you mean "issuer"?)',
    ]);
  });

  test('an unknown middleware says which exist, with a did-you-mean', () => {
    assert.deepEqual(issuesOf([], [{ rateLimt: { limit: 1, period: '1s' } }]), [
      'gateway.middleware[0].rateLimt: unknown middleware (did you mean "rateLimit"?); expected one of jwt, apiKey, remoteAuth, rateLimit, cors, bodyLimit, ipFilter',
    ]);
    assert.deepEqual(issuesOf([{ gzip: true }]), [
      'gateway.routes[0].middleware[0].gzip: unknown middleware; expected one of jwt, apiKey, remoteAuth, rateLimit, cors, bodyLimit, ipFilter',
    ]);
  });

  test('two middleware in one entry, or none, are errors', () => {
    assert.deepEqual(issuesOf([{ jwt, bodyLimit: 10 }]), [
      'gateway.routes[0].middleware[0].bodyLimit: one entry names one middleware, this one names jwt and bodyLimit; give each its own list entry',
    ]);
    assert.deepEqual(issuesOf([{}]), [
      'gateway.routes[0].middleware[0]: expected one middleware: jwt, apiKey, remoteAuth, rateLimit, cors, bodyLimit, ipFilter',
    ]);
  });

  test('rateLimit: the store is named, redis options only with store: redis', () => {
    assert.deepEqual(issuesOf([{ rateLimit: { limit: 1, period: '1s', store: 'memcached' } }]), [
      'gateway.routes[0].middleware[0].rateLimit.store: Invalid option: expected one of "memory"|"redis"',
    ]);
    assert.deepEqual(issuesOf([{ rateLimit: { limit: 1, period: '1s', redis: { url: 'redis://r:6379' } } }]), [
      'gateway.routes[0].middleware[0].rateLimit.redis: only used with store: redis',
    ]);
    assert.deepEqual(
      issuesOf([{ rateLimit: { limit: 0, period: '1m', store: 'redis', redis: { url: 'http://r', db: 1 } } }]).sort(),
      [
        'gateway.routes[0].middleware[0].rateLimit.limit: Too small: expected number to be >=1',
        'gateway.routes[0].middleware[0].rateLimit.redis.db: unknown field',
        'gateway.routes[0].middleware[0].rateLimit.redis.url: expected a redis:// or rediss:// URL such as "redis://127.0.0.1:6379"',
      ],
    );
  });

  test('cors: "*" never with credentials, origins are origins or /patterns/', () => {
    const issues = issuesOf([
      { cors: { origins: ['https://a.test', '*'], credentials: true } },
      { cors: { origins: ['https://a.test/path', '/[a-/', 'shop.test', 'http://localhost:3000'] } },
    ]);
    assert.deepEqual(
      issues.map((line) => line.slice(0, line.indexOf(': '))),
      [
        'gateway.routes[0].middleware[0].cors.origins[1]',
        'gateway.routes[0].middleware[1].cors.origins[0]',
        'gateway.routes[0].middleware[1].cors.origins[1]',
        'gateway.routes[0].middleware[1].cors.origins[2]',
      ],
    );
    assert.match(issues[0] ?? '', /"\*" cannot be used with credentials: true/);
    assert.match(issues[1] ?? '', /no path or trailing slash/);
    assert.match(issues[2] ?? '', /not a valid regular expression/);
  });

  test('bodyLimit and ipFilter values are checked', () => {
    assert.deepEqual(issuesOf([{ bodyLimit: '1 megabyte' }, { bodyLimit: 0 }]), [
      'gateway.routes[0].middleware[0].bodyLimit: expected a size such as "512kb", "1mb", "2gb" (1024-based) or a number of bytes >= 1, got "1 megabyte"',
      'gateway.routes[0].middleware[1].bodyLimit: expected a size such as "512kb", "1mb", "2gb" (1024-based) or a number of bytes >= 1, got 0',
    ]);
    assert.deepEqual(
      issuesOf([
        { ipFilter: { allow: ['10.0.0.0/8', '10.0.0.0/33', '2001:db8::/129', 'localhost'] } },
        { ipFilter: {} },
      ]),
      [
        'gateway.routes[0].middleware[0].ipFilter.allow[1]: expected an IPv4/IPv6 address or CIDR range such as "10.0.0.7", "10.0.0.0/8" or "2001:db8::/32"',
        'gateway.routes[0].middleware[0].ipFilter.allow[2]: expected an IPv4/IPv6 address or CIDR range such as "10.0.0.7", "10.0.0.0/8" or "2001:db8::/32"',
        'gateway.routes[0].middleware[0].ipFilter.allow[3]: expected an IPv4/IPv6 address or CIDR range such as "10.0.0.7", "10.0.0.0/8" or "2001:db8::/32"',
        'gateway.routes[0].middleware[1].ipFilter.allow: expected `allow`, `deny` or both',
      ],
    );
  });
});

describe('middleware entries: valid lists', () => {
  const list: MiddlewareEntryOptions[] = [
    { cors: { origins: ['https://shop.test', '/^https:\\/\\/[a-z]+\\.shop\\.test$/'], maxAge: '10m' } },
    { ipFilter: { deny: ['203.0.113.0/24', '2001:db8::/32'] } },
    { bodyLimit: '1.5kb' },
    { jwt },
    { rateLimit: { limit: 10, period: '1m', store: 'redis', redis: { url: 'redis://127.0.0.1:6379' } } },
  ];

  test('keep their order and get defaults, durations and sizes in ms and bytes', () => {
    const parsed = middlewareListSchema.parse(list);
    assert.deepEqual(
      parsed.map((entry) => Object.keys(entry)),
      [['cors'], ['ipFilter'], ['bodyLimit'], ['jwt'], ['rateLimit']],
    );
    assert.deepEqual(parsed[0], {
      cors: {
        origins: list[0] && 'cors' in list[0] ? list[0].cors.origins : [],
        methods: ['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'DELETE'],
        exposeHeaders: [],
        credentials: false,
        maxAge: 600_000,
      },
    });
    assert.deepEqual(parsed[2], { bodyLimit: 1536 });
    assert.deepEqual(parsed[4], {
      rateLimit: {
        limit: 10,
        period: 60_000,
        key: 'ip',
        onStoreError: 'open',
        headers: 'draft',
        policy: 'default',
        store: 'redis',
        redis: { url: 'redis://127.0.0.1:6379', keyPrefix: 'switchyard:ratelimit:', commandTimeout: 500 },
      },
    });
  });

  test('the output is valid input again (a resolved config can be passed back)', () => {
    const once = middlewareListSchema.parse(list);
    assert.deepEqual(middlewareListSchema.parse(once), once);
  });

  test('absent means none', () => {
    assert.deepEqual(resolveGatewayOptions({ routes: [{ path: '/a', service: 'a' }] }).middleware, []);
  });
});
