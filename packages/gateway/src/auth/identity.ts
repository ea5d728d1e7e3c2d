import { gatewayError } from '../errors.ts';
import type { GatewayContext } from '../middleware.ts';

// Header values reaching the upstream must be a single line of visible characters: a claim
// carrying CR/LF must not be able to inject a header, and undici would refuse it anyway.
const safeValue = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Renders a claim as a header value, or `undefined` when it cannot be sent safely. */
export function headerValue(value: unknown): string | undefined {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'number' || typeof value === 'boolean') text = String(value);
  else if (Array.isArray(value) && value.every((v) => typeof v === 'string' || typeof v === 'number')) {
    text = value.join(',');
  } else if (value !== null && typeof value === 'object') text = JSON.stringify(value);
  else return undefined;
  return safeValue.test(text) ? text : undefined;
}

/**
 * Removes every incoming copy of the identity headers from the request the proxy forwards.
 * The proxy builds the upstream headers from `ctx.req.headers`, so deleting there is enough and
 * costs nothing when the header is absent; it runs before any decision, so even an anonymous
 * (`optional`) request cannot smuggle an identity to the upstream.
 */
export function stripHeaders(ctx: GatewayContext, names: readonly string[]): void {
  const headers = ctx.req.headers;
  for (const name of names) if (headers[name] !== undefined) delete headers[name];
}

/** Sets one identity header for the upstream, skipping values that cannot be sent safely. */
export function setHeader(ctx: GatewayContext, name: string | undefined, value: unknown): void {
  if (name === undefined) return;
  const text = headerValue(value);
  if (text !== undefined) ctx.req.headers[name] = text;
}

/** Throws `SY_GATEWAY_UNAUTHENTICATED` after setting `WWW-Authenticate` (RFC 9110 §11.6.1). */
export function unauthenticated(
  ctx: GatewayContext,
  challenge: string,
  message: string,
  details: Record<string, string> = {},
): never {
  ctx.res.setHeader('www-authenticate', challenge);
  throw gatewayError('SY_GATEWAY_UNAUTHENTICATED', message, { details });
}

/** A quoted-string for an auth-param (RFC 9110 §11.2): backslash-escape `"` and `\`. */
export function quoted(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}
