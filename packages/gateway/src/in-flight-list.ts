/** The links an entry of an {@link InFlightList} carries; only the list writes them. */
export interface InFlightLinks<T> {
  prev: T | undefined;
  next: T | undefined;
}

/**
 * The requests a gateway has in flight: an intrusive doubly linked list with the `Set`
 * methods the handler uses (`add`, `delete`, `size`, iteration). Adding and deleting are O(1)
 * and allocate nothing; a deleted entry's links are cleared, so a finished request points at
 * no other request.
 *
 * Why not a `Set`: V8 grows and compacts a Set's hash table by copying the live entries into
 * a new table and linking the old table to the new one (for iterators), its slots left as they
 * were. With one add and one delete per request, the table is replaced every few dozen
 * requests. Once one table sits in the old generation (the first one, or the one a full GC
 * found in use), the young-generation collector, which treats every old-to-young pointer as a
 * root until the next full GC, keeps the whole chain of later tables alive, and with them every
 * request any of them held: in bench/gateway every Scavenge then took 15-19 ms and promoted
 * ~9 MB of finished requests, against ~1 ms and next to nothing with this list.
 */
export class InFlightList<T extends InFlightLinks<T>> {
  #head: T | undefined = undefined;
  #tail: T | undefined = undefined;
  #size = 0;

  /** The number of entries. */
  get size(): number {
    return this.#size;
  }

  /** Appends `entry`, which must not be in a list already. */
  add(entry: T): void {
    entry.prev = this.#tail;
    entry.next = undefined;
    if (this.#tail === undefined) this.#head = entry;
    else this.#tail.next = entry;
    this.#tail = entry;
    this.#size += 1;
  }

  /** Unlinks `entry` and clears its links; false (and nothing changes) when it is not in the list. */
  delete(entry: T): boolean {
    if (entry.prev === undefined && this.#head !== entry) return false;
    const { prev, next } = entry;
    if (prev === undefined) this.#head = next;
    else prev.next = next;
    if (next === undefined) this.#tail = prev;
    else next.prev = prev;
    entry.prev = undefined;
    entry.next = undefined;
    this.#size -= 1;
    return true;
  }

  /**
   * The entries present when iteration starts, oldest first: deleting entries meanwhile (a
   * response closing while shutdown aborts the others) does not cut the iteration short.
   */
  [Symbol.iterator](): IterableIterator<T> {
    const entries: T[] = [];
    for (let entry = this.#head; entry !== undefined; entry = entry.next) entries.push(entry);
    return entries[Symbol.iterator]();
  }
}
