import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { parseRoutePattern, patternShape } from './pattern.ts';
import { createRouter, type RoutableRoute } from './router.ts';

interface TestRoute extends RoutableRoute {
  readonly id: string;
}

function route(id: string, path: string, extra: Partial<Omit<TestRoute, 'id' | 'path'>> = {}): TestRoute {
  return { id, path, match: 'prefix', ...extra };
}

function winner(routes: readonly TestRoute[], method: string, path: string): string | undefined {
  return createRouter(routes).match(method, path)?.route.id;
}

describe('createRouter matching', () => {
  test('a prefix matches itself and whole segments below it, not a longer segment', () => {
    const router = createRouter([route('orders', '/api/orders')]);
    assert.deepEqual(router.match('GET', '/api/orders'), {
      route: route('orders', '/api/orders'),
      params: {},
      rest: '/',
    });
    assert.equal(router.match('GET', '/api/orders/')?.rest, '/');
    assert.equal(router.match('GET', '/api/orders/12')?.rest, '/12');
    assert.equal(router.match('GET', '/api/orders/12/')?.rest, '/12/');
    assert.equal(router.match('GET', '/api/ordersX'), undefined);
    assert.equal(router.match('GET', '/api'), undefined);
    assert.equal(router.match('GET', '/'), undefined);
  });

  test('exact matches only the path itself', () => {
    const router = createRouter([route('health', '/health', { match: 'exact' })]);
    assert.equal(router.match('GET', '/health')?.rest, '/');
    assert.equal(router.match('GET', '/health/'), undefined);
    assert.equal(router.match('GET', '/health/x'), undefined);
  });

  test('the root prefix matches everything; the root exact matches only /', () => {
    const router = createRouter([route('all', '/'), route('home', '/', { match: 'exact' })]);
    assert.equal(router.match('GET', '/')?.route.id, 'home');
    assert.deepEqual(router.match('GET', '/a/b'), { route: route('all', '/'), params: {}, rest: '/a/b' });
  });

  test(':param captures one non-empty segment, percent-decoded; * captures the rest', () => {
    const router = createRouter([route('item', '/users/:user/files/*')]);
    const result = router.match('GET', '/users/j%C3%B6rg/files/a/b%20c');
    assert.equal(result?.params.user, 'jörg');
    assert.equal(result?.params['*'], 'a/b c');
    assert.equal(result?.rest, '/a/b%20c');
    assert.equal(router.match('GET', '/users/x/files')?.params['*'], '');
    assert.equal(router.match('GET', '/users//files'), undefined);
    assert.equal(createRouter([route('p', '/u/:id')]).match('GET', '/u/%FF')?.params.id, '%FF');
  });

  test('methods filter routes; GET also serves HEAD; unknown methods reach any-method routes only', () => {
    const routes = [route('get', '/a', { methods: ['GET'] }), route('post', '/a', { methods: ['POST'] })];
    assert.equal(winner(routes, 'GET', '/a'), 'get');
    assert.equal(winner(routes, 'HEAD', '/a'), 'get');
    assert.equal(winner(routes, 'POST', '/a'), 'post');
    assert.equal(winner(routes, 'DELETE', '/a'), undefined);
    assert.equal(winner([...routes, route('any', '/')], 'PROPFIND', '/a'), 'any');
  });
});

