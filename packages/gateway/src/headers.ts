import { randomUUID } from 'node:crypto';
import { BlockList, isIPv6 } from 'node:net';

/** Header values as node:http and undici hand them over (lower-cased names). */
export type HeaderRecord = Record<string, string | string[] | undefined>;

/** Headers ready to send: no `undefined` values. */
export type OutgoingHeaders = Record<string, string | string[]>;

/**
 * RFC 9110 §7.6.1 connection-specific fields, plus the legacy `Keep-Alive` and
 * `Proxy-Connection`. They describe one hop and must not be forwarded.
 */
export const hopByHopHeaders: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * The `Via` entry this gateway adds (RFC 9110 §7.6.3).
 *
 * @example
 * ```ts
 * response.headers.via?.endsWith(viaEntry); // true for responses that went through the gateway
 * ```
 */
export const viaEntry = '1.1 switchyard';

/**
 * Copies `headers` without hop-by-hop fields: the fixed list of RFC 9110 §7.6.1 and every field
 * the `Connection` header names.
 *
 * @example
 * ```ts
 * withoutHopByHop({ connection: 'close, x-secret', 'x-secret': '1', accept: '*' }); // { accept: '*' }
 * ```
 */
export function withoutHopByHop(headers: HeaderRecord): OutgoingHeaders {
  const out: OutgoingHeaders = {};
  copyEndToEnd(headers, out);
  return out;
}

/**
 * Copies the end-to-end fields of `from` into `to` (no hop-by-hop field, none that `Connection`
 * names): one `for...in` pass, no intermediate arrays, since it runs twice per proxied request.
 */
function copyEndToEnd(from: HeaderRecord, to: OutgoingHeaders, skip?: (name: string) => boolean): void {
  const connection = from.connection;
  const named = connection === undefined ? undefined : connectionTokens(connection);
  for (const name in from) {
    const value = from[name];
    if (value === undefined || hopByHopHeaders.has(name) || named?.has(name) || skip?.(name)) continue;
    to[name] = value;
  }
}

/**
 * The field names a `Connection` header lists, beyond the fixed hop-by-hop ones; `undefined`
 * for none, as with the usual `keep-alive` or `close` (checked without splitting or a `Set`).
 */
function connectionTokens(value: string | string[]): Set<string> | undefined {
  if (typeof value === 'string' && !value.includes(',')) {
    const name = value.trim().toLowerCase();
    if (name === '' || name === 'close' || hopByHopHeaders.has(name)) return undefined;
  }
  const tokens = new Set<string>();
  for (const line of Array.isArray(value) ? value : [value]) {
    for (const token of line.split(',')) {
      const name = token.trim().toLowerCase();
      if (name !== '') tokens.add(name);
    }
  }
  return tokens;
}

const saneRequestId = /^[\x21-\x7e]{1,128}$/;

/**
 * The request id to use: the incoming `X-Request-Id` when it is 1 to 128 visible ASCII
 * characters, otherwise a new random UUID.
 *
 * @example
 * ```ts
 * requestIdFor('abc-123'); // 'abc-123'
 * requestIdFor('has space'); // a new UUID
 * ```
 */
export function requestIdFor(incoming: string | string[] | undefined): string {
  return typeof incoming === 'string' && saneRequestId.test(incoming) ? incoming : randomUUID();
}

/** `::ffff:10.0.0.1` → `10.0.0.1`, so IPv4 clients on a dual-stack socket look the same everywhere. */
export function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/**
 * Builds the check for `trustedProxies`: IP addresses and CIDR ranges whose incoming
 * `X-Forwarded-*` chain the gateway keeps.
 *
 * @example
 * ```ts
 * const trusted = createProxyTrust(['10.0.0.0/8']);
 * trusted('10.1.2.3'); // true
 * trusted('192.168.0.1'); // false
 * ```
 */
export function createProxyTrust(trustedProxies: readonly string[]): (address: string) => boolean {
  if (trustedProxies.length === 0) return () => false;
  const list = new BlockList();
  for (const entry of trustedProxies) {
    const [raw = entry, bits] = entry.split('/');
    const address = bits === undefined ? normalizeAddress(raw) : raw;
    const type = isIPv6(address) ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(bits), type);
  }
  return (address) => {
    const normalized = normalizeAddress(address);
    return list.check(normalized, isIPv6(normalized) ? 'ipv6' : 'ipv4');
  };
}

