/**
 * The header that carries a call's remaining time budget from service to service, in whole
 * milliseconds, relative (as gRPC's `grpc-timeout`), so clocks that disagree do not matter.
 * The resilient HTTP client sends it; the gateway and `@switchyard/service` read it, shorten
 * their own timeouts to it, and refuse at once a request whose budget is spent.
 */
export const TIMEOUT_HEADER = 'switchyard-timeout-ms';

/** The largest budget accepted from a header: one day. Larger values are clamped. */
const maxBudgetMs = 86_400_000;

/**
 * Reads a {@link TIMEOUT_HEADER} value: the budget in milliseconds, `undefined` when the
 * header is absent, or an error message when it is malformed (not a non-negative integer, or
 * repeated with different values). A budget of 0 means already spent.
 *
 * @example
 * ```ts
 * parseTimeoutHeader('1500'); // 1500
 * parseTimeoutHeader(undefined); // undefined
 * parseTimeoutHeader('soon'); // { error: 'switchyard-timeout-ms: expected whole milliseconds, got "soon"' }
 * ```
 */
export function parseTimeoutHeader(
  value: string | readonly string[] | undefined,
): number | undefined | { error: string } {
  if (value === undefined) return undefined;
  const values = typeof value === 'string' ? [value] : value;
  if (values.length === 0) return undefined;
  const first = values[0] as string;
  if (values.some((v) => v !== first)) {
    return { error: `${TIMEOUT_HEADER}: repeated with different values ${JSON.stringify(values)}` };
  }
  const text = first.trim();
  if (!/^\d{1,16}$/.test(text)) {
    return { error: `${TIMEOUT_HEADER}: expected whole milliseconds, got ${JSON.stringify(first)}` };
  }
  return Math.min(Number(text), maxBudgetMs);
}

/**
 * Formats a remaining budget for {@link TIMEOUT_HEADER}: whole milliseconds, rounded down,
 * never negative.
 */
export function formatTimeoutHeader(remainingMs: number): string {
  return String(Math.max(0, Math.floor(remainingMs)));
}
