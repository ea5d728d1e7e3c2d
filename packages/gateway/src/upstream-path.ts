import type { GatewayContext } from './middleware.ts';
import { applyRewrite } from './rewrite.ts';

/**
 * The path and query sent upstream: the route's `rewrite` template filled in, or the path after
 * the route path (`stripPrefix`), or the whole path; behind the static upstreams' path prefix;
 * then the request's query string untouched.
 *
 * @example
 * ```ts
 * // route { path: '/api/users/:id', rewrite: '/v2/users/{id}' }, request /api/users/7?x=1
 * upstreamPath(ctx); // '/v2/users/7?x=1'
 * ```
 */
export function upstreamPath(ctx: GatewayContext): string {
  const { route } = ctx;
  const path =
    route.rewrite !== undefined
      ? applyRewrite(route.rewrite, ctx.params, ctx.rest)
      : route.stripPrefix
        ? ctx.rest
        : ctx.path;
  const prefix = route.upstreams?.pathPrefix;
  return prefix ? `${prefix}${path}${ctx.query}` : `${path}${ctx.query}`;
}
