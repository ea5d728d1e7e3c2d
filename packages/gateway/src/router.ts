import { type PatternSegment, parseRoutePattern } from './pattern.ts';

/**
 * A header condition of a route: an exact value, a regular expression the whole value must
 * match, or the header's presence (`{ present: true }`) or absence (`{ present: false }`).
 */
export type HeaderCondition = string | { readonly regex: string } | { readonly present: boolean };

/** The fields of a route the router reads; {@link ResolvedRoute} has them. */
export interface RoutableRoute {
  readonly path: string;
  readonly match: 'prefix' | 'exact';
  /** Uppercase methods; absent for any method. A route with `GET` also serves `HEAD`. */
  readonly methods?: readonly string[];
  /**
   * Lowercase host names without a trailing dot: `api.example.com`, or `*.example.com` for
   * any host one or more labels below `example.com`. Absent for any host.
   */
  readonly hosts?: readonly string[];
  /** Header conditions by lowercase header name; all must hold. Absent for none. */
  readonly headers?: Readonly<Record<string, HeaderCondition>>;
}

/**
 * What the router reads of a request besides method and path: an `IncomingMessage` fits.
 * `headersDistinct` (one entry per field line) is read only for routes with header value
 * conditions; without it a header's value in `headers` counts as one value.
 */
export interface RoutedRequest {
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  readonly headersDistinct?: Readonly<Record<string, readonly string[] | undefined>>;
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
   * The most specific route for `method`, a normalised `path` (see `normalizeRequestTarget`)
   * and the request's `Host` and headers, or `undefined` when none matches. Without `request`,
   * only routes without `hosts` and `headers` conditions can match.
   */
  match(method: string, path: string, request?: RoutedRequest): RouteMatchResult<R> | undefined;
  /**
   * The methods served at `path` for this request by routes that list their methods, in a
   * fixed order (`GET`, `HEAD`, `POST`, `PUT`, `PATCH`, `DELETE`, `OPTIONS`, then others);
   * `HEAD` is included when `GET` is. Empty when no route matches the path, host and headers.
   * Meant for the `Allow` header of a 405 after {@link Router.match} found nothing.
   */
  allowedMethods(path: string, request?: RoutedRequest): readonly string[];
}

const MethodFit = { Any: 0, ImpliedHead: 1, Listed: 2 } as const;
type MethodFit = (typeof MethodFit)[keyof typeof MethodFit];

type Condition =
  | { readonly kind: 'exact'; readonly name: string; readonly value: string }
  | { readonly kind: 'regex'; readonly name: string; readonly regex: RegExp }
  | { readonly kind: 'present'; readonly name: string; readonly present: boolean };

