/**
 * The proto3 JSON mapping of scalar values and of the well-known types written as scalars
 * (https://protobuf.dev/programming-guides/json/): each check returns an error message, or
 * `undefined` when the value is acceptable.
 */

const intRanges: Record<string, readonly [bigint, bigint]> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  sint32: [-(2n ** 31n), 2n ** 31n - 1n],
  sfixed32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  fixed32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  sint64: [-(2n ** 63n), 2n ** 63n - 1n],
  sfixed64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  fixed64: [0n, 2n ** 64n - 1n],
};

/** The proto scalar type names protobufjs uses. */
export function isScalarType(type: string): boolean {
  return type in intRanges || ['double', 'float', 'bool', 'string', 'bytes'].includes(type);
}

/** Checks a JSON value against a proto scalar type. */
export function checkScalar(type: string, value: unknown): string | undefined {
  const range = intRanges[type];
  if (range !== undefined) return checkInteger(type, value, range);
  switch (type) {
    case 'double':
    case 'float':
      return checkFloat(type, value);
    case 'bool':
      return typeof value === 'boolean' ? undefined : `expected a boolean, got ${describe(value)}`;
    case 'string':
      return typeof value === 'string' ? undefined : `expected a string, got ${describe(value)}`;
    case 'bytes':
      return typeof value === 'string' && /^[A-Za-z0-9+/\-_]*={0,2}$/.test(value)
        ? undefined
        : `expected base64 bytes, got ${describe(value)}`;
    default:
      return `unsupported scalar type ${type}`;
  }
}

function checkInteger(type: string, value: unknown, [min, max]: readonly [bigint, bigint]): string | undefined {
  let n: bigint;
  if (typeof value === 'number' && Number.isInteger(value)) n = BigInt(value);
  else if (typeof value === 'string' && /^-?\d+$/.test(value)) n = BigInt(value);
  else {
    const as = type.endsWith('64') ? 'an integer (a number or a decimal string)' : 'an integer';
    return `expected ${type}: ${as}, got ${describe(value)}`;
  }
  if (n < min || n > max) return `expected ${type} in ${min}..${max}, got ${String(value)}`;
  return undefined;
}

function checkFloat(type: string, value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return undefined;
  if (typeof value === 'string' && (['NaN', 'Infinity', '-Infinity'].includes(value) || isNumeric(value))) {
    return undefined;
  }
  return `expected ${type}: a number, got ${describe(value)}`;
}

function isNumeric(text: string): boolean {
  return text.trim() !== '' && Number.isFinite(Number(text));
}

/** A parsed `google.protobuf.Duration`, in seconds (fractional). */
export type DurationSeconds = number;

const durationPattern = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;
const maxDurationSeconds = 315_576_000_000;

/**
 * Parses a JSON Duration (`"0.25s"`, `"30s"`, `"-1.5s"`): seconds with up to nine fractional
 * digits and the `s` suffix. Numbers are not Durations in proto3 JSON.
 */
export function parseJsonDuration(
  value: unknown,
): { ok: true; seconds: DurationSeconds } | { ok: false; message: string } {
  const hint = 'expected a duration string such as "0.25s" or "30s" (seconds with an "s" suffix)';
  if (typeof value !== 'string') return { ok: false, message: `${hint}, got ${describe(value)}` };
  const match = durationPattern.exec(value);
  if (!match) return { ok: false, message: `${hint}, got ${JSON.stringify(value)}` };
  const seconds = Number(`${match[2]}.${match[3] ?? '0'}`) * (match[1] ? -1 : 1);
  if (Math.abs(seconds) > maxDurationSeconds) {
    return { ok: false, message: `duration out of range (at most ${maxDurationSeconds}s), got ${value}` };
  }
  return { ok: true, seconds };
}

const timestampPattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

/** Checks a JSON Timestamp (RFC 3339, `"2026-01-01T00:00:00Z"`). */
export function checkJsonTimestamp(value: unknown): string | undefined {
  if (typeof value === 'string' && timestampPattern.test(value) && !Number.isNaN(Date.parse(value))) return undefined;
  return `expected an RFC 3339 timestamp such as "2026-01-01T00:00:00Z", got ${describe(value)}`;
}

/** A short description of a JSON value for messages: `number 250`, `an object`. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}
