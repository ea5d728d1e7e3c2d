/** Test support (not exported): reads one sample's value from a text exposition. */

/**
 * The value of the series written exactly as `series` (`name{a="x",b="y"}` in the registry's
 * label order), or undefined when the exposition has no such line.
 */
export function sampleValue(exposition: string, series: string): number | undefined {
  for (const line of exposition.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

/** Every series line of metric `name` (samples only, no comments). */
export function seriesOf(exposition: string, name: string): string[] {
  return exposition.split('\n').filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));
}
