/**
 * `startOtlpReceiver()`: a real OTLP/HTTP (protobuf) traces endpoint on 127.0.0.1 for tests.
 * It decodes what the OpenTelemetry exporter sends into plain spans you can assert on, so a
 * test checks the bytes a collector would get, not the SDK's in-memory objects.
 */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { ExportTraceServiceResponse } from '../internal/otlp-trace-proto.ts';
import { decodeOtlpTraces, type ReceivedSpan } from '../otlp-receiver.ts';

/** A running receiver. */
export interface OtlpReceiver extends AsyncDisposable {
  /** The traces endpoint URL, `http://127.0.0.1:<port>/v1/traces`. */
  readonly url: string;
  /** Every span received so far, in arrival order. */
  readonly spans: readonly ReceivedSpan[];
  /** Export requests received (including rejected ones). */
  readonly requests: number;
  /**
   * Resolves with the spans matching `predicate` once at least `count` have arrived; rejects
   * after `timeoutMs` with what did arrive.
   */
  waitForSpans(predicate: (span: ReceivedSpan) => boolean, timeoutMs?: number, count?: number): Promise<ReceivedSpan[]>;
  /** Headers of the last export request received. */
  readonly lastHeaders: IncomingHttpHeaders | undefined;
  /**
   * Answer the next exports with this HTTP status (e.g. 500 or 503); `200` restores.
   * `retryAfter` adds a `Retry-After` header; with `times`, only that many answers get the
   * status, then 200 again.
   */
  respondWith(status: number, options?: { retryAfter?: string; times?: number }): void;
  /** Stops the server. Idempotent. */
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  return req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body;
}

/**
 * Starts an OTLP/HTTP traces receiver on `127.0.0.1:0`. It accepts `POST /v1/traces` with
 * `application/x-protobuf` (gzip or not), answers 415 to other content types and 404 to other
 * paths. Close it in `t.after()`.
 *
 * @example
 * ```ts
 * const receiver = await startOtlpReceiver();
 * t.after(() => receiver.close());
 * const telemetry = setupTelemetry({ serviceName: 'orders', exporters: { otlp: { endpoint: receiver.url } } });
 * traced('work', () => 1);
 * await telemetry.forceFlush();
 * const [span] = await receiver.waitForSpans((s) => s.name === 'work');
 * ```
 */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const listeners = new Set<() => void>();
  let requests = 0;
  let status = 200;
  let retryAfter: string | undefined;
  let times = Number.POSITIVE_INFINITY;
  let lastHeaders: IncomingHttpHeaders | undefined;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'POST' || req.url !== '/v1/traces') {
      res.writeHead(404).end();
      return;
    }
    requests++;
    lastHeaders = req.headers;
    const body = await readBody(req);
    if (!String(req.headers['content-type']).startsWith('application/x-protobuf')) {
      res.writeHead(415).end();
      return;
    }
    if (status !== 200 && times > 0) {
      times--;
      res.writeHead(status, retryAfter === undefined ? {} : { 'retry-after': retryAfter }).end();
      return;
    }
    let decoded: ReceivedSpan[];
    try {
      decoded = decodeOtlpTraces(body);
    } catch (err) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end(String(err));
      return;
    }
    spans.push(...decoded);
    const reply = ExportTraceServiceResponse.encode(ExportTraceServiceResponse.create({})).finish();
    res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(Buffer.from(reply));
    for (const listener of listeners) listener();
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;

  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return closing;
  };

  const waitForSpans = (
    predicate: (span: ReceivedSpan) => boolean,
    timeoutMs = 5000,
    count = 1,
  ): Promise<ReceivedSpan[]> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        const matching = spans.filter(predicate);
        if (matching.length < count) return false;
        clearTimeout(timer);
        listeners.delete(listener);
        resolve(matching);
        return true;
      };
      const listener = (): void => {
        check();
      };
      const timer = setTimeout(() => {
        listeners.delete(listener);
        const seen = spans.map((s) => s.name).join(', ') || 'none';
        reject(new Error(`waitForSpans: fewer than ${count} matching span(s) after ${timeoutMs}ms; received: ${seen}`));
      }, timeoutMs);
      listeners.add(listener);
      check();
    });

  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    get spans() {
      return spans;
    },
    get requests() {
      return requests;
    },
    waitForSpans,
    get lastHeaders() {
      return lastHeaders;
    },
    respondWith(code: number, options: { retryAfter?: string; times?: number } = {}) {
      status = code;
      retryAfter = options.retryAfter;
      times = options.times ?? Number.POSITIVE_INFINITY;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
