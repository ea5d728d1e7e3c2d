import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorBody, gatewayError, httpStatusOf } from './errors.ts';

/**
 * A node:http `clientError` listener that answers requests Node could not parse (or that
 * arrived too slowly) with the gateway's JSON error instead of Node's bare status line, then
 * closes the connection. `createGateway` installs it; embedders can install it on their server.
 *
 * @example
 * ```ts
 * server.on('clientError', handleClientError);
 * ```
 */
export function handleClientError(err: Error, socket: Duplex): void {
  const code = (err as NodeJS.ErrnoException).code;
  // As Node's own handler does: answer only if nothing was written on this connection yet.
  const written = (socket as { bytesWritten?: number }).bytesWritten ?? 0;
  if (code === 'ECONNRESET' || !socket.writable || written > 0) {
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
