import type { IncomingHttpHeaders } from 'node:http';
import type { ServiceInstance } from '@switchyard/core';
import type { Exchange, HttpBodyFlow, HttpBodySink, ResponseBody } from './exchange.ts';
import type { HttpResponse } from './http-response.ts';

/**
 * The {@link HttpResponse} of one exchange: its body is undici's `Readable`, made only when
 * `body` is first read, or is pushed to a sink by `streamTo()` without any stream at all.
 */
export class UpstreamResponse implements HttpResponse {
  readonly statusCode: number;
  readonly headers: IncomingHttpHeaders;
  readonly trailers: Readonly<Record<string, string>>;
  readonly instance: ServiceInstance;
  readonly attempts: number;
  readonly #exchange: Exchange;
  readonly #method: string;

  constructor(exchange: Exchange, method: string, instance: ServiceInstance, attempts: number) {
    this.statusCode = exchange.statusCode;
    this.headers = exchange.headers;
    this.trailers = exchange.trailers;
    this.instance = instance;
    this.attempts = attempts;
    this.#exchange = exchange;
    this.#method = method;
  }

  get body(): ResponseBody {
    return this.#exchange.readable(this.#method);
  }

  streamTo(sink: HttpBodySink): HttpBodyFlow {
    return this.#exchange.streamTo(sink);
  }

  /** Throws the body away (a response that will be retried); see `Exchange.discard`. */
  discard(): void {
    this.#exchange.discard();
  }
}
