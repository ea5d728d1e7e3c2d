const units: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1024,
  kib: 1024,
  mb: 1024 * 1024,
  mib: 1024 * 1024,
  gb: 1024 * 1024 * 1024,
  gib: 1024 * 1024 * 1024,
};

/**
 * Parses a byte size: a positive whole number of bytes, or a number with a unit `b`, `kb`,
 * `mb`, `gb` (binary multiples: `1kb` is 1024 bytes; `kib`, `mib`, `gib` are accepted too,
 * case-insensitive). Returns `undefined` for anything else, zero included.
 *
 * @example
 * ```ts
 * parseSize('1mb'); // 1048576
 * parseSize('1.5kb'); // 1536
 * parseSize(2048); // 2048
 * parseSize('lots'); // undefined
 * ```
 */
export function parseSize(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value > 0 ? value : undefined;
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(value.trim());
  if (match === null) return undefined;
  const unit = units[(match[2] ?? '').toLowerCase() || 'b'];
  if (unit === undefined) return undefined;
  const bytes = Math.floor(Number(match[1]) * unit);
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}
