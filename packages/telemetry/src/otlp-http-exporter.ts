/**
 * `OtlpHttpSpanExporter`: spans to an OTLP/HTTP traces endpoint as protobuf, encoded by
 * `encodeOtlpTraceRequest()` and posted over a keep-alive connection. Retries what the OTLP
 * spec calls retryable (429, 502, 503, 504), honouring `Retry-After`, within one deadline
 * per export; anything else fails the batch at once. It never throws: every outcome reaches
 * the result callback, which the batch processor and `CountingSpanExporter` count and log.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { gzip } from 'node:zlib';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { telemetryError } from './errors.ts';
import { encodeOtlpTraceRequest } from './otlp-trace-encoder.ts';

/** Options of {@link OtlpHttpSpanExporter}. */
export interface OtlpHttpSpanExporterOptions {
  /** Full traces URL, e.g. `http://127.0.0.1:4318/v1/traces` (http or https). */
  readonly url: string;
  /** Extra request headers (API keys). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Deadline of one export, retries included, in ms. @default 10000 */
  readonly timeoutMs?: number;
  /** `gzip` compresses each request body. @default 'none' */
  readonly compression?: 'gzip' | 'none';
  /** Attempts per export (the first included) on a retryable answer. @default 5 */
  readonly maxAttempts?: number;
  /** Delay before the first retry, ms; it grows 1.5x per retry, with ±20% jitter. @default 1000 */
  readonly initialBackoffMs?: number;
  /** Upper bound of one backoff delay, ms (a `Retry-After` is honoured as given, within `timeoutMs`). @default 5000 */
  readonly maxBackoffMs?: number;
}

/** HTTP statuses the OTLP/HTTP spec lets a client retry. */
const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);

/** Network errors of a reused keep-alive socket the server had closed: the request never ran. */
const STALE_SOCKET = new Set(['ECONNRESET', 'EPIPE']);

/** `Retry-After` (delay-seconds or an HTTP date) in ms, or `undefined` when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

interface Attempt {
  readonly status: number;
  readonly retryAfter: string | undefined;
}

/**
 * A `SpanExporter` posting OTLP/HTTP protobuf over keep-alive connections. It is what
 * `setupTelemetry()` uses for `exporters.otlp`; use it directly with your own
 * `TracerProvider` and batch processor.
 *
 * @example
 * ```ts
 * import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
 * import { OtlpHttpSpanExporter } from '@switchyard/telemetry';
 *
 * const exporter = new OtlpHttpSpanExporter({ url: 'http://127.0.0.1:4318/v1/traces', compression: 'gzip' });
 * const provider = new TracerProvider({ spanProcessors: [new BatchSpanProcessor({ exporter })] });
 * ```
 */
export class OtlpHttpSpanExporter implements SpanExporter {
  readonly #url: URL;
  readonly #headers: Record<string, string>;
  readonly #timeoutMs: number;
  readonly #gzip: boolean;
  readonly #maxAttempts: number;
  readonly #initialBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #agent: HttpAgent;
  readonly #request: typeof httpRequest;
  readonly #pending = new Set<Promise<void>>();
  #shutdown = false;

