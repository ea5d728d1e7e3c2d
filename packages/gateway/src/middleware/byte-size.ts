import * as z from 'zod';

const units: Readonly<Record<string, number>> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };
const sizePattern = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/i;

/**
 * Parses a byte size: a number of bytes, or a string with a 1024-based unit
 * (`"512b"`, `"64kb"`, `"1mb"`, `"1.5gb"`; case-insensitive; no unit means bytes).
 * Fractions are rounded down to whole bytes.
 *
 * @returns the size in bytes, or `undefined` when `value` is not a size
 * @example
 * ```ts
 * parseByteSize('1mb'); // 1048576
 * parseByteSize('10KB'); // 10240
 * parseByteSize(500); // 500
 * parseByteSize('1 megabyte'); // undefined
 * ```
 */
export function parseByteSize(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  const match = sizePattern.exec(value.trim());
  if (match === null) return undefined;
  const bytes = Math.floor(Number(match[1]) * (units[(match[2] ?? 'b').toLowerCase()] ?? 1));
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/**
 * A zod schema for byte sizes (see {@link parseByteSize}); outputs bytes, at least 1.
 *
 * @example
 * ```ts
 * z.strictObject({ max: zByteSize() }).parse({ max: '1mb' }); // { max: 1048576 }
 * ```
 */
export function zByteSize() {
  return z.union([z.number(), z.string()]).transform((value, ctx) => {
    const bytes = parseByteSize(value);
    if (bytes === undefined || bytes < 1) {
      ctx.addIssue({
        code: 'custom',
        input: value,
        message: `expected a size such as "512kb", "1mb", "2gb" (1024-based) or a number of bytes >= 1, got ${JSON.stringify(value)}`,
      });
      return z.NEVER;
    }
    return bytes;
  });
}
