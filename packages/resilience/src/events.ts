import type { Disposable, Listener } from './types.ts';

/**
 * A typed event with a plain array of listeners, for the `onX(listener)` methods of policies.
 *
 * Built for hot paths: {@link Event.emit} returns at once when nobody listens, and callers
 * check {@link Event.size} before building a payload, so an event nobody listens to costs one
 * comparison. The array is replaced (never mutated) on `on` and `dispose`, so a listener that
 * disposes itself, or adds another, while the event is being emitted does not disturb the loop.
 *
 * A listener that throws cannot break the policy that emitted the event (whose state is
 * already updated) nor starve the other listeners: the error is rethrown in a microtask, where
 * it surfaces as an uncaught exception like any other bug.
 *
 * @example
 * ```ts
 * const changed = new Event<string>();
 * const handle = changed.on((value) => console.log(value));
 * changed.emit('open'); // prints "open"
 * handle.dispose();
 * changed.emit('closed'); // prints nothing
 * ```
 */
export class Event<T> {
  #listeners: readonly Listener<T>[] = [];

  /** Number of listeners; check it before building an expensive payload. */
  get size(): number {
    return this.#listeners.length;
  }

  /** Adds `listener`; the returned handle removes it (idempotent). */
  on(listener: Listener<T>): Disposable {
    this.#listeners = [...this.#listeners, listener];
    let disposed = false;
    const dispose = (): void => {
      if (disposed) return;
      disposed = true;
      const index = this.#listeners.indexOf(listener);
      if (index >= 0) this.#listeners = this.#listeners.filter((_, i) => i !== index);
    };
    return { dispose, [Symbol.dispose]: dispose };
  }

  /** Calls every listener with `value`; a no-op when there are none. */
  emit(value: T): void {
    const listeners = this.#listeners;
    if (listeners.length === 0) return;
    for (const listener of listeners) {
      try {
        listener(value);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  /** Removes every listener. */
  clear(): void {
    this.#listeners = [];
  }
}
