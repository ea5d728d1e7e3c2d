/**
 * The OTLP/HTTP traces receiver: decodes an `ExportTraceServiceRequest` (protobuf, the
 * exporters' default, or OTLP/JSON) into plain spans, and feeds them to a {@link SpanStore}.
 * It lets a process (the admin API of `switchyard up`) be the collector of the processes it
 * runs, so their spans and its own land in one queryable store.
 */
import type { IncomingMessage } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { telemetryError } from './errors.ts';
import { ExportTraceServiceRequest, ExportTraceServiceResponse } from './internal/otlp-trace-proto.ts';
import type { SpanStore } from './span-store.ts';
import type { StoredAttributeValue, StoredSpan, StoredSpanKind } from './stored-span.ts';

/** A span kind by name, as OTLP carries it. */
export type ReceivedSpanKind = 'unspecified' | 'internal' | 'server' | 'client' | 'producer' | 'consumer';

/** An attribute value as decoded (int64 as number, bytes as hex, kvlists as records). */
export type ReceivedValue = string | number | boolean | null | ReceivedValue[] | { [key: string]: ReceivedValue };

/** One decoded span, with its resource and scope. */
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

/** Options of {@link receiveOtlpTraces}. */
export interface OtlpReceiveOptions {
  /** Largest accepted body, after gzip decompression. @default 4194304 (4 MiB) */
  readonly maxBodyBytes?: number;
}

/** What to answer an accepted export with. */
export interface OtlpReply {
  /** Spans added to the store. */
  readonly spans: number;
  /** `application/x-protobuf` or `application/json`, matching the request. */
  readonly contentType: string;
  /** An empty `ExportTraceServiceResponse` in that encoding. */
  readonly body: Buffer;
}

/** The default largest export body: 4 MiB. */
export const DEFAULT_OTLP_MAX_BODY_BYTES = 4 * 1024 * 1024;

type Decoded = Record<string, unknown>;

const kinds: ReceivedSpanKind[] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
const statusCodes = ['unset', 'ok', 'error'] as const;

function invalid(message: string): Error {
  return telemetryError('SY_TELEMETRY_OTLP_INVALID', message);
}

/** Bytes (protobuf) or a hex string (OTLP/JSON) as lower-case hex. */
function hex(value: unknown): string {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (typeof value === 'string') return value.toLowerCase();
  return '';
}

function id(value: unknown, chars: number, path: string): string {
  const text = hex(value);
  if (text.length !== chars || !/^[0-9a-f]+$/.test(text) || /^0+$/.test(text)) {
    throw invalid(`${path}: expected ${chars} hex characters, not all zero, got ${JSON.stringify(text)}`);
  }
  return text;
}

function nanos(value: unknown, path: string): bigint {
  if (value === undefined || value === null) return 0n;
  try {
    return BigInt(String(value));
  } catch {
    throw invalid(`${path}: expected an integer of nanoseconds, got ${JSON.stringify(value)}`);
  }
}

function enumIndex(value: unknown, names: readonly string[], prefix: string): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    const name = value.toLowerCase().replace(prefix, '');
    const index = names.indexOf(name);
    return index === -1 ? 0 : index;
  }
  return 0;
}

function anyValue(value: Decoded | undefined): ReceivedValue {
  if (value === undefined || value === null) return null;
  if (value.stringValue !== undefined) return String(value.stringValue);
  if (value.boolValue !== undefined) return value.boolValue === true;
  if (value.intValue !== undefined) return Number(String(value.intValue));
  if (value.doubleValue !== undefined) return Number(value.doubleValue);
  if (value.bytesValue !== undefined)
    return typeof value.bytesValue === 'string'
      ? Buffer.from(value.bytesValue, 'base64').toString('hex')
      : hex(value.bytesValue);
  if (value.arrayValue !== undefined)
    return (((value.arrayValue as Decoded).values as Decoded[] | undefined) ?? []).map(anyValue);
  if (value.kvlistValue !== undefined)
    return attributes((value.kvlistValue as Decoded).values as Decoded[] | undefined);
  return null;
}

function attributes(list: unknown): Record<string, ReceivedValue> {
  const out: Record<string, ReceivedValue> = {};
  if (!Array.isArray(list)) return out;
  for (const kv of list as Decoded[]) {
    if (kv !== null && typeof kv === 'object' && typeof kv.key === 'string')
      out[kv.key] = anyValue(kv.value as Decoded | undefined);
  }
  return out;
}

function list(value: unknown, path: string): Decoded[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid(`${path}: expected a list`);
  return value.map((item, i) => {
    if (item === null || typeof item !== 'object') throw invalid(`${path}[${i}]: expected an object`);
    return item as Decoded;
  });
}

