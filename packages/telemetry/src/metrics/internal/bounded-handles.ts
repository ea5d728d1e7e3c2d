/** Label value shared by every name past a cardinality cap. */
export const OVERFLOW_LABEL = 'other';

/**
 * Handles keyed by a label value, at most `max` distinct values: past the cap, new values get
 * one shared handle labelled `other` (and `onOverflow` runs, so the overflow is visible as a
 * metric). Overflowing names are not remembered, so a caller that passes raw ids by mistake
 * costs a bounded amount of memory and series.
 */
export class BoundedHandles<H> {
  readonly #max: number;
  readonly #create: (label: string) => H;
  readonly #onOverflow: () => void;
  readonly #handles = new Map<string, H>();
  #other: H | undefined;

  constructor(max: number, create: (label: string) => H, onOverflow: () => void) {
    this.#max = max;
    this.#create = create;
    this.#onOverflow = onOverflow;
  }

  /** The handle for `name` (an empty name is labelled `unknown`). */
  get(name: string): H {
    const found = this.#handles.get(name);
    if (found !== undefined) return found;
    if (this.#handles.size >= this.#max) {
      this.#onOverflow();
      this.#other ??= this.#create(OVERFLOW_LABEL);
      return this.#other;
    }
    const label = typeof name === 'string' && name !== '' ? name : name === '' ? 'unknown' : String(name);
    const handle = this.#create(label);
    this.#handles.set(name, handle);
    return handle;
  }

  /** Distinct names holding their own handle. */
  get size(): number {
    return this.#handles.size;
  }
}
