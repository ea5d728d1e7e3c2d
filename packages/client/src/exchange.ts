import type { IncomingHttpHeaders } from 'node:http';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import { recordError, type Span } from '@switchyard/telemetry';
import { type Dispatcher, errors } from 'undici';
import { attemptAnswered } from './client-telemetry.ts';

/** The body of a response as `dispatcher.request()` gives it: a `Readable` with `json()`, `text()`, `dump()`. */
export type ResponseBody = Dispatcher.ResponseData['body'];

/**
 * Receives a response body pushed by {@link HttpResponse.streamTo}, chunk by chunk, without a
 * `Readable` in between. Exactly one of `onEnd` and `onError` is called, once.
 *
 * @example
 * ```ts
 * const flow = response.streamTo({
 *   onData: (chunk) => res.write(chunk),
 *   onEnd: (trailers) => res.end(),
 *   onError: (err) => res.destroy(err),
 * });
 * res.on('drain', () => flow.resume());
 * ```
 */
export interface HttpBodySink {
  /**
   * One chunk of the body. Return `false` to pause the upstream: no chunk comes until
   * {@link HttpBodyFlow.resume} is called (a `Writable`'s `write()` result fits as it is).
   */
  onData(chunk: Buffer): boolean;
  /** The body ended; `trailers` are its trailer fields (names in lower case), `{}` when none. */
  onEnd(trailers: Readonly<Record<string, string>>): void;
  /**
   * The body failed midway: the upstream reset the connection, paused longer than the body
   * timeout (undici's `UND_ERR_BODY_TIMEOUT`), or the caller's signal aborted (its reason).
   */
  onError(err: Error): void;
}

/** Steers a body being pushed to a {@link HttpBodySink}. */
export interface HttpBodyFlow {
  /** Lets the body flow again after `onData` returned `false`. No-op otherwise. */
  resume(): void;
  /**
   * Stops the transfer: the upstream request is aborted and the sink's `onError` receives
   * `reason`, unless the body had already ended. Idempotent.
   */
  abort(reason: Error): void;
}

const require = createRequire(import.meta.url);
/**
 * undici's response body class, the one `dispatcher.request()` resolves with, so `body.json()`,
 * `body.text()`, `body.dump()` and stream reading behave exactly as they do there. undici has
 * no `exports` map; the class lives in lib/api/readable.js in every version since 5.
 */
const { Readable: BodyReadable } = require('undici/lib/api/readable.js') as {
  Readable: new (options: {
    resume: () => void;
    abort: (reason?: Error) => void;
    contentType?: string | undefined;
    contentLength?: number | null;
    highWaterMark?: number;
  }) => ResponseBody;
};

/** Bytes held for a body nobody consumes yet before the upstream is paused (a `Readable`'s default). */
const highWaterMark = 64 * 1024;
/** Bytes of a discarded body read to keep the connection (undici's `dump()` limit); more and it is aborted. */
const discardLimit = 128 * 1024;

const PENDING = 0;
const READABLE = 1;
const SINK = 2;
const DISCARD = 3;

function noop(): void {}

/**
 * One upstream exchange as an undici dispatch handler (undici's v8 handler API). `dispatch()`
 * resolves with the handler itself once the response headers arrive; the body is then taken by
 * exactly one consumer: a `Readable` made on first use ({@link Exchange.readable}, for
 * `response.body`), a sink fed straight from undici's parser ({@link Exchange.streamTo}), or
 * nobody ({@link Exchange.discard}). Chunks that arrive before the consumer is chosen are held,
 * up to a `Readable`'s high-water mark before the upstream is paused.
 *
 * This replaces `dispatcher.request()`, which builds a `Readable`, an `AsyncResource` and an
 * abort-signal listener per request: measurable in a proxy's hot path (bench/gateway).
 */
export class Exchange implements Dispatcher.DispatchHandler {
  statusCode = 0;
  headers: IncomingHttpHeaders = {};
  /** Filled in when the body ends. */
  readonly trailers: Record<string, string> = {};
  /** Called once when the exchange is over (body ended or failed, or no response). */
  onDone: (() => void) | undefined = undefined;
  /**
   * The attempt's CLIENT span: given the status when the headers arrive, ended when the body
   * ends or fails. Without a response it is the caller's to end.
   */
  span: Span | undefined = undefined;

