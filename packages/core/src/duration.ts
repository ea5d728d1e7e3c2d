import { coreError } from './codes.ts';

/** Nanoseconds per unit, for Go's `time.ParseDuration` units (which Consul uses on the wire). */
const unitNs: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, μs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
const goTerm = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;

/**
 * Parses Go's duration syntax (`"10s"`, `"1m30s"`, `"1.5h"`, `"300us"`, `"0"`), the notation
 * Consul and Envoy use on the wire, into fractional milliseconds.
 *
 * @returns milliseconds, or `undefined` when malformed or negative
 * @example
 * ```ts
 * parseGoDuration('1m30s'); // 90000
 * parseGoDuration('300us'); // 0.3
 * ```
 */
export function parseGoDuration(text: string): number | undefined {
  let rest = text.trim();
  if (rest === '0') return 0;
  if (rest.startsWith('+')) rest = rest.slice(1);
  if (rest.length === 0) return undefined;
  let totalNs = 0;
  while (rest.length > 0) {
    const match = goTerm.exec(rest);
    if (!match) return undefined;
    totalNs += Number(match[1]) * (unitNs[match[2] as string] as number);
    rest = rest.slice(match[0].length);
  }
  return Number.isFinite(totalNs) ? totalNs / 1e6 : undefined;
}

/**
 * Parses a duration written as `"250ms"`, `"5s"`, `"1.5m"`, `"2h"`, or a number of milliseconds.
 * Any Go duration is accepted (`"1m30s"`, `"300us"`), so values copied from Consul or Envoy work.
 *
 * @param field - the config path named in the error, e.g. `gateway.routes[0].timeout`
 * @returns milliseconds, rounded to an integer >= 0
 * @throws SwitchyardError `SY_CONFIG_INVALID` naming `field` and the bad value
 * @example
 * ```ts
 * parseDuration('1.5s'); // 1500
 * parseDuration('1m30s'); // 90000
 * ```
 */
export function parseDuration(value: string | number, field = 'duration'): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return Math.round(value);
    throw invalid(field, value);
  }
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const ms = parseGoDuration(text);
  if (ms === undefined) throw invalid(field, value);
  return Math.round(ms);
}

/** True when `value` is a duration string {@link parseDuration} accepts. */
export function isDurationString(value: string): boolean {
  return /^\d+$/.test(value.trim()) || parseGoDuration(value) !== undefined;
}

/** Formats milliseconds the way Consul writes durations (`"10s"`, `"1m0s"`, `"250ms"`). */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${trim(ms / 1000)}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = (ms - minutes * 60_000) / 1000;
  if (minutes < 60) return `${minutes}m${trim(seconds)}s`;
  return `${Math.floor(minutes / 60)}h${minutes % 60}m${trim(seconds)}s`;
}

function trim(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(3).replace(/0+$/, '');
}

function invalid(field: string, value: unknown): Error {
  return coreError(
    'SY_CONFIG_INVALID',
    `${field}: expected a duration such as "250ms", "5s" or a number of milliseconds, got ${JSON.stringify(value)}`,
    { details: { issues: [{ path: field, message: 'invalid duration' }] } },
  );
}
