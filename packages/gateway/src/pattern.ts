/** One segment of a route path: a literal to compare, or a `:name` parameter that captures one segment. */
export type PatternSegment =
  | { readonly kind: 'literal'; readonly value: string }
  | { readonly kind: 'param'; readonly name: string };

/** A parsed route path. A trailing `*` is not a segment: it sets `wildcard` and makes the route a prefix match. */
export interface RoutePattern {
  readonly segments: readonly PatternSegment[];
  /** True when the path ended in `/*`; the rest of the request path is captured as `params['*']`. */
  readonly wildcard: boolean;
}

/** The result of {@link parseRoutePattern}: a pattern, or the reason the path is not one. */
export type PatternResult =
  | { readonly ok: true; readonly pattern: RoutePattern }
  | { readonly ok: false; readonly message: string };

// RFC 3986 §3.3 pchar without pct-encoded: unreserved / sub-delims / ":" / "@". `*` is kept out of
// literals so it can only mean "the rest", and `%` is kept out so a literal needs no normalisation.
const literalSegment = /^[A-Za-z0-9\-._~!$&'()+,;=:@]+$/;
const paramName = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Parses a route path such as `/api/orders`, `/users/:id` or `/files/*`.
 *
 * Rules: starts with `/`; no empty segment (`//`) and no trailing `/` except the root `/` itself;
 * no `.`/`..` segments; a `:name` segment captures one non-empty segment; `*` may only be the
 * whole last segment. Literal segments are compared byte for byte against the normalised request
 * path, so they may not contain `%`.
 *
 * @example
 * ```ts
 * parseRoutePattern('/users/:id/*');
 * // { ok: true, pattern: { segments: [{ kind: 'literal', value: 'users' }, { kind: 'param', name: 'id' }], wildcard: true } }
 * parseRoutePattern('api'); // { ok: false, message: 'must start with "/", got "api"' }
 * ```
 */
export function parseRoutePattern(path: string): PatternResult {
  if (!path.startsWith('/')) return fail(`must start with "/", got ${JSON.stringify(path)}`);
  if (path === '/') return { ok: true, pattern: { segments: [], wildcard: false } };
  if (path.endsWith('/'))
    return fail(`must not end with "/" (write ${JSON.stringify(path.replace(/\/+$/, '') || '/')})`);
  const parts = path.slice(1).split('/');
  const segments: PatternSegment[] = [];
  const names = new Set<string>();
  let wildcard = false;
  for (const [index, part] of parts.entries()) {
    if (part === '') return fail(`must not contain an empty segment ("//") in ${JSON.stringify(path)}`);
    if (part === '*') {
      if (index !== parts.length - 1) return fail(`"*" may only be the last segment, in ${JSON.stringify(path)}`);
      wildcard = true;
      continue;
    }
    if (part.startsWith(':')) {
      const name = part.slice(1);
      if (!paramName.test(name)) {
        return fail(
          `parameter ${JSON.stringify(part)} must be ":" followed by a letter or "_", then letters, digits or "_"`,
        );
      }
      if (names.has(name)) return fail(`parameter ":${name}" appears twice in ${JSON.stringify(path)}`);
      names.add(name);
      segments.push({ kind: 'param', name });
      continue;
    }
    if (part === '.' || part === '..') return fail(`must not contain a "${part}" segment`);
    if (!literalSegment.test(part)) {
      return fail(
        `segment ${JSON.stringify(part)} may contain only letters, digits and -._~!$&'()+,;=:@ (no "%", "*" or spaces)`,
      );
    }
    segments.push({ kind: 'literal', value: part });
  }
  return { ok: true, pattern: { segments, wildcard } };
}

/**
 * A key equal for two patterns that match exactly the same paths (parameter names ignored),
 * used to report duplicate routes.
 *
 * @example
 * ```ts
 * const a = parseRoutePattern('/users/:id');
 * const b = parseRoutePattern('/users/:userId');
 * if (a.ok && b.ok) patternShape(a.pattern, 'exact') === patternShape(b.pattern, 'exact'); // true
 * ```
 */
export function patternShape(pattern: RoutePattern, match: 'exact' | 'prefix'): string {
  const prefix = match === 'prefix' || pattern.wildcard;
  const body = pattern.segments.map((s) => (s.kind === 'literal' ? `/${s.value}` : '/:')).join('');
  return `${prefix ? 'prefix' : 'exact'} ${body || '/'}`;
}

function fail(message: string): PatternResult {
  return { ok: false, message };
}