function toSpan(
  span: Decoded,
  resource: Record<string, ReceivedValue>,
  scope: Decoded | undefined,
  path: string,
): ReceivedSpan {
  const parent = hex(span.parentSpanId);
  const status = (span.status as Decoded | undefined) ?? {};
  return {
    traceId: id(span.traceId, 32, `${path}.traceId`),
    spanId: id(span.spanId, 16, `${path}.spanId`),
    parentSpanId: parent === '' ? null : id(span.parentSpanId, 16, `${path}.parentSpanId`),
    traceState: typeof span.traceState === 'string' ? span.traceState : '',
    name: typeof span.name === 'string' ? span.name : '',
    kind: kinds[enumIndex(span.kind, kinds, 'span_kind_')] ?? 'unspecified',
    startTimeUnixNano: nanos(span.startTimeUnixNano, `${path}.startTimeUnixNano`),
    endTimeUnixNano: nanos(span.endTimeUnixNano, `${path}.endTimeUnixNano`),
    attributes: attributes(span.attributes),
    events: list(span.events, `${path}.events`).map((e, i) => ({
      name: typeof e.name === 'string' ? e.name : '',
      timeUnixNano: nanos(e.timeUnixNano, `${path}.events[${i}].timeUnixNano`),
      attributes: attributes(e.attributes),
    })),
    links: list(span.links, `${path}.links`).map((l, i) => ({
      traceId: id(l.traceId, 32, `${path}.links[${i}].traceId`),
      spanId: id(l.spanId, 16, `${path}.links[${i}].spanId`),
      traceState: typeof l.traceState === 'string' ? l.traceState : '',
      attributes: attributes(l.attributes),
    })),
    status: {
      code: statusCodes[enumIndex(status.code, statusCodes, 'status_code_')] ?? 'unset',
      message: typeof status.message === 'string' ? status.message : '',
    },
    service: typeof resource['service.name'] === 'string' ? resource['service.name'] : '',
    resource,
    scope: {
      name: typeof scope?.name === 'string' ? scope.name : '',
      version: typeof scope?.version === 'string' ? scope.version : '',
    },
  };
}

function spansOf(request: Decoded): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  list(request.resourceSpans, 'resourceSpans').forEach((rs, r) => {
    const resource = attributes((rs.resource as Decoded | undefined)?.attributes);
    list(rs.scopeSpans, `resourceSpans[${r}].scopeSpans`).forEach((ss, s) => {
      const at = `resourceSpans[${r}].scopeSpans[${s}].spans`;
      list(ss.spans, at).forEach((span, i) => {
        spans.push(toSpan(span, resource, ss.scope as Decoded | undefined, `${at}[${i}]`));
      });
    });
  });
  return spans;
}

/**
 * Decodes an OTLP `ExportTraceServiceRequest` in protobuf into plain spans.
 *
 * @throws SwitchyardError `SY_TELEMETRY_OTLP_INVALID` when the bytes are not such a message, or a
 *   span has a malformed id (the message names the span's position)
 * @example
 * ```ts
 * const spans = decodeOtlpTraces(body);
 * spans[0].service; // 'orders'
 * ```
 */
export function decodeOtlpTraces(body: Uint8Array): ReceivedSpan[] {
  let request: Decoded;
  try {
    const message = ExportTraceServiceRequest.decode(body);
    request = ExportTraceServiceRequest.toObject(message, { longs: String, defaults: false }) as Decoded;
  } catch (err) {
    throw telemetryError(
      'SY_TELEMETRY_OTLP_INVALID',
      `not an OTLP ExportTraceServiceRequest in protobuf: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  return spansOf(request);
}

/**
 * Decodes an OTLP/JSON `ExportTraceServiceRequest` (lowerCamelCase fields, hex ids, enums as
 * numbers or names) into plain spans.
 *
 * @throws SwitchyardError `SY_TELEMETRY_OTLP_INVALID` for invalid JSON or a malformed request
 * @example
 * ```ts
 * const spans = decodeOtlpTracesJson('{"resourceSpans":[]}'); // []
 * ```
 */
export function decodeOtlpTracesJson(text: string): ReceivedSpan[] {
  let request: unknown;
  try {
    request = JSON.parse(text);
  } catch (err) {
    throw telemetryError(
      'SY_TELEMETRY_OTLP_INVALID',
      `not valid JSON: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  if (request === null || typeof request !== 'object' || Array.isArray(request)) {
    throw invalid('expected a JSON object with "resourceSpans"');
  }
  return spansOf(request as Decoded);
}

const storedKinds: Record<ReceivedSpanKind, StoredSpanKind> = {
  unspecified: 'internal',
  internal: 'internal',
  server: 'server',
  client: 'client',
  producer: 'producer',
  consumer: 'consumer',
};

function storedValue(value: ReceivedValue): StoredAttributeValue {
  if (value === null) return '';
  if (Array.isArray(value)) {
    return value.map((v) =>
      v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : JSON.stringify(v),
    );
  }
  if (typeof value === 'object') return JSON.stringify(value);
  return value;
}

function storedAttributes(attrs: Record<string, ReceivedValue>): Record<string, StoredAttributeValue> {
  const out: Record<string, StoredAttributeValue> = {};
  for (const [key, value] of Object.entries(attrs)) out[key] = storedValue(value);
  return out;
}

function micros(nanoseconds: bigint): number {
  return Number(nanoseconds / 1000n);
}

/**
 * Converts a received span into the JSON-safe {@link StoredSpan} the span store serves.
 *
 * @example
 * ```ts
 * for (const span of decodeOtlpTraces(body)) store.addStored(toStoredFromOtlp(span));
 * ```
 */
export function toStoredFromOtlp(span: ReceivedSpan): StoredSpan {
  const startTimeUs = micros(span.startTimeUnixNano);
  const endTimeUs = micros(span.endTimeUnixNano);
  return {
    traceId: span.traceId,
    spanId: span.spanId,
    parentSpanId: span.parentSpanId,
    name: span.name,
    kind: storedKinds[span.kind],
    service: span.service === '' ? 'unknown_service' : span.service,
    scope: span.scope.name,
    startTimeUs,
    endTimeUs,
    durationMs: Number(span.endTimeUnixNano - span.startTimeUnixNano) / 1e6,
    status: span.status.message === '' ? { code: span.status.code } : span.status,
    attributes: storedAttributes(span.attributes),
    events: span.events.map((e) => ({
      name: e.name,
      timeUs: micros(e.timeUnixNano),
      attributes: storedAttributes(e.attributes),
    })),
    links: span.links.map((l) => ({
      traceId: l.traceId,
      spanId: l.spanId,
      attributes: storedAttributes(l.attributes),
    })),
  };
}

async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(maxBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw tooLarge(maxBytes);
    chunks.push(chunk as Buffer);
  }
  const body = Buffer.concat(chunks);
  const encoding = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding === 'identity') return body;
  if (encoding !== 'gzip') {
    throw telemetryError(
      'SY_TELEMETRY_OTLP_UNSUPPORTED_MEDIA_TYPE',
      `content-encoding ${encoding} is not supported; send gzip or no encoding`,
    );
  }
  try {
    return gunzipSync(body, { maxOutputLength: maxBytes });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(maxBytes);
    throw telemetryError('SY_TELEMETRY_OTLP_INVALID', 'the gzip body could not be decompressed', { cause: err });
  }
}

