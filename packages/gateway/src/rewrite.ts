import type { RoutePattern } from './pattern.ts';

/** One piece of a compiled rewrite template: literal text, a captured `:param`, or the rest (`{*}`). */
export type RewritePart = string | { readonly param: string } | { readonly rest: true };

/** A route's `rewrite` template, compiled when the options are resolved. */
export interface ResolvedRewrite {
  /** The template as written: `/v2/users/{id}/profile`. */
  readonly template: string;
  readonly parts: readonly RewritePart[];
}

/** The result of {@link compileRewrite}. */
export type RewriteResult =
  | { readonly ok: true; readonly rewrite: ResolvedRewrite }
  | { readonly ok: false; readonly message: string };

// Path characters a template may hold as literal text: RFC 3986 pchar and "/", with "%" only in
// a valid escape. "?" and "#" are refused: the request's own query string is kept.
const literalText = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*$/;
const placeholder = /\{([^{}]*)\}/g;

/**
 * Compiles a rewrite template against the route's path pattern. `{name}` stands for the
 * `:name` segment the route captured, `{*}` for the rest of the path after the route path
 * (its trailing `*`, or what a prefix route leaves).
 *
 * @param prefix - whether the route is a prefix route (a trailing `*` or `match: prefix`)
 * @example
 * ```ts
 * const pattern = parseRoutePattern('/api/users/:id');
 * if (pattern.ok) compileRewrite('/v2/users/{id}/profile', pattern.pattern, true);
 * // { ok: true, rewrite: { template: '/v2/users/{id}/profile', parts: ['/v2/users/', { param: 'id' }, '/profile'] } }
 * ```
 */
export function compileRewrite(template: string, pattern: RoutePattern, prefix: boolean): RewriteResult {
  if (!template.startsWith('/')) return fail(`must start with "/", got ${JSON.stringify(template)}`);
  const names = new Set(pattern.segments.flatMap((s) => (s.kind === 'param' ? [s.name] : [])));
  const parts: RewritePart[] = [];
  let last = 0;
  for (const found of template.matchAll(placeholder)) {
    const literal = template.slice(last, found.index);
    if (literal !== '') {
      const bad = checkLiteral(literal);
      if (bad !== undefined) return fail(bad);
      parts.push(literal);
    }
    const name = found[1] as string;
    if (name === '*') {
      if (!prefix) {
        return fail(
          `{*} inserts the rest of the path after a prefix or "/*" route; this route matches its path exactly`,
        );
      }
      parts.push({ rest: true });
    } else if (names.has(name)) {
      parts.push({ param: name });
    } else {
      const known =
        names.size === 0
          ? 'the route path captures none'
          : `the route path captures ${[...names].map((n) => `{${n}}`).join(', ')}`;
      return fail(`{${name}} names no ":${name}" segment of the route path (${known})`);
    }
    last = found.index + found[0].length;
  }
  const tail = template.slice(last);
  if (tail !== '') {
    const bad = checkLiteral(tail);
    if (bad !== undefined) return fail(bad);
    parts.push(tail);
  }
  return { ok: true, rewrite: Object.freeze({ template, parts: Object.freeze(parts) }) };
}

function checkLiteral(text: string): string | undefined {
  if (text.includes('{') || text.includes('}')) return `unbalanced "{" or "}" in ${JSON.stringify(text)}`;
  if (!literalText.test(text)) {
    return `${JSON.stringify(text)} may contain only path characters (letters, digits, -._~!$&'()*+,;=:@/ and %XX escapes; no "?", "#" or spaces)`;
  }
  return undefined;
}

/**
 * The upstream path for a rewritten request. A captured value is percent-encoded again, so a
 * `/`, `?` or `%` in it stays inside its segment, and a value of `.` or `..` is written `%2E`
 * so it cannot climb the upstream path. `{*}` inserts the rest as the request spelled it after
 * normalisation (no dot segments, still encoded).
 *
 * @example
 * ```ts
 * applyRewrite(rewrite, { id: 'a/b' }, '/'); // '/v2/users/a%2Fb/profile'
 * ```
 */
export function applyRewrite(rewrite: ResolvedRewrite, params: Readonly<Record<string, string>>, rest: string): string {
  let out = '';
  for (const part of rewrite.parts) {
    if (typeof part === 'string') out += part;
    else if ('param' in part) out += encodeParam(params[part.param] ?? '');
    else out += rest.slice(1);
  }
  return out;
}

function encodeParam(value: string): string {
  if (value === '.') return '%2E';
  if (value === '..') return '%2E%2E';
  return encodeURIComponent(value);
}

function fail(message: string): RewriteResult {
  return { ok: false, message };
}
