/**
 * Go `time.ParseDuration` syntax, which Consul uses on the wire (`"10s"`, `"1m30s"`, `"1.5h"`,
 * `"300us"`). Core's `parseDuration` covers Switchyard's own config; Consul clients may also send
 * `ns`, `us` and `µs`, and a bare `"0"`.
 */
const unitNs: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};
const goDuration = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;

/** Parses a Go duration into milliseconds (fractional), or `undefined` when malformed or negative. */
export function parseGoDuration(text: string): number | undefined {
  let rest = text.trim();
  if (rest === '0') return 0;
  if (rest.startsWith('+')) rest = rest.slice(1);
  if (rest.length === 0) return undefined;
  let totalNs = 0;
  while (rest.length > 0) {
    const match = goDuration.exec(rest);
    if (!match) return undefined;
    totalNs += Number(match[1]) * (unitNs[match[2] as string] as number);
    rest = rest.slice(match[0].length);
  }
  return Number.isFinite(totalNs) ? totalNs / 1e6 : undefined;
}
