/**
 * The open period (ms) of the `trips`-th trip in a row: `baseMs × factor^(trips - 1)`, capped
 * at `maxMs`, in whole milliseconds. The same rule the breaker state stores apply, so a local
 * and a shared breaker with the same options open for the same time.
 *
 * @example
 * ```ts
 * openPeriodMs({ baseMs: 1000, factor: 2, maxMs: 30_000 }, 3); // 4000
 * ```
 */
export function openPeriodMs(open: { baseMs: number; factor: number; maxMs: number }, trips: number): number {
  const ms = open.baseMs * open.factor ** Math.max(0, trips - 1);
  return Math.max(0, Math.floor(Math.min(open.maxMs, Number.isNaN(ms) ? open.maxMs : ms)));
}
