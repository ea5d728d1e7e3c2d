import { shopError } from '../errors.ts';
import { errorResponse } from './error-response.ts';
import type { App, AppRequest, AppResponse, AsyncApp } from './types.ts';

/** Path parameters by name: `/orders/:id` matched against `/orders/ord_1` gives `{ id: 'ord_1' }`. */
export type RouteParams = Readonly<Record<string, string>>;

/** Answers one route; may throw a shop error, which the router renders. */
export type RouteHandler = (req: AppRequest, params: RouteParams) => AppResponse;

/** Answers one route of an {@link AsyncRouter}; a rejection is rendered like a throw. */
export type AsyncRouteHandler = (req: AppRequest, params: RouteParams) => AppResponse | Promise<AppResponse>;

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
  /** The pattern of the route serving `method path` (`/orders/:id`), or undefined: no route does. */
  routeOf(method: string, path: string): string | undefined;
}

/** A router whose handlers may answer with a promise; see {@link createAsyncRouter}. */
export interface AsyncRouter extends AsyncApp {
  /** Adds a route; `pattern` segments starting with `:` capture one path segment. */
  route(method: string, pattern: string, handler: AsyncRouteHandler): AsyncRouter;
  /** The pattern of the route serving `method path` (`/orders/:id`), or undefined: no route does. */
  routeOf(method: string, path: string): string | undefined;
}

interface Route {
  readonly method: string;
  readonly pattern: string;
  readonly segments: readonly string[];
  readonly handler: AsyncRouteHandler;
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
  const inner = createAsyncRouter(options);
  const router: Router = {
    route(method, pattern, handler) {
      inner.route(method, pattern, handler);
      return router;
    },
    // Every handler of this router is synchronous, so the inner router answers synchronously.
    handle: (req) => inner.handle(req) as AppResponse,
    routeOf: inner.routeOf,
  };
  return router;
}

/**
 * {@link createRouter} for handlers that do I/O: a handler may return a promise, and
 * `handle` then returns one too, which never rejects (a rejection is rendered like a throw).
 *
 * @example
 * ```ts
 * const router = createAsyncRouter().route('GET', '/orders/:id', async (req, { id }) => ({ status: 200, body: await load(id) }));
 * await router.handle(appRequest('GET', '/orders/ord_1'));
 * ```
 */
export function createAsyncRouter(options: RouterOptions = {}): AsyncRouter {
  const routes: Route[] = [];
  const onError = options.onError ?? ((err: unknown) => console.error(err));
  const render = (err: unknown, req: AppRequest): AppResponse => {
    const response = errorResponse(err);
    if (response.status >= 500) onError(err, req);
    return response;
  };

  const router: AsyncRouter = {
    route(method, pattern, handler) {
      routes.push({ method: method.toUpperCase(), pattern, segments: splitPath(pattern), handler });
      return router;
    },
    routeOf: (method, path) => routeOf(routes, method, path),
    handle(req) {
      try {
        const response = dispatch(routes, req);
        return response instanceof Promise ? response.catch((err: unknown) => render(err, req)) : response;
      } catch (err) {
        return render(err, req);
      }
    },
  };
  return router;
}

function dispatch(routes: readonly Route[], req: AppRequest): AppResponse | Promise<AppResponse> {
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

/**
 * The pattern of the route that serves `method path` (`/orders/:id`), or undefined: a bounded
 * name for span names and metric labels, never the raw path.
 */
function routeOf(routes: readonly Route[], method: string, path: string): string | undefined {
  let segments: string[];
  try {
    segments = decodeSegments(path);
  } catch {
    return undefined;
  }
  const upper = method.toUpperCase();
  return routes.find((route) => route.method === upper && match(route.segments, segments) !== undefined)?.pattern;
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
