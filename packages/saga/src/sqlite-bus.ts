import { resolve as resolvePath } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { isSwitchyardError, type JsonValue, systemClock } from '@switchyard/core';
import type { BusGuarantees, EventBus, MessageHandler, PublishOptions, SubscribeOptions, Subscription } from './bus.ts';
import { createBusMessage } from './bus-message.ts';
import { instrumentEventBus } from './bus-telemetry.ts';
import { sagaError } from './errors.ts';
import { SqliteConsumer } from './internal/sqlite-bus-consumer.ts';
import { SqliteBusLog } from './internal/sqlite-bus-log.ts';
import { openBusLog } from './internal/sqlite-bus-schema.ts';
import { notifyPublished, onPublished } from './internal/sqlite-bus-wakeup.ts';
import { resolveSqliteEventBusOptions, type SqliteEventBusOptions } from './sqlite-bus-options.ts';
import { resolveSubscribeOptions } from './subscribe-options.ts';

const guarantees: BusGuarantees = Object.freeze({ ordering: 'per-topic', durable: true });

/**
 * An {@link EventBus} on a SQLite log file (`node:sqlite`, WAL): the embedded default, with no
 * broker to run. Several processes on one machine share the file: a message published by one
 * reaches a member of every consumer group in any of them. Messages and groups survive
 * restarts; a group is owed every message published after it first subscribed, until a
 * member acknowledges it.
 *
 * Members claim due messages in `BEGIN IMMEDIATE` transactions and hold each under a lease of
 * `ackTimeout + leaseMargin`: a member whose process dies loses its messages to the others
 * when the lease ends. Subscriptions poll every `pollInterval` for other processes'
 * messages and are woken at once by publishes in this process. A dead-letter is written in
 * the same transaction that takes the message from its group. Messages every group has
 * acknowledged are pruned after `retention`.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` for bad options, `SY_BUS_UNAVAILABLE` when the file
 *   cannot be opened or was migrated by a newer version
 * @example
 * ```ts
 * const bus = createSqliteEventBus({ path: '.data/bus.db', pollInterval: '50ms' });
 * await bus.subscribe('order.approved', async (message) => console.log(message.payload), { group: 'billing' });
 * await bus.publish('order.approved', { orderId: 'o-1' });
 * await bus.close();
 * ```
 */
export function createSqliteEventBus(options: SqliteEventBusOptions): EventBus {
  const resolved = resolveSqliteEventBusOptions(options);
  const clock = resolved.clock ?? systemClock;
  const file = resolved.path === ':memory:' ? `:memory:${Math.random()}` : resolvePath(resolved.path);
  const db: DatabaseSync = openBusLog(resolved);
  const log = new SqliteBusLog(db);
  const reportError = errorReporter(resolved.onError);
  const consumers = new Set<SqliteConsumer>();
  let closing: Promise<void> | undefined;

  const published = (topic: string) => notifyPublished(file, topic);
  const context = {
    log,
    clock,
    pollIntervalMs: resolved.pollIntervalMs,
    leaseMarginMs: resolved.leaseMarginMs,
    published,
    reportError,
  };

  function assertOpen(what: string): void {
    if (closing)
      throw sagaError('SY_BUS_CLOSED', `SQLite event bus ${JSON.stringify(resolved.path)}: ${what} after close()`);
  }

  /** Runs a write for a caller, wrapping SQLite failures (a lock held past busyTimeout, a full disk). */
  function write<T>(what: string, body: () => T): T {
    try {
      return body();
    } catch (err) {
      if (isSwitchyardError(err)) throw err;
      throw sagaError(
        'SY_BUS_UNAVAILABLE',
        `SQLite event bus ${JSON.stringify(resolved.path)}: ${what} failed: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err, details: { path: resolved.path } },
      );
    }
  }

  const prune = () => {
    try {
      log.prune(clock.now() - resolved.retentionMs);
    } catch (err) {
      reportError(err);
    }
    cancelPrune = clock.setTimeout(prune, resolved.pruneIntervalMs);
  };
  let cancelPrune = clock.setTimeout(prune, 0);

  const bus: EventBus = {
    guarantees,
    async publish<T extends JsonValue>(topic: string, payload: T, publishOptions?: PublishOptions): Promise<string> {
      assertOpen(`publish to ${JSON.stringify(topic)}`);
      const message = createBusMessage(topic, payload, publishOptions, clock.now());
      write(`publish to ${JSON.stringify(topic)}`, () => log.publish(message));
      published(topic);
      return message.id;
    },
    async subscribe<T extends JsonValue>(
      topic: string,
      handler: MessageHandler<T>,
      subscribeOptions: SubscribeOptions,
    ): Promise<Subscription> {
      assertOpen(`subscribe to ${JSON.stringify(topic)}`);
      const options = resolveSubscribeOptions(topic, subscribeOptions);
      write(`subscribe to ${JSON.stringify(topic)}`, () => log.ensureGroup(topic, options.group, clock.now()));
      let stopWaking = () => {};
      const consumer = new SqliteConsumer(options, handler as MessageHandler, context, () => {
        stopWaking();
        consumers.delete(consumer);
      });
      consumers.add(consumer);
      stopWaking = onPublished(file, topic, consumer.wake);
      queueMicrotask(consumer.wake);
      return consumer;
    },
    close() {
      closing ??= (async () => {
        await Promise.all([...consumers].map((c) => c.close()));
        cancelPrune();
        db.close();
      })();
      return closing;
    },
    [Symbol.asyncDispose]: () => bus.close(),
  };
  return instrumentEventBus(bus, { system: 'switchyard', name: 'sqlite' });
}

/** The default error sink: a process warning, once per distinct message in a row. */
function errorReporter(onError: ((error: unknown) => void) | undefined): (error: unknown) => void {
  if (onError) {
    return (error) => {
      try {
        onError(error);
      } catch {
        // A failing listener must not stop the consumer loops.
      }
    };
  }
  let last = '';
  return (error) => {
    const text = error instanceof Error ? error.message : String(error);
    if (text === last) return;
    last = text;
    process.emitWarning(`SQLite event bus: ${text}`, { code: 'SY_BUS_UNAVAILABLE' });
  };
}
