/**
 * The transport-free request model the shop services are written against, so their logic is
 * tested by calling `handle()` directly, without sockets.
 */

/** A request as the business logic sees it: the body is already parsed JSON. */
export interface AppRequest {
  /** Upper-case HTTP method, e.g. `POST`. */
  readonly method: string;
  /** The path without the query, e.g. `/orders/ord_1`; still percent-encoded. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** Header values by lower-case name; repeated headers are joined with `, `. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The parsed JSON body, or `undefined` when the request had none. */
  readonly body: unknown;
}

/** A response: `body` is serialised as JSON unless it is `undefined`. */
export interface AppResponse {
  readonly status: number;
  readonly body: unknown;
  /** Extra response headers by lower-case name. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** Something that answers {@link AppRequest}s; `handle` never throws. */
export interface App {
  handle(req: AppRequest): AppResponse;
  /**
   * The route template that serves `method path` (`/orders/:id`), or undefined when none
   * does: the bounded name of the request's server span and metric label.
   */
  routeOf?(method: string, path: string): string | undefined;
}

/**
 * An app some of whose answers take I/O (the orders service waits on its saga engine):
 * `handle` may return a promise. {@link toNodeHandler} takes either kind. `handle` never
 * throws and its promise never rejects.
 */
export interface AsyncApp {
  handle(req: AppRequest): AppResponse | Promise<AppResponse>;
  /** As {@link App.routeOf}. */
  routeOf?(method: string, path: string): string | undefined;
}

/** The body of every error response. */
export interface ErrorBody {
  readonly error: {
    /** A stable `SY_SHOP_<WHAT>` code. */
    readonly code: string;
    readonly message: string;
    /** The request field at fault, as a path such as `items[0].sku`. */
    readonly field?: string;
  };
}

/**
 * Builds an {@link AppRequest} with defaults (no query, no headers, no body), for tests and
 * for callers that construct requests by hand.
 *
 * @example
 * ```ts
 * app.handle(appRequest('POST', '/orders', { body: { customer: 'ada', items: [], total: 0 } }));
 * ```
 */
export function appRequest(
  method: string,
  target: string,
  init: { headers?: Record<string, string>; body?: unknown } = {},
): AppRequest {
  const queryAt = target.indexOf('?');
  const path = queryAt === -1 ? target : target.slice(0, queryAt);
  const query = new URLSearchParams(queryAt === -1 ? '' : target.slice(queryAt + 1));
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(init.headers ?? {})) headers[name.toLowerCase()] = value;
  return { method: method.toUpperCase(), path, query, headers, body: init.body };
}
