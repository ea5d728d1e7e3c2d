import assert from 'node:assert/strict';
import { test } from 'node:test';
import { composeMiddleware, type GatewayContext, type GatewayMiddleware, type RouteHandler } from './middleware.ts';

const ctx = {} as GatewayContext;

test('composeMiddleware runs the first element outermost and can short-circuit', async () => {
  const calls: string[] = [];
  const layer =
    (name: string): GatewayMiddleware =>
    (next) =>
    async (c) => {
      calls.push(`${name}:before`);
      await next(c);
      calls.push(`${name}:after`);
    };
  const terminal: RouteHandler = async () => {
    calls.push('terminal');
  };
  await composeMiddleware([layer('a'), layer('b')], terminal)(ctx);
  assert.deepEqual(calls, ['a:before', 'b:before', 'terminal', 'b:after', 'a:after']);

  calls.length = 0;
  const stop: GatewayMiddleware = () => async () => {
    calls.push('stop');
  };
  await composeMiddleware([layer('a'), stop, layer('b')], terminal)(ctx);
  assert.deepEqual(calls, ['a:before', 'stop', 'a:after']);
});

test('composeMiddleware with no middleware is the terminal handler', () => {
  const terminal: RouteHandler = async () => {};
  assert.equal(composeMiddleware([], terminal), terminal);
});

test('composeMiddleware checks each element while building the chain', () => {
  const terminal: RouteHandler = async () => {};
  assert.throws(() => composeMiddleware([42 as unknown as GatewayMiddleware], terminal), {
    name: 'TypeError',
    message: 'middleware[0] must be a function, got number',
  });
  assert.throws(() => composeMiddleware([(() => undefined) as unknown as GatewayMiddleware], terminal), {
    name: 'TypeError',
    message: 'middleware[0] must return a handler function, got undefined',
  });
});