function tooLarge(maxBytes: number): Error {
  return telemetryError(
    'SY_TELEMETRY_OTLP_TOO_LARGE',
    `the export body is larger than ${maxBytes} bytes; lower the exporter's batch size (OTEL_BSP_MAX_EXPORT_BATCH_SIZE)`,
    { details: { maxBodyBytes: maxBytes } },
  );
}

/**
 * Reads one OTLP/HTTP trace export from `req` (`application/x-protobuf` or `application/json`,
 * optionally gzip), adds its spans to `store`, and returns the reply to send. The caller
 * checks method and path; errors are left to the caller to render (see {@link otlpErrorStatus}).
 *
 * @throws SwitchyardError `SY_TELEMETRY_OTLP_INVALID` (a malformed body; nothing is stored),
 *   `SY_TELEMETRY_OTLP_TOO_LARGE`, `SY_TELEMETRY_OTLP_UNSUPPORTED_MEDIA_TYPE`
 * @example
 * ```ts
 * const reply = await receiveOtlpTraces(req, store);
 * res.writeHead(200, { 'content-type': reply.contentType }).end(reply.body);
 * ```
 */
export async function receiveOtlpTraces(
  req: IncomingMessage,
  store: SpanStore,
  options: OtlpReceiveOptions = {},
): Promise<OtlpReply> {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_OTLP_MAX_BODY_BYTES;
  const type = String(req.headers['content-type'] ?? '')
    .split(';')[0]
    ?.trim()
    .toLowerCase();
  const json = type === 'application/json';
  if (!json && type !== 'application/x-protobuf') {
    req.resume();
    throw telemetryError(
      'SY_TELEMETRY_OTLP_UNSUPPORTED_MEDIA_TYPE',
      `content-type ${type === '' ? '(none)' : type} is not an OTLP encoding; send application/x-protobuf or application/json`,
    );
  }
  const body = await readBody(req, maxBodyBytes);
  const spans = json ? decodeOtlpTracesJson(body.toString('utf8')) : decodeOtlpTraces(body);
  // Decoded in full before anything is stored: a malformed request adds nothing.
  for (const span of spans) store.addStored(toStoredFromOtlp(span));
  return json
    ? { spans: spans.length, contentType: 'application/json', body: Buffer.from('{}') }
    : {
        spans: spans.length,
        contentType: 'application/x-protobuf',
        body: Buffer.from(ExportTraceServiceResponse.encode(ExportTraceServiceResponse.create({})).finish()),
      };
}

/**
 * The HTTP status of a receiver error code: 400 malformed, 413 too large, 415 unsupported.
 *
 * @example
 * ```ts
 * otlpErrorStatus('SY_TELEMETRY_OTLP_TOO_LARGE'); // 413
 * ```
 */
export function otlpErrorStatus(code: string): number {
  if (code === 'SY_TELEMETRY_OTLP_TOO_LARGE') return 413;
  if (code === 'SY_TELEMETRY_OTLP_UNSUPPORTED_MEDIA_TYPE') return 415;
  if (code === 'SY_TELEMETRY_OTLP_INVALID') return 400;
  return 500;
}
