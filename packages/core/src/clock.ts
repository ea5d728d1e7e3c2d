/**
 * Time, injected. Core and resilience never read the wall clock directly, so tests drive
 * time with {@link ManualClock} instead of sleeping.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Runs `fn` after `ms`; returns a function that cancels it. A pending timer does not keep
   * the process alive unless `options.ref` is true: background timers (health checks, sync
   * loops, timeouts of work that holds its own I/O) must not, but a wait that is the only
   * thing a caller awaits (a retry's backoff sleep) must, or a script would exit mid-wait.
   */
  setTimeout(fn: () => void, ms: number, options?: TimerOptions): () => void;
}

/** Options of {@link Clock.setTimeout}. */
export interface TimerOptions {
  /** Keep the process alive while the timer is pending. @default false */
  readonly ref?: boolean;
}

/**
 * The real clock, backed by `Date.now` and the global timers (timers do not keep the process
 * alive unless asked to with `{ ref: true }`).
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms, options) {
    const timer = globalThis.setTimeout(fn, ms);
    if (options?.ref !== true) (timer as { unref?: () => void }).unref?.();
    return () => globalThis.clearTimeout(timer);
  },
};

interface PendingTimer {
  at: number;
  seq: number;
  fn: () => void;
}

/**
 * A clock that moves only when told to, for deterministic tests.
 *
 * @example
 * ```ts
 * const clock = new ManualClock(0);
 * clock.setTimeout(() => console.log('fired'), 100);
 * clock.advance(100); // prints "fired"
 * ```
 */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: PendingTimer[] = [];

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): () => void {
    const timer: PendingTimer = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn };
    this.#timers.push(timer);
    return () => {
      this.#timers = this.#timers.filter((t) => t !== timer);
    };
  }

  /** Moves time forward by `ms`, firing due timers in order. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      const due = this.#timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.#now = due.at;
      due.fn();
    }
    this.#now = target;
  }

  /** Number of timers not yet fired. */
  get pending(): number {
    return this.#timers.length;
  }
}
