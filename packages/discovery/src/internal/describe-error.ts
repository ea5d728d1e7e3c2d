/** A one-line reason for a socket or undici error; an `AggregateError` (happy eyeballs) uses its first error. */
export function describeError(err: unknown): string {
  if (err instanceof AggregateError && !err.message && err.errors.length > 0) return describeError(err.errors[0]);
  if (err instanceof Error) return err.message || (err as { code?: string }).code || err.name;
  return String(err);
}
