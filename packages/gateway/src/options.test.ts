import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type ConfigIssue, isSwitchyardError } from '@switchyard/core';
import type * as z from 'zod';
import { type GatewayOptions, gatewayOptionsSchema, resolveGatewayOptions } from './options.ts';

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
      'gateway.routes[1].path: duplicates routes[0] ("/api/orders"): same path and overlapping methods, so one of them could never match',
      'gateway.routes[3].path: duplicates routes[2] ("/users/:id"): same path and overlapping methods, so one of them could never match',
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
      routes: [
        {
          name: '/api/orders',
          path: '/api/orders',
          match: 'prefix',
          service: 'orders',
          stripPrefix: true,
          timeoutMs: 30_000,
          balancer: 'round_robin',
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
