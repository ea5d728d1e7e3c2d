import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse, OutgoingHttpHeaders } from 'node:http2';

/**
 * Response fields HTTP/2 forbids (RFC 9113 §8.2.2): node:http2 throws on them, so they are
 * dropped from responses to HTTP/2 requests. The proxy already removes them from upstream
 * responses; this catches the ones the gateway sets itself (`Connection: close` while draining).
 */
const connectionSpecific: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
]);

/**
 * Makes an HTTP/2 compatibility request and response look like node:http's to the gateway's
 * handler, in place:
 *
 * - `req.headers` loses the pseudo-headers (`:method`, `:path`, `:scheme`, `:authority`),
 *   which are not valid field names upstream; `:authority` becomes `host` (RFC 9113 §8.3.1)
 *   unless the client sent `host` itself, so routing by host and `X-Forwarded-Host` work; a
 *   request whose HEADERS frame did not end the stream and that has no `content-length` gets
 *   `transfer-encoding: chunked`, so that its body is streamed upstream.
 * - `res.setHeader` and `res.writeHead` drop connection-specific fields instead of throwing.
 *
 * Requests carrying connection-specific fields never get here: nghttp2 resets such streams
 * with PROTOCOL_ERROR (RFC 9113 §8.2.2).
 *
 * @example
 * ```ts
 * http2.createSecureServer({ ...tls, allowHTTP1: true }, (req, res) => {
 *   if (req.httpVersionMajor === 2) adaptHttp2(req, res);
 *   handler.handle(req, res);
 * });
 * ```
 */
export function adaptHttp2(
  req: Http2ServerRequest,
  res: Http2ServerResponse,
): { req: IncomingMessage; res: ServerResponse } {
  const original = req.headers;
  const headers: Record<string, string | string[] | undefined> = {};
  for (const name in original) {
    if (name.charCodeAt(0) === 58 /* ':' */) continue;
    headers[name] = original[name];
  }
  const authority = original[':authority'];
  if (headers.host === undefined && typeof authority === 'string') headers.host = authority;
  // HTTP/2 frames a body with DATA frames, not Content-Length or chunked coding (RFC 9113
  // §8.1), so a body of unknown length is marked the way HTTP/1.1 would mark it: the handler
  // then streams it upstream, and the hop-by-hop field itself is not forwarded.
  if (!req.stream.endAfterHeaders && headers['content-length'] === undefined) headers['transfer-encoding'] = 'chunked';
  const method = req.method;
  const url = req.url;
  Object.defineProperty(req, 'headers', { value: headers, writable: true, configurable: true });
  Object.defineProperty(req, 'method', { value: method, writable: true, configurable: true });
  Object.defineProperty(req, 'url', { value: url, writable: true, configurable: true });

  const setHeader = res.setHeader.bind(res);
  const writeHead = res.writeHead.bind(res) as (status: number, headers?: OutgoingHttpHeaders) => Http2ServerResponse;
  Object.assign(res, {
    setHeader(name: string, value: number | string | readonly string[]) {
      if (!connectionSpecific.has(name.toLowerCase())) setHeader(name, value);
      return res;
    },
    writeHead(status: number, message?: string | OutgoingHttpHeaders, given?: OutgoingHttpHeaders) {
      const fields = typeof message === 'object' ? message : given;
      if (fields === undefined) return writeHead(status);
      const kept: OutgoingHttpHeaders = {};
      for (const name in fields) {
        if (!connectionSpecific.has(name.toLowerCase())) kept[name] = fields[name];
      }
      return writeHead(status, kept);
    },
  });
  return { req: req as unknown as IncomingMessage, res: res as unknown as ServerResponse };
}
