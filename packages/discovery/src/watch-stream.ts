/**
 * The events of {@link DiscoveryClient.watch} and the bounded queue behind each stream. A stream
 * never holds more than a few events whatever the consumer's pace: a newer list replaces a list
 * not yet read, so a slow consumer skips to the latest state instead of buffering history.
 */
import type { ServiceInstance } from '@switchyard/core';

/** The kinds of {@link DiscoveryEvent}. */
export const DiscoveryEventType = {
  /** The complete current list of usable instances (the first event, then every change). */
  Instances: 'instances',
  /** The source had to start over (Consul index reset, etcd compaction, Kubernetes 410). */
  Resynced: 'resynced',
  /** The source cannot refresh the list; the last list is still served. */
  Stale: 'stale',
  /** The source answered again after being stale. */
  Fresh: 'fresh',
} as const;
export type DiscoveryEventType = (typeof DiscoveryEventType)[keyof typeof DiscoveryEventType];

/** A new list of a watched service. Lists are complete, frozen and ordered by ID. */
export interface InstancesEvent {
  readonly type: typeof DiscoveryEventType.Instances;
  readonly service: string;
  readonly instances: readonly ServiceInstance[];
  /** When the client received the list, in the client clock's milliseconds since the epoch. */
  readonly at: number;
}

/**
 * The source lost its place and listed the service again; the reason names the backend's rule
 * (`consul index went backwards (42 -> 3)`, an etcd compaction). Every `instances` event is a
 * complete list, so a consumer needs no action; an `instances` event follows only when the
 * re-listed set differs from the one already delivered.
 */
export interface ResyncedEvent {
  readonly type: typeof DiscoveryEventType.Resynced;
  readonly service: string;
  readonly reason: string;
  /** Milliseconds since the epoch (client clock). */
  readonly at: number;
}

/**
 * The source reported an error: the list may be out of date. The client keeps serving the last
 * list (last-known-good); `since` is when the first error of this stale period arrived.
 */
export interface StaleEvent {
  readonly type: typeof DiscoveryEventType.Stale;
  readonly service: string;
  /** Milliseconds since the epoch (client clock) of the first error of this stale period. */
  readonly since: number;
  /** The source's error, e.g. `SY_DISCOVERY_REGISTRY_UNREACHABLE`. */
  readonly error: unknown;
}

/** The source delivered a list again after a {@link StaleEvent}. */
export interface FreshEvent {
  readonly type: typeof DiscoveryEventType.Fresh;
  readonly service: string;
  /** Milliseconds since the epoch (client clock). */
  readonly at: number;
  /** How long the list was stale, in milliseconds. */
  readonly staleForMs: number;
}

/** One event of {@link DiscoveryClient.watch}. */
export type DiscoveryEvent = InstancesEvent | ResyncedEvent | StaleEvent | FreshEvent;

/**
 * A live stream of one service's events: an async iterator (use `for await`) that is also
 * disposable. `break`, `return()`, `[Symbol.asyncDispose]()`, the watch's `signal` and the
 * client's `close()` all end it and remove its listener.
 */
export interface DiscoveryWatch extends AsyncIterableIterator<DiscoveryEvent, undefined>, AsyncDisposable {
  /** Ends the stream: a pending `next()` resolves `done`, later ones too. Idempotent. */
  return(): Promise<IteratorReturnResult<undefined>>;
}

/** The producer side of a {@link DiscoveryWatch}; internal to the package. */
export interface EventSink {
  push(event: DiscoveryEvent): void;
  /** Ends the stream at once, dropping queued events: a pending or later `next()` resolves done. */
  end(): void;
}

const done: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * Creates a stream with bounded buffering. At most one event of each kind waits in the queue:
 * a new `instances` or `resynced` event replaces a queued one of its kind (moving to the end, so
 * order stays causal), a `stale` event is dropped while one is queued (the first marks the start
 * of the period), and a `fresh` event cancels a queued `stale` one the consumer never saw.
 * `onEnd` runs once when the stream ends, whoever ends it.
 */
export function createEventStream(onEnd: () => void): { stream: DiscoveryWatch; sink: EventSink } {
  const queue: DiscoveryEvent[] = [];
  let waiting: ((result: IteratorResult<DiscoveryEvent, undefined>) => void) | undefined;
  let ended = false;

  const finish = () => {
    if (ended) return;
    ended = true;
    queue.length = 0;
    const resolve = waiting;
    waiting = undefined;
    resolve?.(done);
    onEnd();
  };

  const removeKind = (type: DiscoveryEventType): boolean => {
    const at = queue.findIndex((event) => event.type === type);
    if (at === -1) return false;
    queue.splice(at, 1);
    return true;
  };

  const sink: EventSink = {
    push(event) {
      if (ended) return;
      if (waiting !== undefined) {
        const resolve = waiting;
        waiting = undefined;
        resolve({ done: false, value: event });
        return;
      }
      if (event.type === DiscoveryEventType.Fresh) {
        // The consumer never read the stale event: from where it stands nothing happened.
        if (removeKind(DiscoveryEventType.Stale)) return;
      } else if (event.type === DiscoveryEventType.Stale) {
        // The queued one carries the start of the stale period, which is what `since` reports.
        if (queue.some((queued) => queued.type === DiscoveryEventType.Stale)) return;
      } else {
        removeKind(event.type);
      }
      queue.push(event);
    },
    end: finish,
  };

  const stream: DiscoveryWatch = {
    next() {
      const event = queue.shift();
      if (event !== undefined) return Promise.resolve({ done: false, value: event });
      if (ended) return Promise.resolve(done);
      // One reader at a time is the for-await contract; a second concurrent next() replaces the
      // first's slot, and the first then resolves done rather than hanging.
      waiting?.(done);
      return new Promise((resolve) => {
        waiting = resolve;
      });
    },
    return() {
      finish();
      return Promise.resolve(done);
    },
    [Symbol.asyncIterator]() {
      return stream;
    },
    async [Symbol.asyncDispose]() {
      finish();
    },
  };
  return { stream, sink };
}
