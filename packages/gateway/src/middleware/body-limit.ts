import { resolveOptions } from '@switchyard/core';
import { gatewayError } from '../errors.ts';
import type { GatewayMiddleware } from '../middleware.ts';
import { type BodyLimitOptions, bodyLimitOptionsSchema } from './options.ts';

/**
 * Caps the request body at `limit` bytes. A request whose `Content-Length` is larger is refused
 * at once with `SY_GATEWAY_PAYLOAD_TOO_LARGE` (413), before the upstream is contacted and without
 * reading the body (the connection is closed after the answer). A body without `Content-Length`
 * (chunked) gets `ctx.bodyLimit`, which the proxy enforces while it streams the body upstream.
 * When several `bodyLimit` entries apply (gateway-wide and per route), the smallest wins.
 *
 * @param limit - bytes, or `"64kb"`, `"1mb"`, `"1gb"` (1024-based)
 * @throws SwitchyardError `SY_CONFIG_INVALID` when `limit` is not a size
 * @example
 * ```ts
 * await createGateway({ options, discovery, middleware: [bodyLimit('1mb')] });
 * ```
 */
export function bodyLimit(limit: BodyLimitOptions): GatewayMiddleware {
  const bytes = resolveOptions(bodyLimitOptionsSchema, limit, 'bodyLimit');
  return (next) => async (ctx) => {
    const length = contentLength(ctx.req.headers['content-length']);
    if (length !== undefined && length > bytes) {
      throw gatewayError(
        'SY_GATEWAY_PAYLOAD_TOO_LARGE',
        `the request body of ${length} bytes exceeds this route's limit of ${bytes} bytes`,
        { details: { contentLength: length, limit: bytes } },
      );
    }
    ctx.bodyLimit = ctx.bodyLimit === undefined ? bytes : Math.min(ctx.bodyLimit, bytes);
    return next(ctx);
  };
}

function contentLength(raw: string | undefined): number | undefined {
  if (raw === undefined || !/^\d+$/.test(raw.trim())) return undefined;
  return Number(raw.trim());
}
