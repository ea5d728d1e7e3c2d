/**
 * `encodeOtlpTraceRequest()`: finished spans to the bytes of an OTLP
 * `ExportTraceServiceRequest` (opentelemetry-proto v1, `collector/trace/v1`), written in one
 * pass into a growable buffer. It makes the same choices as OpenTelemetry JS's
 * `ProtobufTraceSerializer` (which fields are always written, span flags with the
 * HAS_IS_REMOTE bit, integers as `int_value` and other numbers as `double_value`), so a
 * collector sees the same message, at a fraction of the cost: a resource or scope is encoded
 * once and then copied, ids go from hex straight to bytes, short strings need no length pass.
 */
import type { Attributes, AttributeValue, HrTime, Link, SpanContext } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace';

// Wire types.
const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const FIXED32 = 5;

/** `SpanFlags` bits of the OTLP spec: whether the parent's remoteness is known, and is it. */
const FLAG_HAS_IS_REMOTE = 0x100;
const FLAG_IS_REMOTE = 0x200;

const TWO_32 = 4_294_967_296;
const MIN_INT64 = -(2 ** 63);
const MAX_INT64 = 2 ** 63;

/** Strings up to this many UTF-16 units encode to at most 127 UTF-8 bytes: a 1-byte length. */
const SHORT_STRING = 42;

function tag(field: number, wireType: number): number {
  return (field << 3) | wireType;
}

function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

function hexNibble(c: number): number {
  // '0'-'9', 'a'-'f', 'A'-'F'; ids come from the SDK as lower-case hex.
  return c <= 57 ? c - 48 : (c | 0x20) - 87;
}

/**
 * A protobuf writer over one growable `Buffer`. Messages whose length is not known upfront
 * get `reserve` bytes for their length; when the final length needs another size, the body
 * is moved (rare: the reserve is chosen for the usual size of each message).
 */
