import type { Clock } from '@switchyard/core';

/** An entry of a {@link DeadlineQueue}: something that expires at `deadline` unless settled first. */
export interface Expiring {
  /** Absolute time (ms on the queue's clock) at which {@link Expiring.expire} is due. */
  readonly deadline: number;
  /** True once the entry no longer needs its timer (it finished, failed or was cancelled). */
  readonly settled: boolean;
  /** Called once, when the deadline has passed and the entry is not settled. */
  expire(): void;
}

/**
 * One timer for many deadlines. A timeout policy's own deadlines arrive in increasing order
 * (now + the same timeout), so they queue in an array in order and a single clock timer, armed
 * for the head, serves them all: adding and settling an entry are O(1) and touch no timer in
 * the common case, where Node would otherwise create and clear a `Timeout` per call.
 *
 * The timer is not cleared when the queue empties: an idle policy keeps at most one timer,
 * which finds nothing due when it fires and is not re-armed (the system clock's timers are
 * unref'd, so it never keeps a process alive). A settled entry is dropped from the head at
 * once; one settled behind a slower head waits there (flagged, never expired) until the head
 * leaves, so the array holds at most the calls started within one timeout.
 */
export class DeadlineQueue {
  readonly #clock: Clock;
  /** Entries from `#head` (inclusive) to `#tail` (exclusive); slots outside are `undefined`. */
  #entries: (Expiring | undefined)[] = [];
  #head = 0;
  #tail = 0;
  #cancelTimer: (() => void) | undefined;
  #armedAt = Number.POSITIVE_INFINITY;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /**
   * Queues `entry`; false when its deadline is earlier than the last one queued (an inherited
   * deadline shorter than the policy's own timeout), which the caller then times on its own.
   */
  add(entry: Expiring): boolean {
    const entries = this.#entries;
    const tail = this.#tail;
    if (tail > this.#head && (entries[tail - 1] as Expiring).deadline > entry.deadline) return false;
    // Write in place rather than push: slots are reused once the queue empties, so the
    // steady state allocates nothing.
    if (tail < entries.length) entries[tail] = entry;
    else entries.push(entry);
    this.#tail = tail + 1;
    // A timer armed for a later time can only be an idle one left behind by an earlier, longer
    // deadline (the clock went back, or the queue emptied): re-arm for this entry.
    if (entry.deadline < this.#armedAt) this.#arm(entry.deadline);
    return true;
  }

  /** Forgets a settled `entry`. Cheap when it is the head (the usual case); otherwise lazy. */
  remove(entry: Expiring): void {
    if (this.#entries[this.#head] !== entry) return;
    this.#dropSettledHead();
  }

  /** Entries still held (settled ones waiting behind a live head included); for tests. */
  get size(): number {
    return this.#tail - this.#head;
  }

  #dropSettledHead(): void {
    const entries = this.#entries;
    let head = this.#head;
    const tail = this.#tail;
    while (head < tail && (entries[head] as Expiring).settled) entries[head++] = undefined;
    if (head === tail) {
      head = 0;
      this.#tail = 0;
      // Do not keep a burst's worth of slots for ever.
      if (entries.length > 1024) this.#entries = [];
    } else if (head >= 1024 && head * 2 >= tail) {
      // Compact now and then so a long-lived queue does not keep a growing dead prefix.
      entries.copyWithin(0, head, tail);
      entries.fill(undefined, tail - head, tail);
      this.#tail = tail - head;
      head = 0;
    }
    this.#head = head;
  }

  #arm(at: number): void {
    this.#cancelTimer?.();
    this.#armedAt = at;
    this.#cancelTimer = this.#clock.setTimeout(this.#fire, Math.max(0, at - this.#clock.now()));
  }

  readonly #fire = (): void => {
    this.#cancelTimer = undefined;
    this.#armedAt = Number.POSITIVE_INFINITY;
    const now = this.#clock.now();
    // Read the fields each time: an expiry aborts a signal, whose listeners may settle or add
    // entries of this queue (and so move the head or the tail) before the loop goes on.
    while (this.#head < this.#tail) {
      const entry = this.#entries[this.#head] as Expiring;
      if (!entry.settled && entry.deadline > now) break;
      this.#entries[this.#head++] = undefined;
      if (!entry.settled) entry.expire();
    }
    this.#dropSettledHead();
    const next = this.#entries[this.#head];
    if (this.#head < this.#tail && next !== undefined && next.deadline < this.#armedAt) this.#arm(next.deadline);
  };
}