/** What the gateway knows about the downstream side of a request. */
export interface ForwardingContext {
  readonly requestId: string;
  /** The direct peer's address, normalised; `undefined` when the socket is already gone. */
  readonly clientAddress: string | undefined;
  /** Whether the direct peer is a trusted proxy, so its `X-Forwarded-*` and `Forwarded` are kept. */
  readonly trusted: boolean;
  /** `http` or `https`: how the request reached the gateway. */
  readonly protocol: 'http' | 'https';
}

/**
 * The headers to send upstream: hop-by-hop fields, `Host` and `Expect` removed (the upstream
 * gets its own `Host`; the client's goes in `X-Forwarded-Host`; Node already answered
 * `100-continue`), `X-Forwarded-For`/`-Proto`/`-Host`, `X-Request-Id` and `Via` set.
 *
 * An incoming forwarding chain is kept only from a trusted proxy; from anyone else every
 * `X-Forwarded-*` and `Forwarded` field is dropped first, so a client cannot forge its address.
 *
 * @example
 * ```ts
 * upstreamRequestHeaders({ host: 'shop.test', 'x-forwarded-for': '6.6.6.6' },
 *   { requestId: 'r1', clientAddress: '10.0.0.7', trusted: false, protocol: 'http' });
 * // { 'x-forwarded-for': '10.0.0.7', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'shop.test',
 * //   'x-request-id': 'r1', via: '1.1 switchyard' }
 * ```
 */
export function upstreamRequestHeaders(incoming: HeaderRecord, context: ForwardingContext): OutgoingHeaders {
  const headers: OutgoingHeaders = {};
  copyEndToEnd(incoming, headers, context.trusted ? replacedFromTrusted : replacedFromUntrusted);
  const trusted = context.trusted;
  const client = context.clientAddress ?? 'unknown';
  const forwardedFor = trusted ? single(incoming['x-forwarded-for']) : undefined;
  headers['x-forwarded-for'] = forwardedFor ? `${forwardedFor}, ${client}` : client;
  const forwardedProto = trusted ? single(incoming['x-forwarded-proto']) : undefined;
  headers['x-forwarded-proto'] = forwardedProto ? forwardedProto : context.protocol;
  const forwardedHost = trusted ? single(incoming['x-forwarded-host']) : undefined;
  const xfh = forwardedHost ? forwardedHost : single(incoming.host);
  if (xfh) headers['x-forwarded-host'] = xfh;
  headers['x-request-id'] = context.requestId;
  headers.via = appendVia(incoming.via);
  return headers;
}

/** Fields the gateway sets itself (or drops) on the way upstream. */
function replacedFromTrusted(name: string): boolean {
  return (
    name === 'host' ||
    name === 'expect' ||
    name === 'x-forwarded-for' ||
    name === 'x-forwarded-proto' ||
    name === 'x-forwarded-host' ||
    name === 'x-request-id' ||
    name === 'via'
  );
}

/** As {@link replacedFromTrusted}, and the whole incoming forwarding chain, which may be forged. */
function replacedFromUntrusted(name: string): boolean {
  return (
    name === 'host' ||
    name === 'expect' ||
    name === 'x-request-id' ||
    name === 'via' ||
    name === 'forwarded' ||
    name.startsWith('x-forwarded-')
  );
}

/**
 * The headers to send downstream: the upstream's without hop-by-hop fields, with the gateway's
 * `X-Request-Id` and its `Via` entry appended.
 *
 * @example
 * ```ts
 * downstreamResponseHeaders({ 'content-type': 'text/plain', connection: 'keep-alive' }, 'r1');
 * // { 'content-type': 'text/plain', 'x-request-id': 'r1', via: '1.1 switchyard' }
 * ```
 */
export function downstreamResponseHeaders(upstream: HeaderRecord, requestId: string): OutgoingHeaders {
  const headers: OutgoingHeaders = {};
  copyEndToEnd(upstream, headers, isRequestId);
  headers['x-request-id'] = requestId;
  headers.via = appendVia(upstream.via);
  return headers;
}

function isRequestId(name: string): boolean {
  return name === 'x-request-id';
}

function appendVia(existing: string | string[] | undefined): string {
  const previous = single(existing);
  return previous ? `${previous}, ${viaEntry}` : viaEntry;
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}
