import type { IncomingHttpHeaders } from 'node:http';
import type { ServiceInstance } from '@switchyard/core';
import type { Dispatcher } from 'undici';
import type { HttpBodyFlow, HttpBodySink } from './exchange.ts';

/** What `HttpClient.request` resolves with. */
export interface HttpResponse {
  readonly statusCode: number;
  /** Response headers, names in lower case. */
  readonly headers: IncomingHttpHeaders;
  /**
   * The body, streamed: `await body.json()`, `await body.text()`, or iterate it. Read it or
   * `body.dump()` it (or relay it with {@link HttpResponse.streamTo}), or the connection stays
   * busy. The stream is made on first access.
   *
   * @throws TypeError when the body was already taken by `streamTo()`
   */
  readonly body: Dispatcher.ResponseData['body'];
  /**
   * Pushes the body into `sink` chunk by chunk, straight from the connection, with no
   * `Readable` in between: the cheapest way to relay a body (a gateway writing it to a
   * `ServerResponse`). `onData` returning `false` pauses the upstream until `flow.resume()`;
   * `flow.abort(reason)` stops it. The body is consumed either this way or through `body`,
   * not both.
   *
   * @throws TypeError when `body` was already read (or this was already called)
   * @example
   * ```ts
   * res.writeHead(response.statusCode, response.headers);
   * const flow = response.streamTo({
   *   onData: (chunk) => res.write(chunk),
   *   onEnd: () => res.end(),
   *   onError: () => res.destroy(),
   * });
   * res.on('drain', () => flow.resume());
   * res.on('close', () => flow.abort(new Error('client gone')));
   * ```
   */
  streamTo(sink: HttpBodySink): HttpBodyFlow;
  /** Trailer fields of a chunked response, names in lower case; filled in once `body` has ended. */
  readonly trailers: Readonly<Record<string, string>>;
  /** The instance that answered. */
  readonly instance: ServiceInstance;
  /** Attempts made, this one included. */
  readonly attempts: number;
}
