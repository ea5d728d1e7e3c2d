import { type PatternSegment, parseRoutePattern } from './pattern.ts';

/** The fields of a route the router reads; {@link ResolvedRoute} has them. */
export interface RoutableRoute {
  readonly path: string;
  readonly match: 'prefix' | 'exact';
  /** Uppercase methods; absent for any method. A route with `GET` also serves `HEAD`. */
  readonly methods?: readonly string[];
}

/** A successful {@link Router.match}. */
export interface RouteMatchResult<R> {
  readonly route: R;
  /**
   * Captured `:param` segments, percent-decoded; a trailing `*` is captured as `params['*']`
   * (the rest without its leading `/`).
   */
  readonly params: Readonly<Record<string, string>>;
  /** The request path after the matched route path, starting with `/` (`/` when nothing is left). */
  readonly rest: string;
}

/** Finds the route for a request; built once by {@link createRouter}. */
export interface Router<R> {
  /**
   * The most specific route for `method` and a normalised `path` (see `normalizeRequestTarget`),
   * or `undefined` when none matches.
   */
  match(method: string, path: string): RouteMatchResult<R> | undefined;
}

const MethodFit = { Any: 0, ImpliedHead: 1, Listed: 2 } as const;
type MethodFit = (typeof MethodFit)[keyof typeof MethodFit];

interface Compiled<R> {
  readonly route: R;
  readonly index: number;
  readonly segments: readonly PatternSegment[];
  readonly prefix: boolean;
  readonly wildcard: boolean;
  readonly literals: number;
  readonly literalLength: number;
}

interface Candidate<R> {
  readonly compiled: Compiled<R>;
  readonly fit: MethodFit;
}

/** Candidates sorted most specific first; routes whose first segment is a literal are bucketed by it. */
interface Table<R> {
  readonly byFirst: ReadonlyMap<string, readonly Candidate<R>[]>;
  readonly generic: readonly Candidate<R>[];
}

/**
 * Compiles routes into a router. All sorting and bucketing happens here; a match splits the path
 * once, looks up a bucket by method and first segment, and tests candidates in precedence order
 * until one fits.
 *
 * **Precedence.** The most specific route wins, whatever the declaration order. Comparing two
 * routes that both match, the first rule that tells them apart decides:
 *
 * 1. `exact` beats `prefix` (a trailing `*` makes a route a prefix route);
 * 2. more literal segments beat fewer;
 * 3. position by position from the left, a literal segment beats a `:param`;
 * 4. more segments beat fewer (so `/a/:id` beats `/a/*` and `/a`);
 * 5. longer literal text beats shorter;
 * 6. a route listing the method beats one that serves it only because `GET` implies `HEAD`, which
 *    beats a route without `methods`.
 *
 * Two routes that tie on all six match the same paths with overlapping methods; options
 * validation rejects that as a duplicate. Matching is by whole segments, so the prefix
 * `/api/orders` matches `/api/orders` and `/api/orders/12` but not `/api/ordersX`.
 *
 * @throws Error when a route path is not a valid pattern (options validation reports it first)
 * @example
 * ```ts
 * const router = createRouter([
 *   { path: '/api', match: 'prefix' },
 *   { path: '/api/orders/:id', match: 'prefix', methods: ['GET'] },
 * ]);
 * router.match('GET', '/api/orders/12/items');
 * // { route: routes[1], params: { id: '12' }, rest: '/items' }
 * router.match('POST', '/api/orders/12'); // routes[0], rest '/orders/12'
 * ```
 */
export function createRouter<R extends RoutableRoute>(routes: readonly R[]): Router<R> {
  const compiled = routes.map((route, index) => compile(route, index));
  const tables = new Map<string, Table<R>>();
  const methods = new Set<string>();
  for (const route of routes) for (const method of route.methods ?? []) methods.add(method);
  if (methods.has('GET')) methods.add('HEAD');
  for (const method of methods) tables.set(method, buildTable(compiled, method));
  const anyMethod = buildTable(compiled, undefined);

  return {
    match(method, path) {
      const table = tables.get(method) ?? anyMethod;
      const segments = path === '/' ? [] : path.slice(1).split('/');
      const first = segments[0];
      const candidates = (first !== undefined ? table.byFirst.get(first) : undefined) ?? table.generic;
      for (const { compiled } of candidates) {
        const result = tryMatch(compiled, segments);
        if (result !== undefined) return result;
      }
      return undefined;
    },
  };
}

