// The page's state: the latest snapshot of each live document, and listeners per key.

/**
 * @typedef {'system' | 'services' | 'breakers' | 'red' | 'rate-limits' | 'routes' | 'saga' | 'trace'
 *   | 'status' | 'poll' | 'auth'} StoreKey
 */

/** @type {Map<string, unknown>} */
const values = new Map();
/** @type {Map<string, Set<(value: unknown) => void>>} */
const listeners = new Map();

/**
 * The latest value under `key`.
 * @param {StoreKey} key
 * @returns {any}
 */
export function get(key) {
  return values.get(key);
}

/**
 * Stores a value and tells the key's listeners. Snapshot keys skip listeners when the JSON is
 * unchanged, so an unchanged table is not rebuilt.
 * @param {StoreKey} key
 * @param {unknown} value
 */
export function set(key, value) {
  const snapshot = key !== 'saga' && key !== 'trace' && key !== 'poll';
  if (snapshot && values.has(key) && JSON.stringify(values.get(key)) === JSON.stringify(value)) return;
  values.set(key, value);
  for (const fn of listeners.get(key) ?? []) fn(value);
}

/**
 * Calls `fn` on each change of any of `keys`; returns the unsubscribe function.
 * @param {StoreKey[]} keys
 * @param {(value: unknown) => void} fn
 * @returns {() => void}
 */
export function subscribe(keys, fn) {
  for (const key of keys) {
    let set = listeners.get(key);
    if (!set) {
      set = new Set();
      listeners.set(key, set);
    }
    set.add(fn);
  }
  return () => {
    for (const key of keys) listeners.get(key)?.delete(fn);
  };
}