class ProtoWriter {
  buf: Buffer;
  pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  ensure(extra: number): void {
    const needed = this.pos + extra;
    if (needed <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < needed) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** A varint of an unsigned 32-bit value (tags, lengths, counts, enums). */
  uint32(value: number): void {
    this.ensure(5);
    const buf = this.buf;
    let v = value >>> 0;
    while (v > 0x7f) {
      buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[this.pos++] = v;
  }

  /** A varint of a signed integer (int64 field): negatives take ten bytes, two's complement. */
  int64(value: number): void {
    if (value >= 0 && value <= 0xffffffff) {
      this.uint32(value);
      return;
    }
    this.ensure(10);
    let low: number;
    let high: number;
    if (value >= 0) {
      low = value >>> 0;
      high = Math.floor(value / TWO_32) >>> 0;
    } else {
      const abs = -value;
      low = ~(abs >>> 0) >>> 0;
      high = ~(Math.floor(abs / TWO_32) >>> 0) >>> 0;
      low = (low + 1) >>> 0;
      if (low === 0) high = (high + 1) >>> 0;
    }
    const buf = this.buf;
    while (high > 0 || low > 0x7f) {
      buf[this.pos++] = (low & 0x7f) | 0x80;
      low = ((low >>> 7) | (high << 25)) >>> 0;
      high >>>= 7;
    }
    buf[this.pos++] = low;
  }

  fixed32(value: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(value >>> 0, this.pos);
    this.pos += 4;
  }

  /** `HrTime` `[seconds, nanoseconds]` as fixed64 nanoseconds, exact beyond 2^53. */
  hrTime(time: HrTime): void {
    this.ensure(8);
    const seconds = time[0];
    const nanos = time[1];
    // seconds * 1e9 + nanos overflows a double's 53 bits: split seconds in 16-bit halves.
    const secHigh = Math.floor(seconds / 65_536);
    const a = (seconds - secHigh * 65_536) * 1e9 + nanos; // < 2^47, exact
    const b = secHigh * 1e9; // < 2^46; contributes b * 2^16
    const bLow = b % 65_536;
    const sum = bLow * 65_536 + a; // < 2^48, exact
    const low = Math.trunc(sum) >>> 0;
    const high = ((b - bLow) / 65_536 + Math.floor(sum / TWO_32)) >>> 0;
    this.buf.writeUInt32LE(low, this.pos);
    this.buf.writeUInt32LE(high, this.pos + 4);
    this.pos += 8;
  }

  double(value: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(value, this.pos);
    this.pos += 8;
  }

  /** A length-delimited UTF-8 string. */
  string(value: string): void {
    const len = value.length;
    if (len <= SHORT_STRING) {
      this.ensure(1 + 3 * len);
      const buf = this.buf;
      const start = this.pos + 1;
      let p = start;
      for (let i = 0; i < len; i++) {
        const c = value.charCodeAt(i);
        if (c > 0x7f) {
          p = start + buf.write(value, start, 'utf8');
          break;
        }
        buf[p++] = c;
      }
      buf[this.pos] = p - start;
      this.pos = p;
      return;
    }
    const bytes = Buffer.byteLength(value, 'utf8');
    this.uint32(bytes);
    this.ensure(bytes);
    this.buf.write(value, this.pos, bytes, 'utf8');
    this.pos += bytes;
  }

  /** A length-delimited byte string from hex (trace and span ids). */
  hex(value: string): void {
    const n = value.length >>> 1;
    this.ensure(1 + n);
    const buf = this.buf;
    buf[this.pos++] = n;
    for (let i = 0; i < value.length; i += 2) {
      buf[this.pos++] = (hexNibble(value.charCodeAt(i)) << 4) | hexNibble(value.charCodeAt(i + 1));
    }
  }

  bytes(value: Uint8Array): void {
    this.uint32(value.length);
    this.ensure(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
  }

  /** Starts a nested message: reserves `reserve` bytes for its length; returns the mark for `end`. */
  begin(reserve: number): number {
    this.ensure(reserve);
    const mark = this.pos;
    this.pos += reserve;
    return mark * 8 + reserve;
  }

  /** Writes the length of the message begun at `mark`, moving its body if the reserve was off. */
  end(mark: number): void {
    const reserve = mark % 8;
    const at = (mark - reserve) / 8;
    const bodyStart = at + reserve;
    const length = this.pos - bodyStart;
    const size = varintSize(length);
    if (size !== reserve) {
      this.ensure(size - reserve);
      this.buf.copy(this.buf, at + size, bodyStart, this.pos);
      this.pos += size - reserve;
    }
    const buf = this.buf;
    let p = at;
    let v = length;
    while (v > 0x7f) {
      buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[p] = v;
  }

  raw(bytes: Buffer): void {
    this.ensure(bytes.length);
    bytes.copy(this.buf, this.pos);
    this.pos += bytes.length;
  }
}

function writeAnyValue(w: ProtoWriter, value: unknown): void {
  switch (typeof value) {
    case 'string':
      w.uint32(tag(1, LEN));
      w.string(value);
      return;
    case 'boolean':
      w.uint32(tag(2, VARINT));
      w.uint32(value ? 1 : 0);
      return;
    case 'number':
      if (Number.isInteger(value) && value >= MIN_INT64 && value < MAX_INT64) {
        w.uint32(tag(3, VARINT));
        w.int64(value);
      } else {
        w.uint32(tag(4, FIXED64));
        w.double(value);
      }
      return;
    case 'object': {
      if (value === null) return;
      if (value instanceof Uint8Array) {
        w.uint32(tag(7, LEN));
        w.bytes(value);
        return;
      }
      if (Array.isArray(value)) {
        w.uint32(tag(5, LEN));
        const array = w.begin(1);
        for (const item of value as readonly unknown[]) {
          w.uint32(tag(1, LEN));
          const any = w.begin(1);
          writeAnyValue(w, item);
          w.end(any);
        }
        w.end(array);
        return;
      }
      w.uint32(tag(6, LEN));
      const list = w.begin(1);
      const record = value as Record<string, unknown>;
      for (const key in record) {
        if (!Object.hasOwn(record, key)) continue;
        w.uint32(tag(1, LEN));
        writeKeyValue(w, key, record[key]);
      }
      w.end(list);
      return;
    }
    default:
      // undefined, functions, symbols, bigints: an empty AnyValue, as the SDK's serializer writes.
      return;
  }
}

/** A `KeyValue` body with its length prefix. */
function writeKeyValue(w: ProtoWriter, key: string, value: unknown): void {
  const kv = w.begin(1);
  w.uint32(tag(1, LEN));
  w.string(key);
  w.uint32(tag(2, LEN));
  const any = w.begin(1);
  writeAnyValue(w, value);
  w.end(any);
  w.end(kv);
}

function writeAttributes(w: ProtoWriter, attributes: Attributes, field: number): void {
  const t = tag(field, LEN);
  for (const key in attributes) {
    if (!Object.hasOwn(attributes, key)) continue;
    w.uint32(t);
    writeKeyValue(w, key, attributes[key] as AttributeValue | undefined);
  }
}

function spanFlags(traceFlags: number, isRemote: boolean | undefined): number {
  return (traceFlags & 0xff) | FLAG_HAS_IS_REMOTE | (isRemote ? FLAG_IS_REMOTE : 0);
}

function writeEvent(w: ProtoWriter, event: TimedEvent): void {
  w.uint32(tag(11, LEN));
  const m = w.begin(1);
  w.uint32(tag(1, FIXED64));
  w.hrTime(event.time);
  w.uint32(tag(2, LEN));
  w.string(event.name);
  if (event.attributes) writeAttributes(w, event.attributes, 3);
  w.uint32(tag(4, VARINT));
  w.uint32(event.droppedAttributesCount ?? 0);
  w.end(m);
}

function writeLink(w: ProtoWriter, link: Link): void {
  const ctx = link.context;
  w.uint32(tag(13, LEN));
  const m = w.begin(1);
  w.uint32(tag(1, LEN));
  w.hex(ctx.traceId);
  w.uint32(tag(2, LEN));
  w.hex(ctx.spanId);
  const traceState = ctx.traceState?.serialize();
  if (traceState) {
    w.uint32(tag(3, LEN));
    w.string(traceState);
  }
  if (link.attributes) writeAttributes(w, link.attributes, 4);
  w.uint32(tag(5, VARINT));
  w.uint32(link.droppedAttributesCount ?? 0);
  w.uint32(tag(6, FIXED32));
  w.fixed32(spanFlags(ctx.traceFlags, ctx.isRemote));
  w.end(m);
}

function writeSpan(w: ProtoWriter, span: ReadableSpan): void {
  const ctx: SpanContext = span.spanContext();
  const parent = span.parentSpanContext;
  w.uint32(tag(2, LEN)); // ScopeSpans.spans
  const m = w.begin(2);
  w.uint32(tag(1, LEN));
  w.hex(ctx.traceId);
  w.uint32(tag(2, LEN));
  w.hex(ctx.spanId);
  const traceState = ctx.traceState?.serialize();
  if (traceState) {
    w.uint32(tag(3, LEN));
    w.string(traceState);
  }
  if (parent?.spanId) {
    w.uint32(tag(4, LEN));
    w.hex(parent.spanId);
  }
  w.uint32(tag(5, LEN));
  w.string(span.name);
  // OTLP's SpanKind is the API's plus one (0 is UNSPECIFIED).
  w.uint32(tag(6, VARINT));
  w.uint32(span.kind + 1);
  w.uint32(tag(7, FIXED64));
  w.hrTime(span.startTime);
  w.uint32(tag(8, FIXED64));
  w.hrTime(span.endTime);
  writeAttributes(w, span.attributes, 9);
  w.uint32(tag(10, VARINT));
  w.uint32(span.droppedAttributesCount);
  for (const event of span.events) writeEvent(w, event);
  w.uint32(tag(12, VARINT));
  w.uint32(span.droppedEventsCount);
  for (const link of span.links) writeLink(w, link);
  w.uint32(tag(14, VARINT));
  w.uint32(span.droppedLinksCount);
  w.uint32(tag(15, LEN));
  const status = w.begin(1);
  if (span.status.message) {
    w.uint32(tag(2, LEN));
    w.string(span.status.message);
  }
  w.uint32(tag(3, VARINT));
  w.uint32(span.status.code);
  w.end(status);
  w.uint32(tag(16, FIXED32));
  w.fixed32(spanFlags(ctx.traceFlags, parent?.isRemote));
  w.end(m);
}

// A resource or a scope is the same object for every span of a tracer: its encoding is kept.
const resourceBytes = new WeakMap<Resource, Buffer>();
const scopeBytes = new WeakMap<InstrumentationScope, Buffer>();

/** `ResourceSpans.resource` (field 1) with its tag. */
function encodeResource(resource: Resource): Buffer {
  const cached = resourceBytes.get(resource);
  if (cached !== undefined) return cached;
  const w = new ProtoWriter(512);
  w.uint32(tag(1, LEN));
  const m = w.begin(2);
  writeAttributes(w, resource.attributes, 1);
  w.uint32(tag(2, VARINT));
  w.uint32(0);
  w.end(m);
  const bytes = Buffer.from(w.buf.subarray(0, w.pos));
  // Attributes still being detected may change: cache only a settled resource.
  if (!resource.asyncAttributesPending) resourceBytes.set(resource, bytes);
  return bytes;
}

/** `ScopeSpans.scope` (field 1) with its tag. */
function encodeScope(scope: InstrumentationScope): Buffer {
  const cached = scopeBytes.get(scope);
  if (cached !== undefined) return cached;
  const w = new ProtoWriter(256);
  w.uint32(tag(1, LEN));
  const m = w.begin(1);
  w.uint32(tag(1, LEN));
  w.string(scope.name);
  if (scope.version) {
    w.uint32(tag(2, LEN));
    w.string(scope.version);
  }
  const withAttributes = scope as InstrumentationScope & {
    attributes?: Attributes;
    droppedAttributesCount?: number;
  };
  if (withAttributes.attributes) writeAttributes(w, withAttributes.attributes, 3);
  if (withAttributes.droppedAttributesCount) {
    w.uint32(tag(4, VARINT));
    w.uint32(withAttributes.droppedAttributesCount);
  }
  w.end(m);
  const bytes = Buffer.from(w.buf.subarray(0, w.pos));
  scopeBytes.set(scope, bytes);
  return bytes;
}

/** Spans grouped by resource, then by scope (object identity), in first-seen order. */
function group(spans: readonly ReadableSpan[]): Map<Resource, Map<InstrumentationScope, ReadableSpan[]>> {
  const byResource = new Map<Resource, Map<InstrumentationScope, ReadableSpan[]>>();
  let lastResource: Resource | undefined;
  let lastScope: InstrumentationScope | undefined;
  let lastList: ReadableSpan[] | undefined;
  for (const span of spans) {
    const resource = span.resource;
    const scope = span.instrumentationScope;
    // Consecutive spans mostly share both: skip the two map lookups then.
    if (resource === lastResource && scope === lastScope && lastList !== undefined) {
      lastList.push(span);
      continue;
    }
    let byScope = byResource.get(resource);
    if (byScope === undefined) {
      byScope = new Map();
      byResource.set(resource, byScope);
    }
    let list = byScope.get(scope);
    if (list === undefined) {
      list = [];
      byScope.set(scope, list);
    }
    list.push(span);
    lastResource = resource;
    lastScope = scope;
    lastList = list;
  }
  return byResource;
}

/** Buffer size to start with: about what a span with a few attributes takes. */
const BYTES_PER_SPAN = 320;

/**
 * Encodes finished spans as the protobuf bytes of one OTLP `ExportTraceServiceRequest`, the
 * body of an OTLP/HTTP `POST /v1/traces` (`content-type: application/x-protobuf`). Spans are
 * grouped by resource and instrumentation scope. Attribute values of every type are kept:
 * strings, booleans, integers (`int_value`, negatives included), other numbers
 * (`double_value`), byte arrays and arrays of any of them.
 *
 * @param spans finished spans, as a `SpanExporter` receives them
 * @returns the encoded request (a `Buffer` of its own)
 * @example
 * ```ts
 * import { encodeOtlpTraceRequest } from '@switchyard/telemetry';
 *
 * const exporter = {
 *   export(spans, done) {
 *     const body = encodeOtlpTraceRequest(spans);
 *     fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body })
 *       .then(() => done({ code: 0 }), (error) => done({ code: 1, error }));
 *   },
 *   shutdown: async () => {},
 * };
 * ```
 */
export function encodeOtlpTraceRequest(spans: readonly ReadableSpan[]): Buffer {
  const w = new ProtoWriter(Math.max(1024, spans.length * BYTES_PER_SPAN));
  for (const [resource, byScope] of group(spans)) {
    w.uint32(tag(1, LEN)); // ExportTraceServiceRequest.resource_spans
    const resourceSpans = w.begin(4);
    w.raw(encodeResource(resource));
    for (const [scope, list] of byScope) {
      w.uint32(tag(2, LEN)); // ResourceSpans.scope_spans
      const scopeSpans = w.begin(4);
      w.raw(encodeScope(scope));
      for (const span of list) writeSpan(w, span);
      if (scope.schemaUrl) {
        w.uint32(tag(3, LEN));
        w.string(scope.schemaUrl);
      }
      w.end(scopeSpans);
    }
    if (resource.schemaUrl) {
      w.uint32(tag(3, LEN));
      w.string(resource.schemaUrl);
    }
    w.end(resourceSpans);
  }
  return w.buf.subarray(0, w.pos);
}