function compile<R extends RoutableRoute>(route: R, index: number): Compiled<R> {
  const parsed = parseRoutePattern(route.path);
  if (!parsed.ok) throw new Error(`route ${JSON.stringify(route.path)}: ${parsed.message}`);
  const { segments, wildcard } = parsed.pattern;
  let literals = 0;
  let literalLength = 0;
  for (const segment of segments) {
    if (segment.kind === 'literal') {
      literals++;
      literalLength += segment.value.length;
    }
  }
  return { route, index, segments, wildcard, prefix: route.match === 'prefix' || wildcard, literals, literalLength };
}

function methodFit(route: RoutableRoute, method: string | undefined): MethodFit | undefined {
  if (route.methods === undefined) return MethodFit.Any;
  if (method === undefined) return undefined;
  if (route.methods.includes(method)) return MethodFit.Listed;
  if (method === 'HEAD' && route.methods.includes('GET')) return MethodFit.ImpliedHead;
  return undefined;
}

function buildTable<R extends RoutableRoute>(compiled: readonly Compiled<R>[], method: string | undefined): Table<R> {
  const candidates: Candidate<R>[] = [];
  for (const c of compiled) {
    const fit = methodFit(c.route, method);
    if (fit !== undefined) candidates.push({ compiled: c, fit });
  }
  candidates.sort(compareCandidates);
  const generic = candidates.filter((c) => c.compiled.segments[0]?.kind !== 'literal');
  const firsts = new Set<string>();
  for (const c of candidates) {
    const first = c.compiled.segments[0];
    if (first?.kind === 'literal') firsts.add(first.value);
  }
  const byFirst = new Map<string, readonly Candidate<R>[]>();
  for (const first of firsts) {
    // Filtering the sorted list keeps the precedence order inside each bucket.
    byFirst.set(
      first,
      candidates.filter((c) => {
        const head = c.compiled.segments[0];
        return head?.kind !== 'literal' || head.value === first;
      }),
    );
  }
  return { byFirst, generic };
}

/** Negative when `a` is more specific than `b`; see the rules on {@link createRouter}. */
function compareCandidates<R>(a: Candidate<R>, b: Candidate<R>): number {
  const x = a.compiled;
  const y = b.compiled;
  if (x.prefix !== y.prefix) return x.prefix ? 1 : -1;
  if (x.literals !== y.literals) return y.literals - x.literals;
  const common = Math.min(x.segments.length, y.segments.length);
  for (let i = 0; i < common; i++) {
    const kx = x.segments[i]?.kind;
    const ky = y.segments[i]?.kind;
    if (kx !== ky) return kx === 'literal' ? -1 : 1;
  }
  if (x.segments.length !== y.segments.length) return y.segments.length - x.segments.length;
  if (x.literalLength !== y.literalLength) return y.literalLength - x.literalLength;
  if (a.fit !== b.fit) return b.fit - a.fit;
  // Only routes that can never match the same request get here; the index keeps the order total.
  return x.index - y.index;
}

function tryMatch<R>(compiled: Compiled<R>, segments: readonly string[]): RouteMatchResult<R> | undefined {
  const pattern = compiled.segments;
  if (segments.length < pattern.length) return undefined;
  if (!compiled.prefix && segments.length !== pattern.length) return undefined;
  let params: Record<string, string> | undefined;
  for (let i = 0; i < pattern.length; i++) {
    const want = pattern[i] as PatternSegment;
    const got = segments[i] as string;
    if (want.kind === 'literal') {
      if (got !== want.value) return undefined;
    } else {
      if (got === '') return undefined;
      params ??= Object.create(null) as Record<string, string>;
      params[want.name] = decodeSegment(got);
    }
  }
  const restSegments = segments.slice(pattern.length);
  const rest = `/${restSegments.join('/')}`;
  if (compiled.wildcard) {
    params ??= Object.create(null) as Record<string, string>;
    params['*'] = decodeSegment(rest.slice(1));
  }
  return { route: compiled.route, params: params ?? {}, rest };
}

function decodeSegment(value: string): string {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    // Not UTF-8 (`%FF`): the normalised, still-encoded text is the only faithful form.
    return value;
  }
}
