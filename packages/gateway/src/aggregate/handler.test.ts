import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HttpClient } from '@switchyard/client';
import { isSwitchyardError } from '@switchyard/core';
import { resolveGatewayOptions } from '../options.ts';
import { silentLogger } from '../ports.ts';
import { createAggregateHandler } from './handler.ts';

// Building the handler sends nothing: a client that fails on use proves it.
const client = new Proxy({} as HttpClient, {
  get: () => assert.fail('the client must not be used while building'),
});

test('a {params.x} the route path lacks fails the build, naming the config path', () => {
  const options = resolveGatewayOptions({
    routes: [
      { path: '/profile/:id', aggregate: { calls: [{ name: 'u', service: 'users', path: '/u/{params.userId}' }] } },
    ],
  });
  const route = options.routes[0];
  assert.ok(route !== undefined);
  assert.throws(
    () => createAggregateHandler(route, { client, logger: silentLogger, at: 'gateway.routes[0]' }),
    (err) =>
      isSwitchyardError(err, 'SY_CONFIG_INVALID') &&
      err.message.includes(
        'gateway.routes[0].aggregate.calls[0].path: {params.userId} names no parameter of "/profile/:id" (it has: id)',
      ),
  );
});

test('a route without an aggregate section is refused', () => {
  const options = resolveGatewayOptions({ routes: [{ path: '/p', service: 'x' }] });
  const route = options.routes[0];
  assert.ok(route !== undefined);
  assert.throws(
    () => createAggregateHandler(route, { client, logger: silentLogger }),
    /route \/p has no aggregate section/,
  );
});

test('a valid route builds a handler', () => {
  const options = resolveGatewayOptions({
    routes: [{ path: '/profile/:id', aggregate: { calls: [{ name: 'u', service: 'users', path: '/u/{params.id}' }] } }],
  });
  const route = options.routes[0];
  assert.ok(route !== undefined);
  assert.equal(typeof createAggregateHandler(route, { client, logger: silentLogger }), 'function');
});
