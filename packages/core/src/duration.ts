import { coreError } from './codes.ts';

const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const compoundDuration = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;

/**
 * Parses a duration written as `"250ms"`, `"5s"`, `"1.5m"`, `"2h"`, or a number of milliseconds.
 * Go-style compound durations (`"1m30s"`, as Consul writes them) are accepted too.
 *
 * @param field - the config path named in the error, e.g. `gateway.routes[0].timeout`
 * @returns milliseconds, an integer >= 0
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
  if (!compoundDuration.test(text)) throw invalid(field, value);
  let total = 0;
  for (const match of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(match[1]) * (durationUnits[match[2] as string] as number);
  }
  return Math.round(total);
}

/** True when `value` is a duration string {@link parseDuration} accepts. */
export function isDurationString(value: string): boolean {
  return compoundDuration.test(value) || /^\d+$/.test(value);
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