interface Compiled<R> {
  readonly route: R;
  readonly index: number;
  readonly segments: readonly PatternSegment[];
  readonly prefix: boolean;
  readonly wildcard: boolean;
  readonly literals: number;
  readonly literalLength: number;
  /** Empty for a route without header conditions. */
  readonly conditions: readonly Condition[];
  /** A canonical text of the conditions: a stable tie-break between equally specific routes. */
  readonly conditionKey: string;
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

/** The routes of one host (or wildcard, or any host), compiled into per-method tables. */
interface HostGroup<R> {
  readonly tables: ReadonlyMap<string, Table<R>>;
  readonly anyMethod: Table<R>;
  readonly all: readonly Compiled<R>[];
}

interface WildcardGroup<R> {
  /** `.example.com` for `*.example.com`. */
  readonly suffix: string;
  readonly group: HostGroup<R>;
}

const EMPTY: Readonly<Record<string, string>> = Object.freeze({});
const methodOrder = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/**
 * Compiles routes into a router. All sorting, bucketing, host grouping and regex compiling
 * happens here; a match normalises the `Host` (only when some route has `hosts`), splits the
 * path once, looks up a bucket by host, method and first segment, and tests candidates in
 * precedence order until one fits.
 *
 * **Precedence.** The most specific route wins, whatever the declaration order. Comparing two
 * routes that both match, the first rule that tells them apart decides:
 *
 * 1. host: a route listing the exact host beats one matching it by a wildcard; a longer
 *    wildcard suffix (`*.eu.example.com`) beats a shorter one (`*.example.com`); a route
 *    without `hosts` comes last. A route with several hosts ranks by the one that matched;
 * 2. `exact` beats `prefix` (a trailing `*` makes a route a prefix route);
 * 3. more literal segments beat fewer;
 * 4. position by position from the left, a literal segment beats a `:param`;
 * 5. more segments beat fewer (so `/a/:id` beats `/a/*` and `/a`);
 * 6. longer literal text beats shorter;
 * 7. more header conditions beat fewer;
 * 8. a route listing the method beats one that serves it only because `GET` implies `HEAD`, which
 *    beats a route without `methods`.
 *
 * Routes that tie on all eight and differ in their header conditions are ordered by those
 * conditions' text (names, then values), so the outcome never depends on declaration order.
 * Routes that tie on everything match the same requests; options validation rejects that as
 * a duplicate. Matching is by whole segments, so the prefix `/api/orders` matches
 * `/api/orders` and `/api/orders/12` but not `/api/ordersX`.
 *
 * **Hosts** compare case-insensitively, without the port and a trailing dot of the `Host`
 * header. **Headers**: names are case-insensitive; when a header arrives on several field lines,
 * a value condition holds when any line's value satisfies it (a comma-separated list on one
 * line is one value). A `regex` must match the whole value.
 *
 * @throws Error when a route path is not a valid pattern or a header regex does not compile
 *   (options validation reports both first)
 * @example
 * ```ts
 * const router = createRouter([
 *   { path: '/api', match: 'prefix' },
 *   { path: '/api/orders/:id', match: 'prefix', methods: ['GET'] },
 *   { path: '/api', match: 'prefix', hosts: ['admin.example.com'] },
 * ]);
 * router.match('GET', '/api/orders/12/items');
 * // { route: routes[1], params: { id: '12' }, rest: '/items' }
 * router.match('POST', '/api/orders/12'); // routes[0], rest '/orders/12'
 * router.match('GET', '/api/orders/12', { headers: { host: 'Admin.example.com:8443' } }); // routes[2]
 * ```
 */
export function createRouter<R extends RoutableRoute>(routes: readonly R[]): Router<R> {
  const compiled = routes.map((route, index) => compile(route, index));
  const methods = new Set<string>();
  for (const route of routes) for (const method of route.methods ?? []) methods.add(method);
  if (methods.has('GET')) methods.add('HEAD');

  const exactHosts = new Map<string, Compiled<R>[]>();
  const wildcardHosts = new Map<string, Compiled<R>[]>();
  const anyHost: Compiled<R>[] = [];
  for (const c of compiled) {
    const hosts = c.route.hosts;
    if (hosts === undefined || hosts.length === 0) {
      anyHost.push(c);
      continue;
    }
    for (const host of new Set(hosts)) {
      const wildcard = host.startsWith('*.');
      const map = wildcard ? wildcardHosts : exactHosts;
      const key = wildcard ? host.slice(1) : host;
      const list = map.get(key) ?? [];
      list.push(c);
      map.set(key, list);
    }
  }
  const byHost = new Map<string, HostGroup<R>>();
  for (const [host, list] of exactHosts) byHost.set(host, buildGroup(list, methods));
  const wildcards: WildcardGroup<R>[] = [...wildcardHosts]
    .map(([suffix, list]) => ({ suffix, group: buildGroup(list, methods) }))
    // Longer suffixes first; two suffixes of one length never both match a host.
    .sort((a, b) => b.suffix.length - a.suffix.length);
  const fallback = anyHost.length === 0 ? undefined : buildGroup(anyHost, methods);
  const hostAware = byHost.size > 0 || wildcards.length > 0;

  /** The host groups that apply to the request, most specific first. */
  function groupsFor(request: RoutedRequest | undefined): HostGroup<R>[] {
    const out: HostGroup<R>[] = [];
    const host = hostAware ? requestHost(request) : undefined;
    if (host !== undefined) {
      const exact = byHost.get(host);
      if (exact !== undefined) out.push(exact);
      for (const w of wildcards) if (host.length > w.suffix.length && host.endsWith(w.suffix)) out.push(w.group);
    }
    if (fallback !== undefined) out.push(fallback);
    return out;
  }

  return {
    match(method, path, request) {
      const segments = path === '/' ? [] : path.slice(1).split('/');
      if (hostAware) {
        const host = requestHost(request);
        if (host !== undefined) {
          const exact = byHost.get(host);
          if (exact !== undefined) {
            const result = matchIn(exact, method, segments, request);
            if (result !== undefined) return result;
          }
          for (const w of wildcards) {
            if (host.length <= w.suffix.length || !host.endsWith(w.suffix)) continue;
            const result = matchIn(w.group, method, segments, request);
            if (result !== undefined) return result;
          }
        }
      }
      return fallback === undefined ? undefined : matchIn(fallback, method, segments, request);
    },
    allowedMethods(path, request) {
      const segments = path === '/' ? [] : path.slice(1).split('/');
      const found = new Set<string>();
      for (const group of groupsFor(request)) {
        for (const c of group.all) {
          if (c.route.methods === undefined || !pathFits(c, segments) || !conditionsHold(c, request)) continue;
          for (const method of c.route.methods) found.add(method);
        }
      }
      if (found.has('GET')) found.add('HEAD');
      const known = methodOrder.filter((m) => found.has(m));
      const others = [...found].filter((m) => !methodOrder.includes(m)).sort();
      return [...known, ...others];
    },
  };
}

/**
 * The request's host as routes spell it: lowercase, without port and trailing dot; an IPv6
 * literal keeps its brackets. `undefined` without a `Host` header.
 */
function requestHost(request: RoutedRequest | undefined): string | undefined {
  const raw = request?.headers.host;
  if (typeof raw !== 'string' || raw === '') return undefined;
  let host: string;
  if (raw.charCodeAt(0) === 91 /* [ */) {
    const end = raw.indexOf(']');
    host = end === -1 ? raw : raw.slice(0, end + 1);
  } else {
    const colon = raw.indexOf(':');
    host = colon === -1 ? raw : raw.slice(0, colon);
  }
  if (host.endsWith('.')) host = host.slice(0, -1);
  return host.toLowerCase();
}

function matchIn<R>(
  group: HostGroup<R>,
  method: string,
  segments: readonly string[],
  request: RoutedRequest | undefined,
): RouteMatchResult<R> | undefined {
  const table = group.tables.get(method) ?? group.anyMethod;
  const first = segments[0];
  const candidates = (first !== undefined ? table.byFirst.get(first) : undefined) ?? table.generic;
  for (const { compiled } of candidates) {
    if (!pathFits(compiled, segments)) continue;
    if (compiled.conditions.length > 0 && !conditionsHold(compiled, request)) continue;
    return capture(compiled, segments);
  }
  return undefined;
}

function buildGroup<R extends RoutableRoute>(
  compiled: readonly Compiled<R>[],
  methods: ReadonlySet<string>,
): HostGroup<R> {
  const tables = new Map<string, Table<R>>();
  for (const method of methods) tables.set(method, buildTable(compiled, method));
  return { tables, anyMethod: buildTable(compiled, undefined), all: compiled };
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
  const conditions = compileConditions(route);
  const conditionKey = conditions
    .map(
      (c) =>
        `${c.name}\u0000${c.kind}\u0000${c.kind === 'exact' ? c.value : c.kind === 'regex' ? c.regex.source : c.present}`,
    )
    .join('\u0001');
  return {
    route,
    index,
    segments,
    wildcard,
    prefix: route.match === 'prefix' || wildcard,
    literals,
    literalLength,
    conditions,
    conditionKey,
  };
}

function compileConditions(route: RoutableRoute): Condition[] {
  const out: Condition[] = [];
  for (const [rawName, condition] of Object.entries(route.headers ?? {})) {
    const name = rawName.toLowerCase();
    if (typeof condition === 'string') out.push({ kind: 'exact', name, value: condition });
    else if ('regex' in condition) {
      try {
        out.push({ kind: 'regex', name, regex: new RegExp(`^(?:${condition.regex})$`) });
      } catch (err) {
        throw new Error(`route ${JSON.stringify(route.path)}: header ${name}: ${(err as Error).message}`);
      }
    } else out.push({ kind: 'present', name, present: condition.present });
  }
  // Sorted by name so the tie-break key does not depend on the order the conditions were written in.
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
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

/** Negative when `a` is more specific than `b`; see the rules on {@link createRouter} (host is settled by grouping). */
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
  if (x.conditions.length !== y.conditions.length) return y.conditions.length - x.conditions.length;
  if (a.fit !== b.fit) return b.fit - a.fit;
  if (x.conditionKey !== y.conditionKey) return x.conditionKey < y.conditionKey ? -1 : 1;
  // Only routes that can never match the same request get here; the index keeps the order total.
  return x.index - y.index;
}

/** Whether the path fits the pattern; allocates nothing. */
function pathFits<R>(compiled: Compiled<R>, segments: readonly string[]): boolean {
  const pattern = compiled.segments;
  if (segments.length < pattern.length) return false;
  if (!compiled.prefix && segments.length !== pattern.length) return false;
  for (let i = 0; i < pattern.length; i++) {
    const want = pattern[i] as PatternSegment;
    const got = segments[i] as string;
    if (want.kind === 'literal' ? got !== want.value : got === '') return false;
  }
  return true;
}

function conditionsHold<R>(compiled: Compiled<R>, request: RoutedRequest | undefined): boolean {
  for (const condition of compiled.conditions) {
    if (condition.kind === 'present') {
      if ((request?.headers[condition.name] !== undefined) !== condition.present) return false;
      continue;
    }
    if (request === undefined) return false;
    const values = headerValues(request, condition.name);
    if (values === undefined) return false;
    let any = false;
    for (const value of values) {
      if (condition.kind === 'exact' ? value === condition.value : condition.regex.test(value)) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  return true;
}

function headerValues(request: RoutedRequest, name: string): readonly string[] | undefined {
  if (request.headersDistinct !== undefined) return request.headersDistinct[name];
  const value = request.headers[name];
  return value === undefined ? undefined : typeof value === 'string' ? [value] : value;
}

function capture<R>(compiled: Compiled<R>, segments: readonly string[]): RouteMatchResult<R> {
  const pattern = compiled.segments;
  let params: Record<string, string> | undefined;
  for (let i = 0; i < pattern.length; i++) {
    const want = pattern[i] as PatternSegment;
    if (want.kind === 'param') {
      params ??= Object.create(null) as Record<string, string>;
      params[want.name] = decodeSegment(segments[i] as string);
    }
  }
  const rest = segments.length === pattern.length ? '/' : `/${segments.slice(pattern.length).join('/')}`;
  if (compiled.wildcard) {
    params ??= Object.create(null) as Record<string, string>;
    params['*'] = decodeSegment(rest.slice(1));
  }
  return { route: compiled.route, params: params ?? EMPTY, rest };
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