  #controller: Dispatcher.DispatchController | null = null;
  /** Set by `abort()`: the error the exchange fails with, whatever undici reports. */
  #reason: Error | null = null;
  #resolve: ((exchange: Exchange) => void) | null = null;
  #reject: ((err: unknown) => void) | null = null;
  #requestBody: Readable | null;
  #mode = PENDING;
  #queue: Buffer[] | null = null;
  #queued = 0;
  /** The body ended (`#error` null) or failed. */
  #done = false;
  #error: Error | null = null;
  #readable: ResponseBody | null = null;
  #sink: HttpBodySink | null = null;
  #sinkPaused = false;
  #sinkNotified = false;
  #discarded = 0;

  constructor(requestBody: Readable | null) {
    this.#requestBody = requestBody;
  }

  /** True once `abort()` was called. */
  get aborted(): boolean {
    return this.#reason !== null;
  }

  /** The error given to `abort()`. */
  get reason(): Error | null {
    return this.#reason;
  }

  /** Sends the request; resolves at the response headers, rejects when there is no response. */
  dispatch(dispatcher: Dispatcher, options: Dispatcher.DispatchOptions): Promise<Exchange> {
    // Aborted before it was sent: nothing to dispatch.
    if (this.#error !== null) return Promise.reject(this.#error);
    const headers = new Promise<Exchange>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    try {
      dispatcher.dispatch(options, this);
    } catch (err) {
      this.onResponseError(null, err as Error);
    }
    return headers;
  }

  /**
   * Aborts the exchange with `reason`: before the headers the dispatch promise rejects with it
   * at once (a request still queued for a connection is aborted when it starts); afterwards the
   * body's consumer receives it.
   */
  abort(reason: Error): void {
    if (this.#done || this.#reason !== null) return;
    this.#reason = reason;
    if (this.#controller !== null) {
      this.#controller.abort(reason);
      return;
    }
    this.#fail(reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    if (this.#reason !== null) {
      controller.abort(this.#reason);
      return;
    }
    this.#controller = controller;
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    // 1xx informational responses (`100 Continue`, `103 Early Hints`) are not the answer.
    if (statusCode < 200) return;
    this.#controller = controller;
    this.statusCode = statusCode;
    this.headers = headers;
    if (this.span !== undefined) attemptAnswered(this.span, statusCode);
    const resolve = this.#resolve;
    this.#resolve = null;
    this.#reject = null;
    resolve?.(this);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    switch (this.#mode) {
      case SINK:
        if (this.#sinkPaused) this.#hold(chunk);
        else if (!(this.#sink as HttpBodySink).onData(chunk)) {
          this.#sinkPaused = true;
          controller.pause();
        }
        return;
      case READABLE:
        if (!(this.#readable as ResponseBody).push(chunk)) controller.pause();
        return;
      case DISCARD:
        this.#discarded += chunk.length;
        if (this.#discarded > discardLimit) controller.abort(new errors.RequestAbortedError());
        return;
      default:
        this.#hold(chunk);
        if (this.#queued > highWaterMark) controller.pause();
    }
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    if (trailers !== null && typeof trailers === 'object') {
      for (const name of Object.keys(trailers)) {
        const value = trailers[name];
        if (value === undefined) continue;
        // Own property even for `__proto__`, as undici does.
        Object.defineProperty(this.trailers, name, {
          value: Array.isArray(value) ? value.join(', ') : value,
          enumerable: true,
          configurable: true,
          writable: true,
        });
      }
    }
    this.#done = true;
    this.#finish();
    if (this.#mode === READABLE) (this.#readable as ResponseBody).push(null);
    else if (this.#mode === SINK && !this.#sinkPaused) this.#notifySink();
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, err: Error): void {
    if (this.#done) return;
    this.#fail(this.#reason ?? err);
  }

  #fail(err: Error): void {
    this.#done = true;
    this.#error = err;
    this.#finish();
    const body = this.#requestBody;
    if (body !== null && !body.destroyed) {
      // As `dispatcher.request()` does: a failed exchange destroys the stream it was sending.
      body.on('error', noop);
      body.destroy(err);
    }
    if (this.#reject !== null) {
      const reject = this.#reject;
      this.#resolve = null;
      this.#reject = null;
      reject(err);
      return;
    }
    if (this.#mode === READABLE) {
      const readable = this.#readable as ResponseBody;
      readable.on('error', noop);
      // After handlers queued for the chunks already pushed, as undici does.
      queueMicrotask(() => readable.destroy(err));
    } else if (this.#mode === SINK) {
      this.#queue = null;
      this.#notifySink();
    }
  }

  #finish(): void {
    this.#requestBody = null;
    const span = this.span;
    if (span !== undefined && this.statusCode > 0) {
      this.span = undefined;
      if (this.#error !== null) recordError(span, this.#error);
      span.end();
    }
    const done = this.onDone;
    if (done !== undefined) {
      this.onDone = undefined;
      done();
    }
  }

  #hold(chunk: Buffer): void {
    if (this.#queue === null) this.#queue = [chunk];
    else this.#queue.push(chunk);
    this.#queued += chunk.length;
  }

  #notifySink(): void {
    if (this.#sinkNotified) return;
    this.#sinkNotified = true;
    const sink = this.#sink as HttpBodySink;
    this.#sink = null;
    if (this.#error !== null) sink.onError(this.#error);
    else sink.onEnd(this.trailers);
  }

  /** Whether the body is still unclaimed (neither read, streamed, nor discarded). */
  get unclaimed(): boolean {
    return this.#mode === PENDING;
  }

  /** The body as undici's `Readable`, made on first call. */
  readable(method: string): ResponseBody {
    if (this.#readable !== null) return this.#readable;
    if (this.#mode !== PENDING)
      throw new TypeError('the response body was already consumed by streamTo() or discarded');
    const length = this.headers['content-length'];
    const readable = new BodyReadable({
      resume: () => this.#controller?.resume(),
      abort: (reason) => this.abort(reason ?? new errors.RequestAbortedError()),
      contentType: this.headers['content-type'],
      contentLength: method !== 'HEAD' && length !== undefined ? Number(length) : null,
      highWaterMark,
    });
    this.#readable = readable;
    this.#mode = READABLE;
    const queue = this.#queue;
    this.#queue = null;
    this.#queued = 0;
    let full = false;
    if (queue !== null) for (const chunk of queue) full = !readable.push(chunk) || full;
    if (this.#done) {
      if (this.#error === null) readable.push(null);
      else {
        const err = this.#error;
        readable.on('error', noop);
        queueMicrotask(() => readable.destroy(err));
      }
    } else if (full) this.#controller?.pause();
    return readable;
  }

  /** Pushes the body into `sink`; see {@link HttpResponse.streamTo}. */
  streamTo(sink: HttpBodySink): HttpBodyFlow {
    if (this.#mode !== PENDING) throw new TypeError('the response body was already consumed or discarded');
    this.#mode = SINK;
    this.#sink = sink;
    this.#flush();
    return this;
  }

  /** Lets a paused sink receive chunks again. */
  resume(): void {
    if (this.#mode !== SINK || !this.#sinkPaused) return;
    this.#sinkPaused = false;
    this.#flush();
  }

  #flush(): void {
    const queue = this.#queue;
    if (queue !== null) {
      while (queue.length > 0) {
        const chunk = queue.shift() as Buffer;
        this.#queued -= chunk.length;
        if (this.#sink === null) return;
        if (!this.#sink.onData(chunk)) {
          this.#sinkPaused = true;
          this.#controller?.pause();
          return;
        }
      }
      this.#queue = null;
    }
    if (this.#done) this.#notifySink();
    else this.#controller?.resume();
  }

  /**
   * Throws the body away without reading it: a small rest is read and dropped so that the
   * connection can be reused, a larger one (over 128 KiB) aborts the exchange.
   */
  discard(): void {
    if (this.#mode === READABLE) {
      (this.#readable as ResponseBody).dump().catch(noop);
      return;
    }
    if (this.#mode !== PENDING) return;
    this.#mode = DISCARD;
    this.#discarded = this.#queued;
    this.#queue = null;
    this.#queued = 0;
    if (this.#done) return;
    if (this.#discarded > discardLimit) this.#controller?.abort(new errors.RequestAbortedError());
    else this.#controller?.resume();
  }
}
