import { createHash } from 'node:crypto';
import { type Clock, invalidConfig, type JsonValue, systemClock } from '@switchyard/core';
import { extractContext, injectContext, withContext } from '@switchyard/telemetry';
import type { Delivery, EventBus, SubscribeOptions, Subscription } from './bus.ts';
import type { ChoreographyDefinition, ChoreographyStep } from './choreography-definition.ts';
import {
  type ChoreographyChange,
  type ChoreographyCompensation,
  type ChoreographyRecord,
  ChoreographyStatus,
  type ChoreographyStore,
} from './choreography-store.ts';
import type { OutboxEvent } from './outbox.ts';
import { PROPAGATED_HEADERS, sagaIdOf, withSagaHeaders } from './saga-headers.ts';
import { assertTopicName } from './topic.ts';

/** Options of {@link createChoreographyTracker}. */
export interface ChoreographyTrackerOptions {
  readonly definition: ChoreographyDefinition;
  /** Where the tracker listens, and publishes compensations when the store has no outbox. */
  readonly bus: EventBus;
  readonly store: ChoreographyStore;
  /** The consumer group of its subscriptions. @default `choreography.<name>` */
  readonly group?: string | undefined;
  /** Further subscription options (concurrency, maxDeliveries, backoff, ackTimeout). */
  readonly subscribe?: Omit<SubscribeOptions, 'group'> | undefined;
  readonly clock?: Clock | undefined;
  /**
   * Called after compensation events were written to the store's outbox; pass
   * `() => relay.notify()` so its relay publishes them at once.
   */
  readonly onEnqueued?: (() => void) | undefined;
}

/** Tracks one choreography's sagas; see {@link createChoreographyTracker}. */
export interface ChoreographyTracker extends AsyncDisposable {
  /** Initialises the store and subscribes to every topic of the definition. Idempotent. */
  start(): Promise<void>;
  /** The saga as tracked (status, steps done, compensations), or `undefined`. */
  get(sagaId: string): Promise<ChoreographyRecord | undefined>;
  /** Handles one delivery as the subscriptions do (exposed for a custom transport). */
  handle(delivery: Delivery): Promise<void>;
  /** Closes the subscriptions, waiting for running handlers. Idempotent. */
  close(): Promise<void>;
}

/**
 * Creates a tracker for a choreographed saga. It subscribes (one consumer group) to the
 * definition's topics, correlates events by their `sy-saga-id` header, and records per saga
 * which steps are done. On a failure event it publishes the compensation event of each done
 * step, last done first, with the saga id and the failure's trace context in the headers, then
 * marks the saga compensated. Each compensation has an id derived from the saga and the step,
 * so a republish after a crash carries the same id and inboxes drop it; a failure event
 * delivered twice publishes nothing the second time. A step completed after the failure is
 * compensated as it arrives. Events without a saga id are acknowledged and ignored.
 *
 * With a store that has an outbox (`createSqliteChoreographyStore(db, { outbox })`) the
 * compensations are written in the transaction that records the failure, for the outbox's
 * relay to publish; otherwise they are published to `bus`, each marked published after it is.
 *
 * @throws SwitchyardError `SY_CONFIG_INVALID` for a bad group
 * @example
 * ```ts
 * const tracker = createChoreographyTracker({ definition: orderSaga, bus, store: createMemoryChoreographyStore() });
 * await tracker.start();
 * await bus.publish('order.created', order, { headers: withSagaHeaders({}, order.id) });
 * // ... later
 * (await tracker.get(order.id))?.status; // 'running' | 'completed' | 'compensating' | 'compensated'
 * ```
 */