  constructor(options: OtlpHttpSpanExporterOptions) {
    this.#url = new URL(options.url);
    this.#gzip = options.compression === 'gzip';
    this.#headers = {
      ...options.headers,
      'content-type': 'application/x-protobuf',
      ...(this.#gzip ? { 'content-encoding': 'gzip' } : {}),
    };
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#maxAttempts = Math.max(1, options.maxAttempts ?? 5);
    this.#initialBackoffMs = options.initialBackoffMs ?? 1000;
    this.#maxBackoffMs = options.maxBackoffMs ?? 5000;
    const https = this.#url.protocol === 'https:';
    // Exports are sequential per batch processor; a few sockets cover flushes overlapping it.
    const agentOptions = { keepAlive: true, maxSockets: 4, maxFreeSockets: 2 };
    this.#agent = https ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
    this.#request = https ? (httpsRequest as typeof httpRequest) : httpRequest;
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    if (this.#shutdown) {
      resultCallback({ code: ExportResultCode.FAILED, error: new Error('exporter is shut down') });
      return;
    }
    const done = this.#send(spans)
      .then(
        (): ExportResult => ({ code: ExportResultCode.SUCCESS }),
        (error: unknown): ExportResult => ({
          code: ExportResultCode.FAILED,
          error: error instanceof Error ? error : new Error(String(error)),
        }),
      )
      .then(resultCallback)
      // A throwing callback must not surface as an unhandled rejection in the traced process.
      .catch(() => undefined)
      .finally(() => this.#pending.delete(done));
    this.#pending.add(done);
  }

  /** Resolves when every export started so far has finished (succeeded or failed). */
  async forceFlush(): Promise<void> {
    await Promise.all([...this.#pending]);
  }

  /** Waits for exports in flight, then closes the connections. Idempotent. */
  async shutdown(): Promise<void> {
    this.#shutdown = true;
    await this.forceFlush();
    this.#agent.destroy();
  }

  async #send(spans: ReadableSpan[]): Promise<void> {
    const deadline = Date.now() + this.#timeoutMs;
    const encoded = encodeOtlpTraceRequest(spans);
    const body = this.#gzip ? await gzipAsync(encoded) : encoded;
    let backoff = this.#initialBackoffMs;
    for (let attempt = 1; ; attempt++) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw this.#error(`timed out after ${this.#timeoutMs}ms`, attempt - 1);
      let result: Attempt;
      try {
        result = await this.#post(body, remaining);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // A keep-alive socket closed by the server under us: one immediate retry on a fresh one.
        if (attempt === 1 && code !== undefined && STALE_SOCKET.has(code)) continue;
        throw this.#error(code ?? (err as Error).message, attempt, err);
      }
      if (result.status >= 200 && result.status < 300) return;
      if (!RETRYABLE_STATUS.has(result.status) || attempt >= this.#maxAttempts) {
        throw this.#error(`HTTP ${result.status}`, attempt, undefined, result.status);
      }
      const jittered = backoff * (0.8 + Math.random() * 0.4);
      // The collector's Retry-After is honoured as given; past the deadline, the batch fails.
      const delay = parseRetryAfter(result.retryAfter) ?? Math.min(jittered, this.#maxBackoffMs);
      backoff = Math.min(backoff * 1.5, this.#maxBackoffMs);
      if (Date.now() + delay >= deadline) {
        throw this.#error(`HTTP ${result.status}; no time left to retry`, attempt, undefined, result.status);
      }
      await new Promise((resolve) => setTimeout(resolve, delay).unref());
    }
  }

  #error(reason: string, attempts: number, cause?: unknown, status?: number): Error {
    return telemetryError(
      'SY_TELEMETRY_EXPORT_FAILED',
      `span export to ${this.#url.href} failed: ${reason} (${attempts} attempt${attempts === 1 ? '' : 's'})`,
      {
        ...(cause === undefined ? {} : { cause }),
        details: { endpoint: this.#url.href, attempts, ...(status === undefined ? {} : { status }) },
      },
    );
  }

  #post(body: Buffer, timeoutMs: number): Promise<Attempt> {
    return new Promise((resolve, reject) => {
      const req = this.#request(this.#url, {
        method: 'POST',
        agent: this.#agent,
        headers: { ...this.#headers, 'content-length': body.length },
      });
      // A hard deadline for the whole exchange, not an idle timeout a trickling server resets.
      const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs}ms`)), timeoutMs);
      timer.unref();
      req.once('response', (res: IncomingMessage) => {
        const retryAfter = res.headers['retry-after'];
        // The reply (an ExportTraceServiceResponse) is drained so the socket returns to the pool.
        res.resume();
        res.once('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, retryAfter });
        });
        res.once('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
      });
      req.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.end(body);
    });
  }
}

function gzipAsync(data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => gzip(data, (err, out) => (err ? reject(err) : resolve(out))));
}
