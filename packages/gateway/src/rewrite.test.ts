import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { GatewayContext } from './middleware.ts';
import { resolveGatewayOptions } from './options.ts';
import { parseRoutePattern } from './pattern.ts';
import { applyRewrite, compileRewrite, type ResolvedRewrite } from './rewrite.ts';
import { createRouter } from './router.ts';
import { upstreamPath } from './upstream-path.ts';

function compiled(path: string, template: string, prefix = true): ResolvedRewrite {
  const pattern = parseRoutePattern(path);
  assert.ok(pattern.ok);
  const result = compileRewrite(template, pattern.pattern, prefix);
  assert.ok(result.ok, result.ok ? '' : result.message);
  return result.rewrite;
}

function failure(path: string, template: string, prefix = true): string {
  const pattern = parseRoutePattern(path);
  assert.ok(pattern.ok);
  const result = compileRewrite(template, pattern.pattern, prefix);
  assert.ok(!result.ok, 'expected the template to be refused');
  return result.message;
}

describe('compileRewrite', () => {
  test('splits the template into literals, params and the rest', () => {
    assert.deepEqual(compiled('/api/users/:id', '/v2/users/{id}/profile').parts, [
      '/v2/users/',
      { param: 'id' },
      '/profile',
    ]);
    assert.deepEqual(compiled('/files/*', '/store/{*}').parts, ['/store/', { rest: true }]);
    assert.deepEqual(compiled('/a', '/b').parts, ['/b']);
  });

  test('refuses unknown names, a missing leading slash, {*} on an exact route, bad characters', () => {
    assert.match(failure('/users/:id', '/u/{user}'), /\{user\} names no ":user" segment .*captures \{id\}/);
    assert.match(failure('/users', '/u/{id}'), /captures none/);
    assert.match(failure('/users/:id', 'u/{id}'), /must start with "\/"/);
    assert.match(failure('/users', '/u/{*}', false), /\{\*\} inserts the rest/);
    assert.match(failure('/users', '/u?x=1'), /no "\?"/);
    assert.match(failure('/users', '/u/{id'), /unbalanced/);
    assert.match(failure('/users', '/u v'), /path characters/);
  });
});

describe('applyRewrite', () => {
  const rewrite = compiled('/api/users/:id', '/v2/users/{id}/profile');

  test('inserts params percent-encoded again so they cannot change the path structure', () => {
    assert.equal(applyRewrite(rewrite, { id: '42' }, '/'), '/v2/users/42/profile');
    assert.equal(applyRewrite(rewrite, { id: 'a/b' }, '/'), '/v2/users/a%2Fb/profile');
    assert.equal(applyRewrite(rewrite, { id: '..' }, '/'), '/v2/users/%2E%2E/profile');
    assert.equal(applyRewrite(rewrite, { id: '.' }, '/'), '/v2/users/%2E/profile');
    assert.equal(applyRewrite(rewrite, { id: 'x?y#z%' }, '/'), '/v2/users/x%3Fy%23z%25/profile');
    assert.equal(applyRewrite(rewrite, { id: 'jörg' }, '/'), '/v2/users/j%C3%B6rg/profile');
  });

  test('{*} inserts the normalised, still-encoded rest', () => {
    const files = compiled('/files/*', '/store/{*}');
    assert.equal(applyRewrite(files, {}, '/a/b%20c'), '/store/a/b%20c');
    assert.equal(applyRewrite(files, {}, '/'), '/store/');
  });

  test('works end to end with the router: a %2F in a captured segment stays one segment', () => {
    const router = createRouter([{ path: '/api/users/:id', match: 'prefix' }]);
    const matched = router.match('GET', '/api/users/a%2Fb');
    assert.ok(matched);
    assert.equal(matched.params.id, 'a/b');
    assert.equal(applyRewrite(rewrite, matched.params, matched.rest), '/v2/users/a%2Fb/profile');
  });
});

describe('upstreamPath', () => {
  function pathFor(route: Record<string, unknown>, request: string, query = ''): string {
    const options = resolveGatewayOptions({ routes: [route as never] });
    const resolved = options.routes[0];
    assert.ok(resolved);
    const matched = createRouter(options.routes).match('GET', request);
    assert.ok(matched);
    const ctx = { route: resolved, params: matched.params, rest: matched.rest, path: request, query };
    return upstreamPath(ctx as unknown as GatewayContext);
  }

  test('stripPrefix, whole path, rewrite, and the static path prefix; the query string is kept', () => {
    assert.equal(pathFor({ path: '/api', service: 's' }, '/api/x', '?q=1'), '/x?q=1');
    assert.equal(pathFor({ path: '/api', service: 's', stripPrefix: false }, '/api/x'), '/api/x');
    assert.equal(
      pathFor({ path: '/api/users/:id', service: 's', rewrite: '/v2/u/{id}' }, '/api/users/7', '?a=%2F'),
      '/v2/u/7?a=%2F',
    );
    assert.equal(pathFor({ path: '/api', upstreams: ['http://127.0.0.1:1/base/'] }, '/api/x', '?q'), '/base/x?q');
    assert.equal(
      pathFor({ path: '/f/*', upstreams: ['http://127.0.0.1:1/base'], rewrite: '/files/{*}' }, '/f/a/b'),
      '/base/files/a/b',
    );
  });
});
