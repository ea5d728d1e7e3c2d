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
