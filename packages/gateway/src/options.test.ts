import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type ConfigIssue, isSwitchyardError } from '@switchyard/core';
import type * as z from 'zod';
import { breakerOverridesOf, type GatewayOptions, gatewayOptionsSchema, resolveGatewayOptions } from './options.ts';
import { gatewayRetry } from './retry-default.ts';

/** The issues `resolveGatewayOptions` reports for `input`, as `path: message` lines. */
function issuesOf(input: unknown): string[] {
  try {
    resolveGatewayOptions(input as GatewayOptions);
  } catch (err) {
    assert.ok(isSwitchyardError(err, 'SY_CONFIG_INVALID'), String(err));
    return (err.details.issues as unknown as ConfigIssue[]).map((i) => `${i.path}: ${i.message}`);
  }
  assert.fail('expected SY_CONFIG_INVALID');
}

describe('resolveGatewayOptions rejects bad input, every issue by path', () => {
  test('missing service, bad timeout and an unknown key are all reported at once', () => {
    const issues = issuesOf({
      port: 8080,
      timout: '5s',
      routes: [
        { path: '/a', service: 'a' },
        { path: '/b', service: 'b', timeout: 'soon' },
        { path: '/c' },
        { path: '/d', service: 'd', stripPrefx: false },
      ],
    });
    assert.deepEqual(issues.sort(), [
      'gateway.routes[1].timeout: expected a duration such as "250ms", "5s" or a number of milliseconds',
      'gateway.routes[2].service: required',
      'gateway.routes[3].stripPrefx: unknown field (did you mean "stripPrefix"?)',
      'gateway.timout: unknown field (did you mean "timeout"?)',
    ]);
  });

  test('the error message lists the issues too', () => {
    assert.throws(
      () => resolveGatewayOptions({ routes: [{ path: '/c' } as never] }),
      (err) => err instanceof Error && err.message.includes('gateway.routes[0].service: required'),
    );
  });

  test('path, match, methods, balancer, port and trusted proxies are checked', () => {
    const issues = issuesOf({
      port: 70_000,
      trustedProxies: ['10.0.0.0/8', 'not-an-ip', '10.0.0.0/40'],
      routes: [
        { path: 'api', service: 'a' },
        { path: '/b/*', match: 'exact', service: 'b' },
        { path: '/c', service: 'c', methods: ['get'] },
        { path: '/d', service: 'd', methods: [] },
        { path: '/e', service: 'e', balancer: 'least_conn' },
        { path: '/f', service: '' },
        { path: '/g', service: 'g', methods: ['GET', 'GET'] },
      ],
    });
    assert.deepEqual(issues, [
      'gateway.port: Too big: expected number to be <=65535',
      'gateway.trustedProxies[1]: expected an IP address or CIDR range such as "10.0.0.1" or "10.0.0.0/8"',
      'gateway.trustedProxies[2]: expected an IP address or CIDR range such as "10.0.0.1" or "10.0.0.0/8"',
      'gateway.routes[0].path: must start with "/", got "api"',
      'gateway.routes[1].match: "exact" contradicts the trailing "*" of "/b/*", which matches the rest of the path; use "prefix" or drop the "*"',
      'gateway.routes[2].methods[0]: expected an uppercase HTTP method (GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS), got "get" (did you mean "GET"?)',
      'gateway.routes[3].methods: must list at least one method (leave it out to allow any)',
      'gateway.routes[4].balancer: Invalid option: expected one of "round_robin"|"random"|"weighted_round_robin"|"least_request"|"peak_ewma"|"ring_hash"',
      'gateway.routes[5].service: must be a non-empty service name',
      'gateway.routes[6].methods[1]: GET is listed twice',
    ]);
  });

  test('duplicate routes and names are reported on the later route', () => {
    const issues = issuesOf({
      routes: [
        { name: 'orders', path: '/api/orders', service: 'orders' },
        { name: 'orders', path: '/api/orders/*', service: 'other' },
        { path: '/users/:id', match: 'exact', service: 'users', methods: ['GET', 'PUT'] },
        { path: '/users/:userId', match: 'exact', service: 'users', methods: ['PUT'] },
        { path: '/users/:id', match: 'exact', service: 'users', methods: ['DELETE'] },
        { path: '/users/:id', service: 'users' },
      ],
    });
    assert.deepEqual(issues, [
      'gateway.routes[1].name: "orders" is already the name of routes[0]',
      'gateway.routes[1].path: duplicates routes[0] ("/api/orders"): same path, hosts and headers and overlapping methods, so one of them could never match',
      'gateway.routes[3].path: duplicates routes[2] ("/users/:id"): same path, hosts and headers and overlapping methods, so one of them could never match',
    ]);
  });

  test('the root path is configurable', () => {
    assert.throws(
      () => resolveGatewayOptions({ routes: [{ path: '/c' } as never] }, 'edge'),
      (err) => isSwitchyardError(err) && err.message.includes('edge.routes[0].service: required'),
    );
  });
});

