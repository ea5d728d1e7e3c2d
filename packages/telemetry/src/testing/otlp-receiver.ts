/**
 * `startOtlpReceiver()`: a real OTLP/HTTP (protobuf) traces endpoint on 127.0.0.1 for tests.
 * It decodes what the OpenTelemetry exporter sends into plain spans you can assert on, so a
 * test checks the bytes a collector would get, not the SDK's in-memory objects.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { ExportTraceServiceRequest, ExportTraceServiceResponse } from './otlp-trace-proto.ts';

/** A span kind by name. */
export type ReceivedSpanKind = 'unspecified' | 'internal' | 'server' | 'client' | 'producer' | 'consumer';

/** An attribute value as decoded (int64 as number, bytes as hex, kvlists as records). */
export type ReceivedValue = string | number | boolean | null | ReceivedValue[] | { [key: string]: ReceivedValue };

/** One decoded span. */
export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** `null` for a root span. */
  readonly parentSpanId: string | null;
  readonly traceState: string;
  readonly name: string;
  readonly kind: ReceivedSpanKind;
  readonly startTimeUnixNano: bigint;
  readonly endTimeUnixNano: bigint;
  readonly attributes: Record<string, ReceivedValue>;
  readonly events: ReadonlyArray<{ name: string; timeUnixNano: bigint; attributes: Record<string, ReceivedValue> }>;
  readonly links: ReadonlyArray<{
    traceId: string;
    spanId: string;
    traceState: string;
    attributes: Record<string, ReceivedValue>;
  }>;
  readonly status: { code: 'unset' | 'ok' | 'error'; message: string };
  /** `service.name` of the resource. */
  readonly service: string;
  /** All resource attributes. */
  readonly resource: Record<string, ReceivedValue>;
  /** The instrumentation scope. */
  readonly scope: { name: string; version: string };
}

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
  /** Answer the next exports with this HTTP status (e.g. 500 or 503); `200` restores. */
  respondWith(status: number): void;
  /** Stops the server. Idempotent. */
  close(): Promise<void>;
}

type Decoded = Record<string, unknown>;

const kinds: ReceivedSpanKind[] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
const statusCodes = ['unset', 'ok', 'error'] as const;

function hex(bytes: unknown): string {
  return bytes instanceof Uint8Array ? Buffer.from(bytes).toString('hex') : '';
}

function nanos(value: unknown): bigint {
  if (value === undefined || value === null) return 0n;
  return BigInt(String(value));
}

function anyValue(value: Decoded | undefined): ReceivedValue {
  if (value === undefined) return null;
  if (value.stringValue !== undefined) return value.stringValue as string;
  if (value.boolValue !== undefined) return value.boolValue as boolean;
  if (value.intValue !== undefined) return Number(String(value.intValue));
  if (value.doubleValue !== undefined) return value.doubleValue as number;
  if (value.bytesValue !== undefined) return hex(value.bytesValue);
  if (value.arrayValue !== undefined)
    return (((value.arrayValue as Decoded).values as Decoded[] | undefined) ?? []).map(anyValue);
  if (value.kvlistValue !== undefined)
    return attributes((value.kvlistValue as Decoded).values as Decoded[] | undefined);
  return null;
}

function attributes(list: Decoded[] | undefined): Record<string, ReceivedValue> {
  const out: Record<string, ReceivedValue> = {};
  for (const kv of list ?? []) out[kv.key as string] = anyValue(kv.value as Decoded | undefined);
  return out;
}

function toSpan(span: Decoded, resource: Record<string, ReceivedValue>, scope: Decoded | undefined): ReceivedSpan {
  const parent = hex(span.parentSpanId);
  const status = (span.status as Decoded | undefined) ?? {};
  return {
    traceId: hex(span.traceId),
    spanId: hex(span.spanId),
    parentSpanId: parent === '' ? null : parent,
    traceState: (span.traceState as string | undefined) ?? '',
    name: (span.name as string | undefined) ?? '',
    kind: kinds[(span.kind as number | undefined) ?? 0] ?? 'unspecified',
    startTimeUnixNano: nanos(span.startTimeUnixNano),
    endTimeUnixNano: nanos(span.endTimeUnixNano),
    attributes: attributes(span.attributes as Decoded[] | undefined),
    events: ((span.events as Decoded[] | undefined) ?? []).map((e) => ({
      name: (e.name as string | undefined) ?? '',
      timeUnixNano: nanos(e.timeUnixNano),
      attributes: attributes(e.attributes as Decoded[] | undefined),
    })),
    links: ((span.links as Decoded[] | undefined) ?? []).map((l) => ({
      traceId: hex(l.traceId),
      spanId: hex(l.spanId),
      traceState: (l.traceState as string | undefined) ?? '',
      attributes: attributes(l.attributes as Decoded[] | undefined),
    })),
    status: {
      code: statusCodes[(status.code as number | undefined) ?? 0] ?? 'unset',
      message: (status.message as string | undefined) ?? '',
    },
    service: typeof resource['service.name'] === 'string' ? resource['service.name'] : '',
    resource,
    scope: { name: (scope?.name as string | undefined) ?? '', version: (scope?.version as string | undefined) ?? '' },
  };
}

/**
 * Decodes an OTLP `ExportTraceServiceRequest` (protobuf bytes) into plain spans.
 *
 * @example
 * ```ts
 * const spans = decodeOtlpTraces(body);
 * ```
 */
export function decodeOtlpTraces(body: Uint8Array): ReceivedSpan[] {
  const message = ExportTraceServiceRequest.decode(body);
  const request = ExportTraceServiceRequest.toObject(message, { longs: String, defaults: false }) as Decoded;
  const spans: ReceivedSpan[] = [];
  for (const rs of (request.resourceSpans as Decoded[] | undefined) ?? []) {
    const resource = attributes((rs.resource as Decoded | undefined)?.attributes as Decoded[] | undefined);
    for (const ss of (rs.scopeSpans as Decoded[] | undefined) ?? []) {
      for (const span of (ss.spans as Decoded[] | undefined) ?? [])
        spans.push(toSpan(span, resource, ss.scope as Decoded | undefined));
    }
  }
  return spans;
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

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'POST' || req.url !== '/v1/traces') {
      res.writeHead(404).end();
      return;
    }
    requests++;
    const body = await readBody(req);
    if (!String(req.headers['content-type']).startsWith('application/x-protobuf')) {
      res.writeHead(415).end();
      return;
    }
    if (status !== 200) {
      res.writeHead(status).end();
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
    respondWith(code: number) {
      status = code;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