describe('createRouter precedence', () => {
  const cases: Array<{ name: string; routes: TestRoute[]; method?: string; path: string; want: string }> = [
    {
      name: 'exact beats prefix',
      routes: [route('prefix', '/api/orders'), route('exact', '/api/orders', { match: 'exact' })],
      path: '/api/orders',
      want: 'exact',
    },
    {
      name: 'more literal segments beat fewer',
      routes: [route('short', '/api'), route('long', '/api/orders')],
      path: '/api/orders/1',
      want: 'long',
    },
    {
      name: 'more literals beat an earlier literal position',
      routes: [route('a', '/a/b/:x'), route('b', '/a/:y/c/d')],
      path: '/a/b/c/d',
      want: 'b',
    },
    {
      name: 'literal beats :param at the first difference',
      routes: [route('param', '/a/:x/c'), route('literal', '/a/b/:y')],
      path: '/a/b/c',
      want: 'literal',
    },
    {
      name: ':param beats *',
      routes: [route('wild', '/files/*'), route('param', '/files/:name')],
      path: '/files/readme',
      want: 'param',
    },
    {
      name: ':param beats a shorter prefix',
      routes: [route('prefix', '/files'), route('param', '/files/:name')],
      path: '/files/readme/raw',
      want: 'param',
    },
    {
      name: 'a listed method beats any method',
      routes: [route('any', '/a'), route('get', '/a', { methods: ['GET'] })],
      path: '/a',
      want: 'get',
    },
    {
      name: 'a listed HEAD beats one implied by GET',
      routes: [route('get', '/a', { methods: ['GET'] }), route('head', '/a', { methods: ['HEAD'] })],
      method: 'HEAD',
      path: '/a',
      want: 'head',
    },
    {
      name: 'GET implying HEAD beats any method',
      routes: [route('any', '/a'), route('get', '/a', { methods: ['GET'] })],
      method: 'HEAD',
      path: '/a',
      want: 'get',
    },
    {
      name: 'an exact :param route beats a literal prefix',
      routes: [route('prefix', '/users/me'), route('exact', '/users/:id', { match: 'exact' })],
      path: '/users/me',
      want: 'exact',
    },
  ];
  for (const c of cases) {
    test(`${c.name}, in either order`, () => {
      assert.equal(winner(c.routes, c.method ?? 'GET', c.path), c.want);
      assert.equal(winner([...c.routes].reverse(), c.method ?? 'GET', c.path), c.want);
    });
  }

  test('declaration order never changes the winner (property)', () => {
    const literal = fc.constantFrom('a', 'b');
    const segment = fc.oneof(literal, fc.constant(':p'));
    const routeArb = fc.record({
      segments: fc.array(segment, { maxLength: 3 }),
      wildcard: fc.boolean(),
      match: fc.constantFrom<'prefix' | 'exact'>('prefix', 'exact'),
      methods: fc.option(fc.subarray(['GET', 'HEAD', 'POST'], { minLength: 1 }), { nil: undefined }),
    });
    const requestArb = fc.record({
      method: fc.constantFrom('GET', 'HEAD', 'POST', 'PUT'),
      segments: fc.array(fc.constantFrom('a', 'b', 'x', ''), { maxLength: 5 }),
    });
    fc.assert(
      fc.property(
        fc.array(routeArb, { maxLength: 8 }),
        fc.array(requestArb, { minLength: 1, maxLength: 10 }),
        fc.func(fc.integer()),
        (specs, requests, order) => {
          const routes = dedupe(
            specs.map((spec, i) => {
              let n = 0;
              const parts = spec.segments.map((s) => (s === ':p' ? `:p${n++}` : s));
              if (spec.wildcard) parts.push('*');
              const match = spec.wildcard ? 'prefix' : spec.match;
              const base = { id: `r${i}`, path: `/${parts.join('/')}`, match } as const;
              return spec.methods === undefined ? base : { ...base, methods: spec.methods };
            }),
          );
          const shuffled = [...routes].sort((x, y) => order(x.id) - order(y.id) || x.id.localeCompare(y.id));
          const a = createRouter(routes);
          const b = createRouter(shuffled);
          for (const request of requests) {
            const path = `/${request.segments.join('/')}`.replace(/\/{2,}/g, '/');
            assert.equal(a.match(request.method, path)?.route.id, b.match(request.method, path)?.route.id, path);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

/** Drops routes that options validation would reject as duplicates (same shape, overlapping methods). */
function dedupe(routes: readonly TestRoute[]): TestRoute[] {
  const kept: TestRoute[] = [];
  for (const candidate of routes) {
    const parsed = parseRoutePattern(candidate.path);
    assert.ok(parsed.ok, candidate.path);
    const shape = patternShape(parsed.pattern, candidate.match);
    const clash = kept.some((other) => {
      const otherParsed = parseRoutePattern(other.path);
      if (!otherParsed.ok || patternShape(otherParsed.pattern, other.match) !== shape) return false;
      if (other.methods === undefined || candidate.methods === undefined) {
        return other.methods === undefined && candidate.methods === undefined;
      }
      return other.methods.some((m) => candidate.methods?.includes(m));
    });
    if (!clash) kept.push(candidate);
  }
  return kept;
}

describe('parseRoutePattern', () => {
  test('accepts literals, params and a trailing wildcard', () => {
    assert.deepEqual(parseRoutePattern('/users/:id/*'), {
      ok: true,
      pattern: {
        segments: [
          { kind: 'literal', value: 'users' },
          { kind: 'param', name: 'id' },
        ],
        wildcard: true,
      },
    });
    assert.deepEqual(parseRoutePattern('/'), { ok: true, pattern: { segments: [], wildcard: false } });
  });

  const bad: Array<[string, RegExp]> = [
    ['api', /must start with "\/"/],
    ['/api/', /must not end with "\/" \(write "\/api"\)/],
    ['/a//b', /empty segment/],
    ['/a/*/b', /"\*" may only be the last segment/],
    ['/a/:', /parameter ":"/],
    ['/a/:1x', /parameter ":1x"/],
    ['/a/:id/:id', /appears twice/],
    ['/a/../b', /must not contain a "\.\." segment/],
    ['/a/%2F', /may contain only/],
    ['/a/b*', /may contain only/],
    ['/a b', /may contain only/],
  ];
  for (const [path, message] of bad) {
    test(`rejects ${JSON.stringify(path)}`, () => {
      const result = parseRoutePattern(path);
      assert.equal(result.ok, false);
      if (!result.ok) assert.match(result.message, message);
    });
  }
});

function req(headers: Record<string, string | string[]>): { headers: Record<string, string | string[]> } {
  return { headers };
}

describe('createRouter hosts', () => {
  test('exact hosts compare case-insensitively, without port or trailing dot', () => {
    const router = createRouter([route('api', '/', { hosts: ['api.example.com'] })]);
    for (const host of [
      'api.example.com',
      'API.Example.COM',
      'api.example.com:8443',
      'api.example.com.',
      'Api.Example.com.:80',
    ]) {
      assert.equal(router.match('GET', '/x', req({ host }))?.route.id, 'api', host);
    }
    for (const host of ['example.com', 'x.api.example.com', 'api.example.co', '']) {
      assert.equal(router.match('GET', '/x', req({ host })), undefined, host);
    }
    assert.equal(router.match('GET', '/x'), undefined, 'no request: no host');
    assert.equal(router.match('GET', '/x', req({})), undefined, 'no Host header');
  });

  test('a wildcard matches one or more labels below its suffix, not the apex', () => {
    const router = createRouter([route('wild', '/', { hosts: ['*.example.com'] })]);
    assert.equal(router.match('GET', '/', req({ host: 'a.example.com' }))?.route.id, 'wild');
    assert.equal(router.match('GET', '/', req({ host: 'a.b.Example.com:1' }))?.route.id, 'wild');
    assert.equal(router.match('GET', '/', req({ host: 'example.com' })), undefined);
    assert.equal(router.match('GET', '/', req({ host: 'badexample.com' })), undefined);
  });

  test('IPv6 literal hosts keep their brackets; the port is dropped', () => {
    const router = createRouter([route('v6', '/', { hosts: ['[::1]'] })]);
    assert.equal(router.match('GET', '/', req({ host: '[::1]:8080' }))?.route.id, 'v6');
    assert.equal(router.match('GET', '/', req({ host: '[::2]' })), undefined);
  });

  test('exact host beats wildcard, longer wildcard beats shorter, any host last, even over a more specific path', () => {
    const routes = [
      route('any', '/api/orders/:id', { match: 'exact' }),
      route('wild', '/api', { hosts: ['*.example.com'] }),
      route('eu', '/api', { hosts: ['*.eu.example.com'] }),
      route('exact', '/', { hosts: ['shop.eu.example.com', 'other.test'] }),
    ];
    for (const order of [routes, [...routes].reverse(), [routes[2], routes[0], routes[3], routes[1]]]) {
      const router = createRouter(order as TestRoute[]);
      const at = (host: string) => router.match('GET', '/api/orders/1', req({ host }))?.route.id;
      assert.equal(at('shop.eu.example.com'), 'exact');
      assert.equal(at('other.test'), 'exact');
      assert.equal(at('x.eu.example.com'), 'eu');
      assert.equal(at('x.example.com'), 'wild');
      assert.equal(at('elsewhere.test'), 'any');
    }
  });

  test('a host route that misses the path falls back to less specific host routes', () => {
    const router = createRouter([route('admin', '/admin', { hosts: ['a.test'] }), route('rest', '/')]);
    assert.equal(router.match('GET', '/admin/x', req({ host: 'a.test' }))?.route.id, 'admin');
    assert.equal(router.match('GET', '/shop', req({ host: 'a.test' }))?.route.id, 'rest');
  });
});

describe('createRouter headers', () => {
  test('exact value, whole-value regex, presence and absence; names are case-insensitive', () => {
    const router = createRouter([
      route('exact', '/', { headers: { 'X-Version': '2' } }),
      route('regex', '/', { headers: { 'x-tenant': { regex: 'acme-[0-9]+' } } }),
      route('present', '/', { headers: { 'x-debug': { present: true } } }),
      route('absent', '/', { headers: { authorization: { present: false } } }),
    ]);
    const at = (headers: Record<string, string | string[]>) => router.match('GET', '/', req(headers))?.route.id;
    assert.equal(at({ 'x-version': '2', authorization: 'x' }), 'exact');
    assert.equal(at({ 'x-version': '3', authorization: 'x' }), undefined);
    assert.equal(at({ 'x-tenant': 'acme-42', authorization: 'x' }), 'regex');
    assert.equal(at({ 'x-tenant': 'acme-42x', authorization: 'x' }), undefined, 'the regex must match the whole value');
    assert.equal(at({ 'x-tenant': 'xacme-42', authorization: 'x' }), undefined);
    assert.equal(at({ 'x-debug': '', authorization: 'x' }), 'present');
    assert.equal(at({}), 'absent');
    assert.equal(at({ authorization: 'x' }), undefined);
  });

  test('a header on several lines matches when any line matches (headersDistinct)', () => {
    const router = createRouter([route('v2', '/', { headers: { 'x-version': '2' } })]);
    const request = { headers: { 'x-version': '1, 2' }, headersDistinct: { 'x-version': ['1', '2'] } };
    assert.equal(router.match('GET', '/', request)?.route.id, 'v2');
    assert.equal(router.match('GET', '/', req({ 'x-version': ['1', '2'] }))?.route.id, 'v2');
    assert.equal(router.match('GET', '/', req({ 'x-version': '1, 2' })), undefined, 'one line is one value');
  });

  test('more header conditions beat fewer, after the path rules and before the method fit', () => {
    const routes = [
      route('plain', '/api', { methods: ['GET'] }),
      route('one', '/api', { headers: { 'x-a': '1' } }),
      route('two', '/api', { headers: { 'x-a': '1', 'x-b': { present: true } } }),
      route('longer-path', '/api/orders'),
    ];
    for (const order of [routes, [...routes].reverse(), [routes[1], routes[3], routes[0], routes[2]]]) {
      const router = createRouter(order as TestRoute[]);
      const at = (path: string, headers: Record<string, string>) => router.match('GET', path, req(headers))?.route.id;
      assert.equal(at('/api/x', { 'x-a': '1', 'x-b': '' }), 'two');
      assert.equal(at('/api/x', { 'x-a': '1' }), 'one');
      assert.equal(at('/api/x', {}), 'plain');
      assert.equal(at('/api/orders', { 'x-a': '1', 'x-b': '' }), 'longer-path', 'the path rules come first');
    }
  });

  test('equally specific routes with different conditions do not depend on declaration order', () => {
    const a = route('a', '/', { headers: { 'x-a': '1' } });
    const b = route('b', '/', { headers: { 'x-b': '1' } });
    const both = req({ 'x-a': '1', 'x-b': '1' });
    assert.equal(
      createRouter([a, b]).match('GET', '/', both)?.route.id,
      createRouter([b, a]).match('GET', '/', both)?.route.id,
    );
  });

  test('an invalid regex fails at build time', () => {
    assert.throws(() => createRouter([route('bad', '/', { headers: { 'x-a': { regex: '(' } } })]), /header x-a/);
  });
});

describe('createRouter allowedMethods', () => {
  test('lists the methods served at the path, HEAD with GET, in a fixed order', () => {
    const router = createRouter([
      route('read', '/items', { methods: ['GET'] }),
      route('write', '/items/:id', { methods: ['PUT', 'DELETE'] }),
      route('opts', '/items', { methods: ['OPTIONS', 'POST'] }),
      route('other-host', '/items', { methods: ['PATCH'], hosts: ['b.test'] }),
    ]);
    assert.equal(router.match('DELETE', '/items', req({ host: 'a.test' })), undefined);
    assert.deepEqual(router.allowedMethods('/items', req({ host: 'a.test' })), ['GET', 'HEAD', 'POST', 'OPTIONS']);
    assert.deepEqual(router.allowedMethods('/items/1', req({ host: 'a.test' })), [
      'GET',
      'HEAD',
      'POST',
      'PUT',
      'DELETE',
      'OPTIONS',
    ]);
    assert.deepEqual(router.allowedMethods('/items', req({ host: 'b.test' })), [
      'GET',
      'HEAD',
      'POST',
      'PATCH',
      'OPTIONS',
    ]);
    assert.deepEqual(router.allowedMethods('/nothing'), []);
  });

  test('header conditions apply: a route whose headers do not hold does not count', () => {
    const router = createRouter([route('v2', '/v', { methods: ['POST'], headers: { 'x-v': '2' } })]);
    assert.deepEqual(router.allowedMethods('/v', req({ 'x-v': '2' })), ['POST']);
    assert.deepEqual(router.allowedMethods('/v', req({})), []);
  });
});

describe('createRouter precedence with hosts and headers', () => {
  test('declaration order never changes the winner (property)', () => {
    const routeArb = fc.record({
      segments: fc.array(fc.oneof(fc.constantFrom('a', 'b'), fc.constant(':p')), { maxLength: 2 }),
      match: fc.constantFrom<'prefix' | 'exact'>('prefix', 'exact'),
      methods: fc.option(fc.subarray(['GET', 'POST'], { minLength: 1 }), { nil: undefined }),
      hosts: fc.option(fc.subarray(['a.test', 'x.a.test', '*.a.test', '*.x.a.test'], { minLength: 1 }), {
        nil: undefined,
      }),
      headers: fc.subarray(['x-1', 'x-2', 'x-3']),
    });
    const requestArb = fc.record({
      method: fc.constantFrom('GET', 'POST'),
      segments: fc.array(fc.constantFrom('a', 'b', 'x'), { maxLength: 3 }),
      host: fc.constantFrom('a.test', 'x.a.test', 'y.x.a.test', 'other.test'),
      headers: fc.subarray(['x-1', 'x-2', 'x-3']),
    });
    fc.assert(
      fc.property(
        fc.array(routeArb, { maxLength: 8 }),
        fc.array(requestArb, { minLength: 1, maxLength: 10 }),
        fc.func(fc.integer()),
        (specs, requests, order) => {
          const routes = dedupeFull(
            specs.map((spec, i): TestRoute => {
              let n = 0;
              const parts = spec.segments.map((s) => (s === ':p' ? `:p${n++}` : s));
              const headers = Object.fromEntries(spec.headers.map((h) => [h, { present: true }]));
              return {
                id: `r${i}`,
                path: `/${parts.join('/')}`,
                match: spec.match,
                ...(spec.methods === undefined ? {} : { methods: spec.methods }),
                ...(spec.hosts === undefined ? {} : { hosts: spec.hosts }),
                ...(spec.headers.length === 0 ? {} : { headers }),
              };
            }),
          );
          const shuffled = [...routes].sort((x, y) => order(x.id) - order(y.id) || x.id.localeCompare(y.id));
          const a = createRouter(routes);
          const b = createRouter(shuffled);
          for (const r of requests) {
            const path = `/${r.segments.join('/')}`;
            const request = req({ host: r.host, ...Object.fromEntries(r.headers.map((h) => [h, 'v'])) });
            assert.equal(a.match(r.method, path, request)?.route.id, b.match(r.method, path, request)?.route.id);
            assert.deepEqual(a.allowedMethods(path, request), b.allowedMethods(path, request));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

/** Drops routes options validation would reject: same shape and headers, overlapping hosts and methods. */
function dedupeFull(routes: readonly TestRoute[]): TestRoute[] {
  const kept: TestRoute[] = [];
  const overlap = (x: readonly string[] | undefined, y: readonly string[] | undefined) =>
    x === undefined || y === undefined ? x === undefined && y === undefined : x.some((v) => y.includes(v));
  for (const candidate of routes) {
    const parsed = parseRoutePattern(candidate.path);
    assert.ok(parsed.ok, candidate.path);
    const key = `${patternShape(parsed.pattern, candidate.match)} ${JSON.stringify(Object.keys(candidate.headers ?? {}).sort())}`;
    const clash = kept.some((other) => {
      const otherParsed = parseRoutePattern(other.path);
      if (!otherParsed.ok) return false;
      const otherKey = `${patternShape(otherParsed.pattern, other.match)} ${JSON.stringify(Object.keys(other.headers ?? {}).sort())}`;
      return otherKey === key && overlap(other.methods, candidate.methods) && overlap(other.hosts, candidate.hosts);
    });
    if (!clash) kept.push(candidate);
  }
  return kept;
}