describe('resolveGatewayOptions applies defaults', () => {
  test('a minimal config is complete, frozen and in milliseconds', () => {
    const options = resolveGatewayOptions({
      routes: [
        { path: '/api/orders', service: 'orders' },
        {
          name: 'inv',
          path: '/api/inventory',
          service: 'inventory',
          timeout: '1.5s',
          methods: ['GET'],
          balancer: 'random',
        },
      ],
    });
    assert.deepEqual(options, {
      host: '127.0.0.1',
      port: 8080,
      timeoutMs: 30_000,
      shutdownTimeoutMs: 10_000,
      trustedProxies: [],
      middleware: [],
      // The server limits have their own tests (server-limits.test.ts).
      server: options.server,
      routes: [
        {
          name: '/api/orders',
          path: '/api/orders',
          match: 'prefix',
          service: 'orders',
          stripPrefix: true,
          timeoutMs: 30_000,
          balancer: 'round_robin',
          retry: gatewayRetry,
          middleware: [],
        },
        {
          name: 'inv',
          path: '/api/inventory',
          match: 'prefix',
          methods: ['GET'],
          service: 'inventory',
          stripPrefix: true,
          timeoutMs: 1_500,
          balancer: 'random',
          retry: gatewayRetry,
          middleware: [],
        },
      ],
    });
    assert.ok(Object.isFrozen(options));
    assert.ok(Object.isFrozen(options.routes[1]));
    assert.ok(Object.isFrozen(options.routes[1]?.methods));
  });

  test('the route timeout inherits the gateway timeout; numbers are milliseconds', () => {
    const options = resolveGatewayOptions({ timeout: 2_000, routes: [{ path: '/', service: 's' }] });
    assert.equal(options.routes[0]?.timeoutMs, 2_000);
  });

  test('the schema output is valid input again, so the CLI can parse first and resolve later', () => {
    const parsed = gatewayOptionsSchema.parse({ timeout: '5s', routes: [{ path: '/a', service: 'a', timeout: '1m' }] });
    const resolved = resolveGatewayOptions(parsed);
    assert.equal(resolved.timeoutMs, 5_000);
    assert.equal(resolved.routes[0]?.timeoutMs, 60_000);
  });

  test('GatewayOptions is assignable to the schema input', () => {
    const options: GatewayOptions = { routes: [{ path: '/', service: 's' }] };
    const input: z.input<typeof gatewayOptionsSchema> = options;
    assert.ok(input);
  });
});

