import {
  type Clock,
  configIssues,
  exponentialBackoff,
  invalidConfig,
  systemClock,
  throwIfAborted,
  zDuration,
} from '@switchyard/core';
import { type BackoffInput, backoffSchema } from '@switchyard/resilience';
import { extractContext, withContext } from '@switchyard/telemetry';
import * as z from 'zod';
import type { EventBus } from './bus.ts';
import type { OutboxRecord, OutboxSource } from './outbox.ts';

/** Options of {@link createOutboxRelay}. */
export interface OutboxRelayOptions {
  /** Where the unsent events are: `createSqliteOutbox(db).source`, the PostgreSQL outbox's `source`. */
  readonly source: OutboxSource;
  /** Where they go. */
  readonly bus: EventBus;
  /** How long the relay waits between polls when the outbox is empty (`"1s"` or ms). @default 1000 */
  readonly pollInterval?: string | number | undefined;
  /** Events claimed per round. @default 100 */
  readonly batchSize?: number | undefined;
  /**
   * The wait after a failed round (bus down, database busy), growing per consecutive failure.
   * @default { initial: "100ms", max: "30s", factor: 2, jitter: "full" }
   */
  readonly backoff?: BackoffInput | undefined;
  readonly clock?: Clock | undefined;
  /**
   * Called with each failure of a background round (the events stay unsent and are retried).
   * @default a warning on the console for the first failure of a run of failures
   */
  readonly onError?: ((error: unknown) => void) | undefined;
}

/** Publishes the events of an outbox; see {@link createOutboxRelay}. */
export interface OutboxRelay extends AsyncDisposable {
  /** Starts polling in the background. Idempotent. */
  start(): void;
  /** Wakes a waiting relay at once (call it after committing a transaction that added events). */
  notify(): void;
  /**
   * Publishes every event unsent now, round after round, and resolves with how many were
   * published; rejects with the first failure (the events not published stay unsent). For tests
   * and for a last flush at shutdown; it works whether or not the relay was started.
   */
  flush(signal?: AbortSignal): Promise<number>;
  /** Stops the background polling and waits for a running round to settle. Idempotent. */
  stop(): Promise<void>;
  /** The same as {@link OutboxRelay.stop}. */
  close(): Promise<void>;
}

const optionsSchema = z.strictObject({
  pollInterval: zDuration().default(1000),
  batchSize: z.number().int().min(1).max(10_000).default(100),
  backoff: backoffSchema({ initial: 100, max: 30_000, factor: 2, jitter: 'full' }),
});

interface Round {
  readonly claimed: number;
  readonly sent: number;
  readonly error?: unknown;
}

