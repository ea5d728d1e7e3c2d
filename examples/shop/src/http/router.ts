import { shopError } from '../errors.ts';
import { errorResponse } from './error-response.ts';
import type { App, AppRequest, AppResponse } from './types.ts';

/** Path parameters by name: `/orders/:id` matched against `/orders/ord_1` gives `{ id: 'ord_1' }`. */
export type RouteParams = Readonly<Record<string, string>>;

/** Answers one route; may throw a shop error, which the router renders. */
export type RouteHandler = (req: AppRequest, params: RouteParams) => AppResponse;

/** Options for {@link createRouter}. */
export interface RouterOptions {
  /**
   * Called with every error that is not a shop error (those become a 500).
   * @default logs the error with `console.error`
   */
  onError?: (err: unknown, req: AppRequest) => void;
}

/** A tiny method + path router; see {@link createRouter}. */
export interface Router extends App {
  /** Adds a route; `pattern` segments starting with `:` capture one path segment. */
  route(method: string, pattern: string, handler: RouteHandler): Router;
}

interface Route {
  readonly method: string;
  readonly segments: readonly string[];
  readonly handler: RouteHandler;
}

/**
 * Creates a router. Its `handle` never throws: a thrown shop error becomes its JSON error
 * response, anything else a 500; an unknown path is a 404 `SY_SHOP_ROUTE_NOT_FOUND` and a
 * known path with another method a 405 with `Allow`. Path segments are percent-decoded
 * before matching, and a trailing slash is ignored.
 *
 * @example
 * ```ts
 * const router = createRouter().route('GET', '/orders/:id', (req, { id }) => ({ status: 200, body: { id } }));
 * router.handle(appRequest('GET', '/orders/ord_1')); // { status: 200, body: { id: 'ord_1' } }
 * ```
 */
export function createRouter(options: RouterOptions = {}): Router {
  const routes: Route[] = [];
  const onError = options.onError ?? ((err: unknown) => console.error(err));

  const router: Router = {
    route(method, pattern, handler) {
      routes.push({ method: method.toUpperCase(), segments: splitPath(pattern), handler });
      return router;
    },
    handle(req) {
      try {
        return dispatch(routes, req);
      } catch (err) {
        const response = errorResponse(err);
        if (response.status >= 500) onError(err, req);
        return response;
      }
    },
  };
  return router;
}

function dispatch(routes: readonly Route[], req: AppRequest): AppResponse {
  const segments = decodeSegments(req.path);
  const allowed = new Set<string>();
  for (const route of routes) {
    const params = match(route.segments, segments);
    if (params === undefined) continue;
    if (route.method === req.method) return route.handler(req, params);
    allowed.add(route.method);
  }
  if (allowed.size > 0) {
    const allow = [...allowed].join(', ');
    throw shopError('SY_SHOP_METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${req.path}; use ${allow}`, {
      details: { allow },
    });
  }
  throw shopError('SY_SHOP_ROUTE_NOT_FOUND', `no endpoint for ${req.method} ${req.path}`);
}

function match(pattern: readonly string[], segments: readonly string[]): Record<string, string> | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, part] of pattern.entries()) {
    const segment = segments[i] as string;
    if (part.startsWith(':')) {
      if (segment.length === 0) return undefined;
      params[part.slice(1)] = segment;
    } else if (part !== segment) {
      return undefined;
    }
  }
  return params;
}

function splitPath(path: string): string[] {
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  return trimmed.split('/').slice(1);
}

function decodeSegments(path: string): string[] {
  return splitPath(path).map((segment) => {
    try {
      return decodeURIComponent(segment);
    } catch {
      throw shopError('SY_SHOP_INVALID_REQUEST', `path: malformed percent-encoding in segment "${segment}"`);
    }
  });
}
