import { type Family, type FamilySnapshot, labelKey, labelRecord, type Sample } from './family.ts';

/** One counter series; the hot path adds to `value` directly through {@link CounterCell.inc}. */
export class CounterCell {
  value = 0;
  readonly labels: Readonly<Record<string, string>>;

  constructor(labels: Readonly<Record<string, string>>) {
    this.labels = labels;
  }

  /** Adds `by` (default 1); a negative or non-finite amount is ignored, as telemetry never throws. */
  inc(by = 1): void {
    if (by >= 0 && by !== Number.POSITIVE_INFINITY) this.value += by;
  }
}

/** A counter family (`# TYPE x counter`) whose series are resolved once and kept. */
export class CounterFamily implements Family {
  readonly name: string;
  readonly help: string;
  readonly type = 'counter' as const;
  readonly labelNames: readonly string[];
  readonly #cells = new Map<string, CounterCell>();

  constructor(name: string, help: string, labelNames: readonly string[]) {
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
  }

  /** The series for `values` (one per label name), created at 0 on first use. */
  child(...values: string[]): CounterCell {
    const key = labelKey(values);
    let cell = this.#cells.get(key);
    if (cell === undefined) {
      cell = new CounterCell(labelRecord(this.labelNames, values));
      this.#cells.set(key, cell);
    }
    return cell;
  }

  get(): FamilySnapshot {
    const values: Sample[] = [];
    for (const cell of this.#cells.values()) values.push({ labels: cell.labels, value: cell.value });
    return { name: this.name, help: this.help, type: this.type, values, aggregator: 'sum' };
  }

  /** Zeroes every series; handles already resolved stay valid. */
  reset(): void {
    for (const cell of this.#cells.values()) cell.value = 0;
  }
}