/**
 * Creates a relay that moves events from an outbox to an event bus, at least once and in
 * order per topic: it claims a batch, publishes each event with the id it was written with,
 * then marks the published ones sent. A crash between publishing and marking publishes the
 * event again later with the same id, which inboxes drop; an event is never dropped. When a
 * publish fails the rest of that topic's batch waits (so the order holds), the round's
 * published events are marked, and the relay backs off before trying again.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` for a bad option (`outboxRelay.batchSize: ...`)
 * @example
 * ```ts
 * import { DatabaseSync } from 'node:sqlite';
 * import { createMemoryEventBus, createOutboxRelay, createSqliteOutbox } from '@switchyard/saga';
 *
 * const db = new DatabaseSync('orders.db');
 * const outbox = createSqliteOutbox(db);
 * outbox.migrate();
 * const relay = createOutboxRelay({ source: outbox.source, bus: createMemoryEventBus() });
 * relay.start();
 * db.exec('BEGIN');
 * outbox.add({ topic: 'order.created', payload: { orderId: 'o-1' } });
 * db.exec('COMMIT');
 * relay.notify();
 * ```
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { source, bus } = checkPorts(options);
  const parsed = optionsSchema.safeParse(
    { pollInterval: options.pollInterval, batchSize: options.batchSize, backoff: options.backoff },
    { reportInput: true },
  );
  if (!parsed.success) throw invalidConfig(configIssues(optionsSchema, parsed.error, 'outboxRelay'));
  const { pollInterval, batchSize, backoff } = parsed.data;
  const clock = options.clock ?? systemClock;
  const retryDelay = exponentialBackoff({
    initialMs: backoff.initial,
    maxMs: backoff.max,
    factor: backoff.factor,
    jitter: backoff.jitter,
  });
  const onError = options.onError ?? warnOnce(source.name);

  let queue: Promise<unknown> = Promise.resolve();
  let running = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let woken = false;

  /** One round at a time per relay, whether from the loop or from flush(). */
  const round = (signal?: AbortSignal): Promise<Round> => {
    const next = queue.then(() => runRound(source, bus, batchSize, signal));
    queue = next.catch(() => {});
    return next;
  };

  const sleep = (ms: number, wakeable: boolean): Promise<void> =>
    new Promise((resolve) => {
      if (wakeable && woken) {
        woken = false;
        resolve();
        return;
      }
      const done = (): void => {
        cancel();
        wake = undefined;
        resolve();
      };
      const cancel = clock.setTimeout(done, ms);
      wake = wakeable ? done : () => (running ? undefined : done());
    });

  const run = async (): Promise<void> => {
    let failures = 0;
    let previous: number | undefined;
    while (running) {
      woken = false;
      const result = await round();
      if (!running) break;
      if (result.error !== undefined) {
        failures++;
        onError(result.error);
        previous = retryDelay(failures, previous);
        await sleep(previous, false);
      } else {
        failures = 0;
        previous = undefined;
        if (result.claimed < batchSize) await sleep(pollInterval, true);
      }
    }
  };

  const stop = async (): Promise<void> => {
    running = false;
    wake?.();
    await loop;
  };

  return {
    start() {
      if (running) return;
      running = true;
      loop = run();
    },
    notify() {
      woken = true;
      wake?.();
    },
    async flush(signal) {
      let total = 0;
      for (;;) {
        throwIfAborted(signal, `outbox relay (${source.name}) flush`);
        const result = await round(signal);
        total += result.sent;
        if (result.error !== undefined) throw result.error;
        if (result.claimed < batchSize) return total;
      }
    },
    stop,
    close: stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** Claims a batch, publishes it topic by topic, and settles the claim with what was published. */
async function runRound(source: OutboxSource, bus: EventBus, limit: number, signal?: AbortSignal): Promise<Round> {
  let claim: Awaited<ReturnType<OutboxSource['claim']>>;
  try {
    claim = await source.claim(limit, signal);
  } catch (error) {
    return { claimed: 0, sent: 0, error };
  }
  const sent = new Set<string>();
  let failure: unknown;
  await Promise.all(
    byTopic(claim.events).map(async (events) => {
      for (const event of events) {
        try {
          // In the context stored with the event, not the relay's loop: the producer span joins
          // the trace of the code that added the event.
          await withContext(extractContext(event.headers), () =>
            bus.publish(event.topic, event.payload, { id: event.id, headers: event.headers, signal }),
          );
          sent.add(event.id);
        } catch (error) {
          // Later events of this topic wait for this one, so subscribers see them in order.
          failure ??= error;
          return;
        }
      }
    }),
  );
  const sentIds = claim.events.filter((e) => sent.has(e.id)).map((e) => e.id);
  try {
    await claim.settle(sentIds);
  } catch (error) {
    // Nothing was marked: the published events go out again later, with the same ids.
    return { claimed: claim.events.length, sent: 0, error: failure ?? error };
  }
  return failure === undefined
    ? { claimed: claim.events.length, sent: sentIds.length }
    : { claimed: claim.events.length, sent: sentIds.length, error: failure };
}

/** The events grouped by topic, each group in the claim's order. */
function byTopic(events: readonly OutboxRecord[]): OutboxRecord[][] {
  const groups = new Map<string, OutboxRecord[]>();
  for (const event of events) {
    const group = groups.get(event.topic);
    if (group) group.push(event);
    else groups.set(event.topic, [event]);
  }
  return [...groups.values()];
}

function checkPorts(options: OutboxRelayOptions): { source: OutboxSource; bus: EventBus } {
  const issues: { path: string; message: string }[] = [];
  if (typeof options?.source?.claim !== 'function') {
    issues.push({ path: 'outboxRelay.source', message: 'expected an OutboxSource (an outbox\'s "source")' });
  }
  if (typeof options?.bus?.publish !== 'function') {
    issues.push({ path: 'outboxRelay.bus', message: 'expected an EventBus' });
  }
  if (options?.onError !== undefined && typeof options.onError !== 'function') {
    issues.push({ path: 'outboxRelay.onError', message: 'expected a function' });
  }
  if (issues.length > 0) throw invalidConfig(issues);
  return { source: options.source, bus: options.bus };
}

/** The default error handler: one console warning per run of failures, not one per retry. */
function warnOnce(name: string): (error: unknown) => void {
  let last = 0;
  return (error) => {
    const now = Date.now();
    if (now - last > 60_000) {
      console.warn(`outbox relay (${name}): publishing failed, retrying with backoff: ${(error as Error)?.message}`);
    }
    last = now;
  };
}
