import type { ServerResponse } from 'node:http';
import { resolveOptions } from '@switchyard/core';
import { activeSpan } from '@switchyard/telemetry';
import { GatewayEvents } from '../gateway-telemetry.ts';
import type { GatewayMiddleware } from '../middleware.ts';
import { type CorsOptions, corsOptionsSchema, originPattern } from './options.ts';

/**
 * Cross-origin resource sharing as the Fetch standard defines it, answered by the gateway.
 *
 * - A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) is answered here
 *   with 204 and never forwarded: from an allowed origin it carries
 *   `Access-Control-Allow-Origin`, `-Allow-Methods`, `-Allow-Headers` (the configured list, or
 *   the requested headers when `allowHeaders` is absent), `-Allow-Credentials` and `-Max-Age`;
 *   from any other origin it carries none of them, so the browser stops there.
 * - Another request with an `Origin` is forwarded; from an allowed origin the response (error
 *   responses included) gets `Access-Control-Allow-Origin` (`*` when `origins` is `["*"]`
 *   without credentials, otherwise the request's origin), `-Allow-Credentials`,
 *   `-Expose-Headers` and `Vary: Origin`. These replace the upstream's headers of the same name.
 *   From another origin nothing is added: CORS decides what a browser script may read, it is
 *   not access control.
 * - Requests without `Origin` pass untouched.
 *
 * Place it first in the list, so 401 and 429 answers of later middleware carry the headers too.
 * On a route that lists `methods`, list `OPTIONS` as well, or preflights never reach it.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming the field (`cors.origins[0]: ...`), e.g. for `"*"` with credentials
 * @example
 * ```ts
 * const shopCors = cors({ origins: ['https://shop.example', '/^https:\\/\\/[a-z]+\\.shop\\.example$/'], credentials: true, maxAge: '10m' });
 * await createGateway({ options, discovery, middleware: [shopCors] });
 * ```
 */
export function cors(options: CorsOptions): GatewayMiddleware {
  const o = resolveOptions(corsOptionsSchema, options, 'cors');
  const exact = new Set(o.origins.filter((entry) => entry !== '*' && !entry.startsWith('/')));
  const patterns = o.origins.filter((entry) => entry.startsWith('/')).map((entry) => originPattern(entry) as RegExp);
  const any = o.origins.includes('*');
  // `*` is sent only when every origin is allowed and no credentials are involved; then the
  // response does not depend on the origin and needs no `Vary: Origin`.
  const wildcard = any && !o.credentials;
  const allowed = (origin: string) => any || exact.has(origin) || patterns.some((pattern) => pattern.test(origin));
  const methods = o.methods.join(', ');
  const allowHeaders = o.allowHeaders?.join(', ');
  const exposeHeaders = o.exposeHeaders.join(', ');
  const maxAge = o.maxAge === undefined ? undefined : String(Math.floor(o.maxAge / 1000));

  function allowOrigin(res: ServerResponse, origin: string): void {
    res.setHeader('access-control-allow-origin', wildcard ? '*' : origin);
    if (o.credentials) res.setHeader('access-control-allow-credentials', 'true');
  }

  return (next) => async (ctx) => {
    const { req, res } = ctx;
    const origin = req.headers.origin;
    if (origin === undefined) return next(ctx);
    const requestedMethod = req.headers['access-control-request-method'];
    if (ctx.method === 'OPTIONS' && requestedMethod !== undefined) {
      const vary = ['Origin', 'Access-Control-Request-Method'];
      if (allowHeaders === undefined) vary.push('Access-Control-Request-Headers');
      const headers: Record<string, string> = { vary: vary.join(', ') };
      if (allowed(origin)) {
        headers['access-control-allow-origin'] = wildcard ? '*' : origin;
        if (o.credentials) headers['access-control-allow-credentials'] = 'true';
        headers['access-control-allow-methods'] = methods;
        const requested = req.headers['access-control-request-headers'];
        // Reflected only when it is a plain list of header names.
        const reflected =
          requested !== undefined && /^[!#$%&'*+\-.^_`|~0-9A-Za-z, ]+$/.test(requested) ? requested : undefined;
        const headerNames = allowHeaders ?? reflected;
        if (headerNames !== undefined && headerNames !== '') headers['access-control-allow-headers'] = headerNames;
        if (maxAge !== undefined) headers['access-control-max-age'] = maxAge;
      }
      activeSpan()?.addEvent(GatewayEvents.CorsPreflight, { 'switchyard.cors.allowed': allowed(origin) });
      res.writeHead(204, { ...headers, 'content-length': '0', 'x-request-id': ctx.requestId });
      res.end();
      return;
    }
    if (!wildcard) res.setHeader('vary', 'Origin');
    if (!allowed(origin)) return next(ctx);
    allowOrigin(res, origin);
    if (exposeHeaders !== '') res.setHeader('access-control-expose-headers', exposeHeaders);
    return next(ctx);
  };
}