describe('routing fields: hosts, headers, rewrite, upstreams', () => {
  test('hosts are validated, normalised and deduplicated case-insensitively', () => {
    const issues = issuesOf({
      routes: [
        { path: '/a', service: 'a', hosts: ['api.example.com:8080'] },
        { path: '/b', service: 'b', hosts: ['*'] },
        { path: '/c', service: 'c', hosts: ['api.*.com', 'a_b.test'] },
        { path: '/d', service: 'd', hosts: [] },
        { path: '/e', service: 'e', hosts: ['A.test', 'a.test.'] },
        { path: '/f', service: 'f', hosts: ['[::1]', '[nope]'] },
      ],
    });
    assert.deepEqual(issues, [
      'gateway.routes[0].hosts[0]: must not include a port, got "api.example.com:8080": the port of the Host header is ignored',
      'gateway.routes[1].hosts[0]: "*" alone is not a host: leave `hosts` out to match any host',
      'gateway.routes[2].hosts[0]: "*" may only be the whole leftmost label, as in "*.example.com", got "api.*.com"',
      'gateway.routes[2].hosts[1]: expected a host name such as "api.example.com" or "*.example.com", got "a_b.test"',
      'gateway.routes[3].hosts: must list at least one host (leave it out to match any host)',
      'gateway.routes[4].hosts[1]: "a.test." repeats hosts[0]',
      'gateway.routes[5].hosts[1]: expected an IPv6 literal such as "[::1]", got "[nope]"',
    ]);
    const options = resolveGatewayOptions({
      routes: [{ path: '/', service: 's', hosts: ['API.Example.com.', '*.Example.com'] }],
    });
    assert.deepEqual(options.routes[0]?.hosts, ['api.example.com', '*.example.com']);
  });

  test('headers: bad names, bad regex, bad condition shapes, Host, case duplicates', () => {
    const issues = issuesOf({
      routes: [
        { path: '/a', service: 'a', headers: { 'x a': '1' } },
        { path: '/b', service: 'b', headers: { 'x-b': { regex: '(' } } },
        { path: '/c', service: 'c', headers: { 'x-c': 3 } },
        { path: '/d', service: 'd', headers: { Host: 'a.test' } },
        { path: '/e', service: 'e', headers: { 'X-E': '1', 'x-e': '2' } },
      ],
    });
    assert.equal(issues.length, 5, issues.join('\n'));
    assert.equal(issues[0], 'gateway.routes[0].headers.x a: "x a" is not a valid header name');
    assert.match(issues[1] ?? '', /^gateway\.routes\[1\]\.headers\.x-b\.regex: invalid regular expression "\(": /);
    assert.equal(
      issues[2],
      'gateway.routes[2].headers.x-c: expected a string (the exact value), { regex: "..." } or { present: true | false }',
    );
    assert.equal(issues[3], 'gateway.routes[3].headers.Host: match the Host header with `hosts`');
    assert.equal(issues[4], 'gateway.routes[4].headers.x-e: header names are case-insensitive: "x-e" repeats "X-E"');
    const options = resolveGatewayOptions({
      routes: [{ path: '/', service: 's', headers: { 'X-Version': '2', 'X-Debug': { present: true } } }],
    });
    assert.deepEqual(options.routes[0]?.headers, { 'x-version': '2', 'x-debug': { present: true } });
  });

  test('rewrite names known params, starts with "/", and excludes stripPrefix', () => {
    const issues = issuesOf({
      routes: [
        { path: '/users/:id', service: 'a', rewrite: '/v2/{user}' },
        { path: '/b', service: 'b', rewrite: 'v2' },
        { path: '/c', service: 'c', rewrite: '/x', stripPrefix: false },
        { path: '/d', match: 'exact', service: 'd', rewrite: '/x/{*}' },
      ],
    });
    assert.deepEqual(issues, [
      'gateway.routes[0].rewrite: {user} names no ":user" segment of the route path (the route path captures {id})',
      'gateway.routes[1].rewrite: must start with "/", got "v2"',
      'gateway.routes[2].stripPrefix: `rewrite` gives the whole upstream path, so `stripPrefix` has no effect: remove one of them',
      'gateway.routes[3].rewrite: {*} inserts the rest of the path after a prefix or "/*" route; this route matches its path exactly',
    ]);
    const route = resolveGatewayOptions({ routes: [{ path: '/u/:id', service: 's', rewrite: '/v2/{id}' }] }).routes[0];
    assert.equal(route?.rewrite?.template, '/v2/{id}');
  });

  test('exactly one of service, upstreams, aggregate; upstream URLs checked; static: names reserved', () => {
    const issues = issuesOf({
      routes: [
        { path: '/a', service: 'a', upstreams: ['http://127.0.0.1:1'] },
        { path: '/b', upstreams: ['ftp://b.test'] },
        { path: '/c', upstreams: ['http://c.test/x', 'http://d.test/y'] },
        { path: '/d', service: 'static:d' },
        { path: '/e', upstreams: [] },
        { path: '/f' },
      ],
    });
    assert.deepEqual(issues, [
      'gateway.routes[0].upstreams: a route has exactly one of service, upstreams or aggregate; this one sets service and upstreams',
      'gateway.routes[1].upstreams[0]: expected an http:// or https:// URL, got "ftp://b.test"',
      'gateway.routes[2].upstreams[1]: path "/y" differs from upstreams[0] ("/x"): every upstream of a route gets the same request path',
      'gateway.routes[3].service: must not start with "static:", which names the services of routes with `upstreams`',
      'gateway.routes[4].upstreams: must list at least one upstream URL',
      'gateway.routes[5].service: required',
    ]);
  });

  test('a static route is the service static:<name>, with its instances and path prefix', () => {
    const options = resolveGatewayOptions({
      routes: [
        { name: 'legacy', path: '/legacy', upstreams: ['http://127.0.0.1:4001/base', 'http://127.0.0.1:4002/base/'] },
        { path: '/other', upstreams: ['http://127.0.0.1:4003'] },
      ],
    });
    const [legacy, other] = options.routes;
    assert.equal(legacy?.service, 'static:legacy');
    assert.equal(legacy?.upstreams?.pathPrefix, '/base');
    assert.deepEqual(
      legacy?.upstreams?.instances.map((i) => `${i.service} ${i.address}:${i.port}`),
      ['static:legacy 127.0.0.1:4001', 'static:legacy 127.0.0.1:4002'],
    );
    assert.equal(other?.service, 'static:/other');
  });

  test('two static routes with the same (default) name are refused', () => {
    assert.deepEqual(
      issuesOf({
        routes: [
          { path: '/s', upstreams: ['http://127.0.0.1:1'], hosts: ['a.test'] },
          { path: '/s', upstreams: ['http://127.0.0.1:2'], hosts: ['b.test'] },
        ],
      }),
      [
        'gateway.routes[1].name: routes[0] also has upstreams and the same name "/s" (the path when no name is given); give one of them a distinct name',
      ],
    );
  });

  test('duplicates take hosts and headers into account', () => {
    const ok = [
      { path: '/a', service: 'a', hosts: ['a.test'] },
      { path: '/a', service: 'b', hosts: ['b.test'] },
      { path: '/a', service: 'c' },
      { path: '/a', service: 'd', headers: { 'x-v': '2' } },
      { path: '/a', service: 'e', headers: { 'x-v': '3' } },
      { path: '/a', service: 'f', headers: { 'x-v': { present: true } } },
    ];
    resolveGatewayOptions({ routes: ok });
    assert.deepEqual(
      issuesOf({
        routes: [
          ...ok,
          { path: '/a', service: 'g', hosts: ['B.test', 'c.test'] },
          { path: '/a', service: 'h', headers: { 'X-V': '2' } },
        ],
      }),
      [
        'gateway.routes[6].path: duplicates routes[1] ("/a"): same path, hosts and headers and overlapping methods, so one of them could never match',
        'gateway.routes[7].path: duplicates routes[3] ("/a"): same path, hosts and headers and overlapping methods, so one of them could never match',
      ],
    );
  });
});

