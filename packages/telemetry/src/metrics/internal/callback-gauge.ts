import { type Family, type FamilySnapshot, labelRecord, type Sample } from './family.ts';

/** Series a {@link CallbackGauge} computes at scrape time: label values (in label-name order) and a value. */
export type CallbackSeries = Iterable<readonly [labelValues: readonly string[], value: number]>;

/**
 * A gauge computed from scratch at every scrape (`# TYPE x gauge`): nothing is updated per
 * request, and series that disappear from the source disappear from the exposition.
 */
export class CallbackGauge implements Family {
  readonly name: string;
  readonly help: string;
  readonly type = 'gauge' as const;
  readonly labelNames: readonly string[];
  readonly #compute: () => CallbackSeries;

  constructor(name: string, help: string, labelNames: readonly string[], compute: () => CallbackSeries) {
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
    this.#compute = compute;
  }

  get(): FamilySnapshot {
    const values: Sample[] = [];
    for (const [labelValues, value] of this.#compute()) {
      values.push({ labels: labelRecord(this.labelNames, labelValues), value });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: 'sum' };
  }

  reset(): void {}
}
