/**
 * Wakes the subscriptions of this process as soon as a message is published to their topic
 * in the same log file, through any bus instance: processes sharing the file find each
 * other's messages by polling, but one process need not wait for its own.
 */
const listeners = new Map<string, Set<() => void>>();

function key(file: string, topic: string): string {
  return `${file}\u0000${topic}`;
}

/** Calls `listener` after each publish to `topic` in `file` from this process; returns the unsubscribe. */
export function onPublished(file: string, topic: string, listener: () => void): () => void {
  const k = key(file, topic);
  let set = listeners.get(k);
  if (!set) {
    set = new Set();
    listeners.set(k, set);
  }
  set.add(listener);
  return () => {
    set.delete(listener);
    if (set.size === 0) listeners.delete(k);
  };
}

/** Tells this process's listeners of `topic` in `file` that a message was published. */
export function notifyPublished(file: string, topic: string): void {
  for (const listener of listeners.get(key(file, topic)) ?? []) listener();
}
