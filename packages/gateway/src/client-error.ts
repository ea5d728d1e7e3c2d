import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorBody, gatewayError, httpStatusOf } from './errors.ts';

/**
 * A node:http `clientError` listener that answers requests Node could not parse (or that
 * arrived too slowly) with the gateway's JSON error instead of Node's bare status line, then
 * closes the connection. `createGateway` installs it; embedders can install it on their server.
 *
 * What lands here never reaches routing or an upstream: conflicting `Content-Length` and
 * `Transfer-Encoding`, two different `Content-Length` values, a `Transfer-Encoding` whose last
 * coding is not `chunked`, obsolete line folding, invalid header names or values (400
 * `SY_GATEWAY_BAD_REQUEST`); headers over `gateway.server.maxHeaderSize` (431
 * `SY_GATEWAY_HEADERS_TOO_LARGE`); headers or a request slower than `headersTimeout` or
 * `requestTimeout` (408 `SY_GATEWAY_REQUEST_TIMEOUT`).
 *
 * @example
 * ```ts
 * server.on('clientError', handleClientError);
 * ```
 */
export function handleClientError(err: Error, socket: Duplex): void {
  const code = (err as NodeJS.ErrnoException).code;
  // As Node's own handler does: answer unless a response on this connection has started (a
  // keep-alive connection whose next request is malformed or too slow still gets its answer).
  const current = (socket as { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  if (code === 'ECONNRESET' || !socket.writable || current?.headersSent === true) {
    socket.destroy();
    return;
  }
  const error =
    code === 'HPE_HEADER_OVERFLOW'
      ? gatewayError('SY_GATEWAY_HEADERS_TOO_LARGE', 'the request headers are larger than the gateway accepts', {
          cause: err,
        })
      : code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? gatewayError('SY_GATEWAY_REQUEST_TIMEOUT', 'the request was not received in time', { cause: err })
        : gatewayError('SY_GATEWAY_BAD_REQUEST', `malformed HTTP request${code ? ` (${code})` : ''}`, { cause: err });
  const status = httpStatusOf(error);
  const requestId = randomUUID();
  const body = JSON.stringify(errorBody(error, requestId));
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
      'content-type: application/json\r\n' +
      `content-length: ${Buffer.byteLength(body)}\r\n` +
      'cache-control: no-store\r\n' +
      `x-request-id: ${requestId}\r\n` +
      'connection: close\r\n\r\n' +
      body,
  );
}
