import { type Family, type FamilySnapshot, labelKey, labelRecord, type Sample } from './family.ts';

/**
 * One histogram series: a count per bucket (not cumulative; cumulated at scrape time), the sum
 * and the count. `observe` is a short linear scan, since most latencies land in the first
 * buckets and there are about a dozen.
 */
export class HistogramCell {
  readonly bounds: readonly number[];
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  readonly labels: Readonly<Record<string, string>>;

  constructor(bounds: readonly number[], labels: Readonly<Record<string, string>>) {
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
    this.labels = labels;
  }

  /** Records `value`; NaN is ignored and negatives count as 0, as telemetry never throws. */
  observe(value: number): void {
    if (!(value >= 0)) {
      if (Number.isNaN(value)) return;
      value = 0;
    }
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    (this.counts[i] as number)++;
    this.sum += value;
    this.count++;
  }
}

/** A histogram family (`# TYPE x histogram`) with fixed bucket bounds. */
export class HistogramFamily implements Family {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram' as const;
  readonly labelNames: readonly string[];
  readonly bounds: readonly number[];
  readonly #cells = new Map<string, HistogramCell>();

  constructor(name: string, help: string, labelNames: readonly string[], bounds: readonly number[]) {
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
    this.bounds = Object.freeze([...bounds]);
  }

  /** The series for `values`, empty until observed. */
  child(...values: string[]): HistogramCell {
    const key = labelKey(values);
    let cell = this.#cells.get(key);
    if (cell === undefined) {
      cell = new HistogramCell(this.bounds, labelRecord(this.labelNames, values));
      this.#cells.set(key, cell);
    }
    return cell;
  }

  get(): FamilySnapshot {
    const values: Sample[] = [];
    const bucket = `${this.name}_bucket`;
    for (const cell of this.#cells.values()) {
      let cumulative = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        cumulative += cell.counts[i] as number;
        const le = i < this.bounds.length ? String(this.bounds[i]) : '+Inf';
        values.push({ metricName: bucket, labels: { ...cell.labels, le }, value: cumulative });
      }
      values.push({ metricName: `${this.name}_sum`, labels: cell.labels, value: cell.sum });
      values.push({ metricName: `${this.name}_count`, labels: cell.labels, value: cell.count });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: 'sum' };
  }

  reset(): void {
    for (const cell of this.#cells.values()) {
      cell.counts.fill(0);
      cell.sum = 0;
      cell.count = 0;
    }
  }
}
