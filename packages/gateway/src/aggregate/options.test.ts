import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isSwitchyardError, resolveOptions } from '@switchyard/core';
import { resolveGatewayOptions } from '../options.ts';
import { type AggregateOptions, aggregateOptionsSchema } from './options.ts';

function issuesOf(fn: () => unknown): { path: string; message: string }[] {
  try {
    fn();
  } catch (err) {
    assert.ok(isSwitchyardError(err, 'SY_CONFIG_INVALID'), String(err));
    return err.details.issues as { path: string; message: string }[];
  }
  assert.fail('expected SY_CONFIG_INVALID');
}

const resolve = (input: unknown) => resolveOptions(aggregateOptionsSchema, input, 'aggregate');

test('defaults: GET, required, no extra headers, 1 MiB bodies, Authorization forwarded', () => {
  const resolved = resolve({ timeout: '2s', calls: [{ name: 'user', service: 'users', path: '/users/{params.id}' }] });
  assert.deepEqual(resolved, {
    timeout: 2000,
    maxBodySize: 1024 * 1024,
    forwardHeaders: ['authorization'],
    calls: [{ name: 'user', service: 'users', path: '/users/{params.id}', method: 'GET', required: true, headers: {} }],
  });
  assert.equal(resolve({ calls: [{ name: 'a', service: 's', path: '/' }] }).timeout, undefined);
});

test('the output is valid input again', () => {
  const input: AggregateOptions = {
    timeout: '2s',
    maxBodySize: '64kb',
    forwardHeaders: ['Authorization', 'Accept-Language'],
    calls: [
      { name: 'user', service: 'users', path: '/users/{params.id}', timeout: '500ms', headers: { 'X-Api': 'v2' } },
      { name: 'orders', service: 'orders', path: '/orders?customer={user.id}', required: false, method: 'HEAD' },
    ],
  };
  const once = resolve(input);
  assert.deepEqual(resolve(once), once);
  assert.deepEqual(once.forwardHeaders, ['authorization', 'accept-language']);
  assert.deepEqual(once.calls[0]?.headers, { 'x-api': 'v2' });
  assert.equal(once.maxBodySize, 65_536);
  assert.equal(once.calls[0]?.timeout, 500);
});

test('every problem is reported with its full path', () => {
  const issues = issuesOf(() =>
    resolveGatewayOptions({
      routes: [
        {
          path: '/profile/:id',
          aggregate: {
            maxBodySize: 'huge',
            forwardHeaders: ['x-request-id', 'bad header'],
            calls: [
              { name: 'user', service: 'users', path: '/users/{params.id}', method: 'POST' as never },
              { name: 'user', service: 'orders', path: '/orders?c={usr.id}', headers: { host: 'x', ok: 'a\r\nb' } },
              { name: 'loop', service: '', path: '/l/{loop.id}', surprise: true } as never,
            ],
          },
        },
      ],
    }),
  );
  const byPath = new Map(issues.map((i) => [i.path, i.message]));
  const at = 'gateway.routes[0].aggregate';
  assert.match(byPath.get(`${at}.maxBodySize`) ?? '', /expected a size such as "512kb"/);
  assert.match(byPath.get(`${at}.forwardHeaders[0]`) ?? '', /set by the gateway/);
  assert.match(byPath.get(`${at}.forwardHeaders[1]`) ?? '', /expected an HTTP header name/);
  assert.match(
    byPath.get(`${at}.calls[0].method`) ?? '',
    /expected one of GET, HEAD \(aggregate calls send no body\), got "POST"/,
  );
  assert.match(byPath.get(`${at}.calls[1].headers.host`) ?? '', /set by the gateway/);
  assert.match(byPath.get(`${at}.calls[1].headers.ok`) ?? '', /CR, LF or NUL/);
  assert.match(byPath.get(`${at}.calls[2].service`) ?? '', /non-empty service name/);
  assert.match(byPath.get(`${at}.calls[2].surprise`) ?? '', /unknown field/);
});

test('the call graph is checked once the calls are well-formed: unknown names, duplicates, cycles', () => {
  const issues = issuesOf(() =>
    resolve({
      calls: [
        { name: 'user', service: 'users', path: '/users/{params.id}' },
        { name: 'user', service: 'orders', path: '/orders?c={usr.id}' },
        { name: 'a', service: 's', path: '/a/{b.id}' },
        { name: 'b', service: 's', path: '/b/{a.id}' },
      ],
    }),
  );
  assert.deepEqual(
    issues.map((i) => i.path),
    ['aggregate.calls[1].name', 'aggregate.calls[1].path', 'aggregate.calls[2].path'],
  );
  assert.match(issues[1]?.message ?? '', /\{usr\.id\} refers to no call/);
  assert.equal(issues[2]?.message, 'the calls depend on each other in a cycle: a -> b -> a');
});

test('at least one call; a route has a service or an aggregate, not both', () => {
  assert.deepEqual(
    issuesOf(() => resolve({ calls: [] })).map((i) => [i.path, i.message]),
    [['aggregate.calls', 'must list at least one call']],
  );
  const both = issuesOf(() =>
    resolveGatewayOptions({
      routes: [{ path: '/p', service: 'x', aggregate: { calls: [{ name: 'a', service: 's', path: '/' }] } }],
    }),
  );
  assert.equal(both[0]?.path, 'gateway.routes[0].aggregate');
});
