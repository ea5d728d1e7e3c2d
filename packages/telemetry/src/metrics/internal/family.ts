/**
 * What prom-client's `Registry` reads from a metric: it calls `get()` at scrape time and
 * formats the samples. Switchyard's families implement this shape themselves so the hot path
 * updates plain numbers in pre-resolved cells, where prom-client's own `labels(...).inc()`
 * hashes the label object on every call.
 */
export interface Sample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  /** Set for histogram series (`<name>_bucket`, `_sum`, `_count`). */
  readonly metricName?: string;
}

/** The snapshot `get()` returns, in prom-client's format. */
export interface FamilySnapshot {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly values: readonly Sample[];
  readonly aggregator: 'sum';
}

/** A metric family registered in a prom-client `Registry`. */
export interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: FamilySnapshot['type'];
  get(): FamilySnapshot;
  reset(): void;
}

/** Key of a label value tuple; the separator cannot appear in a valid UTF-8 label by accident. */
export function labelKey(values: readonly string[]): string {
  return values.join('\u0000');
}

/** `{ name: value }` for a family's label names and one tuple of values. */
export function labelRecord(names: readonly string[], values: readonly string[]): Record<string, string> {
  if (names.length !== values.length) {
    throw new Error(`metrics: expected ${names.length} label values (${names.join(', ')}), got ${values.length}`);
  }
  const record: Record<string, string> = {};
  for (let i = 0; i < names.length; i++) record[names[i] as string] = values[i] as string;
  return Object.freeze(record);
}