export function createChoreographyTracker(options: ChoreographyTrackerOptions): ChoreographyTracker {
  const { definition, bus, store } = options;
  const group = options.group ?? `choreography.${definition.name}`;
  try {
    assertTopicName(group, 'consumer group');
  } catch (error) {
    throw invalidConfig([{ path: 'choreographyTracker.group', message: (error as Error).message }]);
  }
  const clock = options.clock ?? systemClock;
  const subscriptions: Subscription[] = [];
  let starting: Promise<void> | undefined;
  /** One handler per saga at a time in this process, so a compensation is not published twice at once. */
  const locks = new Map<string, Promise<void>>();

  const serialized = async (sagaId: string, fn: () => Promise<void>): Promise<void> => {
    const previous = locks.get(sagaId) ?? Promise.resolve();
    const current = previous.then(fn, fn);
    const tail = current.catch(() => {});
    locks.set(sagaId, tail);
    try {
      await current;
    } finally {
      if (locks.get(sagaId) === tail) locks.delete(sagaId);
    }
  };

  const publishPending = async (record: ChoreographyRecord | undefined): Promise<void> => {
    if (record === undefined) return;
    for (const compensation of record.compensations) {
      if (compensation.published) continue;
      // In the trace context stored with the compensation (the handling of the event that
      // made it owed), even when a later event of the saga publishes it after a crash.
      await withContext(extractContext(compensation.headers), () =>
        bus.publish(compensation.topic, compensation.payload, {
          id: compensation.id,
          headers: compensation.headers,
        }),
      );
      await store.update(definition.name, record.sagaId, (current) =>
        current === undefined ? undefined : { record: markPublished(current, compensation.id, clock.now()) },
      );
    }
  };

  const handle = async (delivery: Delivery): Promise<void> => {
    const sagaId = sagaIdOf(delivery);
    const role = definition.roles.get(delivery.topic);
    if (sagaId === undefined || role === undefined) return;
    // The active context (the bus's consumer span), so owed compensations continue this trace.
    const trace = injectContext({} as Record<string, string>);
    await serialized(sagaId, async () => {
      let enqueued = 0;
      const record = await store.update(definition.name, sagaId, (current) => {
        const change = apply(definition, store.enqueues, current, sagaId, role, delivery, clock.now(), trace);
        enqueued = change?.events?.length ?? 0;
        return change;
      });
      if (enqueued > 0) options.onEnqueued?.();
      // Also resumes compensations a crash left unpublished, on any later event of the saga.
      await publishPending(record);
    });
  };

  const close = async (): Promise<void> => {
    await starting?.catch(() => {});
    const all = subscriptions.splice(0);
    await Promise.all(all.map((s) => s.close()));
  };

  return {
    start() {
      starting ??= (async () => {
        await store.init();
        for (const topic of definition.roles.keys()) {
          subscriptions.push(
            await bus.subscribe(topic, (delivery) => handle(delivery), { ...options.subscribe, group }),
          );
        }
      })();
      return starting;
    },
    get: (sagaId) => store.get(definition.name, sagaId),
    handle,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** The change an event makes to a saga, or `undefined` when it changes nothing (a duplicate, a late event). */
function apply(
  definition: ChoreographyDefinition,
  enqueues: boolean,
  current: ChoreographyRecord | undefined,
  sagaId: string,
  role: NonNullable<ReturnType<ChoreographyDefinition['roles']['get']>>,
  delivery: Delivery,
  now: number,
  trace: Readonly<Record<string, string>>,
): ChoreographyChange | undefined {
  const base: ChoreographyRecord = current ?? {
    name: definition.name,
    sagaId,
    status: ChoreographyStatus.Running,
    steps: [],
    compensations: [],
    createdAt: now,
    updatedAt: now,
    version: 0,
  };
  const write = (record: ChoreographyRecord, owed: readonly ChoreographyCompensation[] = []): ChoreographyChange => {
    const compensations = [...record.compensations, ...owed.map((c) => ({ ...c, published: enqueues }))];
    const settled = compensations.every((c) => c.published);
    const status =
      record.status === ChoreographyStatus.Compensating && settled ? ChoreographyStatus.Compensated : record.status;
    const next = { ...record, compensations, status, updatedAt: now, version: base.version + 1 };
    return { record: next, events: enqueues ? owed.map(toOutboxEvent) : [] };
  };
  const failedOrCompensated =
    base.status === ChoreographyStatus.Compensating || base.status === ChoreographyStatus.Compensated;

  switch (role.kind) {
    case 'started':
      if (base.startedAt !== undefined) return undefined;
      return write({ ...base, startedAt: now });
    case 'step': {
      if (base.steps.some((s) => s.name === role.step.name)) return undefined;
      const done = { name: role.step.name, messageId: delivery.id, payload: delivery.payload, completedAt: now };
      const record = { ...base, steps: [...base.steps, done] };
      if (!failedOrCompensated) return write(record);
      // Done after the saga failed: undo it too, now.
      const owed = compensationsFor(definition, record, [role.step], delivery, trace);
      return write({ ...record, status: owed.length > 0 ? ChoreographyStatus.Compensating : record.status }, owed);
    }
    case 'completed':
      if (base.status !== ChoreographyStatus.Running) return undefined;
      return write({ ...base, status: ChoreographyStatus.Completed });
    case 'failed': {
      if (base.status !== ChoreographyStatus.Running) return undefined;
      const done = [...base.steps]
        .reverse()
        .map((s) => definition.steps.find((d) => d.name === s.name))
        .filter((s): s is ChoreographyStep => s !== undefined);
      const failure = { topic: delivery.topic, messageId: delivery.id, at: now };
      const record = { ...base, failure, status: ChoreographyStatus.Compensating };
      return write(record, compensationsFor(definition, record, done, delivery, trace));
    }
  }
}

/** The compensation events owed for `steps` (in that order), with ids stable across crashes. */
function compensationsFor(
  definition: ChoreographyDefinition,
  record: ChoreographyRecord,
  steps: readonly ChoreographyStep[],
  trigger: Delivery,
  trace: Readonly<Record<string, string>>,
): ChoreographyCompensation[] {
  const headers: Record<string, string> = {};
  const source = trace.traceparent === undefined ? trigger.headers : trace;
  for (const name of PROPAGATED_HEADERS) {
    const value = source[name];
    if (value !== undefined) headers[name] = value;
  }
  const owed: ChoreographyCompensation[] = [];
  for (const step of steps) {
    if (step.compensateWith === undefined) continue;
    const completion = record.steps.find((s) => s.name === step.name)?.payload ?? null;
    const payload: JsonValue =
      step.compensationPayload === undefined
        ? completion
        : step.compensationPayload({
            sagaId: record.sagaId,
            step: step.name,
            completion,
            failedOn: record.failure?.topic ?? trigger.topic,
            failure: trigger.payload,
          });
    owed.push({
      step: step.name,
      topic: step.compensateWith,
      id: compensationId(definition.name, record.sagaId, step.name),
      payload,
      headers: { ...withSagaHeaders(headers, record.sagaId), 'sy-compensates': step.name },
      published: false,
    });
  }
  return owed;
}

function markPublished(record: ChoreographyRecord, id: string, now: number): ChoreographyRecord {
  const compensations = record.compensations.map((c) => (c.id === id ? { ...c, published: true } : c));
  const settled = compensations.every((c) => c.published);
  const status =
    record.status === ChoreographyStatus.Compensating && settled ? ChoreographyStatus.Compensated : record.status;
  return { ...record, compensations, status, updatedAt: now, version: record.version + 1 };
}

function toOutboxEvent(compensation: ChoreographyCompensation): OutboxEvent {
  return {
    id: compensation.id,
    topic: compensation.topic,
    payload: compensation.payload,
    headers: compensation.headers,
  };
}

/**
 * A UUID (version 8, RFC 9562) derived from the saga and the step, so every attempt to publish
 * a compensation carries the same message id.
 */
export function compensationId(name: string, sagaId: string, step: string): string {
  const hex = createHash('sha256').update(`switchyard:choreography:${name}:${sagaId}:compensate:${step}`).digest('hex');
  const variant = ((Number.parseInt(hex[16] as string, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