describe('per-route retry and breaker', () => {
  test('retry maps onto the client options; fields left out keep the gateway default', () => {
    const options = resolveGatewayOptions({
      routes: [
        { path: '/a', service: 'a' },
        { path: '/b', service: 'b', retry: false },
        { path: '/c', service: 'c', retry: { attempts: 3, statuses: [503], backoff: { initial: '50ms' } } },
        { path: '/d', service: 'd', retry: { afterSend: true } },
      ],
    });
    const [a, b, c, d] = options.routes;
    assert.equal(a?.retry, gatewayRetry);
    assert.equal(b?.retry, false);
    assert.deepEqual(c?.retry, {
      maxAttempts: 3,
      backoff: { initial: 50, max: 0, factor: undefined, jitter: 'none' },
      statuses: [503],
      afterSend: false,
    });
    assert.deepEqual(d?.retry, {
      ...gatewayRetry,
      backoff: { ...gatewayRetry.backoff, factor: undefined },
      afterSend: true,
    });
    assert.deepEqual(
      issuesOf({
        routes: [
          { path: '/a', service: 'a', retry: { attempts: 0 } },
          { path: '/b', service: 'b', retry: { statuses: [200] } },
          { path: '/c', service: 'c', retry: { atempts: 2 } },
        ],
      }),
      [
        'gateway.routes[0].retry.attempts: Too small: expected number to be >=1',
        'gateway.routes[1].retry.statuses[0]: expected a 4xx or 5xx status',
        // `retry` is a union with `false`, which the "did you mean" lookup does not descend into.
        'gateway.routes[2].retry.atempts: unknown field',
      ],
    );
  });

  test('breaker uses the resilience schema; routes of one service must agree', () => {
    const breaker = { trip: { type: 'consecutive', failures: 2 }, openDuration: '10s' } as const;
    const options = resolveGatewayOptions({
      routes: [
        { path: '/a', service: 'orders', breaker },
        { path: '/b', service: 'orders', breaker: { openDuration: '10s', trip: { failures: 2, type: 'consecutive' } } },
        { path: '/c', service: 'orders' },
      ],
    });
    assert.deepEqual(breakerOverridesOf(options.routes), { orders: { ...breaker, openDuration: 10_000 } });
    assert.deepEqual(
      issuesOf({
        routes: [
          { name: 'read', path: '/a', service: 'orders', breaker },
          { name: 'write', path: '/b', service: 'orders', breaker: { openDuration: '1s' } },
          { path: '/c', service: 'c', breaker: { trip: { type: 'consecutive', failures: 0 } } },
          { path: '/d', service: 'd', breaker: { openDuraton: '1s' } },
          { path: '/e', service: 'e', breaker: { openDuration: '10s', openBackoff: { max: '1s' } } },
        ],
      }).sort(),
      [
        'gateway.routes[1].breaker: differs from the breaker of routes[0] ("read"), which targets the same service "orders"; breakers are per service, so give both routes the same settings',
        'gateway.routes[2].breaker.trip.failures: Too small: expected number to be >=1',
        'gateway.routes[3].breaker.openDuraton: unknown field (did you mean "openDuration"?)',
        'gateway.routes[4].breaker.openBackoff.max: expected at least openDuration (10000ms), got 1000ms',
      ],
    );
  });
});
