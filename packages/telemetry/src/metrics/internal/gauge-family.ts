import { type Family, type FamilySnapshot, labelKey, labelRecord, type Sample } from './family.ts';

/** One gauge series. */
export class GaugeCell {
  value = 0;
  readonly labels: Readonly<Record<string, string>>;

  constructor(labels: Readonly<Record<string, string>>) {
    this.labels = labels;
  }
}

/** A gauge family (`# TYPE x gauge`) whose series are resolved once and kept. */
export class GaugeFamily implements Family {
  readonly name: string;
  readonly help: string;
  readonly type = 'gauge' as const;
  readonly labelNames: readonly string[];
  readonly #cells = new Map<string, GaugeCell>();

  constructor(name: string, help: string, labelNames: readonly string[]) {
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
  }

  /** The series for `values`, created at 0 on first use. */
  child(...values: string[]): GaugeCell {
    const key = labelKey(values);
    let cell = this.#cells.get(key);
    if (cell === undefined) {
      cell = new GaugeCell(labelRecord(this.labelNames, values));
      this.#cells.set(key, cell);
    }
    return cell;
  }

  get(): FamilySnapshot {
    const values: Sample[] = [];
    for (const cell of this.#cells.values()) values.push({ labels: cell.labels, value: cell.value });
    return { name: this.name, help: this.help, type: this.type, values, aggregator: 'sum' };
  }

  reset(): void {
    for (const cell of this.#cells.values()) cell.value = 0;
  }
}
