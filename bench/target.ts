/** One measured target of a benchmark. */
export interface Target {
  /** What is measured, e.g. `gateway p99 overhead vs direct`. */
  readonly what: string;
  readonly measured: number;
  readonly goal: number;
  /** `max`: pass when measured <= goal; `min`: pass when measured >= goal. */
  readonly kind: 'max' | 'min';
  /** Unit printed after the numbers, e.g. `ms`, `req/s`, `x`. */
  readonly unit: string;
}

/** Formats the line every benchmark ends with: `target <what>: <measured> (goal <goal>) PASS|MISS`. */
export function formatTarget(target: Target): string {
  const pass = target.kind === 'max' ? target.measured <= target.goal : target.measured >= target.goal;
  const sign = target.kind === 'max' ? '<=' : '>=';
  const fmt = (n: number) => `${Number.isInteger(n) ? n : n.toFixed(2)}${target.unit ? ` ${target.unit}` : ''}`;
  return `target ${target.what}: ${fmt(target.measured)} (goal ${sign} ${fmt(target.goal)}) ${pass ? 'PASS' : 'MISS'}`;
}

/** Prints every target line and sets a failing exit code when any target is missed. */
export function reportTargets(targets: readonly Target[]): void {
  for (const target of targets) {
    const line = formatTarget(target);
    console.log(line);
    if (line.endsWith('MISS')) process.exitCode = 1;
  }
}
