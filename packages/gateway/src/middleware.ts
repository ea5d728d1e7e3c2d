import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ResolvedRoute } from './options.ts';

/**
 * One routed request on its way through the gateway. Built after path normalisation and
 * routing, so every middleware sees the matched route.
 */
export interface GatewayContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** The request id, also sent upstream and back as `X-Request-Id`. */
  readonly requestId: string;
  readonly method: string;
  /** The normalised request path (see `normalizeRequestTarget`). */
  readonly path: string;
  /** The query string with its leading `?`, untouched; `''` when absent. */
  readonly query: string;
  readonly route: ResolvedRoute;
  readonly params: Readonly<Record<string, string>>;
  /** The path after the matched route path, starting with `/`. */
  readonly rest: string;
  /** The direct peer's address (IPv4-mapped IPv6 unwrapped); `undefined` when the socket is gone. */
  readonly clientAddress: string | undefined;
  /** Whether the direct peer is one of `trustedProxies`. */
  readonly trustedPeer: boolean;
  /**
   * Aborted when the client goes away or the gateway stops waiting for in-flight requests.
   * When the request carried `switchyard-timeout-ms`, it also carries the caller's deadline
   * (`deadlineOf(ctx.signal)` from `@switchyard/resilience`), which caps the upstream timeout.
   */
  readonly signal: AbortSignal;
  /**
   * Who the caller is, once an auth middleware has checked its credentials (it sets the field);
   * absent before that. Later middleware key on it: the rate limiter's `'jwt-sub'` and
   * `'api-key'` keys read `subject` and `apiKeyId`.
   */
  identity?: GatewayIdentity;
  /**
   * The most request-body bytes the proxy forwards; set by the `bodyLimit` middleware. A body
   * that grows past it fails the request with `SY_GATEWAY_PAYLOAD_TOO_LARGE` (413). Absent: no limit.
   */
  bodyLimit?: number;
}

/** The caller's identity as an auth middleware establishes it (see {@link GatewayContext.identity}). */
export interface GatewayIdentity {
  /** The JWT `sub` claim, or the subject an auth service named. */
  readonly subject?: string;
  /** The id of the API key presented (never the key itself). */
  readonly apiKeyId?: string;
  /** The verified JWT claims. */
  readonly claims?: Readonly<Record<string, unknown>>;
}

/**
 * Handles a routed request: writes the response, or throws a `SwitchyardError` that the gateway
 * renders as its JSON error (`{ "error": { code, message, requestId } }`).
 */
export type RouteHandler = (ctx: GatewayContext) => Promise<void>;

/**
 * Middleware is a plain higher-order function: it receives the next handler and returns a
 * handler that may act before it, after it, or instead of it (undici's `compose` shape).
 *
 * @experimental the context may gain fields as the gateway grows
 * @example
 * ```ts
 * const poweredBy: GatewayMiddleware = (next) => async (ctx) => {
 *   ctx.res.setHeader('x-powered-by', 'switchyard');
 *   await next(ctx);
 * };
 * ```
 */
export type GatewayMiddleware = (next: RouteHandler) => RouteHandler;

/**
 * Wraps `terminal` in `middleware`, the first element outermost. Each element is checked and
 * applied once, when the chain is built, so a mistake fails at start-up rather than per request.
 *
 * @throws TypeError when an element is not a function or does not return one
 * @example
 * ```ts
 * const handler = composeMiddleware([poweredBy, timing], proxy);
 * await handler(ctx); // poweredBy → timing → proxy
 * ```
 */
export function composeMiddleware(middleware: readonly GatewayMiddleware[], terminal: RouteHandler): RouteHandler {
  let handler = terminal;
  for (let i = middleware.length - 1; i >= 0; i--) {
    const layer = middleware[i];
    if (typeof layer !== 'function') throw new TypeError(`middleware[${i}] must be a function, got ${typeof layer}`);
    const next = layer(handler);
    if (typeof next !== 'function') {
      throw new TypeError(`middleware[${i}] must return a handler function, got ${typeof next}`);
    }
    handler = next;
  }
  return handler;
}
